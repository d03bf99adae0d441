package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

// pairScenario is the engine path: two instances in one subnet whose security group lets
// everything in from the VPC, so the figure measures the engine's forwarding, not a policy that
// drops. The addresses are those of the kernel baselines' ends.
const pairScenario = `
name: bench-pair
description: two instances for the data-path benchmarks
vpcs:
  bench:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
    security_groups:
      open:
        description: all traffic from the VPC
        ingress:
          - {proto: all, cidr: 10.0.0.0/16}
instances:
  client: {subnet: bench/a, ip: 10.0.1.10, security_groups: [open]}
  server: {subnet: bench/a, ip: 10.0.1.11, security_groups: [open]}
`

// upLab parses a scenario, plans it under a fresh lab name and brings it up, timing lab.Up.
// downLab is its counterpart; the returned lab must be taken down by it.
func upLab(ctx context.Context, file, yaml string) (*lab.Lab, time.Duration, error) {
	sc, err := scenarios.Parse(file, []byte(yaml))
	if err != nil {
		return nil, 0, err
	}
	plan, err := lab.NewPlan(sc, labPrefix+"-"+runTag())
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	l, err := lab.Up(ctx, plan)
	took := time.Since(start)
	if err != nil {
		return nil, 0, fmt.Errorf("lab %s from %s: %w", plan.Lab, file, err)
	}
	return l, took, nil
}

// downLab takes the lab down, timing lab.Down, and checks that nothing of it is left.
func downLab(l *lab.Lab) (time.Duration, error) {
	start := time.Now()
	err := l.Down()
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("lab %s down: %w", l.Plan.Lab, err)
	}
	if left, err := hypervisor.ListLabObjects(l.Plan.Lab); err != nil || len(left) > 0 {
		return took, fmt.Errorf("lab %s left behind after Down: %v %v", l.Plan.Lab, left, err)
	}
	return took, nil
}

// newEnginePath is ours: two instances of a lab that `ec2sim up` runs, as a user's lab runs.
func newEnginePath(ctx context.Context, env *Env) (*Path, error) {
	l, err := upDaemonLab(ctx, env, "bench-pair.yaml", pairScenario)
	if err != nil {
		return nil, fmt.Errorf("engine path: %w", err)
	}
	return &Path{
		Name: "engine", What: "two instances through the ec2sim engine (TAP ENIs, `ec2sim up`'s engine process)",
		ClientNS: l.ns("client"), ServerNS: l.ns("server"), ServerIP: pairServer,
		close: l.down, engineCPU: l.engineCPU,
	}, nil
}

// pairServer is the server's address in pairScenario.
var pairServer = netip.MustParseAddr("10.0.1.11")

// enginePath brings up the two-instance lab in this process and returns it with its path, for
// benchmarks that change the lab (flow logs) before measuring it and compare it only with itself.
func enginePath(ctx context.Context) (*Path, *lab.Lab, error) {
	l, _, err := upLab(ctx, "bench-pair.yaml", pairScenario)
	if err != nil {
		return nil, nil, fmt.Errorf("engine path: %w", err)
	}
	srv, err := l.ResolveTarget("server")
	if err != nil {
		return nil, nil, errors.Join(err, l.Down())
	}
	return &Path{
		Name: "engine", What: "two instances through the ec2sim engine (TAP ENIs, in this process)",
		ClientNS: hypervisor.NSName(l.Plan.Lab, "client"), ServerNS: hypervisor.NSName(l.Plan.Lab, "server"),
		ServerIP: srv,
		close:    func() error { _, err := downLab(l); return err },
	}, l, nil
}

// bringUpScenario is a lab of n instances in one VPC with five /24 subnets, spread round-robin,
// all in the VPC's default security group.
func bringUpScenario(n int) string {
	var b strings.Builder
	b.WriteString("name: bench-bringup\nvpcs:\n  main:\n    cidr: 10.0.0.0/16\n    subnets:\n")
	const subnets = 5
	for s := range subnets {
		fmt.Fprintf(&b, "      s%d: {cidr: 10.0.%d.0/24}\n", s, s+1)
	}
	b.WriteString("instances:\n")
	for i := range n {
		fmt.Fprintf(&b, "  i%d: {subnet: main/s%d}\n", i, i%subnets)
	}
	return b.String()
}

// Targets from the issue: a 50-instance lab up in under 10 s and down in under 5 s.
const (
	upTarget   = 10 * time.Second
	downTarget = 5 * time.Second
)

// benchBringUp times lab.Up and lab.Down of an Instances-instance lab, Runs times. After each Up
// (untimed) the first instance pings the last, in another subnet, so a lab that came up without
// a working network is an error rather than a fast figure.
func benchBringUp(ctx context.Context, env *Env) ([]Result, error) {
	yaml := bringUpScenario(env.Instances)
	var ups, downs []float64
	for r := range env.Runs {
		l, up, err := upLab(ctx, "bench-bringup.yaml", yaml)
		if err != nil {
			return nil, err
		}
		checkErr := checkLab(ctx, l, env.Instances)
		down, err := downLab(l)
		if err := errors.Join(checkErr, err); err != nil {
			return nil, err
		}
		env.Logf("lab-bringup run %d/%d: %d instances up in %v, down in %v", r+1, env.Runs, env.Instances, up.Round(time.Millisecond), down.Round(time.Millisecond))
		ups = append(ups, up.Seconds())
		downs = append(downs, down.Seconds())
	}
	target := func(d time.Duration) []float64 { return []float64{d.Seconds()} }
	what := fmt.Sprintf("%d instances, 1 VPC, 5 subnets", env.Instances)
	return []Result{
		compare("lab_up_time", "s", lower, ups, target(upTarget), "target", 1,
			"lab.Up of "+what+"; ratio = time/target"),
		compare("lab_down_time", "s", lower, downs, target(downTarget), "target", 1,
			"lab.Down of "+what+"; ratio = time/target"),
	}, nil
}

// checkLab pings from the first instance to the last.
func checkLab(ctx context.Context, l *lab.Lab, n int) error {
	last := fmt.Sprintf("i%d", n-1)
	dst, err := l.ResolveTarget(last)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := hypervisor.CommandContext(ctx, l.Plan.Lab, "i0", "ping", "-n", "-c", "1", "-W", "3", dst.String()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab %s: i0 cannot ping %s (%s): %v\n%s", l.Plan.Lab, last, dst, err, out)
	}
	return nil
}
