package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
)

var downCmd = &command{
	name:    "down",
	summary: "remove a lab and everything it made (also after a crash)",
	usage: `Usage: ec2sim down [LAB | --all]

Stops the lab's engine and removes its namespaces, TAP devices, bind mounts, control socket and
state. If the engine died, down removes what it left. With --all, every lab on the machine. With
no argument and exactly one lab on the machine, that lab.

Examples:
  ec2sim down two-tier
  ec2sim down --all
`,
}

var statusCmd = &command{
	name:    "status",
	summary: "show running labs, their instances, ENIs and counters",
	usage: `Usage: ec2sim status [LAB] [--json]

Without LAB, lists the labs on this machine; with LAB, shows its VPCs, subnets, instances and
ENIs (MAC, private IPs, source/dest check) with per-ENI packet counters and drops by reason, and
its NAT gateways with their counters (active connections, attempts, idle timeouts, port
allocation errors, drops; --json: "nat_gateways" with AWS's CloudWatch metric names).

Examples:
  ec2sim status
  ec2sim status two-tier
  ec2sim status two-tier --json
`,
}

var execCmd = &command{
	name:    "exec",
	summary: "run a command inside an instance",
	usage: `Usage: ec2sim exec [--lab LAB] INSTANCE -- COMMAND [ARGS...]

Runs COMMAND inside INSTANCE's network and UTS namespaces (its ENIs, addresses, routes and
hostname), with this terminal. --lab may be left out when only one lab is running.

Examples:
  ec2sim exec web-1 -- ip addr
  ec2sim exec --lab two-tier web-1 -- ping -c 3 10.0.2.10
  ec2sim exec db-1 -- sh
`,
}

var setCmd = &command{
	name:    "set",
	summary: "change an attribute of a running instance (source-dest-check)",
	usage: `Usage: ec2sim set [--lab LAB] INSTANCE[.ethN] source-dest-check on|off

Toggles the source/destination check of one ENI (eth0 unless .ethN is given) on a running lab;
it takes effect on the next packet. With the check off an instance may send from and receive for
addresses that are not its own, as a NAT instance or router must.

Examples:
  ec2sim set router source-dest-check off
  ec2sim set --lab two-tier router.eth1 source-dest-check off
`,
}

func init() {
	downCmd.run = runDown
	statusCmd.run = runStatus
	execCmd.run = runExec
	setCmd.run = runSet
}

// pickLab resolves the lab a command acts on: the one named, or the only one on the machine.
func pickLab(name string) (string, error) {
	if name != "" {
		return name, lab.ValidateName(name)
	}
	names, err := lab.List()
	if err != nil {
		return "", err
	}
	switch len(names) {
	case 0:
		return "", errors.New("no lab is running (start one with ec2sim up FILE)")
	case 1:
		return names[0], nil
	}
	return "", fmt.Errorf("several labs are running (%s): say which with --lab", strings.Join(names, ", "))
}

func runDown(args []string) error {
	fs := newFlags(downCmd)
	all := fs.Bool("all", false, "remove every lab on this machine")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 || (*all && len(pos) > 0) {
		return &exitError{2, errors.New("want one LAB or --all")}
	}
	if err := needRoot(); err != nil {
		return err
	}
	var names []string
	if *all {
		if names, err = lab.List(); err != nil {
			return err
		}
		if len(names) == 0 {
			fmt.Println("no labs")
			return nil
		}
	} else {
		n := ""
		if len(pos) == 1 {
			n = pos[0]
		}
		name, err := pickLab(n)
		if err != nil {
			return err
		}
		names = []string{name}
	}
	var errs []error
	for _, n := range names {
		start := time.Now()
		note, err := lab.Teardown(n)
		if err != nil {
			errs = append(errs, fmt.Errorf("lab %s: %w", n, err))
			continue
		}
		left, _ := hypervisor.ListLabObjects(n)
		if len(left) > 0 {
			errs = append(errs, fmt.Errorf("lab %s: still on the machine: %s", n, strings.Join(left, ", ")))
			continue
		}
		fmt.Printf("lab %s is down (%s, %.2fs)\n", n, note, time.Since(start).Seconds())
	}
	return errors.Join(errs...)
}

func runStatus(args []string) error {
	fs := newFlags(statusCmd)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return &exitError{2, errors.New("want at most one LAB")}
	}
	if len(pos) == 0 {
		names, err := lab.List()
		if err != nil {
			return err
		}
		type row struct {
			Name    string `json:"name"`
			Running bool   `json:"running"`
			PID     int    `json:"engine_pid,omitempty"`
			File    string `json:"file,omitempty"`
		}
		var rows []row
		for _, n := range names {
			r := row{Name: n}
			if resp, err := lab.Call(n, lab.Request{Op: "status"}, 5*time.Second); err == nil {
				r.Running, r.PID, r.File = true, resp.Status.PID, resp.Status.File
			}
			rows = append(rows, r)
		}
		if *asJSON {
			if rows == nil {
				rows = []row{}
			}
			return json.NewEncoder(os.Stdout).Encode(rows)
		}
		if len(rows) == 0 {
			fmt.Println("no labs")
		}
		for _, r := range rows {
			state := "running"
			if !r.Running {
				state = "NOT RUNNING (engine gone; ec2sim down " + r.Name + " cleans up)"
			}
			fmt.Printf("%-20s %s %s\n", r.Name, state, r.File)
		}
		return nil
	}
	resp, err := lab.Call(pos[0], lab.Request{Op: "status"}, 10*time.Second)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(resp.Status)
	}
	resp.Status.WriteText(os.Stdout, true)
	return nil
}

func runExec(args []string) error {
	fs := newFlags(execCmd)
	labName := fs.String("lab", "", "lab name (default: the only running lab)")
	pos, rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || len(rest) == 0 {
		return &exitError{2, errors.New("want INSTANCE -- COMMAND [ARGS...] (see ec2sim exec --help)")}
	}
	if err := needRoot(); err != nil {
		return err
	}
	name, err := pickLab(*labName)
	if err != nil {
		return err
	}
	if _, err := os.Stat(hypervisor.NSPath(name, pos[0])); err != nil {
		if state := instanceState(name, pos[0]); state != "" {
			return fmt.Errorf("instance %s of lab %s is %s; it runs nothing (ec2sim instance start %s)", pos[0], name, state, pos[0])
		}
		return fmt.Errorf("lab %s has no instance %q", name, pos[0])
	}
	// Exec replaces this process: the command gets the terminal and its exit status is ours.
	return hypervisor.Exec(name, pos[0], rest)
}

func runSet(args []string) error {
	fs := newFlags(setCmd)
	labName := fs.String("lab", "", "lab name (default: the only running lab)")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 || pos[1] != "source-dest-check" || (pos[2] != "on" && pos[2] != "off") {
		return &exitError{2, errors.New("want INSTANCE[.ethN] source-dest-check on|off")}
	}
	name, err := pickLab(*labName)
	if err != nil {
		return err
	}
	if _, err := lab.Call(name, lab.Request{Op: "set-source-dest-check", Target: pos[0], On: pos[2] == "on"}, 10*time.Second); err != nil {
		return err
	}
	fmt.Printf("%s: source/dest check %s\n", pos[0], pos[2])
	return nil
}
