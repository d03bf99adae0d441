package tfimport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/probe"
)

// An imported plan comes up as a real lab, and real packets obey the plan's rules: web reaches
// db on 5432 and by ping (db's group names web's; the private NACL allows both from the public
// subnet), but not on 22, and db cannot open connections at all (Terraform's groups have no
// egress unless the plan gives one).
func TestImportedPlanComesUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and TAP devices")
	}
	if testing.Short() {
		t.Skip("root namespace test skipped in -short mode")
	}
	res := importFixture(t, "twotier.json", Options{})
	suffix := make([]byte, 3)
	rand.Read(suffix)
	name := "tfimp-" + hex.EncodeToString(suffix)
	plan, err := lab.NewPlan(res.Scenario, name)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lab.Up(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Down(); err != nil {
			t.Errorf("down: %v", err)
		}
		if left, _ := hypervisor.ListLabObjects(name); len(left) > 0 {
			t.Errorf("left behind after down: %v", left)
		}
	})
	for _, c := range []struct {
		from, to, proto string
		port            int
		allow           bool
	}{
		{"web", "db", "tcp", 5432, true},
		{"web", "db", "icmp", 0, true},
		{"web", "db", "tcp", 22, false},
		{"db", "web", "tcp", 80, false},
	} {
		dst, err := l.ResolveTarget(c.to)
		if err != nil {
			t.Fatal(err)
		}
		s := probe.Spec{FromNS: hypervisor.NSPath(name, c.from), Dst: dst, Proto: c.proto, Port: c.port, Timeout: 1500 * time.Millisecond}
		if c.proto != "icmp" {
			s.ToNS = hypervisor.NSPath(name, c.to)
		}
		r, err := probe.Run(s)
		if err != nil {
			t.Fatal(err)
		}
		if r.Completed != c.allow {
			t.Errorf("%s -> %s %s/%d: completed %v, want %v (%s)", c.from, c.to, c.proto, c.port, r.Completed, c.allow, r.Detail)
		}
	}
}
