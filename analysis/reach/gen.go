package reach

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Generate writes a synthetic scenario of the given size for benchmarks: one VPC with an
// internet gateway, ten subnets (half public) under four custom network ACLs, groups with port
// rules that reference CIDRs and other groups, instances with one to three groups (every tenth
// with a public IP), and three internet hosts. The same seed gives the same file.
func Generate(instances, groups int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	fmt.Fprintf(&b, "name: gen-%d-%d\nvpcs:\n  main:\n    cidr: 10.0.0.0/16\n    internet_gateway: true\n    subnets:\n", instances, groups)
	const subnets = 10
	for i := range subnets {
		rt := "main"
		if i%2 == 0 {
			rt = "public"
		}
		fmt.Fprintf(&b, "      s%d: {cidr: 10.0.%d.0/24, route_table: %s, network_acl: acl%d}\n", i, i, rt, i%4)
	}
	b.WriteString("    route_tables:\n      public:\n        routes:\n          - {destination: 0.0.0.0/0, target: igw}\n")
	b.WriteString("    network_acls:\n")
	for a := range 4 {
		fmt.Fprintf(&b, "      acl%d:\n", a)
		for _, dir := range []string{"ingress", "egress"} {
			fmt.Fprintf(&b, "        %s:\n", dir)
			for k := range 6 {
				lo := 1 + r.IntN(10000)
				action := "allow"
				if r.IntN(4) == 0 {
					action = "deny"
				}
				fmt.Fprintf(&b, "          - {rule: %d, action: %s, proto: tcp, ports: %d-%d, cidr: 10.0.%d.0/24}\n", 10*(k+1), action, lo, lo+r.IntN(500), r.IntN(subnets))
			}
			fmt.Fprintf(&b, "          - {rule: 100, action: allow, proto: tcp, ports: 1024-65535, cidr: 0.0.0.0/0}\n")
			fmt.Fprintf(&b, "          - {rule: 110, action: allow, proto: udp, ports: 53, cidr: 0.0.0.0/0}\n")
			fmt.Fprintf(&b, "          - {rule: 120, action: allow, proto: tcp, ports: 22, cidr: 10.0.0.0/16}\n")
			fmt.Fprintf(&b, "          - {rule: 130, action: allow, proto: icmp, cidr: 0.0.0.0/0}\n")
		}
	}
	b.WriteString("    security_groups:\n")
	services := []int{22, 80, 443, 3306, 5432, 6379, 8080, 9000, 9200, 11211}
	for g := range groups {
		fmt.Fprintf(&b, "      g%d:\n        ingress:\n", g)
		for k := range 5 {
			switch (g + k) % 5 {
			case 0:
				fmt.Fprintf(&b, "          - {proto: tcp, ports: %d, group: g%d}\n", services[r.IntN(len(services))], r.IntN(groups))
			case 1:
				lo := 1024 + r.IntN(30000)
				fmt.Fprintf(&b, "          - {proto: tcp, ports: %d-%d, cidr: 10.0.%d.0/24}\n", lo, lo+r.IntN(2000), r.IntN(subnets))
			case 2:
				fmt.Fprintf(&b, "          - {proto: udp, ports: %d, group: g%d}\n", 1+r.IntN(2000), r.IntN(groups))
			case 3:
				fmt.Fprintf(&b, "          - {proto: tcp, ports: %d, cidr: 0.0.0.0/0}\n", services[r.IntN(3)])
			default:
				fmt.Fprintf(&b, "          - {proto: icmp, icmp_type: -1, group: g%d}\n", r.IntN(groups))
			}
		}
	}
	b.WriteString("instances:\n")
	for i := range instances {
		gs := map[int]bool{}
		for range 1 + r.IntN(3) {
			gs[r.IntN(groups)] = true
		}
		var names []string
		for g := range groups {
			if gs[g] {
				names = append(names, fmt.Sprintf("g%d", g))
			}
		}
		fmt.Fprintf(&b, "  i%d: {subnet: main/s%d, public_ip: %v, security_groups: [%s]}\n", i, i%subnets, i%10 == 0, strings.Join(names, ", "))
	}
	b.WriteString("internet:\n  hosts:\n    h1: 198.51.100.7\n    h2: 203.0.113.9\n    h3: 192.0.2.44\n")
	return b.String()
}
