package check

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ec2sim/ec2sim/nacl"
)

// The naive model: a packet of a small universe and a linear first-match walk written from the
// semantics in aws-semantics.md §1.3, independent of package nacl's compiled evaluator.

type naivePacket struct {
	peer      netip.Addr
	proto     int
	port      int
	typ, code int
}

func naiveMatch(e *nacl.Entry, p naivePacket) bool {
	if !e.CIDR.Contains(p.peer) {
		return false
	}
	if e.Proto == -1 {
		return true
	}
	if e.Proto != p.proto {
		return false
	}
	switch e.Proto {
	case 6, 17:
		return e.FromPort <= p.port && p.port <= e.ToPort
	case 1:
		return (e.ICMPType == -1 || e.ICMPType == p.typ) && (e.ICMPCode == -1 || e.ICMPCode == p.code)
	}
	return true
}

// universe enumerates every packet that can tell the random rules below apart: their CIDRs are
// inside 10.0.0.0/24 or 0.0.0.0/0, their ports inside 0-20 or all, their ICMP types and codes
// 0-3 or any.
func universe() []naivePacket {
	var addrs []netip.Addr
	for i := range 256 {
		addrs = append(addrs, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	addrs = append(addrs, netip.MustParseAddr("9.255.255.255"), netip.MustParseAddr("10.0.1.0"), netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"))
	var out []naivePacket
	for _, a := range addrs {
		for _, proto := range []int{6, 17} {
			for port := range 22 {
				out = append(out, naivePacket{peer: a, proto: proto, port: port})
			}
			out = append(out, naivePacket{peer: a, proto: proto, port: 65535})
		}
		for _, typ := range []int{0, 1, 2, 3, 4, 255} {
			for _, code := range []int{0, 1, 2, 3, 4, 255} {
				out = append(out, naivePacket{peer: a, proto: 1, typ: typ, code: code})
			}
		}
		out = append(out, naivePacket{peer: a, proto: 47}, naivePacket{peer: a, proto: 50})
	}
	return out
}

func randomCIDR(r *rand.Rand) netip.Prefix {
	if r.IntN(6) == 0 {
		return netip.MustParsePrefix("0.0.0.0/0")
	}
	bits := 24 + r.IntN(9)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(256))}), bits).Masked()
}

func randomEntry(r *rand.Rand, number int) nacl.Entry {
	e := nacl.Entry{Number: number, Action: nacl.Allow, Proto: []int{-1, 6, 17, 1, 47}[r.IntN(5)],
		FromPort: 0, ToPort: 65535, ICMPType: -1, ICMPCode: -1, CIDR: randomCIDR(r)}
	if r.IntN(2) == 0 {
		e.Action = nacl.Deny
	}
	e.FromPort, e.ToPort, e.ICMPType, e.ICMPCode = randomL4(r, e.Proto)
	return e
}

// randomL4 draws the port range (tcp, udp: inside 0-20, or all) or ICMP type and code (0-3 or
// any) of a random rule; the universe enumerates every value that tells them apart.
func randomL4(r *rand.Rand, proto int) (from, to, typ, code int) {
	from, to, typ, code = 0, 65535, -1, -1
	switch proto {
	case 6, 17:
		if r.IntN(4) != 0 {
			from = r.IntN(21)
			to = from + r.IntN(21-from)
		}
	case 1:
		if r.IntN(3) != 0 {
			typ = r.IntN(4)
			if r.IntN(2) == 0 {
				code = r.IntN(4)
			}
		}
	}
	return from, to, typ, code
}

