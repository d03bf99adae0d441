// Package runner runs scenario files as tests: it brings each lab up in this process, sends the
// scenario's probes, matrix cells and steps as real traffic, compares what happened with what the
// file expects, tears the lab down whatever happens, and reports the results as text (coloured,
// with a progress line, on a terminal), JSON or JUnit XML. A failed probe carries its packet's
// trace through the lab's decision function; a run on a lab clock says so in every report.
package runner

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/probe"
	"github.com/ec2sim/ec2sim/scenarios"
)

// Options tune a run.
type Options struct {
	// Timeout is how long a probe waits for its exchange; a deny probe always waits this long.
	Timeout time.Duration
}

// DefaultTimeout is the probe timeout when a probe and the options give none.
const DefaultTimeout = 1500 * time.Millisecond

// ProbeResult is one probe's outcome.
type ProbeResult struct {
	Name     string        `json:"name"`
	Pos      string        `json:"pos"`
	Expected string        `json:"expected"`
	Observed string        `json:"observed"`
	Passed   bool          `json:"passed"`
	Detail   string        `json:"detail"`
	Duration time.Duration `json:"duration_ns"`
	// Matrix holds a matrix's tables; Expected and Observed then summarise them.
	Matrix *MatrixResult `json:"matrix,omitempty"`
	// Trace explains a failed probe: its packet's path through the lab's decision function.
	Trace string `json:"trace,omitempty"`
}

// FileResult is one scenario file's outcome.
type FileResult struct {
	File     string `json:"file"`
	Scenario string `json:"scenario,omitempty"`
	Lab      string `json:"lab,omitempty"`
	Error    string `json:"error,omitempty"` // the file could not be run at all
	Invalid  bool   `json:"invalid,omitempty"`
	// ClockSpeed is the lab clock's speed when it was not real time: the engine's timers ran
	// this many times faster, so the run's timings are not AWS's.
	ClockSpeed float64 `json:"clock_speed,omitempty"`
	// Unsafe is lab.UnsafeWarning when the scenario turns the hypervisor's scrubbing off.
	Unsafe   string        `json:"unsafe,omitempty"`
	Probes   []ProbeResult `json:"probes"`
	Up       time.Duration `json:"up_ns"`
	Down     time.Duration `json:"down_ns"`
	Duration time.Duration `json:"duration_ns"`
}

// Passed reports whether the file ran and every probe passed.
func (r *FileResult) Passed() bool {
	if r.Error != "" {
		return false
	}
	for _, p := range r.Probes {
		if !p.Passed {
			return false
		}
	}
	return true
}

// Counts returns how many probes passed and failed.
func (r *FileResult) Counts() (passed, failed int) {
	for _, p := range r.Probes {
		if p.Passed {
			passed++
		} else {
			failed++
		}
	}
	return
}

// testLabName makes a lab name for a test run that no other run (or a lab started by hand) uses.
func testLabName(scenario string) string { return lab.FreshName(scenario) }

// RunFile loads, brings up, probes and tears down one scenario file. progress, if not nil, is
// called after each probe.
func RunFile(ctx context.Context, file string, opts Options, progress func(*ProbeResult)) *FileResult {
	start := time.Now()
	res := &FileResult{File: file, Probes: []ProbeResult{}}
	defer func() { res.Duration = time.Since(start) }()
	sc, err := scenarios.Load(file)
	if err != nil {
		res.Error, res.Invalid = err.Error(), true
		return res
	}
	res.Scenario = sc.Name
	if !sc.Hypervisor.Scrub {
		res.Unsafe = lab.UnsafeWarning
	}
	res.Lab = testLabName(sc.Name)
	if sc.Clock.Speed != scenarios.DefaultClockSpeed {
		res.ClockSpeed = sc.Clock.Speed
	}
	plan, err := lab.NewPlan(sc, res.Lab)
	if err != nil {
		res.Error, res.Invalid = err.Error(), true
		return res
	}
	if len(sc.FlowLogs) > 0 {
		dir, err := os.MkdirTemp("", "ec2sim-flowlogs-"+res.Lab)
		if err != nil {
			res.Error = err.Error()
			return res
		}
		defer os.RemoveAll(dir)
		plan.FlowLogDir = dir
	}
	t0 := time.Now()
	l, err := lab.Up(ctx, plan)
	res.Up = time.Since(t0)
	if err != nil {
		res.Error = "bring-up: " + err.Error()
		return res
	}
	defer func() {
		t := time.Now()
		if err := l.Down(); err != nil && res.Error == "" {
			res.Error = "teardown: " + err.Error()
		}
		res.Down = time.Since(t)
	}()
	res.Probes = runProbes(ctx, l, sc.Expect, opts, progress)
	for _, m := range sc.Matrices {
		if ctx.Err() != nil {
			break
		}
		r := runMatrix(ctx, l, m, opts)
		res.Probes = append(res.Probes, r)
		if progress != nil {
			progress(&res.Probes[len(res.Probes)-1])
		}
	}
	res.Probes = append(res.Probes, runSteps(ctx, l, sc.Steps, opts, progress)...)
	if ctx.Err() != nil {
		res.Error = "interrupted"
	}
	return res
}

