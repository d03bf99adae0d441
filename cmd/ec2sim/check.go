package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/ec2sim/ec2sim/analysis/check"
	"github.com/ec2sim/ec2sim/scenarios"
)

var checkCmd = &command{
	name:    "check",
	summary: "report security and hygiene findings on a scenario's rules (text, JSON or SARIF)",
	usage: `Usage: ec2sim check FILE [--format text|json|sarif] [--severity LEVEL] [--fail-on LEVEL|none] [--ignore IDS]
       ec2sim check --list

Loads a scenario (nothing is brought up, no root needed) and reports findings on the rule set
itself: security groups and network ACLs open to the internet on SSH/RDP, a default security
group that allows traffic, network ACL rules shadowed by earlier ones or that can never match,
redundant security group rules, groups attached to nothing, rules that match nothing, public IPs
in private subnets, routes through ENIs whose source/destination check is on, blackhole routes,
and network ACLs that let a service through but not its replies, or that block path MTU
discovery. Each finding
has a stable id (EC2SIM-SG-001, ...), a severity (info, low, medium, high), the object with its
file:line:col, a message and a fix. --list prints every id with its severity and title;
docs/check.md explains each.

Network ACL findings are decided by the engine's own ACL evaluator, on packets chosen so that the
answer holds for every packet.

--format sarif writes SARIF 2.1.0 for code-scanning services (GitHub, GitLab) to annotate pull
requests; json writes {"file": ..., "findings": [...]}.

--ignore leaves out the findings of the given ids (comma-separated), for example the defaults a
lab keeps on purpose.

Exit status: 0 no reported finding at or above --fail-on (default high), 1 some, 2 bad arguments
or a scenario the loader rejects (including references to groups or prefix lists that do not
exist: the loader's error names the file, line and column).

Examples:
  ec2sim check scenarios/suites/aws-custom-nacl.yaml
  ec2sim check lab.yaml --severity medium --fail-on medium
  ec2sim check lab.yaml --format sarif > ec2sim.sarif
  ec2sim check lab.yaml --ignore EC2SIM-SG-002,EC2SIM-NACL-001
`,
}

func init() {
	checkCmd.run = runCheck
	extraCommands = append(extraCommands, checkCmd)
}

func runCheck(args []string) error {
	fs := newFlags(checkCmd)
	format := fs.String("format", "text", "output format: text, json or sarif")
	severity := fs.String("severity", "info", "report findings of this severity or more: info, low, medium or high")
	failOn := fs.String("fail-on", "high", "exit 1 when a reported finding has this severity or more; none never fails")
	ignore := fs.String("ignore", "", "comma-separated finding ids to leave out (EC2SIM-SG-002,...)")
	list := fs.Bool("list", false, "print every kind of finding (id, severity, title) and exit")
	pos, _, err := parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{2, nil}
	}
	if *list {
		if len(pos) > 0 {
			return &exitError{2, errors.New("--list takes no FILE")}
		}
		for _, k := range check.Catalog() {
			fmt.Printf("%-16s %-7s %s\n", k.ID, k.Severity, k.Title)
		}
		return nil
	}
	if len(pos) != 1 {
		return &exitError{2, fmt.Errorf("want exactly one scenario FILE, got %d arguments (see ec2sim check --help)", len(pos))}
	}
	min, err := check.ParseSeverity(*severity)
	if err != nil {
		return &exitError{2, fmt.Errorf("--severity: %v", err)}
	}
	fail := check.Severity(-1)
	if *failOn != "none" {
		if fail, err = check.ParseSeverity(*failOn); err != nil {
			return &exitError{2, fmt.Errorf("--fail-on: %v (or none)", err)}
		}
	}
	skip, err := check.ParseIDs(*ignore)
	if err != nil {
		return &exitError{2, fmt.Errorf("--ignore: %v", err)}
	}
	write := map[string]func(w *os.File, file string, fs []check.Finding) error{
		"text":  func(w *os.File, file string, fs []check.Finding) error { return check.WriteText(w, file, fs) },
		"json":  func(w *os.File, file string, fs []check.Finding) error { return check.WriteJSON(w, file, fs) },
		"sarif": func(w *os.File, file string, fs []check.Finding) error { return check.WriteSARIF(w, file, fs) },
	}[*format]
	if write == nil {
		return &exitError{2, fmt.Errorf("--format %q: want text, json or sarif", *format)}
	}
	sc, err := scenarios.Load(pos[0])
	if err != nil {
		return &exitError{2, err}
	}
	found, err := check.Run(sc)
	if err != nil {
		return &exitError{2, err}
	}
	found = check.Without(check.AtLeast(found, min), skip)
	if err := write(os.Stdout, pos[0], found); err != nil {
		return err
	}
	if fail >= 0 && len(check.AtLeast(found, fail)) > 0 {
		return &exitError{1, nil}
	}
	return nil
}
