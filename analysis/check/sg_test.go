package check

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/scenarios"
)

// naiveSGMatch is a security group rule's condition written from aws-semantics.md §1.1: -1 and
// protocols other than tcp, udp, icmp and icmpv6 admit every port; icmp and icmpv6 take a type
// and a code, -1 meaning any.
func naiveSGMatch(r *scenarios.Rule, peers []netip.Prefix, p naivePacket) bool {
	in := false
	for _, q := range peers {
		in = in || q.Contains(p.peer)
	}
	if !in {
		return false
	}
	switch {
	case r.Proto == -1:
		return true
	case r.Proto != p.proto:
		return false
	case r.Proto == 6 || r.Proto == 17:
		return r.FromPort <= p.port && p.port <= r.ToPort
	case r.Proto == 1 || r.Proto == 58:
		return (r.FromPort == -1 || r.FromPort == p.typ) && (r.ToPort == -1 || r.ToPort == p.code)
	}
	return true
}

func randomSGRule(r *rand.Rand, sc *scenarios.Scenario) (*scenarios.Rule, []netip.Prefix) {
	rl := &scenarios.Rule{Proto: []int{-1, 6, 17, 1, 47}[r.IntN(5)], FromPort: -1, ToPort: -1}
	// A security group rule keeps the ICMP type and code in its port fields.
	from, to, typ, code := randomL4(r, rl.Proto)
	switch rl.Proto {
	case 6, 17:
		rl.FromPort, rl.ToPort = from, to
	case 1:
		rl.FromPort, rl.ToPort = typ, code
	}
	if r.IntN(3) == 0 {
		pl := sc.PrefixLists[r.IntN(len(sc.PrefixLists))]
		rl.PrefixList = pl.Name
		return rl, pl.Entries
	}
	rl.CIDR = randomCIDR(r)
	return rl, []netip.Prefix{rl.CIDR}
}

// Differential: sgRule.contains agrees with containment over the universe of packets, for rules
// with CIDRs and with prefix lists (whose entries' union may cover what no single entry does).
func TestSGContainsDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pkts := universe()
	for iter := range 50 {
		sc := &scenarios.Scenario{}
		for k := range 3 {
			pl := &scenarios.PrefixList{Name: string(rune('a' + k))}
			for range 1 + r.IntN(4) {
				pl.Entries = append(pl.Entries, randomCIDR(r))
			}
			sc.PrefixLists = append(sc.PrefixLists, pl)
		}
		var rules []*scenarios.Rule
		var peers [][]netip.Prefix
		for range 6 {
			rl, p := randomSGRule(r, sc)
			rules, peers = append(rules, rl), append(peers, p)
		}
		match := make([][]bool, len(rules))
		for i := range rules {
			match[i] = make([]bool, len(pkts))
			for k, p := range pkts {
				match[i][k] = naiveSGMatch(rules[i], peers[i], p)
			}
		}
		for i := range rules {
			a := compileRule(sc, "main", rules[i])
			for j := range rules {
				b := compileRule(sc, "main", rules[j])
				want := true
				for k := range pkts {
					if match[j][k] && !match[i][k] {
						want = false
						break
					}
				}
				if got := a.contains(&b); got != want {
					t.Fatalf("set %d: %s (peers %v) contains %s (peers %v) = %v, naive model %v",
						iter, rules[i], peers[i], rules[j], peers[j], got, want)
				}
			}
		}
	}
}

