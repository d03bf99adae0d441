package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
)

// benchCRR measures TCP connections per second from one client: connect, one byte each way,
// close — the conntrack insert and removal rate of the path, as performance-notes.md's "CRR, 1
// client" figure.
func benchCRR(ctx context.Context, env *Env) ([]Result, error) {
	f := figure{
		name: "tcp_crr", unit: "conn/s", better: higher,
		notes:   fmt.Sprintf("connect + 1 byte each way + close (RST, no TIME_WAIT), one client, %v per run, median of %d", env.IperfTime, env.Runs),
		targets: map[string]float64{"c1": 0.7},
	}
	return comparePaths(ctx, env, f, func(ctx context.Context, env *Env, p *Path) (float64, error) {
		return runCRR(ctx, p, env.IperfTime)
	})
}

// crrPort is the server port of the CRR measurement.
const crrPort = 5299

func runCRR(ctx context.Context, p *Path, d time.Duration) (float64, error) {
	var ln net.Listener
	if err := hypervisor.RunIn(filepath.Join("/run/netns", p.ServerNS), func() error {
		var err error
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", crrPort))
		return err
	}); err != nil {
		return 0, err
	}
	defer ln.Close()
	go func() {
		b := make([]byte, 1)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if _, err := io.ReadFull(c, b); err == nil {
				c.Write(b)
			}
			c.Close()
		}
	}()
	var n int
	var runErr error
	addr := net.JoinHostPort(p.ServerIP.String(), fmt.Sprint(crrPort))
	err := hypervisor.RunIn(filepath.Join("/run/netns", p.ClientNS), func() error {
		b := []byte{1}
		deadline := time.Now().Add(d)
		start := time.Now()
		for time.Now().Before(deadline) && ctx.Err() == nil {
			c, err := net.DialTimeout("tcp4", addr, time.Second)
			if err != nil {
				runErr = err
				return nil
			}
			tc := c.(*net.TCPConn)
			tc.SetLinger(0)
			tc.SetDeadline(time.Now().Add(time.Second))
			if _, err := tc.Write(b); err != nil {
				tc.Close()
				runErr = err
				return nil
			}
			if _, err := io.ReadFull(tc, b); err != nil {
				tc.Close()
				runErr = err
				return nil
			}
			tc.Close()
			n++
		}
		d = time.Since(start)
		return nil
	})
	if err != nil {
		return 0, err
	}
	if runErr != nil && n == 0 {
		return 0, fmt.Errorf("crr on %s: %w", p.Name, runErr)
	}
	return float64(n) / d.Seconds(), nil
}
