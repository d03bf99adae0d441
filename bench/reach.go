package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ec2sim/ec2sim/analysis/reach"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

// reachTarget is issue 8's figure: the whole matrix of a 200-instance, 100-group scenario.
const reachTarget = 5 * time.Second

func init() {
	extraBenchmarks = append(extraBenchmarks, Benchmark{
		Name: "reach",
		What: "ec2sim reach's static analysis of a generated 200-instance, 100-group scenario (no root)",
		Run:  benchReach,
	})
}

func benchReach(ctx context.Context, env *Env) ([]Result, error) {
	sc, err := scenarios.Parse("generated-200.yaml", []byte(reach.Generate(200, 100, 1)))
	if err != nil {
		return nil, fmt.Errorf("the generated scenario does not load: %w", err)
	}
	plan, err := lab.NewPlan(sc, "bench-reach")
	if err != nil {
		return nil, err
	}
	var times []float64
	for r := range env.Runs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		res, err := reach.Analyze(plan, reach.Options{})
		if err != nil {
			return nil, err
		}
		d := time.Since(start)
		env.Logf("reach run %d/%d: %d pairs (%d classes, %d packets traced) in %v", r+1, env.Runs, len(res.Cells), res.Classes, res.Traces, d.Round(time.Millisecond))
		times = append(times, d.Seconds())
	}
	return []Result{compare("reach_200_instances", "s", lower, times, []float64{reachTarget.Seconds()}, "target", 1,
		"reach.Analyze of a generated scenario: 200 instances, 100 groups, 10 subnets, 4 custom ACLs, 3 internet hosts; ratio = time/target")}, nil
}
