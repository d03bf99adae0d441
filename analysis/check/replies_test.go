package check

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// aclScenario is a scenario whose subnet b uses the ACL "acl" with the given rules (YAML flow
// sequences) and whose default group allows nothing, so that only the ACL's findings appear.
func aclScenario(t *testing.T, ingress, egress, extra string) []Finding {
	t.Helper()
	src := fmt.Sprintf(`
name: replies
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
      b: {cidr: 10.0.2.0/24, network_acl: acl}
%s
    network_acls:
      default:
        ingress: [{rule: 100, action: allow, proto: tcp, ports: 443, cidr: 10.0.0.0/16}]
        egress: [{rule: 100, action: allow, proto: tcp, ports: 1024-65535, cidr: 10.0.0.0/16}]
      acl:
        ingress: %s
        egress: %s
    security_groups:
      default: {ingress: [], egress: []}
instances:
  one: {subnet: main/a}
  two: {subnet: main/b}
`, extra, ingress, egress)
	return runYAML(t, "replies.yaml", src)
}

func TestRepliesAndAdminPorts(t *testing.T) {
	const (
		https   = `{rule: 100, action: allow, proto: tcp, ports: 443, cidr: 0.0.0.0/0}`
		linux   = `{rule: 200, action: allow, proto: tcp, ports: 32768-65535, cidr: 0.0.0.0/0}`
		allIn   = `{rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0}`
		natPriv = "    nat_gateways:\n      nat: {subnet: b, private: true}"
	)
	for _, c := range []struct {
		name, in, out, extra string
		want                 []string // "ID object: a substring of the message"
	}{
		{"outbound service, no replies in", `[]`, "[" + https + "]", "",
			[]string{"EC2SIM-NACL-005 egress rule 100: ephemeral ports 32768-60999 of this subnet's Linux instances"}},
		{"outbound service, Linux replies in", "[" + linux + "]", "[" + https + "]", "", nil},
		{"outbound service through a NAT gateway, Linux replies only", "[" + linux + "]", "[" + https + "]", natPriv,
			[]string{"EC2SIM-NACL-006 egress rule 100: ports 1024-32767 of the ephemeral range 1024-65535 of this subnet's NAT gateway"}},
		{"SSH denied first, RDP open", `[{rule: 90, action: deny, proto: tcp, ports: 22, cidr: 0.0.0.0/0}, ` + allIn + `]`, "[" + allIn + "]", "",
			[]string{"EC2SIM-NACL-001 ingress rule 100: admits tcp/3389 and udp/3389 from the whole internet"}},
		{"SSH denied from part of the internet only", `[{rule: 90, action: deny, proto: tcp, ports: 22, cidr: 10.0.0.0/8}, ` + allIn + `]`, "[" + allIn + "]", "",
			[]string{"EC2SIM-NACL-001 ingress rule 100: admits tcp/22 and tcp/3389 and udp/3389"}},
		{"SSH and RDP denied first", `[{rule: 80, action: deny, proto: tcp, ports: 22, cidr: 0.0.0.0/0}, {rule: 85, action: deny, proto: tcp, ports: 3389, cidr: 0.0.0.0/0}, {rule: 86, action: deny, proto: udp, ports: 3389, cidr: "::/0"}, {rule: 87, action: deny, proto: udp, ports: 3389, cidr: 0.0.0.0/0}, ` + allIn + `]`, "[" + allIn + "]", "", nil},
		{"SSH from all of IPv6", `[{rule: 100, action: allow, proto: tcp, ports: 22, cidr: "::/0"}]`, `[{rule: 100, action: allow, proto: tcp, ports: 1024-65535, cidr: "::/0"}]`, "",
			[]string{"EC2SIM-NACL-001 ingress rule 100: admits tcp/22 from the whole internet"}},
		{"ping6 in, no echo reply out", `[{rule: 100, action: allow, proto: icmpv6, icmp_type: 128, icmp_code: -1, cidr: "::/0"}]`, `[]`, "",
			[]string{"EC2SIM-NACL-009 ingress rule 100: lets ping (icmpv6 echo request) inbound, but the echo reply to peer :: is denied outbound (rule * deny)"}},
		{"everything denied first", `[{rule: 90, action: deny, proto: all, cidr: 0.0.0.0/0}, ` + allIn + `]`, "[" + allIn + "]", "",
			[]string{"EC2SIM-NACL-002 ingress rule 100: rule 90 (90 deny all 0.0.0.0/0 in) matches every packet",
				"EC2SIM-NACL-005 egress rule 100: lets tcp outbound, but the inbound rules deny every reply to the ephemeral ports 32768-60999",
				"EC2SIM-NACL-009 egress rule 100: lets ping (icmp echo request) outbound, but the echo reply to peer 0.0.0.0 is denied inbound (rule 90 deny)"}},
		{"ping in, no echo reply out", `[{rule: 100, action: allow, proto: icmp, icmp_type: 8, icmp_code: -1, cidr: 10.0.0.0/16}]`, `[]`, "",
			[]string{"EC2SIM-NACL-009 ingress rule 100: echo reply to peer 10.0.0.0 is denied outbound (rule * deny)"}},
		{"ping in, echo reply out", `[{rule: 100, action: allow, proto: icmp, icmp_type: 8, icmp_code: -1, cidr: 10.0.0.0/16}]`,
			`[{rule: 100, action: allow, proto: icmp, icmp_type: 0, icmp_code: 0, cidr: 10.0.0.0/16}]`, "", nil},
		{"udp service, replies out", `[{rule: 100, action: allow, proto: udp, ports: 53, cidr: 10.0.0.0/16}]`,
			`[{rule: 100, action: allow, proto: udp, ports: 1024-65535, cidr: 10.0.0.0/16}]`, "", nil},
		{"udp service, tcp replies only", `[{rule: 100, action: allow, proto: udp, ports: 53, cidr: 10.0.0.0/16}]`,
			`[{rule: 100, action: allow, proto: tcp, ports: 1024-65535, cidr: 10.0.0.0/16}]`, "",
			[]string{"EC2SIM-NACL-005 ingress rule 100: lets udp/53 inbound"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := aclScenario(t, c.in, c.out, c.extra)
			var got []string
			for _, f := range fs {
				if f.ID != "EC2SIM-NACL-010" { // TestPMTUD's
					got = append(got, f.ID+" "+strings.TrimPrefix(f.Object, "network ACL main/acl ")+": "+f.Message)
				}
			}
			for _, w := range c.want {
				head, msg, _ := strings.Cut(w, ": ")
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, head+": ") && strings.Contains(g, msg) }) {
					t.Errorf("no finding %q in\n%s", w, strings.Join(got, "\n"))
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("%d findings, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
		})
	}
}

