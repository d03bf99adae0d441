package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ec2sim/ec2sim/runner"
)

// The scenario runner's figures (issue 7): how long the bundled suites take, as `make demo`
// runs them, and how many matrix probes per second the runner completes.
func init() {
	extraBenchmarks = append(extraBenchmarks,
		Benchmark{Name: "suites", What: "wall time of every bundled suite (scenarios/suites), 4 files at a time as ec2sim test runs them", Run: benchSuites},
		Benchmark{Name: "matrix-probes", What: "probes per second of a 10 x 10 matrix (tcp/80, every cell allowed)", Run: benchMatrix},
	)
}

// suitesDir is where the bundled suites are, relative to the repository root `make bench`
// runs from.
const suitesDir = "scenarios/suites"

// suiteParallelism is ec2sim test's default --parallel.
const suiteParallelism = 4

// benchSuites runs every bundled suite Runs times; a suite that fails is an error, not a figure.
func benchSuites(ctx context.Context, env *Env) ([]Result, error) {
	files, err := filepath.Glob(filepath.Join(suitesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no suites in %s (run from the repository root): %v", suitesDir, err)
	}
	var samples []float64
	for r := range env.Runs {
		start := time.Now()
		results := runner.RunFiles(ctx, files, suiteParallelism, runner.Options{})
		took := time.Since(start)
		probes := 0
		for _, res := range results {
			if !res.Passed() {
				return nil, fmt.Errorf("suite %s failed: %s %v", res.File, res.Error, failedNames(res))
			}
			probes += len(res.Probes)
		}
		env.Logf("suites run %d/%d: %d files, %d probes and steps in %v", r+1, env.Runs, len(files), probes, took.Round(time.Millisecond))
		samples = append(samples, took.Seconds())
	}
	return []Result{{
		Name: "suites_wall_time", Value: round4(median(samples)), Unit: "s", Better: lower, Samples: roundAll(samples),
		Notes: fmt.Sprintf("%d bundled suites, %d at a time; deny probes wait their timeout (1.5 s), which dominates", len(files), suiteParallelism),
	}}, nil
}

func failedNames(r *runner.FileResult) []string {
	var out []string
	for _, p := range r.Probes {
		if !p.Passed {
			out = append(out, p.Name)
		}
	}
	return out
}

// matrixScenario is ten sources and ten targets in one subnet, all cells allowed, so the figure
// measures the runner and the data path rather than deny timeouts.
func matrixScenario(n int) string {
	var b strings.Builder
	b.WriteString("name: bench-matrix\nvpcs:\n  main:\n    cidr: 10.0.0.0/16\n    subnets:\n      a: {cidr: 10.0.1.0/24}\n")
	b.WriteString("    security_groups:\n      open:\n        ingress:\n          - {proto: all, cidr: 10.0.0.0/16}\n")
	b.WriteString("instances:\n")
	var src, dst []string
	for i := range n {
		fmt.Fprintf(&b, "  s%d: {subnet: main/a, security_groups: [open]}\n  t%d: {subnet: main/a, security_groups: [open]}\n", i, i)
		src, dst = append(src, fmt.Sprintf("s%d", i)), append(dst, fmt.Sprintf("t%d", i))
	}
	fmt.Fprintf(&b, "matrix:\n  - name: bench\n    from: [%s]\n    to: [%s]\n    ports: [tcp/80]\n    expect:\n", strings.Join(src, ", "), strings.Join(dst, ", "))
	for _, s := range src {
		fmt.Fprintf(&b, "      %s: %q\n", s, strings.Repeat(".", n))
	}
	return b.String()
}

// benchMatrix brings the 10 x 10 lab up Runs times and times its matrix (not the bring-up).
func benchMatrix(ctx context.Context, env *Env) ([]Result, error) {
	const n = 10
	dir, err := os.MkdirTemp("", "ec2sim-bench-matrix")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "bench-matrix.yaml")
	if err := os.WriteFile(file, []byte(matrixScenario(n)), 0o644); err != nil {
		return nil, err
	}
	var samples []float64
	for r := range env.Runs {
		res := runner.RunFile(ctx, file, runner.Options{}, nil)
		if !res.Passed() || len(res.Probes) != 1 || res.Probes[0].Matrix == nil {
			return nil, fmt.Errorf("matrix lab: %s %v", res.Error, failedNames(res))
		}
		m := res.Probes[0]
		pps := float64(n*n) / m.Duration.Seconds()
		env.Logf("matrix-probes run %d/%d: %d cells in %v, %.0f probes/s", r+1, env.Runs, n*n, m.Duration.Round(time.Millisecond), pps)
		samples = append(samples, pps)
	}
	return []Result{{
		Name: "matrix_probes_per_second", Value: round4(median(samples)), Unit: "probes/s", Better: higher, Samples: roundAll(samples),
		Notes: "10 sources x 10 targets, tcp/80 allowed: connect, echo, close per cell; one listener per target, 16 probes in flight",
	}}, nil
}