// RunFiles runs files parallel at a time, each in its own lab, and returns their results in the
// order given.
func RunFiles(ctx context.Context, files []string, parallel int, opts Options) []*FileResult {
	results := make([]*FileResult, len(files))
	sem := make(chan struct{}, max(1, parallel))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = RunFile(ctx, f, opts, nil)
		}()
	}
	wg.Wait()
	return results
}

// probeParallelism bounds how many probes run at once. Deny probes spend their whole timeout
// waiting, so running them side by side is what makes a suite fast; the engine and the kernels
// are far from busy.
const probeParallelism = 8

// runProbes runs probes concurrently, except that probes needing the same listener (same target,
// protocol and port) run one after another. Results keep the file's order; progress is called in
// that order too.
func runProbes(ctx context.Context, l *lab.Lab, probes []*scenarios.Probe, opts Options, progress func(*ProbeResult)) []ProbeResult {
	results := make([]ProbeResult, len(probes))
	done := make([]chan struct{}, len(probes))
	for i := range done {
		done[i] = make(chan struct{})
	}
	// Probes sharing a listener key form a chain: each waits for the previous one of its key.
	prev := map[string]int{}
	after := make([]int, len(probes))
	for i, p := range probes {
		// The listener lives in the target instance whatever address names it (private, .ethN or
		// @public), so the key is the instance.
		target, _ := strings.CutSuffix(p.To, "@public")
		target, _, _ = strings.Cut(target, ".")
		if _, err := netip.ParseAddr(p.To); err == nil {
			target = p.To
		}
		key := fmt.Sprintf("%s|%s|%d", target, p.Proto, p.Port)
		if p.Proto == "icmp" {
			key = fmt.Sprintf("icmp|%d", i)
		}
		after[i] = -1
		if j, ok := prev[key]; ok {
			after[i] = j
		}
		prev[key] = i
	}
	sem := make(chan struct{}, probeParallelism)
	for i, p := range probes {
		go func() {
			defer close(done[i])
			if after[i] >= 0 {
				<-done[after[i]]
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				results[i] = ProbeResult{Name: ProbeName(p), Pos: p.Pos.String(), Expected: p.Result, Observed: "error", Detail: "interrupted"}
				return
			}
			results[i] = runProbe(l, p, opts)
		}()
	}
	for i := range probes {
		<-done[i]
		if progress != nil {
			progress(&results[i])
		}
	}
	return results
}

// ProbeName describes a probe the way reports show it: "web-1 -> db-1 tcp/5432".
func ProbeName(p *scenarios.Probe) string {
	what := p.Proto
	if p.Proto != "icmp" {
		what = fmt.Sprintf("%s/%d", p.Proto, p.Port)
	}
	return fmt.Sprintf("%s -> %s %s", p.From, p.To, what)
}

func runProbe(l *lab.Lab, p *scenarios.Probe, opts Options) (pr ProbeResult) {
	start := time.Now()
	pr = ProbeResult{Name: ProbeName(p), Pos: p.Pos.String(), Expected: p.Result}
	defer func() { pr.Duration = time.Since(start) }()
	spec, err := probeSpec(l, p, opts)
	if err == nil {
		var r probe.Result
		r, err = probe.Run(spec)
		if err == nil {
			pr.Observed, pr.Detail = "deny", r.Detail
			if r.Completed {
				pr.Observed = "allow"
			}
			pr.Passed = pr.Observed == pr.Expected
			if !pr.Passed {
				pr.Trace = explain(l, p)
			}
			return pr
		}
	}
	pr.Observed, pr.Detail = "error", err.Error()
	return pr
}

func probeSpec(l *lab.Lab, p *scenarios.Probe, opts Options) (probe.Spec, error) {
	timeout := p.Timeout
	if timeout == 0 {
		timeout = opts.Timeout
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return l.ProbeSpec(p.From, p.To, p.Proto, p.Port, timeout)
}

// ErrFailed is returned by callers when some probe failed.
var ErrFailed = errors.New("some expectations failed")
