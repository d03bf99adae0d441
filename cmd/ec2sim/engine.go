package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

// engineCmd is the background process of a lab that `up` starts; it is not meant to be run by hand.
var engineCmd = &command{
	name:  "__engine",
	usage: "Usage: ec2sim __engine --lab LAB [--metrics HOST:PORT] [--busy-poll D] FILE  (started by 'ec2sim up'; reports readiness on fd 3)\n",
}

func init() { engineCmd.run = runEngine }

func runEngine(args []string) error {
	fs := newFlags(engineCmd)
	name := fs.String("lab", "", "lab name")
	metrics := fs.String("metrics", "", "serve Prometheus metrics on this loopback address")
	busyPoll := fs.Duration("busy-poll", fabric.DefaultBusyPoll, "see ec2sim up --help")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkBusyPoll(*busyPoll); err != nil {
		return err
	}
	if len(pos) != 1 || *name == "" {
		return errors.New("want --lab LAB FILE")
	}
	procs := engineProcs()
	ready := os.NewFile(3, "ready")
	fail := func(err error) error {
		if ready != nil {
			json.NewEncoder(ready).Encode(lab.Response{Error: err.Error()})
			ready.Close()
		}
		return err
	}
	sc, err := scenarios.Load(pos[0])
	if err != nil {
		return fail(err)
	}
	plan, err := lab.NewPlan(sc, *name)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	l, err := lab.Up(ctx, plan)
	cancel()
	if err != nil {
		return fail(fmt.Errorf("bring-up failed, everything it made was removed: %w", err))
	}
	l.Engine.SetBusyPoll(*busyPoll)
	if *metrics != "" {
		if _, err := l.ServeMetrics(*metrics); err != nil {
			l.Down()
			return fail(err)
		}
	}
	fmt.Printf("lab %s running, pid %d, GOMAXPROCS %d, busy-poll %v\n", *name, os.Getpid(), procs, *busyPoll)
	err = lab.Serve(l, pos[0], ready)
	fmt.Printf("lab %s stopped: %v\n", *name, err)
	return err
}

// engineProcs sizes the Go runtime for the engine and returns GOMAXPROCS. Every ENI has a pump
// thread that spends most of its life in system calls (poll, read, write), and the runtime takes
// the processor (P) away from a thread in a system call whenever no P is idle, which with one P
// per CPU is always the case under load: a hand-off on most system calls, and sysmon at its
// fastest tick. Twice as many Ps as CPUs leaves a CPU's worth for pumps in system calls; the
// Go code that runs at once is still bounded by the pumps' own work. GOMAXPROCS in the
// environment wins (docs/benchmarks.md, "The engine and the Go runtime").
func engineProcs() int {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * runtime.NumCPU())
	}
	return runtime.GOMAXPROCS(0)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
