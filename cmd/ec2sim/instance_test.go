package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
)

func TestInstanceAndAuditCommands(t *testing.T) {
	requireRoot(t)
	src, err := os.ReadFile("../../scenarios/suites/hypervisor-scrub-unsafe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, unsafe := range []bool{false, true} {
		name := uniqueName("inst")
		body := string(src)
		if !unsafe {
			body = strings.Replace(body, "hypervisor: {scrub: false}\n", "", 1)
		}
		file := writeFile(t, "lab.yaml", body)
		t.Cleanup(func() { lab.Teardown(name) })
		out, errOut, code := ec2sim(t, "up", file, "--name", name)
		if code != 0 {
			t.Fatalf("up: exit %d\n%s%s", code, out, errOut)
		}
		if strings.Contains(out, "UNSAFE") != unsafe {
			t.Errorf("up (unsafe %v) UNSAFE marking:\n%s", unsafe, out)
		}
		if out, _, _ := ec2sim(t, "status", name); strings.Contains(out, "UNSAFE") != unsafe || !strings.Contains(out, "stopped  t3.nano") {
			t.Errorf("status (unsafe %v):\n%s", unsafe, out)
		}
		if _, errOut, code := ec2sim(t, "exec", "--lab", name, "b", "--", "true"); code == 0 || !strings.Contains(errOut, "is stopped") {
			t.Errorf("exec into a stopped instance: exit %d %s", code, errOut)
		}
		if _, errOut, code := ec2sim(t, "instance", "--lab", name, "start", "a"); code != 1 || !strings.Contains(errOut, "IncorrectInstanceState") {
			t.Errorf("start of a running instance: exit %d %s", code, errOut)
		}
		if _, _, code := ec2sim(t, "instance", "--lab", name, "launch", "a"); code != 2 {
			t.Errorf("unknown action: exit %d, want 2", code)
		}
		for _, step := range [][]string{{"stop", "a"}, {"start", "a"}, {"reboot", "a"}, {"terminate", "a"}, {"start", "b"}} {
			if out, errOut, code := ec2sim(t, append([]string{"instance", "--lab", name}, step...)...); code != 0 || !strings.Contains(out, step[0]+" "+step[1]+": ") {
				t.Fatalf("instance %v: exit %d\n%s%s", step, code, out, errOut)
			}
		}
		out, _, _ = ec2sim(t, "instance", "--lab", name, "describe", "b")
		if !strings.Contains(out, "b: running, t3.nano") || !strings.Contains(out, "volume  xvdb instance-store") {
			t.Errorf("describe:\n%s", out)
		}
		out, _, code = ec2sim(t, "audit", "--lab", name)
		if code != 0 || strings.Contains(out, "UNSAFE") != unsafe || (!unsafe && strings.Contains(out, " NO")) {
			t.Errorf("audit (unsafe %v): exit %d\n%s", unsafe, code, out)
		}
		out, _, _ = ec2sim(t, "audit", "--lab", name, "--json")
		var rep lab.AuditReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("audit --json: %v\n%s", err, out)
		}
		// stop a: memory + instance store; terminate a: memory, root, instance store.
		if len(rep.Records) != 5 {
			t.Errorf("audit --json: %d records, want 5: %+v", len(rep.Records), rep.Records)
		}
		for _, r := range rep.Records {
			if r.Verified == unsafe || r.Unsafe != unsafe {
				t.Errorf("record %v with unsafe %v", r, unsafe)
			}
		}
		if out, errOut, code := ec2sim(t, "down", name); code != 0 {
			t.Fatalf("down: exit %d\n%s%s", code, out, errOut)
		}
		if left, _ := hypervisor.ListLabObjects(name); len(left) > 0 {
			t.Errorf("left after down: %v", left)
		}
		if _, err := os.Stat(lab.Dir(name)); err == nil {
			t.Errorf("%s left after down", lab.Dir(name))
		}
	}
}
