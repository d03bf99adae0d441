// Command bench is `make bench`: the end-to-end benchmarks of ec2sim. It brings up labs and
// kernel baselines in network namespaces of its own, measures each figure on our path and on the
// peer path alternately in the same run, prints a table and writes bench-results.json: a JSON
// list of figures {name, value, unit, baseline, baseline_value, ratio, notes, ...}.
//
// Absolute numbers on a shared 2-vCPU VM drift by 10-30% between runs, so every data-path figure
// is reported as a ratio against a kernel path measured minutes apart at most, with client and
// server pinned to different CPUs (see docs/benchmarks.md and performance-notes.md).
//
// Usage (as root):
//
//	go run ./bench [-only REGEX] [-runs N] [-quick] [-no-c1] [-ec2sim BIN] [-out FILE] [-list]
//
// A figure is added by writing a func(ctx, *Env) ([]Result, error) and listing it in registry.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, so that deferred cleanups always run. Exit status: 0 when every
// selected benchmark produced its figures, 1 when any failed, 2 for bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	only := fs.String("only", "", "run only the benchmarks whose name matches this regular expression")
	runs := fs.Int("runs", 0, "measurements of each path, alternating; the median is reported (default 3, 1 with -quick)")
	out := fs.String("out", "bench-results.json", "write the figures to this JSON file (\"\" for none)")
	quick := fs.Bool("quick", false, "a smoke test: one run of each, 1 s iperf3 runs, 5 pings")
	noC1 := fs.Bool("no-c1", false, "leave out the bridge + nftables conntrack (c1) baseline")
	list := fs.Bool("list", false, "list the benchmarks and exit")
	ec2sim := fs.String("ec2sim", defaultEc2sim, "the ec2sim binary that runs the engine paths' labs (`make build` makes it)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q; it takes only flags\n", fs.Args())
		return 2
	}
	all := registry()
	if *list {
		for _, b := range all {
			fmt.Fprintf(stdout, "%-16s %s\n", b.Name, b.What)
		}
		return 0
	}
	sel, err := selectBenchmarks(all, *only)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	cfg := defaultConfig(*quick)
	if *runs != 0 {
		cfg.Runs = *runs
	}
	cfg.Kernel = !*noC1
	cfg.Ec2sim = *ec2sim
	if err := preflight(cfg.Kernel); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	env, err := newEnv(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}

	// The first SIGINT/SIGTERM cancels the run: commands are killed, labs and namespaces are
	// removed by the deferred Close. A second signal is not caught, so it ends a stuck cleanup.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() { <-ctx.Done(); stop() }()
	defer stop()

	reapStale(env)
	results, failed := runAll(ctx, env, sel)
	if err := env.Close(); err != nil {
		fmt.Fprintln(stderr, "bench: cleanup:", err)
		failed = true
	}
	interrupted := ctx.Err() != nil
	writeTable(stdout, results)
	if interrupted {
		// A partial run must not replace the figures of a whole one.
		fmt.Fprintf(stderr, "bench: interrupted; the figures so far are above, %s is left as it was\n", *out)
		return 1
	}
	if *out != "" {
		if err := writeJSON(*out, results); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		fmt.Fprintf(stderr, "bench: wrote %d figures to %s\n", len(results), *out)
	}
	if failed {
		return 1
	}
	return 0
}

// runAll runs the benchmarks in order. One that fails is reported and the others still run, so
// a broken figure does not hide the rest; the run as a whole then fails.
func runAll(ctx context.Context, env *Env, sel []Benchmark) (results []Result, failed bool) {
	for _, b := range sel {
		if ctx.Err() != nil {
			return results, true
		}
		start := time.Now()
		env.Logf("%s: %s", b.Name, b.What)
		rs, err := b.Run(ctx, env)
		if err != nil {
			env.Logf("%s FAILED after %v: %v", b.Name, time.Since(start).Round(time.Millisecond), err)
			failed = true
			continue
		}
		env.Logf("%s done in %v", b.Name, time.Since(start).Round(time.Millisecond))
		results = append(results, rs...)
	}
	return results, failed
}

// preflight checks what the benchmarks need before anything is created, and says how to get it.
func preflight(c1 bool) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root: it creates network namespaces and TAP devices (run `sudo make bench`)")
	}
	var missing []string
	tools := []string{"ip", "iperf3", "ping", "taskset"}
	if c1 {
		tools = append(tools, "nft")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing tools %v; `make deps` installs them (iproute2 iperf3 iputils-ping util-linux nftables)", missing)
	}
	return nil
}
