package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ec2sim/ec2sim/runner"
)

var testCmd = &command{
	name:    "test",
	summary: "run scenario files: bring up, probe, tear down, report",
	usage: `Usage: ec2sim test FILE... [--junit FILE] [--json] [--timeout D] [--parallel N]

For each scenario file: brings its lab up under a unique name, runs its "expect:" probes, its
"matrix:" tables and its "steps:" in order as real traffic and real changes, compares what
happened with what the file expects, and tears the lab down, also when interrupted (Ctrl-C).

  probes    tcp and udp: a listener in the target and a connection from the source; icmp: ping
  matrix    every cell probed concurrently (one shared listener per target port), one retry
            before a cell counts as wrong; prints expected, observed and difference tables
            (. allowed, X blocked, ! wrong) and "N wrong, M correct"
  send      crafted packets (spoofed source, forged SYN-ACK, fragments, GRE, SCTP) from a raw
            socket in the sender, checked by a capture in the destination's namespace

A lab whose scenario sets clock: {speed: N} runs the engine's timers N times faster; every
report says so (a NOTE line, "clock_speed" in JSON, lab_clock properties in JUnit).

On a terminal, results are coloured and a progress line shows files and probes done; NO_COLOR
(any value) turns the colours off; piped or redirected output is plain. The full format of
scenario files: docs/scenario-format.md and docs/scenario-reference.md.

Exit status: 0 if everything passed, 1 if anything failed or a lab could not be brought up, 2
if a scenario file is invalid (file:line:col and what would be valid; nothing is brought up
for it). Files run --parallel at a time (4), each in its own isolated lab; their reports print
in the order given.

Examples:
  ec2sim test scenarios/examples/two-tier.yaml
  ec2sim test scenarios/suites/*.yaml --junit results.xml
  ec2sim test lab.yaml --timeout 3s --json > results.json
  NO_COLOR=1 ec2sim test scenarios/suites/anti-spoofing.yaml
`,
}

func init() { testCmd.run = runTest }

func runTest(args []string) error {
	fs := newFlags(testCmd)
	junit := fs.String("junit", "", "write a JUnit XML report to this file")
	asJSON := fs.Bool("json", false, "print results as JSON instead of text")
	timeout := fs.Duration("timeout", runner.DefaultTimeout, "how long a probe waits (a deny probe always waits this long)")
	parallel := fs.Int("parallel", 4, "how many files run at once")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return &exitError{2, errors.New("want one or more scenario FILEs (see ec2sim test --help)")}
	}
	if err := needRoot(); err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	out := os.Stdout
	if *asJSON {
		out = os.Stderr
	}
	var results []*runner.FileResult
	passed, failed, invalid := 0, 0, 0
	start := time.Now()
	// Colours and a progress line only on a terminal (and no colours under NO_COLOR); a CI
	// log or a pipe gets plain lines.
	style := runner.Style{}
	if !*asJSON {
		style = runner.StyleFor(os.Stdout, os.Getenv)
	}
	progress := runner.NewProgress(out, style, len(pos))
	// Files run side by side (each lab is isolated and named uniquely); their reports are
	// printed whole, in the order given, so parallel runs read like sequential ones.
	results = make([]*runner.FileResult, len(pos))
	reports := make([]strings.Builder, len(pos))
	done := make([]chan struct{}, len(pos))
	sem := make(chan struct{}, max(1, *parallel))
	for i, f := range pos {
		done[i] = make(chan struct{})
		go func() {
			defer close(done[i])
			sem <- struct{}{}
			defer func() { <-sem }()
			progress.Start(f)
			defer progress.Done(f)
			w := &reports[i]
			fmt.Fprintf(w, "%s\n", f)
			r := runner.RunFile(ctx, f, runner.Options{Timeout: *timeout}, func(p *runner.ProbeResult) {
				runner.WriteProbeLineStyle(w, p, style)
				progress.Probe(p)
			})
			if r.ClockSpeed != 0 {
				fmt.Fprintf(w, "  NOTE  %s\n", runner.ClockNote(r.ClockSpeed))
			}
			if r.Unsafe != "" {
				fmt.Fprintf(w, "  *** %s ***\n", r.Unsafe)
			}
			if r.Error != "" {
				fmt.Fprintf(w, "  ERROR %s\n", r.Error)
			}
			p, fl := r.Counts()
			fmt.Fprintf(w, "  %d passed, %d failed (up %.2fs, down %.2fs)\n", p, fl, r.Up.Seconds(), r.Down.Seconds())
			results[i] = r
		}()
	}
	for i := range pos {
		<-done[i]
		progress.Print(reports[i].String())
		r := results[i]
		p, fl := r.Counts()
		passed += p
		failed += fl
		if r.Error != "" {
			if r.Invalid {
				invalid++
			} else {
				failed++
			}
		}
	}
	progress.Clear()
	if *junit != "" {
		if err := runner.WriteJUnitFile(*junit, results); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(results)
	}
	if len(results) > 1 {
		runner.WriteSummaryStyle(out, results, style)
	}
	fmt.Fprintf(out, "ec2sim: %d passed, %d failed, %d invalid files, %.1fs\n", passed, failed, invalid, time.Since(start).Seconds())
	switch {
	case ctx.Err() != nil:
		return &exitError{1, errors.New("interrupted; labs torn down")}
	case invalid > 0:
		return &exitError{2, nil}
	case failed > 0:
		return &exitError{1, nil}
	}
	return nil
}