func TestSGContainsGroups(t *testing.T) {
	sc := &scenarios.Scenario{VPCs: []*scenarios.VPC{
		{Name: "main", CIDR: netip.MustParsePrefix("10.0.0.0/16")},
		{Name: "peer", CIDR: netip.MustParsePrefix("10.1.0.0/16")},
	}}
	rule := func(s string) sgRule {
		// ParseRule reads group names of the rule's own VPC; a peered VPC's group is set
		// directly, as the loader of peered references gives it (VPC/NAME).
		peer := strings.Contains(s, "sg=peer/")
		rl, err := scenarios.ParseRule(strings.Replace(s, "sg=peer/", "sg=", 1))
		if err != nil {
			t.Fatal(err)
		}
		if peer {
			rl.Group = "peer/" + rl.Group
		}
		return compileRule(sc, "main", rl)
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"tcp:22:sg=web", "tcp:22:sg=web", true},
		{"tcp:22:sg=web", "tcp:22:sg=db", false},
		{"all::0.0.0.0/0", "tcp:22:sg=web", true},     // every member's private IP is in the VPC
		{"tcp:all:10.0.0.0/8", "tcp:22:sg=web", true}, // covers the VPC
		{"tcp:all:10.0.1.0/24", "tcp:22:sg=web", false},
		{"tcp:22:sg=web", "tcp:22:10.0.1.5/32", false},
		{"tcp:20-30:sg=web", "tcp:22:sg=web", true},
		{"icmp:3:sg=web", "icmp:3/4:sg=web", true},
		{"icmp:3/4:sg=web", "icmp:3:sg=web", false},
		{"tcp:22:sg=web", "tcp:22:sg=peer/web", false},
		{"tcp:22:sg=peer/web", "tcp:22:sg=peer/web", true},
		{"tcp:all:10.0.0.0/16", "tcp:22:sg=peer/web", false}, // the peer's members are in 10.1.0.0/16
		{"tcp:all:10.0.0.0/15", "tcp:22:sg=peer/web", true},
	} {
		a, b := rule(c.a), rule(c.b)
		if got := a.contains(&b); got != c.want {
			t.Errorf("%s contains %s = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestAddrSet(t *testing.T) {
	p := netip.MustParsePrefix
	for _, c := range []struct {
		set   []netip.Prefix
		of    netip.Prefix
		want  bool
		world bool
	}{
		{[]netip.Prefix{p("10.0.0.0/25"), p("10.0.0.128/25")}, p("10.0.0.0/24"), true, false},
		{[]netip.Prefix{p("10.0.0.0/25"), p("10.0.1.0/25")}, p("10.0.0.0/23"), false, false},
		{[]netip.Prefix{p("0.0.0.0/1"), p("128.0.0.0/1")}, p("0.0.0.0/0"), true, true},
		{[]netip.Prefix{p("255.255.255.255/32"), p("::/0")}, p("255.255.255.255/32"), true, true},
		{[]netip.Prefix{p("255.255.255.255/32"), p("::/1")}, p("::/0"), false, false},
		{[]netip.Prefix{p("::/1"), p("8000::/1")}, p("2001:db8::/32"), true, true},
		{nil, p("10.0.0.1/32"), false, false},
	} {
		s := setOf(c.set...)
		if got := s.covers(setOf(c.of)); got != c.want {
			t.Errorf("%v covers %s = %v, want %v", c.set, c.of, got, c.want)
		}
		if got := s.world(); got != c.world {
			t.Errorf("%v world = %v, want %v", c.set, got, c.world)
		}
	}
}

// sgScenario is a scenario whose instance one is in group web (with the given ingress rules,
// YAML flow sequence) and whose instance two is in group app; the default group allows nothing.
func sgScenario(t *testing.T, ingress string) []Finding {
	t.Helper()
	src := `
name: sg
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
    security_groups:
      default: {ingress: [], egress: []}
      app: {description: app, egress: []}
      web:
        description: web
        ingress: ` + ingress + `
        egress: []
prefix_lists:
  everyone: {entries: [0.0.0.0/1, 128.0.0.0/1]}
  everyone6: {entries: ["::/0"]}
  halves: {entries: [10.0.0.0/25, 10.0.0.128/25]}
  office: {entries: [198.51.100.0/24]}
instances:
  one: {subnet: main/a, security_groups: [web]}
  two: {subnet: main/a, security_groups: [app]}
`
	var out []Finding
	for _, f := range runYAML(t, "sg.yaml", src) {
		// The prefix lists some cases leave unused, and the default network ACL, are not what
		// these cases test.
		if f.ID != "EC2SIM-PL-002" && f.ID != "EC2SIM-NACL-001" {
			out = append(out, f)
		}
	}
	return out
}

func TestSecurityGroupRules(t *testing.T) {
	for _, c := range []struct {
		ingress string
		want    []string // "ID rule N"
	}{
		{`[{proto: tcp, ports: 22, cidr: 203.0.113.0/24}]`, nil},
		{`[{proto: tcp, ports: 22, cidr: 0.0.0.0/0}]`, []string{"EC2SIM-SG-001 rule 1"}},
		{`[{proto: tcp, ports: 22, cidr: "::/0"}]`, []string{"EC2SIM-SG-001 rule 1"}},
		{`[{proto: tcp, ports: 3000-4000, cidr: 0.0.0.0/0}]`, []string{"EC2SIM-SG-001 rule 1"}},
		{`[{proto: udp, ports: 3389, cidr: 0.0.0.0/0}]`, []string{"EC2SIM-SG-001 rule 1"}},
		{`[{proto: all, prefix_list: everyone}]`, []string{"EC2SIM-SG-001 rule 1"}},
		{`[{proto: tcp, ports: all, prefix_list: everyone6}]`, []string{"EC2SIM-SG-001 rule 1"}},
		{`[{proto: udp, ports: 22, cidr: 0.0.0.0/0}]`, []string{"EC2SIM-SG-006 rule 1"}},
		{`[{proto: tcp, ports: 80-443, cidr: 0.0.0.0/0}]`, []string{"EC2SIM-SG-006 rule 1"}},
		{`[{proto: 47, cidr: 0.0.0.0/0}]`, []string{"EC2SIM-SG-006 rule 1"}},
		{`[{proto: tcp, ports: 80, cidr: 0.0.0.0/0}, {proto: tcp, ports: 443, cidr: "::/0"}, {proto: icmp, icmp_type: -1, cidr: 0.0.0.0/0}]`, nil},
		// Equivalent rules: only the later one is redundant.
		{`[{proto: tcp, ports: 22, cidr: 10.0.0.0/24}, {proto: tcp, ports: 22, prefix_list: halves}]`, []string{"EC2SIM-SG-003 rule 2"}},
		{`[{proto: tcp, ports: 22, prefix_list: halves}, {proto: tcp, ports: 22, cidr: 10.0.0.0/24}]`, []string{"EC2SIM-SG-003 rule 2"}},
		{`[{proto: tcp, ports: 22, group: app}, {proto: all, cidr: 10.0.0.0/8}]`, []string{"EC2SIM-SG-003 rule 1"}},
		{`[{proto: tcp, ports: 22, group: app}, {proto: all, cidr: 10.0.1.0/24}]`, nil},
		{`[{proto: tcp, ports: 20-30, group: app}, {proto: tcp, ports: 22, group: app}]`, []string{"EC2SIM-SG-003 rule 2"}},
		{`[{proto: tcp, ports: 22, prefix_list: office}, {proto: tcp, ports: 22, cidr: 198.51.0.0/16}]`, []string{"EC2SIM-SG-003 rule 1"}},
		{`[{proto: tcp, ports: 22, group: web}]`, nil},
	} {
		var got []string
		for _, f := range sgScenario(t, c.ingress) {
			obj, ok := strings.CutPrefix(f.Object, "security group main/web ingress ")
			if !ok {
				obj = f.Object
			}
			got = append(got, f.ID+" "+obj)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("ingress %s:\n got  %q\n want %q", c.ingress, got, c.want)
		}
	}
}

// A reference to a peered VPC's group (VPC/NAME, as the loader gives it once peered references
// are accepted) counts that group's members and marks it referenced. The scenario is built by
// hand, without the loader.
func TestPeeredGroupReference(t *testing.T) {
	build := func(appMembers bool) *scenarios.Scenario {
		ref := &scenarios.Rule{Proto: 6, FromPort: 5432, ToPort: 5432, Group: "b/app"}
		a := &scenarios.VPC{Name: "a", CIDR: netip.MustParsePrefix("10.0.0.0/16"), SecurityGroups: []*scenarios.SecurityGroup{
			{Name: "default", VPC: "a"}, {Name: "db", VPC: "a", Ingress: []*scenarios.Rule{ref}}}}
		b := &scenarios.VPC{Name: "b", CIDR: netip.MustParsePrefix("10.1.0.0/16"), SecurityGroups: []*scenarios.SecurityGroup{
			{Name: "default", VPC: "b"}, {Name: "app", VPC: "b"}}}
		sc := &scenarios.Scenario{VPCs: []*scenarios.VPC{a, b}, Instances: []*scenarios.Instance{
			{Name: "db", ENIs: []*scenarios.ENI{{Subnet: "a/s", SecurityGroups: []string{"db"}, SourceDestCheck: true}}}}}
		if appMembers {
			sc.Instances = append(sc.Instances, &scenarios.Instance{Name: "app",
				ENIs: []*scenarios.ENI{{Subnet: "b/s", SecurityGroups: []string{"app"}, SourceDestCheck: true}}})
		}
		return sc
	}
	for _, c := range []struct {
		members bool
		want    []string
	}{
		{true, nil},
		{false, []string{"EC2SIM-SG-005 security group a/db ingress rule 1"}},
	} {
		fs, err := Run(build(c.members))
		if err != nil {
			t.Fatal(err)
		}
		if got := labels(fs); !slices.Equal(got, c.want) {
			t.Errorf("app has members: %v: got %q, want %q", c.members, got, c.want)
		}
	}
}
