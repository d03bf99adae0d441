package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
)

func TestReachStatic(t *testing.T) {
	out, errOut, code := ec2sim(t, "reach", "../../scenarios/suites/aws-web-db-groups.yaml")
	if code != 0 || !strings.Contains(out, "tcp:1433,3306") {
		t.Errorf("suite without intents: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = ec2sim(t, "reach", "../../analysis/reach/testdata/web-db-intents.yaml")
	if code != 1 || !strings.Contains(out, "intent ssh-to-db") || !strings.Contains(out, "SUBNET_ACL_RESTRICTION") {
		t.Errorf("violated intents: exit %d, want 1\n%s%s", code, out, errOut)
	}
	out, _, code = ec2sim(t, "reach", "../../analysis/reach/testdata/web-db-intents.yaml", "--json", "--from", "web-1")
	var rep struct {
		Cells []struct {
			From, To string
			Reach    struct{ TCP []struct{ From, To int } }
		}
		Intents []struct {
			Name      string
			OK        bool
			Unchecked []string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if code != 1 || len(rep.Cells) != 2 || len(rep.Intents) != 4 || rep.Intents[0].Unchecked == nil {
		t.Errorf("--json --from web-1: exit %d, %d cells, intents %+v", code, len(rep.Cells), rep.Intents)
	}
	for _, c := range rep.Cells {
		if c.To == "db-1" && (len(c.Reach.TCP) != 1 || c.Reach.TCP[0].From != 5432) {
			t.Errorf("web-1 -> db-1: %+v", c.Reach)
		}
	}
}

func TestReachBadInput(t *testing.T) {
	bad := writeFile(t, "bad.yaml", cliLab+"intents:\n  - {from: web, to: db, allow: tcp/99999}\n")
	if _, errOut, code := ec2sim(t, "reach", bad); code != 2 || !strings.Contains(errOut, "bad.yaml:13:32: intent 1") {
		t.Errorf("bad intent: exit %d, want 2 and file:line\n%s", code, errOut)
	}
	if _, errOut, code := ec2sim(t, "reach", "../../scenarios/suites/vpc-basics.yaml", "--from", "nobody"); code != 2 || !strings.Contains(errOut, "no such endpoint") {
		t.Errorf("unknown --from: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := ec2sim(t, "reach", "../../scenarios/suites/vpc-basics.yaml", "--ephemeral", "60000-1000"); code != 2 || !strings.Contains(errOut, "LOW-HIGH") {
		t.Errorf("bad --ephemeral: exit %d\n%s", code, errOut)
	}
	if _, _, code := ec2sim(t, "reach"); code != 2 {
		t.Errorf("no file: exit %d", code)
	}
}

func TestReachVerify(t *testing.T) {
	requireRoot(t)
	out, errOut, code := ec2sim(t, "reach", "--verify", "../../scenarios/suites/aws-custom-nacl.yaml", "--timeout", "1s")
	if code != 0 || !strings.Contains(out, "0 disagree") {
		t.Errorf("verify: exit %d\n%s%s", code, out, errOut)
	}
	// The lab is gone afterwards.
	if st, _, _ := ec2sim(t, "status"); strings.Contains(st, "reach-aws-custom-nacl") {
		t.Errorf("verify left its lab behind:\n%s", st)
	}
}

// TestReachVerifyInterrupted: Ctrl-C during --verify tears the lab down and says so.
func TestReachVerifyInterrupted(t *testing.T) {
	requireRoot(t)
	cmd := exec.Command(binPath, "reach", "--verify", "../../scenarios/suites/aws-web-db-groups.yaml", "--timeout", "3s")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out.String(), "interrupted") {
		t.Errorf("interrupted --verify: %v\n%s", err, out.String())
	}
	labs, _ := hypervisor.ListLabs()
	for _, l := range labs {
		if strings.HasPrefix(l, "reach-aws-web-db-groups") {
			t.Errorf("lab %s left after Ctrl-C:\n%s", l, out.String())
			lab.Teardown(l)
		}
	}
}
