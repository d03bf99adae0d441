package reach

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

// genScenario writes a small random scenario: two subnets (one with a random custom ACL), three
// groups with random port rules (CIDR and group references), four instances and an internet host
// behind a gateway. Rule ports stay below 400 or at the top of the range, so that a naive
// enumeration of those regions covers every boundary.
func genScenario(r *rand.Rand) string {
	ports := func() string {
		switch r.IntN(6) {
		case 0:
			return "0-65535"
		case 1:
			return fmt.Sprint(65530 + r.IntN(6))
		case 2:
			lo := 1 + r.IntN(300)
			return fmt.Sprintf("%d-%d", lo, lo+r.IntN(100))
		case 3:
			lo := 199 + r.IntN(6)
			return fmt.Sprintf("%d-65535", lo)
		}
		return fmt.Sprint(1 + r.IntN(300))
	}
	proto := func() string { return []string{"tcp", "udp", "tcp", "all", "icmp"}[r.IntN(5)] }
	peer := func(groups []string) string {
		switch r.IntN(4) {
		case 0:
			return "group: " + groups[r.IntN(len(groups))]
		case 1:
			return "cidr: 10.0.1.0/24"
		case 2:
			return "cidr: 198.51.100.0/24"
		}
		return "cidr: 0.0.0.0/0"
	}
	rule := func(groups []string) string {
		p := proto()
		switch p {
		case "all":
			return fmt.Sprintf("{proto: all, %s}", peer(groups))
		case "icmp":
			return fmt.Sprintf("{proto: icmp, icmp_type: %d, %s}", []int{-1, 8, 0}[r.IntN(3)], peer(groups))
		}
		return fmt.Sprintf("{proto: %s, ports: %s, %s}", p, ports(), peer(groups))
	}
	var b strings.Builder
	groups := []string{"g0", "g1", "g2"}
	b.WriteString("name: gen\nvpcs:\n  main:\n    cidr: 10.0.0.0/16\n    internet_gateway: true\n    subnets:\n")
	b.WriteString("      a: {cidr: 10.0.1.0/24, route_table: pub}\n      b: {cidr: 10.0.2.0/24, route_table: pub, network_acl: acl}\n")
	b.WriteString("    route_tables:\n      pub:\n        routes:\n          - {destination: 0.0.0.0/0, target: igw}\n")
	b.WriteString("    network_acls:\n      acl:\n")
	for _, dir := range []string{"ingress", "egress"} {
		fmt.Fprintf(&b, "        %s:\n", dir)
		if dir == "egress" && r.IntN(2) == 0 {
			// Replies to part of the test's ephemeral range (200-203) are denied.
			b.WriteString("          - {rule: 5, action: deny, proto: tcp, ports: 202-65535, cidr: 10.0.1.0/24}\n")
		}
		n := 1 + r.IntN(4)
		for i := range n {
			action := []string{"allow", "allow", "deny"}[r.IntN(3)]
			cidr := []string{"0.0.0.0/0", "10.0.0.0/16", "198.51.100.0/24"}[r.IntN(3)]
			switch p := proto(); p {
			case "all", "icmp":
				fmt.Fprintf(&b, "          - {rule: %d, action: %s, proto: %s, cidr: %s}\n", 10*(i+1), action, p, cidr)
			default:
				fmt.Fprintf(&b, "          - {rule: %d, action: %s, proto: %s, ports: %s, cidr: %s}\n", 10*(i+1), action, p, ports(), cidr)
			}
		}
	}
	b.WriteString("    security_groups:\n")
	for _, g := range groups {
		fmt.Fprintf(&b, "      %s:\n        ingress:\n", g)
		for range 1 + r.IntN(3) {
			fmt.Fprintf(&b, "          - %s\n", rule(groups))
		}
		b.WriteString("        egress:\n")
		for range 1 + r.IntN(2) {
			fmt.Fprintf(&b, "          - %s\n", rule(groups))
		}
	}
	b.WriteString("instances:\n")
	for i := range 4 {
		sub := []string{"a", "b"}[r.IntN(2)]
		gs := []string{groups[r.IntN(3)]}
		if r.IntN(2) == 0 {
			gs = append(gs, groups[r.IntN(3)])
		}
		if gs[len(gs)-1] == gs[0] && len(gs) == 2 {
			gs = gs[:1]
		}
		fmt.Fprintf(&b, "  i%d: {subnet: main/%s, public_ip: %v, security_groups: [%s]}\n", i, sub, r.IntN(3) > 0, strings.Join(gs, ", "))
	}
	b.WriteString("internet:\n  hosts:\n    client: 198.51.100.7\n")
	return b.String()
}

