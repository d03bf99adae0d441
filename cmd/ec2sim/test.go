package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ec2sim/ec2sim/runner"
)

var testCmd = &command{
	name:    "test",
	summary: "run scenario files: bring up, probe, tear down, report",
	usage: `Usage: ec2sim test FILE... [--junit FILE] [--json] [--timeout D]

For each scenario file: brings its lab up under a unique name, sends every probe of its "expect:"
list as real traffic (tcp and udp: a listener in the target and a connection from the source;
icmp: ping), compares the outcome with the expected allow/deny, and tears the lab down, also when
interrupted (Ctrl-C). Prints one line per probe and a summary.

Exit status: 0 if every probe passed, 1 if any failed or a lab could not be brought up, 2 if a
scenario file is invalid (nothing is brought up for it).

Examples:
  ec2sim test scenarios/examples/two-tier.yaml
  ec2sim test scenarios/suites/*.yaml --junit results.xml
  ec2sim test lab.yaml --timeout 3s --json > results.json
`,
}

func init() { testCmd.run = runTest }

func runTest(args []string) error {
	fs := newFlags(testCmd)
	junit := fs.String("junit", "", "write a JUnit XML report to this file")
	asJSON := fs.Bool("json", false, "print results as JSON instead of text")
	timeout := fs.Duration("timeout", runner.DefaultTimeout, "how long a probe waits (a deny probe always waits this long)")
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
	for _, f := range pos {
		fmt.Fprintf(out, "%s\n", f)
		r := runner.RunFile(ctx, f, runner.Options{Timeout: *timeout}, func(p *runner.ProbeResult) { runner.WriteProbeLine(out, p) })
		results = append(results, r)
		p, fl := r.Counts()
		passed += p
		failed += fl
		if r.Error != "" {
			fmt.Fprintf(out, "  ERROR %s\n", r.Error)
			if r.Invalid {
				invalid++
			} else {
				failed++
			}
		}
		fmt.Fprintf(out, "  %d passed, %d failed (up %.2fs, down %.2fs)\n", p, fl, r.Up.Seconds(), r.Down.Seconds())
		if ctx.Err() != nil {
			break
		}
	}
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
		runner.WriteSummary(out, results)
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
