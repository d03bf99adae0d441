package main

import (
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
)

// TestTestCommandMatrix: a matrix with a wrong cell fails with the cell marked and plain output
// (not a terminal); a matrix whose cells do not match its axes exits 2 at the cell.
func TestTestCommandMatrix(t *testing.T) {
	requireRoot(t)
	out, errOut, code := ec2sim(t, "test", "../../runner/testdata/matrix-wrong.yaml")
	if code != 1 || !strings.Contains(out, "web        ---  X.X  XX!") || !strings.Contains(out, "1 wrong, 11 correct") {
		t.Errorf("wrong matrix: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\r") {
		t.Errorf("output to a pipe has escape codes: %q", out)
	}
	bad := writeFile(t, "bad-matrix.yaml", cliLab+`matrix:
  - from: [web]
    to: [db]
    ports: [tcp/80, icmp]
    expect: {web: ".X."}
`)
	out, errOut, code = ec2sim(t, "test", bad)
	if code != 2 || !strings.Contains(out+errOut, "bad-matrix.yaml:16:22: matrix 1: expect: row \"web\" has more than 2 cells") {
		t.Errorf("bad matrix: exit %d\n%s%s", code, out, errOut)
	}
}

// TestInterruptDuringMatrixLeavesNothing: Ctrl-C while a matrix's blocked cells wait their
// timeout tears the lab down.
func TestInterruptDuringMatrixLeavesNothing(t *testing.T) {
	requireRoot(t)
	scen := uniqueName("intrm")
	body := strings.Replace(cliLab, "name: cli", "name: "+scen, 1) + `matrix:
  - from: [web, db]
    to: [web, db, 10.0.2.99]
    ports: [tcp/1, tcp/2, icmp]
    timeout: 5s
    allow: []
`
	interruptRun(t, scen, writeFile(t, "slow-matrix.yaml", body))
}

// interruptRun starts `ec2sim test FILE...`, sends SIGINT after a second and a half, and checks
// that the run exits 1, says it was interrupted and leaves no lab whose name starts with scen.
func interruptRun(t *testing.T, scen string, files ...string) {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"test"}, files...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("interrupted run: %v\n%s", err, out.String())
	}
	labs, _ := hypervisor.ListLabs()
	for _, l := range labs {
		if strings.HasPrefix(l, scen) {
			t.Errorf("lab %s left after Ctrl-C:\n%s", l, out.String())
			lab.Teardown(l)
		}
	}
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("the report does not say it was interrupted:\n%s", out.String())
	}
}
