package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ec2sim/ec2sim/lab"
)

// The flow-log cost (issue 6: logging on must cost at most 10% of engine throughput): the same
// two-instance lab twice in one run, one with a flow log of ALL traffic of its VPC (1-s capture
// window, the plain-text sink) and one without, measured alternately like the other paths.

func init() {
	extraBenchmarks = append(extraBenchmarks, Benchmark{Name: "flowlog",
		What: "TCP throughput and UDP 64-byte pps through the engine with a flow log (ALL, 1-s window, text file) vs none",
		Run:  benchFlowLog})
}

// flowLogTarget: with logging on the engine keeps at least 90% of its figure.
const flowLogTarget = 0.9

// flowLogPaths brings up the logged lab and the unlogged one; env removes both when the run ends.
func flowLogPaths(ctx context.Context, e *Env) (on, off *Path, err error) {
	off, _, err = enginePath(ctx)
	if err != nil {
		return nil, nil, err
	}
	e.onClose(off.Close)
	off.Name, off.What = "flowlog-off", "the engine path with no flow log"
	on, l, err := enginePath(ctx)
	if err != nil {
		return nil, nil, err
	}
	e.onClose(on.Close)
	dir, err := os.MkdirTemp("", "ec2sim-bench-flowlog-")
	if err != nil {
		return nil, nil, err
	}
	e.onClose(func() error { return os.RemoveAll(dir) })
	l.FlowLogDir = dir
	info, err := l.CreateFlowLog(lab.FlowLogSpec{Resource: "vpc/bench", Traffic: "ALL", Interval: time.Second, Path: filepath.Join(dir, "bench.log")})
	if err != nil {
		return nil, nil, fmt.Errorf("flow log on the engine path: %w", err)
	}
	on.Name, on.What = "flowlog-on", "the engine path with flow log "+info.ID+" (ALL, 1 s, text)"
	// Both must carry traffic before anything is measured.
	for _, p := range []*Path{off, on} {
		if _, err := runPing(ctx, e, p, 3, 10*time.Millisecond); err != nil {
			return nil, nil, fmt.Errorf("path %s does not carry traffic: %w", p.Name, err)
		}
	}
	return on, off, nil
}

// flowLogFigure measures both labs alternately and reports logged against unlogged.
func flowLogFigure(ctx context.Context, env *Env, on, off *Path, name, unit string, mode iperfMode, scale float64, what string) (Result, error) {
	samples, err := alternate(ctx, env, name, []*Path{on, off}, func(ctx context.Context, env *Env, p *Path) (float64, error) {
		v, err := runIperf(ctx, env, p, mode)
		return v / scale, err
	})
	if err != nil {
		return Result{}, err
	}
	notes := fmt.Sprintf("%s, %v, %s, median of %d; ratio = with flow log / without (target >= %.2f: cost <= 10%%)",
		what, env.IperfTime, pinning(env), env.Runs, flowLogTarget)
	return compare(name, unit, higher, samples[0], samples[1], "flowlog-off", flowLogTarget, notes), nil
}

func benchFlowLog(ctx context.Context, env *Env) ([]Result, error) {
	on, off, err := flowLogPaths(ctx, env)
	if err != nil {
		return nil, err
	}
	tcp, err := flowLogFigure(ctx, env, on, off, "tcp_throughput_flowlog", "Gbit/s", tcpBulk, 1e9, "iperf3 1 stream")
	if err != nil {
		return nil, err
	}
	udp, err := flowLogFigure(ctx, env, on, off, "udp_64b_pps_flowlog", "kpps", udpSmall, 1e3, "iperf3 -u -l 64 -b 0, datagrams received")
	if err != nil {
		return nil, err
	}
	return []Result{tcp, udp}, nil
}
