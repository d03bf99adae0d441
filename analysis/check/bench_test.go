package check

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/nacl"
	"github.com/ec2sim/ec2sim/scenarios"
)

// largeScenario is the worst case the quotas allow for the ACL analysis, and a large one for the
// groups: four subnets, each with its own ACL of 39 rules per direction (the 40-rule maximum
// with the * rule) mixing tcp and udp ranges, ICMP types and codes, protocols and CIDRs; 20
// groups of 50 rules; 100 instances.
func largeScenario(tb testing.TB) *scenarios.Scenario {
	r := rand.New(rand.NewPCG(5, 6))
	var b strings.Builder
	b.WriteString("name: large\nsettings: {network_acl_rules_per_direction: 40}\nvpcs:\n  main:\n    cidr: 10.0.0.0/16\n    subnets:\n")
	for s := range 4 {
		fmt.Fprintf(&b, "      s%d: {cidr: 10.0.%d.0/24, network_acl: acl%d}\n", s, s, s)
	}
	cidr := func() string {
		if r.IntN(5) == 0 {
			return "0.0.0.0/0"
		}
		return fmt.Sprintf("%d.%d.0.0/%d", 10+r.IntN(200), r.IntN(256), 16+r.IntN(9))
	}
	b.WriteString("    network_acls:\n")
	for s := range 4 {
		fmt.Fprintf(&b, "      acl%d:\n", s)
		for _, dir := range []string{"ingress", "egress"} {
			fmt.Fprintf(&b, "        %s:\n", dir)
			for i := range 39 {
				action := []string{"allow", "deny"}[r.IntN(2)]
				switch r.IntN(4) {
				case 0, 1:
					lo := r.IntN(65000)
					fmt.Fprintf(&b, "          - {rule: %d, action: %s, proto: %s, ports: %d-%d, cidr: %s}\n", 100+i, action,
						[]string{"tcp", "udp"}[r.IntN(2)], lo, lo+r.IntN(535), cidr())
				case 2:
					fmt.Fprintf(&b, "          - {rule: %d, action: %s, proto: icmp, icmp_type: %d, icmp_code: %d, cidr: %s}\n", 100+i, action, r.IntN(20), r.IntN(5)-1, cidr())
				default:
					fmt.Fprintf(&b, "          - {rule: %d, action: %s, proto: %s, cidr: %s}\n", 100+i, action, []string{"all", "47", "50"}[r.IntN(3)], cidr())
				}
			}
		}
	}
	b.WriteString("    security_groups:\n")
	for g := range 20 {
		fmt.Fprintf(&b, "      g%d:\n        description: large\n        ingress:\n", g)
		for i := range 50 {
			fmt.Fprintf(&b, "          - {proto: tcp, ports: %d, cidr: %d.%d.%d.0/24}\n", 1000+i, 11+g, i, r.IntN(256))
		}
	}
	b.WriteString("instances:\n")
	for i := range 100 {
		fmt.Fprintf(&b, "  i%d: {subnet: main/s%d, security_groups: [g%d]}\n", i, i%4, i%20)
	}
	sc, err := scenarios.Parse("large.yaml", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return sc
}

func BenchmarkRunLarge(b *testing.B) {
	sc := largeScenario(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Run(sc); err != nil {
			b.Fatal(err)
		}
	}
}

// On the large ACLs, no rule the analysis finds dead is the first match of a random packet (the
// naive model's linear walk decides), packets drawn near the rules' own bounds where the
// analysis could go wrong.
func TestLargeDeadRulesSound(t *testing.T) {
	if testing.Short() {
		t.Skip("large scenario")
	}
	sc := largeScenario(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, a := range sc.VPCs[0].NetworkACLs {
		acl, _ := aclRules(a)
		c, _, err := nacl.Compile(acl, nacl.Limits{RulesPerDirection: 40})
		if err != nil {
			t.Fatal(err)
		}
		for _, egress := range []bool{false, true} {
			rules := ruleSet(acl, egress, false)
			if len(rules) == 0 {
				continue
			}
			w := witnessesOf(false, rules)
			live := liveRules(c, egress, &w)
			dead := 0
			for i := range rules {
				if !live[rules[i].Number] {
					dead++
				}
			}
			for range 20000 {
				e := &rules[r.IntN(len(rules))]
				s := prefixSpan(e.CIDR)
				peer := s.lo
				if r.IntN(2) == 0 {
					peer = s.hi
				}
				if r.IntN(3) == 0 {
					peer = peer.Next()
				}
				p := naivePacket{peer: peer, proto: []int{1, 6, 17, 47, 50, 99}[r.IntN(6)]}
				p.port = []int{e.FromPort, e.ToPort, e.ToPort + 1, e.FromPort - 1, r.IntN(65536)}[r.IntN(5)]
				p.typ, p.code = max(e.ICMPType+r.IntN(2), 0), max(e.ICMPCode+r.IntN(2), 0)
				if !p.peer.IsValid() || p.port < 0 || p.port > 65535 {
					continue
				}
				for i := range rules {
					if naiveMatch(&rules[i], p) {
						if !live[rules[i].Number] {
							t.Fatalf("ACL %s: rule %s is the first match of %+v, but the analysis finds it dead", a.Name, &rules[i], p)
						}
						break
					}
				}
			}
			t.Logf("ACL %s %s: %d of %d rules dead", a.Name, direction(egress), dead, len(rules))
		}
	}
}

func direction(egress bool) string {
	if egress {
		return "egress"
	}
	return "ingress"
}
