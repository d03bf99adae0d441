package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ec2sim/ec2sim/scenarios"
)

// The NAT figures (issue 4): throughput and connection rate from an instance to an internet
// host through the internet gateway's one-to-one NAT, and through a NAT gateway (then the
// internet gateway), each against the kernel doing the same NAT in the same run: a router
// namespace between two veths with nftables snat+dnat (one-to-one) or masquerade.

func init() {
	extraBenchmarks = append(extraBenchmarks,
		Benchmark{Name: "igw-nat", What: "TCP throughput and connections/s through the internet gateway's 1:1 NAT, against nftables snat+dnat in a router namespace", Run: benchIGWNAT},
		Benchmark{Name: "natgw", What: "TCP throughput and connections/s through a NAT gateway and the internet gateway, against nftables masquerade in a router namespace", Run: benchNATGW},
	)
}

// natTarget is the target ratio for every NAT figure.
const natTarget = 0.7

// natScenario has an instance with a public IP in a public subnet (the IGW path) and one in a
// private subnet behind a NAT gateway (the NAT gateway path); both reach the internet host
// 198.51.100.20. Everything is open: the figures measure translation, not policy.
const natScenario = `
name: bench-nat
description: the NAT data-path benchmarks
vpcs:
  bench:
    cidr: 10.0.0.0/16
    internet_gateway: true
    subnets:
      public:  {cidr: 10.0.1.0/24, route_table: public}
      private: {cidr: 10.0.2.0/24, route_table: private}
    nat_gateways:
      nat-a: {subnet: public, elastic_ip: 203.0.113.60}
    route_tables:
      public:
        routes:
          - {destination: 0.0.0.0/0, target: igw}
      private:
        routes:
          - {destination: 0.0.0.0/0, target: nat/nat-a}
    security_groups:
      open:
        description: everything in
        ingress:
          - {proto: all, cidr: 0.0.0.0/0}
instances:
  pub:  {subnet: bench/public, ip: 10.0.1.10, elastic_ip: 203.0.113.50, security_groups: [open]}
  priv: {subnet: bench/private, ip: 10.0.2.10, security_groups: [open]}
internet:
  hosts:
    server: {ip: 198.51.100.20}
`

// natServer is the internet host every NAT path's client talks to.
var natServer = netip.MustParseAddr("198.51.100.20")

// natEnginePaths are the engine's two NAT paths over one lab that `ec2sim up` runs: pub (IGW)
// and priv (NAT gateway).
func natEnginePaths(ctx context.Context, env *Env) (igw, natgw *Path, err error) {
	l, err := upDaemonLab(ctx, env, "bench-nat.yaml", natScenario)
	if err != nil {
		return nil, nil, fmt.Errorf("NAT engine paths: %w", err)
	}
	env.onClose(l.down)
	inet := l.ns(scenarios.InternetName)
	igw = &Path{Name: "engine-igw", What: "instance with an Elastic IP -> IGW 1:1 NAT -> internet host (ec2sim engine)",
		ClientNS: l.ns("pub"), ServerNS: inet, ServerIP: natServer, engineCPU: l.engineCPU}
	natgw = &Path{Name: "engine-natgw", What: "private instance -> NAT gateway -> IGW -> internet host (ec2sim engine)",
		ClientNS: l.ns("priv"), ServerNS: inet, ServerIP: natServer, engineCPU: l.engineCPU}
	return igw, natgw, nil
}

// natRules are the kernel's NAT in the router namespace: %s is the postrouting rule and the
// prerouting rule (empty for masquerade, which needs none: conntrack translates replies).
const natRules = `table ip ec2simbenchnat {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		%s
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		%s
	}
}
`

// newKernelNATPath is the kernel baseline: client (10.0.1.10/24, MTU 9001) - router - server
// (198.51.100.20/24, MTU 1500 like the internet gateway), with the router translating the
// client as the rules say.
func newKernelNATPath(ctx context.Context, name, what, pre, post string) (*Path, error) {
	tag := benchNSPrefix + runTag()
	c, r, s := tag+"-"+name+"-c", tag+"-"+name+"-r", tag+"-"+name+"-s"
	steps := [][]string{
		{"-n", c, "link", "add", "eth0", "mtu", pathMTU, "type", "veth", "peer", "name", "in0", "netns", r, "mtu", pathMTU},
		{"-n", s, "link", "add", "eth0", "mtu", "1500", "type", "veth", "peer", "name", "out0", "netns", r, "mtu", "1500"},
		{"-n", r, "addr", "add", "10.0.1.1/24", "dev", "in0"},
		{"-n", r, "addr", "add", "198.51.100.1/24", "dev", "out0"},
		{"-n", r, "link", "set", "in0", "up"},
		{"-n", r, "link", "set", "out0", "up"},
		{"-n", r, "link", "set", "lo", "up"},
	}
	steps = append(steps, endSteps(c, clientAddr)...)
	steps = append(steps, endSteps(s, natServer.String()+"/24")...)
	steps = append(steps,
		[]string{"-n", c, "route", "add", "default", "via", "10.0.1.1"},
		[]string{"-n", s, "route", "add", "default", "via", "198.51.100.1"})
	set, err := buildNS(ctx, []string{c, r, s}, steps)
	if err != nil {
		return nil, fmt.Errorf("%s path: %w", name, err)
	}
	if err := ipCmd(ctx, "", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
		return nil, errors.Join(err, set.remove())
	}
	if err := ipCmd(ctx, fmt.Sprintf(natRules, pre, post), "netns", "exec", r, "nft", "-f", "-"); err != nil {
		return nil, errors.Join(fmt.Errorf("%s path: %w", name, err), set.remove())
	}
	return &Path{Name: name, What: what, ClientNS: c, ServerNS: s, ServerIP: natServer, close: set.remove}, nil
}

