package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const checkFixtures = "../../analysis/check/testdata/"

func TestCheckCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string // a substring of stdout
	}{
		{[]string{checkFixtures + "clean.yaml"}, 0, "clean.yaml: no findings"},
		{[]string{checkFixtures + "EC2SIM-SG-001.yaml"}, 1, "EC2SIM-SG-001  security group main/web ingress rule 2"},
		// Default --fail-on high: low findings are reported but do not fail.
		{[]string{checkFixtures + "EC2SIM-NACL-006.yaml"}, 0, "LOW\n  EC2SIM-NACL-006"},
		{[]string{checkFixtures + "EC2SIM-NACL-006.yaml", "--fail-on", "low"}, 1, "EC2SIM-NACL-006"},
		{[]string{"--fail-on", "none", checkFixtures + "EC2SIM-SG-001.yaml"}, 0, "EC2SIM-SG-001"},
		{[]string{checkFixtures + "EC2SIM-NACL-006.yaml", "--severity", "medium", "--fail-on", "low"}, 0, "no findings"},
		{[]string{checkFixtures + "EC2SIM-SG-001.yaml", "--format", "json"}, 1, `"id": "EC2SIM-SG-001"`},
		{[]string{checkFixtures + "EC2SIM-SG-001.yaml", "--ignore", "ec2sim-sg-001, EC2SIM-SG-002"}, 0, "no findings"},
		{[]string{checkFixtures + "EC2SIM-SG-001.yaml", "--ignore", "EC2SIM-SG-002"}, 1, "EC2SIM-SG-001"},
		{[]string{checkFixtures + "EC2SIM-SG-001.yaml", "--format", "sarif"}, 1, `"ruleId": "EC2SIM-SG-001"`},
	} {
		out, errOut, code := ec2sim(t, append([]string{"check"}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("check %v: exit %d (want %d), stdout lacks %q:\n%s%s", c.args, code, c.code, c.out, out, errOut)
		}
	}
	out, _, _ := ec2sim(t, "check", checkFixtures+"EC2SIM-NACL-005.yaml", "--format", "sarif")
	var doc struct {
		Version string
		Runs    []struct {
			Results []struct{ RuleID string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Version != "2.1.0" || len(doc.Runs) != 1 || len(doc.Runs[0].Results) != 2 {
		t.Errorf("sarif: %v %+v\n%s", err, doc, out)
	}
}

func TestCheckBadInput(t *testing.T) {
	stale := writeFile(t, "stale.yaml", `
name: stale
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
    security_groups:
      db:
        ingress:
          - {proto: tcp, ports: 5432, group: deleted}
instances:
  one: {subnet: main/a, security_groups: [db]}
`)
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{stale}, "stale.yaml:11:"},
		{[]string{checkFixtures + "does-not-exist.yaml"}, "no such file"},
		{nil, "want exactly one scenario FILE"},
		{[]string{checkFixtures + "clean.yaml", checkFixtures + "clean.yaml"}, "want exactly one"},
		{[]string{checkFixtures + "clean.yaml", "--format", "xml"}, `--format "xml"`},
		{[]string{checkFixtures + "clean.yaml", "--severity", "critical"}, "info, low, medium, high"},
		{[]string{checkFixtures + "clean.yaml", "--fail-on", "bogus"}, "--fail-on"},
		{[]string{checkFixtures + "clean.yaml", "--bogus"}, "bogus"},
		{[]string{checkFixtures + "clean.yaml", "--ignore", "EC2SIM-SG-999"}, `no finding has the id "EC2SIM-SG-999"`},
		{[]string{"--list", checkFixtures + "clean.yaml"}, "--list takes no FILE"},
	} {
		out, errOut, code := ec2sim(t, append([]string{"check"}, c.args...)...)
		// A bad flag also prints the usage to stdout; nothing else writes a report there.
		if code != 2 || !strings.Contains(errOut, c.err) || out != "" && !strings.HasPrefix(out, "Usage:") {
			t.Errorf("check %v: exit %d (want 2), stderr lacks %q:\n%s%s", c.args, code, c.err, out, errOut)
		}
	}
}

// Every complete example in docs/check.md (a "$ ec2sim check ..." line and its output, up to
// the end of the code block) is what the command prints today. Excerpts ("...") are skipped.
func TestCheckDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/check.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, block := range strings.Split(string(doc), "```") {
		cmdline, want, ok := strings.Cut(strings.TrimPrefix(block, "\n"), "\n")
		if !ok || !strings.HasPrefix(cmdline, "$ ec2sim check ") || strings.Contains(want, "...") {
			continue
		}
		n++
		line, echo := strings.CutSuffix(strings.TrimPrefix(cmdline, "$ ec2sim "), `; echo "exit $?"`)
		cmd := exec.Command(binPath, strings.Fields(line)...)
		cmd.Dir = "../.."
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		got := out.String()
		if echo {
			got += fmt.Sprintf("exit %d\n", code)
		}
		if got != want {
			t.Errorf("docs/check.md: %s\n got:\n%s\n want:\n%s", cmdline, got, want)
		}
	}
	if n < 4 {
		t.Errorf("only %d examples found in docs/check.md", n)
	}
}
