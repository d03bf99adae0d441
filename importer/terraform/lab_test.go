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

// Imported plans come up as real labs, and real packets obey the plans' rules.
//
// twotier: web reaches db on 5432 and by ping (db's group names web's; the private NACL allows
// both from the public subnet), but not on 22, and db cannot open connections at all
// (Terraform's groups have no egress unless the plan gives one).
//
// peering: fw (in a-fw, whose table is VPC a's main table with the peering route) reaches app-b
// on 443 (b-app admits 10.10.0.0/16) but not on 22; app-a's subnet has its own table, which has
// no route to VPC b.
func TestImportedPlanComesUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and TAP devices")
	}
	if testing.Short() {
		t.Skip("root namespace test skipped in -short mode")
	}
	type probeCase struct {
		from, to, proto string
		port            int
		allow           bool
	}
	for _, c := range []struct {
		fixture string
		probes  []probeCase
	}{
		{"twotier.json", []probeCase{
			{"web", "db", "tcp", 5432, true},
			{"web", "db", "icmp", 0, true},
			{"web", "db", "tcp", 22, false},
			{"db", "web", "tcp", 80, false},
		}},
		{"peering.json", []probeCase{
			{"fw", "app-b", "tcp", 443, true},
			{"fw", "app-b", "tcp", 22, false},
			{"app-a", "app-b", "tcp", 443, false},
		}},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			res := importFixture(t, c.fixture, Options{})
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
			for _, p := range c.probes {
				dst, err := l.ResolveTarget(p.to)
				if err != nil {
					t.Fatal(err)
				}
				s := probe.Spec{FromNS: hypervisor.NSPath(name, p.from), Dst: dst, Proto: p.proto, Port: p.port, Timeout: 1500 * time.Millisecond}
				if p.proto != "icmp" {
					s.ToNS = hypervisor.NSPath(name, p.to)
				}
				r, err := probe.Run(s)
				if err != nil {
					t.Fatal(err)
				}
				if r.Completed != p.allow {
					t.Errorf("%s -> %s %s/%d: completed %v, want %v (%s)", p.from, p.to, p.proto, p.port, r.Completed, p.allow, r.Detail)
				}
			}
		})
	}
}
