package nacl

import (
	"fmt"
	"net/netip"
	"testing"
)

// worstACL has n inbound rules of each family that all contain the benchmark packet's source
// but none of which admits its port, so a linear evaluator would walk every one of them before
// the * rule; the last rule admits the port when last is set.
func worstACL(n int, last bool) ACL {
	a := ACL{ID: fmt.Sprintf("acl-%d", n)}
	for v6, cidr := range []string{"0.0.0.0/0", "::/0"} {
		for i := range n {
			e := Entry{Number: 1 + 2*i + v6, Action: Deny, Proto: ProtoTCP, FromPort: 1000 + i, ToPort: 1000 + i,
				ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix(cidr)}
			if i%3 == 1 {
				// Nested CIDRs around the source, so the trie has depth.
				src := netip.MustParseAddr("198.51.100.7")
				if v6 == 1 {
					src = netip.MustParseAddr("2001:db8::7")
				}
				e.CIDR, _ = src.Prefix(8 * (1 + i%4))
			}
			if last && i == n-1 {
				e.Action, e.FromPort, e.ToPort = Allow, 443, 443
			}
			a.Entries = append(a.Entries, e)
		}
	}
	return a
}

var benchPackets = map[string]Packet{
	"ipv4": {Src: netip.MustParseAddr("198.51.100.7"), Dst: netip.MustParseAddr("10.0.1.5"), Proto: 6, SrcPort: 50123, DstPort: 443, HasPorts: true},
	"ipv6": {Src: netip.MustParseAddr("2001:db8::7"), Dst: netip.MustParseAddr("2001:db8:1::5"), Proto: 6, SrcPort: 50123, DstPort: 443, HasPorts: true},
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	for _, n := range []int{1, 20, 40} {
		c, _, err := compile(worstACL(n, true), maxSetRules+1)
		if err != nil {
			t.Fatal(err)
		}
		for fam, p := range benchPackets {
			var r Result
			allocs := testing.AllocsPerRun(1000, func() {
				r = c.Evaluate(false, &p)
				r = c.Evaluate(true, &p)
			})
			if allocs != 0 {
				t.Errorf("%d rules %s: %.1f allocations per Evaluate", n, fam, allocs)
			}
			if r.Rule == 0 {
				t.Errorf("%d rules %s: no result", n, fam)
			}
			// The benchmark's packet is matched by the last rule, as intended.
			if got := c.Evaluate(false, &p); !got.Allow || got.Rule != 2*(n-1)+1+b2i(fam == "ipv6") {
				t.Errorf("%d rules %s: %v", n, fam, got)
			}
		}
	}
}

// BenchmarkEvaluate measures one ACL evaluation at 1, 20 and 40 rules per direction and family,
// the packet matching the last rule: the cost should not grow with the count.
func BenchmarkEvaluate(b *testing.B) {
	for _, n := range []int{1, 20, 40} {
		c, _, err := compile(worstACL(n, true), maxSetRules+1)
		if err != nil {
			b.Fatal(err)
		}
		for _, fam := range []string{"ipv4", "ipv6"} {
			p := benchPackets[fam]
			b.Run(fmt.Sprintf("rules=%d/%s", n, fam), func(b *testing.B) {
				b.ReportAllocs()
				var r Result
				for b.Loop() {
					r = c.Evaluate(false, &p)
				}
				_ = r
			})
		}
	}
}

// BenchmarkNaive is the linear first-match for comparison (rules pre-sorted, no allocation).
func BenchmarkNaive(b *testing.B) {
	for _, n := range []int{1, 20, 40} {
		a, _, _ := check(worstACL(n, true), maxSetRules+1)
		c, _, _ := compile(a, maxSetRules+1)
		a = c.ACL()
		p := benchPackets["ipv4"]
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				linear(a.Entries, &p)
			}
		})
	}
}

// linear is naive without its sort, for a fair benchmark.
func linear(rules []Entry, p *Packet) int {
	for i := range rules {
		e := &rules[i]
		if e.Egress || !e.CIDR.Contains(p.Src) || e.Proto != -1 && e.Proto != int(p.Proto) {
			continue
		}
		if e.hasPortCond() && (int(p.DstPort) < e.FromPort || int(p.DstPort) > e.ToPort) {
			continue
		}
		return e.Number
	}
	return DenyIPv4
}

func BenchmarkCompile(b *testing.B) {
	a := worstACL(40, true)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := compile(a, maxSetRules+1); err != nil {
			b.Fatal(err)
		}
	}
}