// naivePorts are the destination ports the naive model enumerates: every port of the region
// rules use, the top of the range, and a random sample of the rest.
func naivePorts(r *rand.Rand) []int {
	var ps []int
	for p := 1; p <= 420; p++ {
		ps = append(ps, p)
	}
	for p := 65520; p <= 65535; p++ {
		ps = append(ps, p)
	}
	for range 60 {
		ps = append(ps, 421+r.IntN(65520-421))
	}
	return ps
}

// TestDifferential compares every cell of random scenarios with a naive model: fabric.Trace (the
// explaining trace, not QuickTrace) for every port and every source port of a small ephemeral
// range. And the analysis by equivalence classes must equal the one computed per pair.
func TestDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 8))
	eph := Range{200, 203}
	n := 8
	if testing.Short() {
		n = 2
	}
	kinds := map[string]int{}
	for i := range n {
		// Random rules may duplicate each other, which the loader refuses as AWS does: draw again.
		var src string
		var sc *scenarios.Scenario
		var err error
		for range 20 {
			src = genScenario(r)
			if sc, err = scenarios.Parse(fmt.Sprintf("gen%d.yaml", i), []byte(src)); err == nil || !strings.Contains(err.Error(), "Duplicate") {
				break
			}
		}
		require.NoError(t, err, src)
		plan, err := lab.NewPlan(sc, "gen")
		require.NoError(t, err)
		res, err := Analyze(plan, Options{Ephemeral: eph})
		require.NoError(t, err)
		pairs, err := Analyze(plan, Options{Ephemeral: eph, PerPair: true})
		require.NoError(t, err)
		require.Equal(t, len(res.Cells), len(pairs.Cells))
		for k, c := range res.Cells {
			p := pairs.Cells[k]
			if c.Reach.Summary() != p.Reach.Summary() || c.OneWay.Summary() != p.OneWay.Summary() || c.SomeSourcePorts.Summary() != p.SomeSourcePorts.Summary() {
				t.Errorf("scenario %d: %s -> %s: by classes %s / %s / %s, per pair %s / %s / %s\n%s", i, c.From, c.To,
					c.Reach.Summary(), c.OneWay.Summary(), c.SomeSourcePorts.Summary(),
					p.Reach.Summary(), p.OneWay.Summary(), p.SomeSourcePorts.Summary(), src)
			}
		}
		ports := naivePorts(r)
		bad := 0
		for _, c := range res.Cells {
			if c.Note != "" {
				continue
			}
			for k, s := range map[string]*Set{"reach": &c.Reach, "one-way": &c.OneWay, "some source ports": &c.SomeSourcePorts} {
				if !s.Empty() {
					kinds[k]++
				}
			}
			for _, proto := range []string{"tcp", "udp"} {
				for _, port := range ports {
					backs := 0
					fwd := false
					for sp := eph.Lo; sp <= eph.Hi; sp++ {
						spec := c.spec
						spec.Proto, spec.SrcPort, spec.DstPort = 6, uint16(sp), uint16(port)
						if proto == "udp" {
							spec.Proto = 17
						}
						tr, err := fabric.Trace(plan.State, spec)
						require.NoError(t, err)
						fwd = tr.Forward.Reachable
						if tr.Return != nil && tr.Return.Reachable {
							backs++
						}
					}
					want := map[string]bool{
						"reach":  backs == eph.Hi-eph.Lo+1,
						"some":   backs > 0 && backs < eph.Hi-eph.Lo+1,
						"oneway": fwd && backs == 0,
					}
					got := map[string]bool{
						"reach":  Contains(c.Reach.ports(proto), port),
						"some":   Contains(c.SomeSourcePorts.ports(proto), port),
						"oneway": Contains(c.OneWay.ports(proto), port),
					}
					for k := range want {
						if want[k] != got[k] && bad < 10 {
							bad++
							t.Errorf("scenario %d: %s -> %s %s/%d: %s: naive %v, reach %v\n%s", i, c.From, c.To, proto, port, k, want[k], got[k], src)
						}
					}
				}
			}
			spec := c.spec
			spec.Proto, spec.SrcPort = 1, icmpID
			tr, err := fabric.Trace(plan.State, spec)
			require.NoError(t, err)
			if want := tr.Return != nil && tr.Return.Reachable; want != c.Reach.ICMP {
				t.Errorf("scenario %d: %s -> %s icmp: naive %v, reach %v", i, c.From, c.To, want, c.Reach.ICMP)
			}
		}
	}
	// The generator must produce every kind of verdict, or the comparison proves little.
	t.Logf("cells with a non-empty set: %v", kinds)
	if testing.Short() {
		return
	}
	require.NotZero(t, kinds["reach"])
	require.NotZero(t, kinds["one-way"])
	require.NotZero(t, kinds["some source ports"])
}
