package nacl

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// gen draws random rule sets and packets that hit their edges: addresses inside and just
// outside the rules' CIDRs, ports at and beside the ends of their ranges, the protocols with
// layer-4 semantics and a few without.
type gen struct {
	r     *rand.Rand
	bases [2][]netip.Addr
}

func newGen(seed uint64) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))}
	for range 3 {
		var b4 [4]byte
		var b6 [16]byte
		for i := range b4 {
			b4[i] = byte(g.r.IntN(256))
		}
		for i := range b6 {
			b6[i] = byte(g.r.IntN(256))
		}
		g.bases[0] = append(g.bases[0], netip.AddrFrom4(b4))
		g.bases[1] = append(g.bases[1], netip.AddrFrom16(b6))
	}
	// An IPv4-mapped IPv6 base: such prefixes belong to the IPv6 set.
	g.bases[1] = append(g.bases[1], netip.AddrFrom16(netip.AddrFrom4([4]byte{10, 0, 0, 0}).As16()))
	return g
}

// prefix picks a base and a length, so that prefixes of one base nest and overlap.
func (g *gen) prefix(v6 bool) netip.Prefix {
	fam := b2i(v6)
	base := g.bases[fam][g.r.IntN(len(g.bases[fam]))]
	bits := base.BitLen()
	var n int
	switch g.r.IntN(4) {
	case 0:
		n = 0
	case 1:
		n = bits
	default:
		n = g.r.IntN(bits + 1)
	}
	p, _ := base.Prefix(n)
	if g.r.IntN(8) == 0 && n < bits {
		// Host bits set: Check canonicalises them.
		p = netip.PrefixFrom(base.Next(), n)
	}
	return p
}

func (g *gen) port() int { return []int{0, 1, 22, 80, 443, 1024, 32768, 65534, 65535}[g.r.IntN(9)] }

func (g *gen) entry(number int, egress, v6 bool) Entry {
	e := Entry{Number: number, Egress: egress, Action: Allow, ICMPType: -1, ICMPCode: -1, CIDR: g.prefix(v6)}
	if g.r.IntN(2) == 0 {
		e.Action = Deny
	}
	e.Proto = []int{-1, 6, 6, 17, 17, 1, 58, 47, 0}[g.r.IntN(9)]
	switch e.Proto {
	case 6, 17:
		a, b := g.port(), g.port()
		if g.r.IntN(3) == 0 {
			a, b = g.r.IntN(65536), g.r.IntN(65536)
		}
		e.FromPort, e.ToPort = min(a, b), max(a, b)
	case 1, 58:
		if g.r.IntN(3) > 0 {
			e.ICMPType = g.r.IntN(4)
			if g.r.IntN(2) == 0 {
				e.ICMPCode = g.r.IntN(3)
			}
		}
	}
	return e
}

// acl draws up to max rules per direction and family, with distinct numbers.
func (g *gen) acl(max int) ACL {
	a := ACL{ID: "acl-rand"}
	for eg := range 2 {
		nums := g.r.Perm(200)
		k := 0
		for v6 := range 2 {
			for range g.r.IntN(max + 1) {
				a.Entries = append(a.Entries, g.entry(nums[k]+1, eg == 1, v6 == 1))
				k++
			}
		}
	}
	return a
}

