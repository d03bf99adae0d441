package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cpuPair is where the client and the server of a measurement run. On 2 vCPUs unpinned iperf3
// results were ±30% and bimodal (performance-notes.md, trap 10); pinning the two ends to
// different CPUs makes runs comparable. The engine is not pinned: it is what is being measured
// and it takes what CPU is left, as it would in use.
type cpuPair struct{ client, server string }

// pickCPUs takes the first two CPUs this process may run on. With a single CPU nothing is
// pinned (both ends would share it anyway).
func pickCPUs() (cpuPair, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return cpuPair{}, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var cpus []string
	for i := 0; i < 1024 && len(cpus) < 2; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, strconv.Itoa(i))
		}
	}
	if len(cpus) < 2 {
		return cpuPair{}, nil
	}
	return cpuPair{client: cpus[0], server: cpus[1]}, nil
}

// inNS is the argv that runs argv in namespace ns, pinned to cpu when cpu is not empty. Both ip
// and taskset exec their successor, so the process started is the tool itself, with one pid.
func inNS(ns, cpu string, argv ...string) []string {
	a := []string{"ip", "netns", "exec", ns}
	if cpu != "" {
		a = append(a, "taskset", "-c", cpu)
	}
	return append(a, argv...)
}

// iperfPort is iperf3's default port; each path's server has a namespace of its own.
const iperfPort = 5201

// iperfMode is what one iperf3 run measures.
type iperfMode int

const (
	tcpBulk  iperfMode = iota // one TCP stream, bits per second received
	udpSmall                  // 64-byte UDP datagrams at full speed, datagrams per second received
)

// runIperf runs one iperf3 measurement from p's client to p's server and returns the received
// rate: bits per second for tcpBulk, datagrams per second for udpSmall. The server is started
// for this one test (-1) and killed by pid if it has not exited when the measurement ends.
func runIperf(ctx context.Context, env *Env, p *Path, mode iperfMode) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, env.IperfTime+30*time.Second)
	defer cancel()
	srvArgv := inNS(p.ServerNS, env.cpus.server, "iperf3", "-s", "-1", "-B", p.ServerIP.String(), "-p", strconv.Itoa(iperfPort))
	srv := exec.CommandContext(ctx, srvArgv[0], srvArgv[1:]...)
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		return 0, fmt.Errorf("start iperf3 server in %s: %w", p.ServerNS, err)
	}
	// exited is closed when the server has been waited for; closing (not sending) lets every
	// reader see it.
	exited := make(chan struct{})
	var srvErr error
	go func() { srvErr = srv.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			srv.Process.Kill() // by pid: the iperf3 this function started, nothing else
			<-exited
		}
	}()
	if err := waitListening(ctx, srv.Process.Pid, p.ServerIP, iperfPort, exited); err != nil {
		select {
		case <-exited:
			// Only now may srvOut be read: the process and its copying are done.
			return 0, fmt.Errorf("iperf3 server in %s: %w (%v): %s", p.ServerNS, err, srvErr, bytes.TrimSpace(srvOut.Bytes()))
		default:
			return 0, fmt.Errorf("iperf3 server in %s: %w", p.ServerNS, err)
		}
	}

	secs := strconv.Itoa(int(env.IperfTime / time.Second))
	args := []string{"iperf3", "-c", p.ServerIP.String(), "-p", strconv.Itoa(iperfPort), "-J", "-t", secs}
	switch mode {
	case tcpBulk:
		// -O 1: the first second (slow start) is left out of the figure.
		args = append(args, "-O", "1")
	case udpSmall:
		args = append(args, "-u", "-l", "64", "-b", "0")
	}
	cliArgv := inNS(p.ClientNS, env.cpus.client, args...)
	out, err := exec.CommandContext(ctx, cliArgv[0], cliArgv[1:]...).Output()
	if ctx.Err() != nil {
		return 0, fmt.Errorf("iperf3 client in %s: %w", p.ClientNS, ctx.Err())
	}
	rep, perr := parseIperf(out)
	if perr != nil {
		return 0, fmt.Errorf("iperf3 client in %s: %w (exit: %v)", p.ClientNS, perr, err)
	}
	if err != nil {
		return 0, fmt.Errorf("iperf3 client in %s: %v", p.ClientNS, err)
	}
	if mode == udpSmall {
		return rep.udpReceivedPPS()
	}
	return rep.tcpReceivedBPS()
}