func TestPMTUD(t *testing.T) {
	const (
		https     = `{rule: 100, action: allow, proto: tcp, ports: 443, cidr: 0.0.0.0/0}`
		ephemeral = `[{rule: 100, action: allow, proto: tcp, ports: 1024-65535, cidr: 0.0.0.0/0}, {rule: 101, action: allow, proto: tcp, ports: 1024-65535, cidr: "::/0"}]`
		fragIn    = `{rule: 150, action: allow, proto: icmp, icmp_type: 3, icmp_code: 4, cidr: 0.0.0.0/0}`
	)
	for _, c := range []struct {
		name, in, out string
		want          []string
	}{
		{"HTTPS from the internet, no ICMP", "[" + https + "]", ephemeral,
			[]string{"EC2SIM-NACL-010 network ACL main/acl ingress rule 100"}},
		{"HTTPS from the internet, fragmentation-needed allowed", "[" + https + ", " + fragIn + "]", ephemeral, nil},
		{"HTTPS from inside the VPC only", `[{rule: 100, action: allow, proto: tcp, ports: 443, cidr: 10.0.0.0/16}]`, ephemeral, nil},
		{"fragmentation-needed denied before an allow of all ICMP", `[` + https + `, {rule: 90, action: deny, proto: icmp, icmp_type: 3, icmp_code: 4, cidr: 0.0.0.0/0}, {rule: 150, action: allow, proto: icmp, icmp_type: -1, cidr: 0.0.0.0/0}]`, ephemeral,
			[]string{"EC2SIM-NACL-010 network ACL main/acl ingress rule 100"}},
		{"outbound HTTPS, replies in, no ICMP", `[{rule: 100, action: allow, proto: tcp, ports: 32768-65535, cidr: 0.0.0.0/0}]`, `[` + https + `]`,
			[]string{"EC2SIM-NACL-010 network ACL main/acl egress rule 100"}},
		{"HTTPS from all of IPv6, no ICMPv6", `[{rule: 100, action: allow, proto: tcp, ports: 443, cidr: "::/0"}]`, ephemeral,
			[]string{"EC2SIM-NACL-010 network ACL main/acl ingress rule 100"}},
		{"HTTPS from all of IPv6, Packet Too Big allowed", `[{rule: 100, action: allow, proto: tcp, ports: 443, cidr: "::/0"}, {rule: 150, action: allow, proto: icmpv6, icmp_type: 2, icmp_code: 0, cidr: "::/0"}]`, ephemeral, nil},
	} {
		if got := labels(aclScenario(t, c.in, c.out, ""), "EC2SIM-NACL-001", "EC2SIM-NACL-009"); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