// natFigures measures throughput and connection rate on ours and the kernel's path,
// interleaved, and reports ours against the kernel's.
func natFigures(ctx context.Context, env *Env, prefix string, ours, kernel *Path) ([]Result, error) {
	paths := []*Path{ours, kernel}
	busy, err := machineBusy(ctx, time.Second)
	if err != nil {
		return nil, err
	}
	// The engine's CPU over each of its runs, in CPUs (CPU time over wall time): what the
	// figures cost the machine, busy-polling included.
	var tputCPU, crrCPU []float64
	tput, err := alternate(ctx, env, prefix+"_throughput", paths, withEngineCPU(&tputCPU, func(ctx context.Context, env *Env, p *Path) (float64, error) {
		bps, err := runIperf(ctx, env, p, tcpBulk)
		return bps / 1e9, err
	}))
	if err != nil {
		return nil, err
	}
	crr, err := alternate(ctx, env, prefix+"_crr", paths, withEngineCPU(&crrCPU, func(ctx context.Context, env *Env, p *Path) (float64, error) {
		return runCRR(ctx, p, env.IperfTime)
	}))
	if err != nil {
		return nil, err
	}
	where := fmt.Sprintf("%s; kernel: %s; CPUs %.0f%% busy with other work before", ours.What, kernel.What, busy*100)
	return []Result{
		compare(prefix+"_throughput", "Gbit/s", higher, tput[0], tput[1], kernel.Name, natTarget,
			fmt.Sprintf("iperf3 1 stream client -> internet host, %v, %s, %s, median of %d; %s", env.IperfTime, pinning(env), congestionControl(), env.Runs, where)),
		compare(prefix+"_crr", "conn/s", higher, crr[0], crr[1], kernel.Name, natTarget,
			fmt.Sprintf("connect + 1 byte each way + close (RST), one client, %v per run, median of %d; %s", env.IperfTime, env.Runs, where)),
		engineCPUResult(prefix+"_throughput_engine_cpu", tputCPU, "the throughput runs"),
		engineCPUResult(prefix+"_crr_engine_cpu", crrCPU, "the connection-rate runs"),
	}, nil
}

// withEngineCPU wraps measure so that every run on a path with an engine process also appends
// the CPUs that process used during the run (its CPU time over the run's wall time) to cpus.
func withEngineCPU(cpus *[]float64, measure measureFunc) measureFunc {
	return func(ctx context.Context, env *Env, p *Path) (float64, error) {
		if p.engineCPU == nil {
			return measure(ctx, env, p)
		}
		c0, err := p.engineCPU()
		if err != nil {
			return 0, err
		}
		start := time.Now()
		v, err := measure(ctx, env, p)
		if err != nil {
			return v, err
		}
		c1, err := p.engineCPU()
		if err != nil {
			return 0, err
		}
		*cpus = append(*cpus, (c1-c0).Seconds()/time.Since(start).Seconds())
		return v, nil
	}
}

// engineCPUResult reports the engine's CPU use over some runs; it has no baseline: the kernel's
// NAT runs in softirq on the CPUs of the programs it carries.
func engineCPUResult(name string, cpus []float64, what string) Result {
	return Result{
		Name: name, Value: round4(median(cpus)), Unit: "CPUs", Better: lower, Samples: roundAll(cpus),
		Notes: "CPU time of the ec2sim engine process (utime + stime in /proc/PID/stat) over the wall time of " + what +
			", busy-polling included (ec2sim up --busy-poll, default 100us); median of the runs",
	}
}

// natLab builds the engine's NAT paths once per run; both NAT benchmarks share them.
func natLab(ctx context.Context, env *Env) (*Path, *Path, error) {
	if env.nat == nil {
		igw, natgw, err := natEnginePaths(ctx, env)
		if err != nil {
			return nil, nil, err
		}
		env.nat = &[2]*Path{igw, natgw}
	}
	return env.nat[0], env.nat[1], nil
}

func benchIGWNAT(ctx context.Context, env *Env) ([]Result, error) {
	ours, _, err := natLab(ctx, env)
	if err != nil {
		return nil, err
	}
	k, err := newKernelNATPath(ctx, "knat1to1", "router namespace, nftables snat 10.0.1.10 -> 203.0.113.50 and dnat back",
		"ip daddr 203.0.113.50 dnat to 10.0.1.10", "ip saddr 10.0.1.10 snat to 203.0.113.50")
	if err != nil {
		return nil, err
	}
	defer k.Close()
	return natFigures(ctx, env, "igw_nat", ours, k)
}

func benchNATGW(ctx context.Context, env *Env) ([]Result, error) {
	_, ours, err := natLab(ctx, env)
	if err != nil {
		return nil, err
	}
	k, err := newKernelNATPath(ctx, "kmasq", "router namespace, nftables masquerade to ports 1024-65535",
		"", "oifname \"out0\" meta l4proto { tcp, udp } masquerade to :1024-65535\n\t\toifname \"out0\" masquerade")
	if err != nil {
		return nil, err
	}
	defer k.Close()
	return natFigures(ctx, env, "natgw", ours, k)
}