// waitListening polls the server process's view of TCP sockets (/proc/PID/net/tcp shows the
// namespace of PID) until it listens on addr:port. Reading the socket table asks nothing of the
// server: a probe connection would count as a test client and end a -1 server.
func waitListening(ctx context.Context, pid int, addr netip.Addr, port int, exited <-chan struct{}) error {
	want := procNetAddr(addr, port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		// Until ip and taskset have exec'd iperf3, PID shows the host's sockets; only trust the
		// table once the process is iperf3 itself.
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) == "iperf3" {
			tab, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
			if err == nil && listening(tab, want) {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("exited before listening")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return errors.New("not listening after 10s")
}

// procNetAddr formats an IPv4 socket address as /proc/net/tcp shows it: the address as a
// native-endian (little-endian here) 32-bit hex number, then the port in hex.
func procNetAddr(a netip.Addr, port int) string {
	b := a.As4()
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", b[3], b[2], b[1], b[0], port)
}

// listening reports whether a /proc/net/tcp table has a socket in LISTEN (0A) on local.
func listening(table []byte, local string) bool {
	sc := bufio.NewScanner(bytes.NewReader(table))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 3 && f[1] == local && f[3] == "0A" {
			return true
		}
	}
	return false
}

// iperfReport is the part of iperf3 -J output that the figures come from.
type iperfReport struct {
	Error string `json:"error"`
	Start struct {
		TestStart struct {
			Protocol string `json:"protocol"`
		} `json:"test_start"`
	} `json:"start"`
	End struct {
		SumReceived *iperfSum `json:"sum_received"`
	} `json:"end"`
}

// iperfSum is iperf3's end.sum_received: what the server counted.
type iperfSum struct {
	Seconds       float64 `json:"seconds"`
	BitsPerSecond float64 `json:"bits_per_second"`
	Packets       int64   `json:"packets"`
	LostPackets   int64   `json:"lost_packets"`
}

// parseIperf reads iperf3 -J output. iperf3 reports its own failures ("unable to connect")
// in the JSON's error field with a non-zero exit; those become the error.
func parseIperf(out []byte) (*iperfReport, error) {
	var r iperfReport
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("iperf3 -J output is not JSON (%v): %.200q", err, out)
	}
	if r.Error != "" {
		return nil, fmt.Errorf("iperf3: %s", r.Error)
	}
	if r.End.SumReceived == nil {
		return nil, errors.New("iperf3 -J output has no end.sum_received")
	}
	s := r.End.SumReceived
	if !(s.Seconds > 0) || math.IsInf(s.Seconds, 0) || !(s.BitsPerSecond >= 0) || math.IsInf(s.BitsPerSecond, 0) {
		return nil, fmt.Errorf("iperf3 end.sum_received has %v seconds and %v bit/s; want a positive duration and a finite rate", s.Seconds, s.BitsPerSecond)
	}
	return &r, nil
}

func (r *iperfReport) tcpReceivedBPS() (float64, error) {
	if p := r.Start.TestStart.Protocol; p != "TCP" {
		return 0, fmt.Errorf("iperf3 ran protocol %q, want TCP", p)
	}
	return r.End.SumReceived.BitsPerSecond, nil
}

