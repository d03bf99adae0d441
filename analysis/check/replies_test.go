package check

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/nacl"
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

// Differential: the denied reply ports deniedReplies computes from the interval starts are
// exactly the ports a linear first-match walk denies, port by port, for random rules whose
// bounds sit around the edges of the ephemeral ranges.
func TestDeniedRepliesDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	edges := []int{1000, 1023, 1024, 1025, 32767, 32768, 32769, 49151, 49152, 60998, 60999, 61000, 65534, 65535}
	for iter := range 60 {
		acl := nacl.ACL{Name: fmt.Sprint("replies-", iter)}
		for i := range 1 + r.IntN(6) {
			e := randomEntry(r, 100+10*i)
			e.Egress = true
			if hasPortCond(&e) && r.IntN(2) == 0 {
				a, b := edges[r.IntN(len(edges))], edges[r.IntN(len(edges))]
				e.FromPort, e.ToPort = min(a, b), max(a, b)
			}
			acl.Entries = append(acl.Entries, e)
		}
		c, _, err := nacl.Compile(acl, nacl.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		back := ruleSet(acl, true, false)
		k := &aclCheck{c: c}
		for _, rng := range [][2]int{{anyClientLo, anyClientHi}, {linuxLo, linuxHi}} {
			lo, hi := rng[0], rng[1]
			ports := []int{lo}
			for _, p := range witnessesOf(false, back).ports {
				if p > lo && p <= hi {
					ports = append(ports, p)
				}
			}
			for _, proto := range []int{6, 17} {
				peer := netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(256))})
				got := k.deniedReplies(proto, peer, true, ports, hi)
				var want []span16
				for port := lo; port <= hi; port++ {
					allowed := false
					for i := range back {
						if naiveMatch(&back[i], naivePacket{peer: peer, proto: proto, port: port}) {
							allowed = back[i].Action == nacl.Allow
							break
						}
					}
					if allowed {
						continue
					}
					if n := len(want); n > 0 && want[n-1].hi+1 == port {
						want[n-1].hi = port
					} else {
						want = append(want, span16{port, port})
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("set %d %v, proto %d, peer %s, range %d-%d: denied %v, naive model %v", iter, back, proto, peer, lo, hi, got, want)
				}
			}
		}
	}
}
