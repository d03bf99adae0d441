package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
)

// The data-path benchmarks run the engine as users run it: `ec2sim up` starts it as a process of
// its own (`ec2sim __engine`), and the benchmark's probes (iperf3, the CRR client and server)
// run beside it. An engine inside this program would share one Go runtime — its processors,
// its scheduler and sysmon, its garbage collector — with the CRR goroutines it is measured by,
// which no user's lab does; on two CPUs that cost the NAT figures a tenth or more.

// defaultEc2sim is where `make build` puts the binary; `make bench` builds it first.
const defaultEc2sim = "bin/ec2sim"

// daemonLab is a lab brought up by the ec2sim binary, with its engine running in the background.
type daemonLab struct {
	bin, name, dir string
}

// upDaemonLab writes the scenario to a file of its own and runs `ec2sim up` on it under a fresh
// lab name; a lab that fails to come up is removed by ec2sim itself.
func upDaemonLab(ctx context.Context, env *Env, file, yaml string) (*daemonLab, error) {
	bin, err := env.ec2simBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ec2sim-bench-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	l := &daemonLab{bin: bin, name: labPrefix + "-" + runTag(), dir: dir}
	if err := l.run(ctx, "up", path, "--name", l.name); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("lab %s from %s: %w", l.name, file, err)
	}
	return l, nil
}

// engineCPU is the CPU time the lab's engine process has used so far.
func (l *daemonLab) engineCPU() (time.Duration, error) {
	m, err := lab.ReadMeta(l.name)
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.PID))
	if err != nil {
		return 0, err
	}
	return parsePIDStatCPU(b)
}

// userHZ is the unit of /proc/PID/stat's times, fixed at 100 on Linux whatever the kernel's HZ.
const userHZ = 100

// parsePIDStatCPU reads utime + stime from a /proc/PID/stat line. The command name (field 2)
// may hold spaces and parentheses, so the fields are counted from the last ')'.
func parsePIDStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("/proc/PID/stat: no ')' after the command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// After ')': state(3) ppid(4) ... utime(14) stime(15), so utime is f[11], stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/PID/stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/PID/stat: CPU time %q is not a number", s)
		}
		// 2^36 ticks are 21 years of CPU, far past any real reading and far inside a Duration;
		// checking v too keeps the sum from wrapping.
		if ticks += v; v > 1<<36 || ticks > 1<<36 {
			return 0, fmt.Errorf("/proc/PID/stat: CPU time %q ticks (%d with the other) is past any real process", s, ticks)
		}
	}
	return time.Duration(ticks) * (time.Second / userHZ), nil
}

// ns is the network namespace of one of the lab's instances (or of its internet).
func (l *daemonLab) ns(instance string) string { return hypervisor.NSName(l.name, instance) }

// down takes the lab down with `ec2sim down` and checks that nothing of it is left.
func (l *daemonLab) down() error {
	err := l.run(context.Background(), "down", l.name)
	os.RemoveAll(l.dir)
	if err != nil {
		return err
	}
	if left, err := hypervisor.ListLabObjects(l.name); err != nil || len(left) > 0 {
		return fmt.Errorf("lab %s left behind after ec2sim down: %v %v", l.name, left, err)
	}
	return nil
}

func (l *daemonLab) run(ctx context.Context, args ...string) error {
	return runTool(ctx, "", l.bin, args...)
}

// ec2simBinary is the ec2sim binary the run uses, checked once.
func (e *Env) ec2simBinary() (string, error) {
	bin := e.Ec2sim
	if bin == "" {
		bin = defaultEc2sim
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", errors.New("the data-path benchmarks run the engine as `ec2sim up` does and need the ec2sim binary: " +
			bin + " is not an executable; run `make build` first or pass -ec2sim PATH")
	}
	return abs, nil
}