// udpReceivedPPS is the datagrams the server got per second: sent less lost. With -b 0 the
// client sends far more than a userspace path can carry and the TAP queue drops the rest
// silently (performance-notes.md, trap 9), so the sent rate says nothing.
func (r *iperfReport) udpReceivedPPS() (float64, error) {
	if p := r.Start.TestStart.Protocol; p != "UDP" {
		return 0, fmt.Errorf("iperf3 ran protocol %q, want UDP", p)
	}
	s := r.End.SumReceived
	got := s.Packets - max(s.LostPackets, 0)
	if s.Packets < 0 || got < 0 {
		return 0, fmt.Errorf("iperf3 counted %d datagrams with %d lost", s.Packets, s.LostPackets)
	}
	return float64(got) / s.Seconds, nil
}

// runPing sends count echo requests from p's client to p's server and returns the round-trip
// times in microseconds of those answered. More than half unanswered is an error: a lossy path
// has no meaningful RTT.
func runPing(ctx context.Context, env *Env, p *Path, count int, interval time.Duration) ([]float64, error) {
	// ping's deadline (-w) bounds the run even if every reply is lost.
	deadline := int(time.Duration(count)*interval/time.Second) + 3
	ctx, cancel := context.WithTimeout(ctx, time.Duration(deadline+10)*time.Second)
	defer cancel()
	argv := inNS(p.ClientNS, env.cpus.client, "ping", "-n", "-c", strconv.Itoa(count),
		"-i", strconv.FormatFloat(interval.Seconds(), 'f', 3, 64), "-W", "1", "-w", strconv.Itoa(deadline), p.ServerIP.String())
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	rtts := parsePing(out)
	if len(rtts)*2 < count {
		return rtts, fmt.Errorf("ping %s from %s: %d of %d answered (%v):\n%s", p.ServerIP, p.ClientNS, len(rtts), count, err, out)
	}
	return rtts, nil
}

// parsePing reads the per-reply times ("... time=0.045 ms") of iputils ping output, in µs.
func parsePing(out []byte) []float64 {
	var rtts []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, " time=")
		if i < 0 || !strings.Contains(line, "bytes from") {
			continue
		}
		f := strings.Fields(line[i+len(" time="):])
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			continue
		}
		switch f[1] {
		case "ms":
			rtts = append(rtts, v*1000)
		case "s":
			rtts = append(rtts, v*1e6)
		case "us", "µs":
			rtts = append(rtts, v)
		}
	}
	return rtts
}

// cpuTimes is the aggregate "cpu" line of /proc/stat: idle (idle + iowait) and total jiffies.
type cpuTimes struct{ idle, total uint64 }

// parseProcStat reads the aggregate cpu line of /proc/stat.
func parseProcStat(b []byte) (cpuTimes, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[0] != "cpu" {
			continue
		}
		var t cpuTimes
		for i, s := range f[1:] {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return cpuTimes{}, fmt.Errorf("/proc/stat cpu field %d is %q, want a number", i+1, s)
			}
			// user nice system idle iowait irq softirq steal guest guest_nice: guest time is
			// already counted in user and nice.
			if i < 8 {
				t.total += v
			}
			if i == 3 || i == 4 {
				t.idle += v
			}
		}
		return t, nil
	}
	return cpuTimes{}, errors.New("/proc/stat has no cpu line")
}

// machineBusy samples how busy the CPUs are over d while this program measures nothing: the
// work of others on a shared machine, which makes every figure of the run noisier.
func machineBusy(ctx context.Context, d time.Duration) (float64, error) {
	read := func() (cpuTimes, error) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return cpuTimes{}, err
		}
		return parseProcStat(b)
	}
	a, err := read()
	if err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
	}
	b, err := read()
	if err != nil {
		return 0, err
	}
	return busyBetween(a, b), nil
}

// busyBetween is the busy fraction of CPU time between two samples, 0 when no time passed.
func busyBetween(a, b cpuTimes) float64 {
	if b.total <= a.total || b.idle < a.idle {
		return 0
	}
	idle := float64(b.idle-a.idle) / float64(b.total-a.total)
	return max(0, min(1, 1-idle))
}