func (g *gen) addrNear(a ACL, v6 bool) netip.Addr {
	var cands []netip.Prefix
	for _, e := range a.Entries {
		if e.CIDR.Addr().Is6() == v6 {
			cands = append(cands, e.CIDR.Masked())
		}
	}
	if len(cands) == 0 || g.r.IntN(5) == 0 {
		return g.prefix(v6).Addr()
	}
	p := cands[g.r.IntN(len(cands))]
	addr := p.Addr()
	b := addr.AsSlice()
	for i := p.Bits(); i < addr.BitLen(); i++ {
		if g.r.IntN(2) == 0 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	addr, _ = netip.AddrFromSlice(b)
	switch g.r.IntN(6) {
	case 0:
		if n := addr.Next(); n.IsValid() {
			addr = n
		}
	case 1:
		if n := p.Addr().Prev(); n.IsValid() {
			addr = n // just below the prefix
		}
	}
	return addr
}

func (g *gen) packet(a ACL) Packet {
	v6 := g.r.IntN(2) == 0
	p := Packet{Src: g.addrNear(a, v6), Dst: g.addrNear(a, v6), HasPorts: g.r.IntN(10) > 0}
	p.Proto = uint8([]int{6, 6, 17, 17, 1, 58, 47, 0, 255}[g.r.IntN(9)])
	switch p.Proto {
	case 6, 17:
		if p.HasPorts {
			p.SrcPort = uint16(g.r.IntN(65536))
			p.DstPort = uint16(g.port())
			// Ports beside the ends of the rules' ranges are the boundary cases.
			if len(a.Entries) > 0 && g.r.IntN(2) == 0 {
				e := a.Entries[g.r.IntN(len(a.Entries))]
				d := []int{e.FromPort - 1, e.FromPort, e.ToPort, e.ToPort + 1}[g.r.IntN(4)]
				p.DstPort = uint16(min(max(d, 0), 65535))
			}
		}
	case 1, 58:
		if p.HasPorts {
			p.ICMPType, p.ICMPCode = uint8(g.r.IntN(5)), uint8(g.r.IntN(4))
		}
	}
	return p
}

// TestDifferential checks Evaluate against the linear model on random rule sets of up to 40
// rules per direction and family and random packets.
func TestDifferential(t *testing.T) {
	seeds, packets := 300, 200
	if testing.Short() {
		seeds = 50
	}
	matched := map[bool]int{}
	for seed := range seeds {
		g := newGen(uint64(seed))
		a := g.acl([]int{3, 10, 39}[seed%3])
		c, _, err := Compile(a, Limits{RulesPerDirection: 40})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		canon := c.ACL()
		for range packets {
			p := g.packet(a)
			for _, eg := range []bool{false, true} {
				got, want := c.Evaluate(eg, &p), naive(canon, eg, &p)
				if got != want {
					t.Fatalf("seed %d: %s %+v: Evaluate %+v, naive %+v\nrules: %v", seed, direction(eg), p, got, want, canon.Entries)
				}
				matched[got.Implicit]++
			}
		}
	}
	// A generator that never reached a numbered rule (or always did) would test little.
	if matched[false] < seeds*packets/10 || matched[true] < seeds*packets/10 {
		t.Errorf("poor coverage: %d numbered matches, %d * matches", matched[false], matched[true])
	}
}

// TestEvaluateMoreThanForty runs the evaluator at its 64-rule capacity, past AWS's quota.
func TestEvaluateMoreThanForty(t *testing.T) {
	g := newGen(99)
	a := ACL{ID: "acl-big"}
	for i := range 64 {
		a.Entries = append(a.Entries, g.entry(i+1, false, false))
	}
	c, _, err := compile(a, maxSetRules+1)
	if err != nil {
		t.Fatal(err)
	}
	canon := c.ACL()
	for range 5000 {
		p := g.packet(a)
		if got, want := c.Evaluate(false, &p), naive(canon, false, &p); got != want {
			t.Fatalf("%+v: Evaluate %+v, naive %+v", p, got, want)
		}
	}
	a.Entries = append(a.Entries, g.entry(65, false, false))
	if _, _, err := compile(a, maxSetRules+2); err == nil {
		t.Error("65 rules in one set compiled")
	}
}

func TestInvalidPeerDenied(t *testing.T) {
	c := mustCompile(t, DefaultACL("acl-d", "d", true), Limits{})
	p := Packet{Proto: 6, HasPorts: true}
	if r := c.Evaluate(false, &p); r.Allow || !r.Implicit {
		t.Errorf("packet without addresses: %v", r)
	}
}

func TestNoLayer4(t *testing.T) {
	a := mustACL(t, "acl-frag",
		"100 deny tcp 80 0.0.0.0/0 in",
		"110 allow tcp all 10.0.0.0/8 in",
		"120 allow icmp 3:4 0.0.0.0/0 in",
		"130 allow icmp all 192.0.2.0/24 in",
		"140 allow udp 53 0.0.0.0/0 in")
	c := mustCompile(t, a, Limits{})
	cases := []struct {
		packet string
		want   string
	}{
		{"tcp 10.1.1.1 > 10.0.0.5", "rule 110 allow"},          // 100 looks at ports, so it passes over
		{"tcp 203.0.113.1 > 10.0.0.5", "rule * deny"},          // nothing without ports
		{"icmp 192.0.2.1 > 10.0.0.5", "rule 130 allow"},        // 120 needs a type
		{"icmp 198.51.100.1 > 10.0.0.5", "rule * deny"},        //
		{"udp 198.51.100.1 > 10.0.0.5", "rule * deny"},         // 140 needs a port
		{"tcp 10.1.1.1:1 > 10.0.0.5:80", "rule 100 deny"},      // with ports, 100 matches
		{"icmp 198.51.100.8 > 10.0.0.5 3:4", "rule 120 allow"}, //
	}
	for _, tc := range cases {
		p := pkt(t, tc.packet)
		p.HasPorts = tc.packet[len(tc.packet)-1] != '5' // "... > 10.0.0.5" has no port
		if got := c.Evaluate(false, &p).String(); got != tc.want {
			t.Errorf("%s (HasPorts %v): got %s, want %s", tc.packet, p.HasPorts, got, tc.want)
		}
		if n := naive(a, false, &p); n.String() != tc.want {
			t.Errorf("naive model disagrees on %s: %v", tc.packet, n)
		}
	}
}
