package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/lab"
)

// trace --live against a running lab: the default group admits its own members, so web -> db
// is delivered both ways and agrees (exit 0); after the group's inbound rule is revoked it is
// blocked and still agrees (exit 1); a scenario file is refused (exit 2).
func TestTraceLiveCLI(t *testing.T) {
	requireRoot(t)
	name := uniqueName("tlcli")
	file := writeFile(t, "lab.yaml", cliLab)
	t.Cleanup(func() { lab.Teardown(name) })
	if out, errOut, code := ec2sim(t, "up", file, "--name", name); code != 0 {
		t.Fatalf("up: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := ec2sim(t, "trace", "--lab", name, "--live", "--from", "web", "--to", "db", "--proto", "tcp", "--port", "8080")
	if code != 0 || !strings.Contains(out, "agrees with the prediction") || !strings.Contains(out, "connected and echoed") {
		t.Errorf("allowed: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := ec2sim(t, "sg", "--lab", name, "revoke", "default", "ingress", "all::sg=default"); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	out, errOut, code = ec2sim(t, "trace", "--lab", name, "--live", "--from", "web", "--to", "db", "--proto", "udp", "--port", "53", "--json")
	var lt lab.LiveTrace
	if err := json.Unmarshal([]byte(out), &lt); err != nil || code != 1 || !lt.Agree || lt.Live.Forward == nil || lt.Live.Forward.Reachable || lt.Completed {
		t.Errorf("blocked: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if _, errOut, code := ec2sim(t, "trace", file, "--live", "--from", "web", "--to", "db", "--proto", "icmp"); code != 2 || !strings.Contains(errOut, "running lab") {
		t.Errorf("--live with a file: exit %d %s", code, errOut)
	}
}
