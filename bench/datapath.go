package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// busyWarn is the share of CPU time used by others above which the run warns.
const busyWarn = 0.1

// measureFunc measures one figure once on one path.
type measureFunc func(ctx context.Context, env *Env, p *Path) (float64, error)

// alternate measures every path Runs times, interleaved so that drift of the machine (other
// tenants, thermal, page cache) touches all paths alike: round r starts at path r mod len(paths)
// (engine, veth, c1; then veth, c1, engine; ...), so no path is always first or last. It
// returns the samples of each path in the order of paths.
func alternate(ctx context.Context, env *Env, figure string, paths []*Path, measure measureFunc) ([][]float64, error) {
	samples := make([][]float64, len(paths))
	for r := range env.Runs {
		for k := range paths {
			i := (r + k) % len(paths)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			v, err := measure(ctx, env, paths[i])
			if err != nil {
				return nil, fmt.Errorf("%s on path %s, run %d: %w", figure, paths[i].Name, r+1, err)
			}
			env.Logf("%s run %d/%d %-6s %.4g", figure, r+1, env.Runs, paths[i].Name, v)
			samples[i] = append(samples[i], v)
		}
	}
	return samples, nil
}

// figure describes how a data-path figure is reported against each baseline.
type figure struct {
	name, unit, better string
	notes              string
	// targets maps a baseline path's name to the ratio the project aims for against it.
	targets map[string]float64
}

// comparePaths runs measure on every path and reports ours (paths[0]) against each baseline:
// a figure named f.name against the first baseline (veth), f.name+"_vs_"+baseline for others.
func comparePaths(ctx context.Context, env *Env, f figure, measure measureFunc) ([]Result, error) {
	paths, err := env.Paths(ctx)
	if err != nil {
		return nil, err
	}
	// Other people's work on a shared machine is the main source of noise; say how much there
	// was, so a reader knows how far to trust the figures.
	busy, err := machineBusy(ctx, time.Second)
	if err != nil {
		return nil, err
	}
	if busy > busyWarn {
		env.Logf("%s: the CPUs were %.0f%% busy with other work before the runs; expect noisy figures", f.name, busy*100)
	}
	samples, err := alternate(ctx, env, f.name, paths, measure)
	if err != nil {
		return nil, err
	}
	var rs []Result
	for i := 1; i < len(paths); i++ {
		name := f.name
		if i > 1 {
			name += "_vs_" + paths[i].Name
		}
		notes := fmt.Sprintf("%s; CPUs %.0f%% busy with other work before", f.notes, busy*100)
		if i > 1 {
			notes += "; " + paths[i].What
		}
		rs = append(rs, compare(name, f.unit, f.better, samples[0], samples[i], paths[i].Name, f.targets[paths[i].Name], notes))
	}
	return rs, nil
}

// congestionControl names the TCP congestion control the namespaces inherit from the machine,
// which both paths of a throughput figure use: it moves the figures a lot (on the 2-vCPU
// machines here the kernel path carried 13-15 Gbit/s with bbr's pacing and 23-27 with cubic,
// while the engine went from 8-10 to 12-13), so a figure quotes it.
func congestionControl() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_congestion_control")
	if err != nil {
		return "TCP congestion control unknown"
	}
	return "TCP congestion control " + strings.TrimSpace(string(b)) + " (the machine's default)"
}

func pinning(env *Env) string {
	if env.cpus.client == "" {
		return "unpinned (1 CPU)"
	}
	return fmt.Sprintf("client on CPU %s, server on CPU %s", env.cpus.client, env.cpus.server)
}

func benchTCP(ctx context.Context, env *Env) ([]Result, error) {
	f := figure{
		name: "tcp_throughput", unit: "Gbit/s", better: higher,
		notes: fmt.Sprintf("iperf3 1 stream, %v measured after 1 s of warm-up, %s, %s, median of %d", env.IperfTime, pinning(env), congestionControl(), env.Runs),
		// The target against veth; performance-notes.md's realistic goal against c1.
		targets: map[string]float64{"veth": 0.5, "c1": 0.65},
	}
	return comparePaths(ctx, env, f, func(ctx context.Context, env *Env, p *Path) (float64, error) {
		bps, err := runIperf(ctx, env, p, tcpBulk)
		return bps / 1e9, err
	})
}

func benchUDP(ctx context.Context, env *Env) ([]Result, error) {
	f := figure{
		name: "udp_64b_pps", unit: "kpps", better: higher,
		notes:   fmt.Sprintf("iperf3 -u -l 64 -b 0, datagrams received, %v, %s, median of %d", env.IperfTime, pinning(env), env.Runs),
		targets: map[string]float64{"c1": 0.5},
	}
	return comparePaths(ctx, env, f, func(ctx context.Context, env *Env, p *Path) (float64, error) {
		pps, err := runIperf(ctx, env, p, udpSmall)
		return pps / 1e3, err
	})
}

// pingInterval spaces the echo requests of a run; close enough to keep runs short, far enough
// apart that each request finds the path idle, as a latency figure should.
const pingInterval = 100 * time.Millisecond

func benchPing(ctx context.Context, env *Env) ([]Result, error) {
	where := "ping unpinned (1 CPU)"
	if env.cpus.client != "" {
		where = "ping on CPU " + env.cpus.client
	}
	f := figure{
		name: "ping_rtt", unit: "us", better: lower,
		notes:   fmt.Sprintf("median RTT of %d pings %v apart, median of %d runs, %s", env.Pings, pingInterval, env.Runs, where),
		targets: map[string]float64{"c1": 3},
	}
	return comparePaths(ctx, env, f, func(ctx context.Context, env *Env, p *Path) (float64, error) {
		rtts, err := runPing(ctx, env, p, env.Pings, pingInterval)
		return median(rtts), err
	})
}