// Differential: on random small rule sets, the rules the witness analysis finds live are exactly
// those that are the first match of some packet of the universe, and entryContains agrees with
// containment over the universe.
func TestDeadRulesDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pkts := universe()
	for iter := range 300 {
		n := 1 + r.IntN(7)
		acl := nacl.ACL{Name: fmt.Sprint("random-", iter)}
		for i := range n {
			acl.Entries = append(acl.Entries, randomEntry(r, 100+10*i))
		}
		c, _, err := nacl.Compile(acl, nacl.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		rules := ruleSet(acl, false, false)
		w := witnessesOf(false, rules)
		live := liveRules(c, false, &w)
		naive := map[int]bool{}
		matches := make([][]bool, len(rules))
		for i := range rules {
			matches[i] = make([]bool, len(pkts))
		}
		for k, p := range pkts {
			first := true
			for i := range rules {
				if naiveMatch(&rules[i], p) {
					matches[i][k] = true
					if first {
						naive[rules[i].Number] = true
						first = false
					}
				}
			}
		}
		for i := range rules {
			if live[rules[i].Number] != naive[rules[i].Number] {
				t.Fatalf("set %d rule %s: live %v, naive model %v\nrules: %v", iter, &rules[i], live[rules[i].Number], naive[rules[i].Number], rules)
			}
			for j := range rules {
				want := true
				for k := range pkts {
					if matches[j][k] && !matches[i][k] {
						want = false
						break
					}
				}
				if got := entryContains(&rules[i], &rules[j]); got != want {
					t.Fatalf("entryContains(%s, %s) = %v, naive model %v", &rules[i], &rules[j], got, want)
				}
				overlap := false
				for k := range pkts {
					if matches[j][k] && matches[i][k] {
						overlap = true
						break
					}
				}
				if got := overlaps(&rules[i], &rules[j]); got != overlap {
					t.Fatalf("overlaps(%s, %s) = %v, naive model %v", &rules[i], &rules[j], got, overlap)
				}
			}
		}
	}
}

func parseEntry(t *testing.T, s string) nacl.Entry {
	t.Helper()
	e, err := nacl.ParseEntry(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEntryContains(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"100 allow all 0.0.0.0/0 in", "110 deny tcp 22 10.0.0.0/8 in", true},
		{"100 allow tcp 1024-65535 0.0.0.0/0 in", "110 deny tcp 8080 0.0.0.0/0 in", true},
		{"100 allow tcp 1024-65535 0.0.0.0/0 in", "110 deny udp 8080 0.0.0.0/0 in", false},
		{"100 allow tcp 1024-65535 10.0.0.0/8 in", "110 deny tcp 8080 0.0.0.0/0 in", false},
		{"100 allow tcp 1024-2000 0.0.0.0/0 in", "110 deny tcp 2000-2001 0.0.0.0/0 in", false},
		{"100 allow icmp all 0.0.0.0/0 in", "110 deny icmp 3:4 0.0.0.0/0 in", true},
		{"100 allow icmp 3 0.0.0.0/0 in", "110 deny icmp 3:4 0.0.0.0/0 in", true},
		{"100 allow icmp 3:4 0.0.0.0/0 in", "110 deny icmp 3 0.0.0.0/0 in", false},
		{"100 allow icmp 3:4 0.0.0.0/0 in", "110 deny icmp 3:4 0.0.0.0/0 in", true},
		{"100 allow icmp 3:4 0.0.0.0/0 in", "110 deny icmp 8:0 0.0.0.0/0 in", false},
		{"100 allow 47 0.0.0.0/0 in", "110 deny 47 10.0.0.0/8 in", true},
		{"100 allow 47 10.0.0.0/8 in", "110 deny 50 10.0.0.0/8 in", false},
		{"100 allow tcp all 10.0.0.0/8 in", "110 deny all 10.0.0.0/8 in", false},
		// ICMPv6 with an IPv6 CIDR has types; with an IPv4 one it matches every type.
		{"100 allow icmpv6 128 ::/0 in", "110 deny icmpv6 129 ::/0 in", false},
		{"100 allow icmpv6 128 ::/0 in", "110 deny icmpv6 128:0 2001:db8::/32 in", true},
	} {
		a, b := parseEntry(t, c.a), parseEntry(t, c.b)
		if got := entryContains(&a, &b); got != c.want {
			t.Errorf("entryContains(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
