package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Config is what the flags set for a run.
type Config struct {
	Runs      int           // measurements of each path, alternating; medians are reported
	IperfTime time.Duration // measured length of one iperf3 run
	Pings     int           // echo requests in one ping run
	Instances int           // size of the lab in lab-bringup
	Kernel    bool          // also measure the bridge + nftables conntrack path (c1)
	Ec2sim    string        // the ec2sim binary whose `up` runs the engine paths (bench/daemon.go)
}

// defaultConfig is a full run; quick shortens everything for a smoke test.
func defaultConfig(quick bool) Config {
	if quick {
		return Config{Runs: 1, IperfTime: 1 * time.Second, Pings: 5, Instances: 50, Kernel: true}
	}
	return Config{Runs: 3, IperfTime: 4 * time.Second, Pings: 20, Instances: 50, Kernel: true}
}

func (c Config) validate() error {
	switch {
	case c.Runs < 1 || c.Runs > 50:
		return fmt.Errorf("-runs %d: want 1 to 50", c.Runs)
	case c.IperfTime < time.Second || c.IperfTime > time.Minute:
		return fmt.Errorf("iperf3 run of %v: want 1s to 1m", c.IperfTime)
	case c.Pings < 1 || c.Pings > 1000:
		return fmt.Errorf("%d pings per run: want 1 to 1000", c.Pings)
	case c.Instances < 2 || c.Instances > 250:
		return fmt.Errorf("lab of %d instances: want 2 to 250", c.Instances)
	}
	return nil
}

// Env is what every benchmark shares in one run: the settings, a log for progress, and the
// fixtures that are costly to build (the paths), built on first use and removed by Close.
type Env struct {
	Config
	Log io.Writer

	cpus     cpuPair
	paths    []*Path   // engine first, then the baselines; nil until Paths is called
	nat      *[2]*Path // the NAT benchmarks' engine paths (bench/nat.go), nil until used
	pathsErr error
	cleanups []func() error // run in reverse order by Close
}

// newEnv prepares a run: it picks the CPUs to pin client and server to.
func newEnv(cfg Config, log io.Writer) (*Env, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cpus, err := pickCPUs()
	if err != nil {
		return nil, err
	}
	return &Env{Config: cfg, Log: log, cpus: cpus}, nil
}

// Logf reports progress on the run's log (standard error), so standard output stays the table.
func (e *Env) Logf(format string, args ...any) {
	fmt.Fprintf(e.Log, "bench: "+format+"\n", args...)
}

// onClose registers a cleanup to run when the run ends, also after an error or a signal.
func (e *Env) onClose(f func() error) { e.cleanups = append(e.cleanups, f) }

// Close removes every fixture, the last made first, and reports every failure.
func (e *Env) Close() error {
	var errs []error
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		if err := e.cleanups[i](); err != nil {
			errs = append(errs, err)
		}
	}
	e.cleanups = nil
	e.paths, e.nat = nil, nil
	return errors.Join(errs...)
}

// Paths returns the paths that data-path benchmarks compare: the engine's first, then the
// kernel baselines, built once per run and shared, so that every figure of a run is measured
// between the same namespaces.
func (e *Env) Paths(ctx context.Context) ([]*Path, error) {
	if e.paths != nil || e.pathsErr != nil {
		return e.paths, e.pathsErr
	}
	e.paths, e.pathsErr = e.buildPaths(ctx)
	return e.paths, e.pathsErr
}

func (e *Env) buildPaths(ctx context.Context) ([]*Path, error) {
	makers := []func(context.Context) (*Path, error){
		func(ctx context.Context) (*Path, error) { return newEnginePath(ctx, e) },
		newVethPath,
	}
	if e.Kernel {
		makers = append(makers, newBridgePath)
	}
	var paths []*Path
	for _, mk := range makers {
		p, err := mk(ctx)
		if err != nil {
			return nil, err
		}
		e.onClose(p.Close)
		e.Logf("path %s: %s (client %s, server %s at %s)", p.Name, p.What, p.ClientNS, p.ServerNS, p.ServerIP)
		paths = append(paths, p)
	}
	// A path that cannot carry a ping would make every figure of the run an error; find out now
	// and say which path it is.
	for _, p := range paths {
		if _, err := runPing(ctx, e, p, 3, 10*time.Millisecond); err != nil {
			return nil, fmt.Errorf("path %s does not carry traffic: %w", p.Name, err)
		}
	}
	return paths, nil
}
