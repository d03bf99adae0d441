package nacl

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// mustACL builds an ACL from one-line rules, failing the test on any parse or check error.
func mustACL(t testing.TB, id string, lines ...string) ACL {
	t.Helper()
	a := NewCustom(id, id)
	for _, l := range lines {
		e, err := ParseEntry(l)
		if err != nil {
			t.Fatal(err)
		}
		a.Entries = append(a.Entries, e)
	}
	return a
}

func mustCompile(t testing.TB, a ACL, lim Limits) *Compiled {
	t.Helper()
	c, _, err := Compile(a, lim)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pkt describes a packet as "tcp 198.51.100.7:40000 > 10.0.0.5:443", "icmp 192.0.2.1 >
// 10.0.0.5 3:4", "udp [2001:db8::1]:53 > [2001:db8:1::5]:40000", or "47 192.0.2.1 > 10.0.0.5".
func pkt(t testing.TB, s string) Packet {
	t.Helper()
	f := strings.Fields(s)
	proto, err := ParseProtocol(f[0])
	if err != nil || proto < 0 {
		t.Fatalf("packet %q: protocol: %v", s, err)
	}
	p := Packet{Proto: uint8(proto), HasPorts: true}
	addr := func(w string) (netip.Addr, uint16) {
		if ap, err := netip.ParseAddrPort(w); err == nil {
			return ap.Addr(), ap.Port()
		}
		return netip.MustParseAddr(strings.Trim(w, "[]")), 0
	}
	p.Src, p.SrcPort = addr(f[1])
	p.Dst, p.DstPort = addr(f[3])
	if len(f) > 4 {
		typ, code, err := parseICMP(f[4])
		if err != nil || typ < 0 || code < 0 {
			t.Fatalf("packet %q: ICMP %q", s, f[4])
		}
		p.ICMPType, p.ICMPCode = uint8(typ), uint8(code)
	}
	return p
}

// naive is the model Evaluate is checked against: AWS's documented semantics written as
// directly as possible, a linear first-match over the rules in number order.
func naive(a ACL, egress bool, p *Packet) Result {
	peer := p.Src
	if egress {
		peer = p.Dst
	}
	rules := slices.Clone(a.Entries)
	slices.SortFunc(rules, func(x, y Entry) int { return x.Number - y.Number })
	for _, e := range rules {
		if e.Egress != egress || !e.CIDR.Contains(peer) {
			continue
		}
		if e.Proto != -1 && e.Proto != int(p.Proto) {
			continue
		}
		v6 := e.CIDR.Addr().Is6()
		switch {
		case e.Proto == 6 || e.Proto == 17:
			if p.HasPorts && (int(p.DstPort) < e.FromPort || int(p.DstPort) > e.ToPort) {
				continue
			}
			if !p.HasPorts && (e.FromPort != 0 || e.ToPort != 65535) {
				continue
			}
		case e.Proto == 1 || e.Proto == 58 && v6:
			if p.HasPorts && (e.ICMPType != -1 && e.ICMPType != int(p.ICMPType) ||
				e.ICMPCode != -1 && e.ICMPCode != int(p.ICMPCode)) {
				continue
			}
			if !p.HasPorts && (e.ICMPType != -1 || e.ICMPCode != -1) {
				continue
			}
		}
		return Result{Allow: e.Action == Allow, Rule: e.Number}
	}
	if peer.Is4() {
		return Result{Rule: 32767, Implicit: true}
	}
	return Result{Rule: 32768, Implicit: true}
}
