package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

var upCmd = &command{
	name:    "up",
	summary: "bring a lab up from a scenario file and leave it running",
	usage: `Usage: ec2sim up FILE [--name LAB] [--json] [--metrics HOST:PORT] [--busy-poll D]

Validates the scenario, creates every instance (a network namespace with its ENIs as TAP devices),
starts the lab's engine in the background and returns when the lab is running. It prints each
instance's namespace, MACs and private IPs. A scenario with an error changes nothing; a bring-up
that fails half-way removes what it made. A lab of the same name must not be running already.

The lab is named after the scenario's "name:" unless --name is given. Its engine writes its log
to /run/ec2sim/labs/LAB/engine.log.

--busy-poll D is how long, at most, the engine keeps reading an ENI that ran dry before it sleeps
(default 100us, 0 to 1ms; 0 turns it off). The window adapts per ENI and drops to nothing under
sparse traffic; it trades some CPU for latency and throughput (docs/benchmarks.md, "Busy-polling").

Examples:
  ec2sim up scenarios/examples/two-tier.yaml
  ec2sim up scenarios/examples/two-tier.yaml --name class-a
  ec2sim up lab.yaml --metrics 127.0.0.1:9120     # then: curl -s 127.0.0.1:9120/metrics
  ec2sim up lab.yaml --busy-poll 0                # an engine that never spins
  ec2sim exec web-1 -- ping -c1 10.0.2.10
  ec2sim down two-tier
`,
}

func init() { upCmd.run = runUp }

func runUp(args []string) error {
	fs := newFlags(upCmd)
	name := fs.String("name", "", "lab name (default: the scenario's name)")
	asJSON := fs.Bool("json", false, "print the lab's status as JSON")
	metrics := fs.String("metrics", "", "serve Prometheus metrics on this loopback HOST:PORT, e.g. 127.0.0.1:9120")
	busyPoll := fs.Duration("busy-poll", fabric.DefaultBusyPoll, "how long the engine keeps reading an ENI that ran dry before it sleeps: 0 (off) to 1ms")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := checkBusyPoll(*busyPoll); err != nil {
		return &exitError{2, err}
	}
	if len(pos) != 1 {
		return &exitError{2, errors.New("want exactly one scenario FILE (see ec2sim up --help)")}
	}
	file, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	sc, err := scenarios.Load(file)
	if err != nil {
		return &exitError{2, err}
	}
	printWarnings(sc)
	if *name == "" {
		*name = sc.Name
	}
	// Plan before anything is created: a scenario that cannot be satisfied changes nothing.
	if _, err := lab.NewPlan(sc, *name); err != nil {
		return &exitError{2, err}
	}
	if err := needRoot(); err != nil {
		return err
	}
	st, err := startEngine(*name, file, *metrics, *busyPoll)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	st.WriteText(os.Stdout, false)
	if *metrics != "" {
		fmt.Printf("metrics: http://%s/metrics\n", *metrics)
	}
	fmt.Printf("\nlab %s is up. Try: ec2sim exec --lab %s %s -- ip addr; ec2sim down %s\n", st.Lab, st.Lab, firstInstance(st), st.Lab)
	return nil
}

// maxBusyPoll bounds --busy-poll: past a millisecond a spin costs more CPU than any wake-up it
// saves.
const maxBusyPoll = time.Millisecond

func checkBusyPoll(d time.Duration) error {
	if d < 0 || d > maxBusyPoll {
		return fmt.Errorf("--busy-poll %v: want 0 (off) to %v, e.g. --busy-poll 100us", d, maxBusyPoll)
	}
	return nil
}

func firstInstance(st *lab.Status) string {
	if len(st.Instances) > 0 {
		return st.Instances[0].Name
	}
	return "INSTANCE"
}

func printWarnings(sc *scenarios.Scenario) {
	for _, w := range sc.Warnings {
		fmt.Fprintf(os.Stderr, "warning: %v\n", w)
	}
}

// startEngine starts `ec2sim __engine` in its own session, detached from this terminal, and waits
// for it to report that the lab is running (or why it is not).
func startEngine(name, file, metrics string, busyPoll time.Duration) (*lab.Status, error) {
	dir := lab.Dir(name)
	if err := os.MkdirAll(lab.RunDir, 0o755); err != nil {
		return nil, err
	}
	// The directory is the lab's lock: Mkdir fails if another `up` of the same name got there first.
	if err := os.Mkdir(dir, 0o755); err != nil {
		if os.IsExist(err) {
			if _, cerr := lab.Call(name, lab.Request{Op: "status"}, 5*time.Second); cerr == nil {
				return nil, fmt.Errorf("lab %s is already running (ec2sim status %s; ec2sim down %s)", name, name, name)
			}
			return nil, fmt.Errorf("lab %s exists but its engine is not running (left by a crash?); run 'ec2sim down %s' first", name, name)
		}
		return nil, err
	}
	cleanup := func() { lab.Teardown(name) }
	self, err := os.Executable()
	if err != nil {
		cleanup()
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "engine.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		cleanup()
		return nil, err
	}
	defer logf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		cleanup()
		return nil, err
	}
	args := []string{"__engine", "--lab", name}
	if metrics != "" {
		args = append(args, "--metrics", metrics)
	}
	args = append(args, "--busy-poll", busyPoll.String())
	cmd := exec.Command(self, append(args, file)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{pw} // fd 3 in the engine: the readiness pipe
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		cleanup()
		return nil, err
	}
	pw.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var resp lab.Response
	line, rerr := bufio.NewReader(pr).ReadBytes('\n')
	pr.Close()
	if rerr == nil {
		rerr = json.Unmarshal(line, &resp)
	}
	if rerr != nil || !resp.OK || resp.Status == nil {
		// The engine tore down what it made before it exited; make sure, then report.
		select {
		case <-done:
		case <-time.After(30 * time.Second):
		}
		msg := resp.Error
		if msg == "" {
			b, _ := os.ReadFile(filepath.Join(dir, "engine.log"))
			msg = fmt.Sprintf("engine exited before the lab was ready: %s", lastLines(string(b), 10))
		}
		cleanup()
		return nil, errors.New(msg)
	}
	// The engine is in its own session; nobody waits for it but its own kernel reaper once we exit.
	cmd.Process.Release()
	return resp.Status, nil
}
