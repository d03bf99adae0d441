package tfimport

import (
	"testing"

	"github.com/ec2sim/ec2sim/lab/labtest"
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
	labtest.RequireRoot(t)
	for _, c := range []struct {
		fixture string
		probes  []labtest.Probe
	}{
		{"twotier.json", []labtest.Probe{
			{From: "web", To: "db", Proto: "tcp", Port: 5432, Allow: true},
			{From: "web", To: "db", Proto: "icmp", Allow: true},
			{From: "web", To: "db", Proto: "tcp", Port: 22},
			{From: "db", To: "web", Proto: "tcp", Port: 80},
		}},
		{"peering.json", []labtest.Probe{
			{From: "fw", To: "app-b", Proto: "tcp", Port: 443, Allow: true},
			{From: "fw", To: "app-b", Proto: "tcp", Port: 22},
			{From: "app-a", To: "app-b", Proto: "tcp", Port: 443},
		}},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			res := importFixture(t, c.fixture, Options{})
			l := labtest.UpScenario(t, res.Scenario, "tfimp")
			labtest.Expect(t, l, c.probes...)
		})
	}
}
