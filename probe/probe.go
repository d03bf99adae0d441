// Package probe sends real traffic between instances: a listener made inside the target's network
// namespace, a client made inside the source's, and the kernels of both doing the work. A probe
// reports whether the exchange completed, so a scenario can assert allow or deny on real packets.
//
// Send (crafted.go) is the other kind: a packet written byte by byte — spoofed source, forged
// flags, fragments, other IP protocols — sent from a raw AF_PACKET socket inside the sender, and
// looked for by a capture inside the destination, so anti-spoofing and stateful filtering are
// tested on packets no well-behaved kernel would send.
package probe

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
)

// Spec is one probe.
type Spec struct {
	FromNS string // network namespace path of the source
	// FromAddr, when valid, is the source address to send from: a namespace holding several
	// hosts (the simulated internet) sends from the host's own address.
	FromAddr netip.Addr
	ToNS     string     // namespace path of the listener; "" for ICMP (the kernel answers) or no listener
	Dst      netip.Addr // address the source sends to
	Proto    string     // tcp, udp or icmp
	Port     int
	Timeout  time.Duration
}

// Result is what a probe observed.
type Result struct {
	Completed bool          // the exchange finished: a reply came back with our token
	Detail    string        // what happened, for reports
	RTT       time.Duration // time to the reply, when Completed
}

// Run performs the probe. Only an inability to set the probe up (no namespace, port in use) is an
// error; traffic that does not get through is a Result with Completed false.
func Run(s Spec) (Result, error) {
	if s.Timeout <= 0 {
		s.Timeout = 2 * time.Second
	}
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return Result{}, err
	}
	switch s.Proto {
	case "tcp":
		return runTCP(s, []byte(hex.EncodeToString(token)))
	case "udp":
		return runUDP(s, []byte(hex.EncodeToString(token)))
	case "icmp":
		return runICMP(s, token)
	}
	return Result{}, fmt.Errorf("probe protocol %q: want tcp, udp or icmp", s.Proto)
}

// listenUDP binds port on addr if the namespace holds it, else on every address (a public
// address that the gateway translates is not held by the instance behind it).
func listenUDP(addr netip.Addr, port int) (net.PacketConn, error) {
	if addr.IsValid() {
		if pc, err := net.ListenPacket("udp4", hostPort(addr, port)); err == nil {
			return pc, nil
		}
	}
	return net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", port))
}

func hostPort(a netip.Addr, port int) string { return net.JoinHostPort(a.String(), strconv.Itoa(port)) }

// Listen starts an echo listener for proto (tcp or udp) on port in the namespace at ns; probes
// with an empty ToNS use it, so that many sources can probe one target at once (a matrix's
// column). A UDP listener is bound to addr when the namespace holds it, so that the echo leaves
// from the address the client sent to: an unbound UDP socket answers from the interface's first
// address, which in a namespace of several hosts (the simulated internet) is another host's, and
// the client's conntrack would not know it. Close it when done.
func Listen(ns, proto string, addr netip.Addr, port int) (io.Closer, error) {
	var c io.Closer
	err := hypervisor.RunIn(ns, func() error {
		switch proto {
		case "tcp":
			ln, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", port))
			if err != nil {
				return err
			}
			go echoTCP(ln)
			c = ln
		case "udp":
			pc, err := listenUDP(addr, port)
			if err != nil {
				return err
			}
			go echoUDP(pc)
			c = pc
		default:
			return fmt.Errorf("protocol %q: want tcp or udp", proto)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s/%d in %s: %w", proto, port, ns, err)
	}
	return c, nil
}

func runTCP(s Spec, token []byte) (Result, error) {
	if s.ToNS != "" {
		ln, err := Listen(s.ToNS, "tcp", netip.Addr{}, s.Port)
		if err != nil {
			return Result{}, err
		}
		defer ln.Close()
	}
	start := time.Now()
	var res Result
	err := hypervisor.RunIn(s.FromNS, func() error {
		d := net.Dialer{Timeout: s.Timeout}
		if s.FromAddr.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: s.FromAddr.AsSlice()}
		}
		c, err := d.Dial("tcp4", hostPort(s.Dst, s.Port))
		if err != nil {
			res.Detail = "connect: " + shortErr(err)
			return nil
		}
		defer c.Close()
		c.SetDeadline(start.Add(s.Timeout))
		if _, err := c.Write(token); err != nil {
			res.Detail = "send: " + shortErr(err)
			return nil
		}
		got := make([]byte, len(token))
		if _, err := io.ReadFull(c, got); err != nil {
			res.Detail = "connected, no echo: " + shortErr(err)
			return nil
		}
		if string(got) != string(token) {
			res.Detail = "connected, wrong echo (another listener?)"
			return nil
		}
		res.Completed, res.RTT, res.Detail = true, time.Since(start), "connected and echoed"
		return nil
	})
	return res, err
}

func echoTCP(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.Copy(c, c)
		}()
	}
}

func echoUDP(pc net.PacketConn) {
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo(buf[:n], from)
	}
}

func runUDP(s Spec, token []byte) (Result, error) {
	if s.ToNS != "" {
		pc, err := Listen(s.ToNS, "udp", s.Dst, s.Port)
		if err != nil {
			return Result{}, err
		}
		defer pc.Close()
	}
	start := time.Now()
	var res Result
	err := hypervisor.RunIn(s.FromNS, func() error {
		var laddr *net.UDPAddr
		if s.FromAddr.IsValid() {
			laddr = &net.UDPAddr{IP: s.FromAddr.AsSlice()}
		}
		c, err := net.DialUDP("udp4", laddr, net.UDPAddrFromAddrPort(netip.AddrPortFrom(s.Dst, uint16(s.Port))))
		if err != nil {
			res.Detail = "socket: " + shortErr(err)
			return nil
		}
		defer c.Close()
		deadline := start.Add(s.Timeout)
		buf := make([]byte, 2048)
		// UDP has no handshake: send a few times within the timeout, so that one lost datagram
		// (a full queue while the lab starts) does not turn an allowed flow into a false deny.
		for time.Now().Before(deadline) {
			c.Write(token)
			c.SetReadDeadline(minTime(deadline, time.Now().Add(s.Timeout/4)))
			n, err := c.Read(buf)
			if err == nil && string(buf[:n]) == string(token) {
				res.Completed, res.RTT, res.Detail = true, time.Since(start), "datagram echoed"
				return nil
			}
			var ne net.Error
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				res.Detail = "receive: " + shortErr(err)
				// ICMP port unreachable shows up as ECONNREFUSED: the packet got through but
				// nothing listened. Keep trying in case the listener is not up yet.
				time.Sleep(s.Timeout / 8)
			}
		}
		if res.Detail == "" {
			res.Detail = "no reply within " + s.Timeout.String()
		}
		return nil
	})
	return res, err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// runICMP sends echo requests from a raw socket in the source namespace; the target's kernel
// answers them.
func runICMP(s Spec, token []byte) (Result, error) {
	start := time.Now()
	var res Result
	err := hypervisor.RunIn(s.FromNS, func() error {
		bind := "0.0.0.0"
		if s.FromAddr.IsValid() {
			bind = s.FromAddr.String()
		}
		c, err := net.ListenPacket("ip4:icmp", bind)
		if err != nil {
			return fmt.Errorf("raw ICMP socket in %s: %w", s.FromNS, err)
		}
		defer c.Close()
		id := uint16(os.Getpid()) ^ binary.BigEndian.Uint16(token)
		deadline := start.Add(s.Timeout)
		dst := &net.IPAddr{IP: s.Dst.AsSlice()}
		buf := make([]byte, 1500)
		for seq := uint16(1); time.Now().Before(deadline); seq++ {
			msg := echoRequest(id, seq, token)
			if _, err := c.WriteTo(msg, dst); err != nil {
				res.Detail = "send: " + shortErr(err)
				return nil
			}
			c.SetReadDeadline(minTime(deadline, time.Now().Add(s.Timeout/4)))
			for {
				n, from, err := c.ReadFrom(buf)
				if err != nil {
					break
				}
				// A raw socket sees every ICMP message of the namespace: keep only our reply.
				if n >= 8+len(token) && buf[0] == 0 && binary.BigEndian.Uint16(buf[4:]) == id &&
					string(buf[8:8+len(token)]) == string(token) && from.String() == s.Dst.String() {
					res.Completed, res.RTT, res.Detail = true, time.Since(start), "echo reply"
					return nil
				}
			}
		}
		res.Detail = "no echo reply within " + s.Timeout.String()
		return nil
	})
	return res, err
}

// echoRequest builds an ICMPv4 echo request with a correct checksum.
func echoRequest(id, seq uint16, payload []byte) []byte {
	b := make([]byte, 8+len(payload))
	b[0] = 8
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], payload)
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(b[2:], ^uint16(sum))
	return b
}

func shortErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}
