package packet

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The rewrite tests describe a packet completely (natSpec), build it with gopacket, rewrite it,
// and compare the result byte for byte with the packet gopacket builds from the edited
// description: every checksum, the quoted ones too, is then the one a full recomputation gives.

var (
	natPriv = netip.MustParseAddr("10.0.1.10")
	natPub  = netip.MustParseAddr("203.0.113.10")
	natNet  = netip.MustParseAddr("198.51.100.7")
	natHop  = netip.MustParseAddr("192.0.2.254")
)

// natSpec describes an IP packet: TCP, UDP, an ICMP echo, or an ICMP error quoting inner.
type natSpec struct {
	v6        bool
	proto     uint8
	src, dst  netip.Addr
	sport     uint16 // an echo's identifier
	dport     uint16 // an echo's sequence number
	icmpType  uint8
	payload   []byte
	noUDPCsum bool     // the UDP checksum field is 0: none was computed
	opts      bool     // IPv4 options (four NOPs, IHL 6)
	inner     *natSpec // for an ICMP error, the packet it quotes
	quote     int      // how many bytes of inner's IP packet the error quotes
}

// clone copies s deeply enough for an edit of the quoted packet.
func (s natSpec) clone() natSpec {
	if s.inner != nil {
		in := s.inner.clone()
		s.inner = &in
	}
	return s
}

// ip serialises the IP packet s describes, checksums computed by gopacket.
func (s natSpec) ip(t testing.TB) []byte {
	t.Helper()
	var nl gopacket.NetworkLayer
	var ls []gopacket.SerializableLayer
	if s.v6 {
		ip := ip6(s.src, s.dst, layers.IPProtocol(s.proto))
		nl, ls = ip, append(ls, ip)
	} else {
		ip := ip4(s.src, s.dst, layers.IPProtocol(s.proto))
		if s.opts {
			ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 1}}
		}
		nl, ls = ip, append(ls, ip)
	}
	switch s.proto {
	case ProtoTCP:
		tcp := &layers.TCP{SrcPort: layers.TCPPort(s.sport), DstPort: layers.TCPPort(s.dport), Seq: 0x01020304,
			Ack: 0x0a0b0c0d, ACK: true, PSH: true, Window: 501}
		_ = tcp.SetNetworkLayerForChecksum(nl)
		ls = append(ls, tcp)
	case ProtoUDP:
		ls = append(ls, udp(s.sport, s.dport, nl))
	case ProtoICMP:
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(s.icmpType, 0), Id: s.sport, Seq: s.dport})
	case ProtoICMPv6:
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(s.icmpType, 0)}
		_ = icmp.SetNetworkLayerForChecksum(nl)
		ls = append(ls, icmp, &layers.ICMPv6Echo{Identifier: s.sport, SeqNumber: s.dport})
	}
	pl := s.payload
	if s.inner != nil {
		pl = s.inner.ip(t)[:s.quote]
	}
	b := ser(t, append(ls, gopacket.Payload(pl))...)
	if s.noUDPCsum {
		hl := IPv6HdrLen
		if !s.v6 {
			hl = int(b[0]&0x0f) * 4
		}
		binary.BigEndian.PutUint16(b[hl+udpCsumOff:], 0)
	}
	return b
}

// frame is the Ethernet frame of s.
func (s natSpec) frame(t testing.TB) []byte {
	h := make([]byte, EthHdrLen) // gopacket would pad a lone Ethernet header to 60 bytes
	putEth(h, macRtr, macA, EtherTypeIPv4)
	if s.v6 {
		binary.BigEndian.PutUint16(h[12:], EtherTypeIPv6)
	}
	return cat(h, s.ip(t))
}

// pseudoSum is the sum of an IPv4 or IPv6 pseudo-header, unfolded.
func pseudoSum(src, dst netip.Addr, proto uint8, l4len int) uint32 {
	s := uint32(proto) + uint32(l4len>>16) + uint32(l4len&0xffff)
	for _, a := range []netip.Addr{src, dst} {
		b := a.AsSlice()
		for i := 0; i < len(b); i += 2 {
			s += uint32(binary.BigEndian.Uint16(b[i:]))
		}
	}
	return s
}

// partialForm turns the complete frame f into what a sender with checksum offload writes: the
// L4 checksum field holds the folded pseudo-header sum, uncomplemented (0 for ICMPv4, which
// has no pseudo-header), and the virtio header says NEEDS_CSUM and where.
func partialForm(t testing.TB, f []byte) ([]byte, VnetHdr) {
	t.Helper()
	var p Parsed
	p.Decode(f)
	off := partialOff(p.Proto)
	if off == 0 || p.Fragment {
		t.Fatalf("no partial form for protocol %d (fragment %v)", p.Proto, p.Fragment)
	}
	g := slices.Clone(f)
	var init uint16
	if p.Proto != ProtoICMP {
		init = ^naiveChecksum(nil, pseudoSum(p.Src, p.Dst, p.Proto, p.TotalLen-p.IPHdrLen))
	}
	binary.BigEndian.PutUint16(g[p.L4Off+off:], init)
	return g, VnetHdr{Flags: VnetFlagNeedsCsum, CsumStart: uint16(p.L4Off), CsumOffset: uint16(off)}
}

// completeRef is the reference completion of a NEEDS_CSUM frame, summed the textbook way over
// the L4 part of the packet; a UDP zero becomes 0xffff, as gopacket writes it.
func completeRef(f []byte, vh VnetHdr) []byte {
	g := slices.Clone(f)
	if vh.Flags&VnetFlagNeedsCsum == 0 {
		return g
	}
	var p Parsed
	p.Decode(g)
	field := int(vh.CsumStart) + int(vh.CsumOffset)
	c := naiveChecksum(g[vh.CsumStart:EthHdrLen+p.TotalLen], 0)
	if c == 0 && p.Proto == ProtoUDP {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(g[field:], c)
	return g
}

// Checksums that badChecksums can check from a frame alone.
const (
	badIP = 1 << iota
	badL4
	badInnerIP
)

// badChecksums recomputes the checksums of the complete frame f and reports the wrong ones.
// A fragment's L4 checksum covers the whole datagram and a quoted L4 header is cut short, so
// neither is checked here; the byte comparisons check them.
func badChecksums(f []byte) int {
	var p Parsed
	p.Decode(f)
	bad := 0
	if p.Kind == KindIPv4 && naiveChecksum(f[EthHdrLen:p.L4Off], 0) != 0 {
		bad |= badIP
	}
	if (p.Kind != KindIPv4 && p.Kind != KindIPv6) || p.Fragment {
		return bad
	}
	seg := f[p.L4Off : EthHdrLen+p.TotalLen]
	switch {
	case p.Proto == ProtoTCP && len(seg) >= tcpCsumOff+2,
		p.Proto == ProtoUDP && len(seg) >= UDPLen && binary.BigEndian.Uint16(seg[udpCsumOff:]) != 0,
		p.Proto == ProtoICMPv6 && p.Kind == KindIPv6:
		if naiveChecksum(seg, pseudoSum(p.Src, p.Dst, p.Proto, len(seg))) != 0 {
			bad |= badL4
		}
	case p.Proto == ProtoICMP && p.Kind == KindIPv4:
		if naiveChecksum(seg, 0) != 0 {
			bad |= badL4
		}
	}
	if p.HasInner && p.Kind == KindIPv4 {
		q := f[p.L4Off+ICMPHdrLen:]
		if naiveChecksum(q[:int(q[0]&0x0f)*4], 0) != 0 {
			bad |= badInnerIP
		}
	}
	return bad
}

// natOp is one rewrite and the edit of the description that it must amount to.
type natOp struct {
	name string
	do   func(f []byte, p *Parsed, vh VnetHdr) error
	edit func(s *natSpec)
}

// mkOp makes the natOp that calls fn with v and applies the edit with v.
func mkOp[T any](name string, fn func([]byte, *Parsed, VnetHdr, T) error, v T, edit func(*natSpec, T)) natOp {
	return natOp{name, func(f []byte, p *Parsed, vh VnetHdr) error { return fn(f, p, vh, v) }, func(s *natSpec) { edit(s, v) }}
}

func opSrc(a netip.Addr) natOp {
	return mkOp("src", RewriteIPv4Src, a, func(s *natSpec, a netip.Addr) { s.src = a })
}
func opDst(a netip.Addr) natOp {
	return mkOp("dst", RewriteIPv4Dst, a, func(s *natSpec, a netip.Addr) { s.dst = a })
}
func opSport(v uint16) natOp {
	return mkOp("sport", RewriteSrcPort, v, func(s *natSpec, v uint16) { s.sport = v })
}
func opDport(v uint16) natOp {
	return mkOp("dport", RewriteDstPort, v, func(s *natSpec, v uint16) { s.dport = v })
}
func opID(v uint16) natOp {
	return mkOp("icmp id", RewriteICMPID, v, func(s *natSpec, v uint16) { s.sport = v })
}
func opInnerSrc(a netip.Addr) natOp {
	return mkOp("inner src", RewriteICMPInnerSrc, a, func(s *natSpec, a netip.Addr) { s.inner.src = a })
}
func opInnerDst(a netip.Addr) natOp {
	return mkOp("inner dst", RewriteICMPInnerDst, a, func(s *natSpec, a netip.Addr) { s.inner.dst = a })
}
func opInnerSport(v uint16) natOp {
	return mkOp("inner sport", RewriteICMPInnerSrcPort, v, func(s *natSpec, v uint16) { s.inner.sport = v })
}
func opInnerDport(v uint16) natOp {
	return mkOp("inner dport", RewriteICMPInnerDstPort, v, func(s *natSpec, v uint16) { s.inner.dport = v })
}
func opInnerID(v uint16) natOp {
	return mkOp("inner icmp id", RewriteICMPInnerID, v, func(s *natSpec, v uint16) { s.inner.sport = v })
}

// checkRewrite builds s (in its partial form when partial), applies ops, and compares the
// result with the frame built from the edited description: byte for byte, after the reference
// completion and after FinishChecksum for a partial frame, and the Parsed with a fresh decode.
func checkRewrite(t *testing.T, name string, s natSpec, partial bool, ops ...natOp) {
	t.Helper()
	f := s.frame(t)
	var vh VnetHdr
	if partial {
		f, vh = partialForm(t, f)
	}
	var p Parsed
	p.Decode(f)
	want := s.clone()
	for _, op := range ops {
		if err := op.do(f, &p, vh); err != nil {
			t.Fatalf("%s: %s: %v", name, op.name, err)
		}
		op.edit(&want)
	}
	wf := want.frame(t)
	var fresh Parsed
	fresh.Decode(f)
	if d := diffParsed(p, fresh); d != "" {
		t.Errorf("%s: Parsed after the rewrite differs from a fresh decode:%s", name, d)
	}
	if !partial {
		if !bytes.Equal(f, wf) {
			t.Errorf("%s: rewritten frame differs from the one built with the new fields\n got % x\nwant % x", name, f, wf)
		}
		return
	}
	if wp, _ := partialForm(t, wf); !bytes.Equal(f, wp) {
		t.Errorf("%s: rewritten partial frame differs from the partial form of the one built with the new fields\n got % x\nwant % x", name, f, wp)
	}
	if c := completeRef(f, vh); !bytes.Equal(c, wf) {
		t.Errorf("%s: rewritten partial frame, completed, differs from the one built with the new fields\n got % x\nwant % x", name, c, wf)
	}
	fin := slices.Clone(f)
	if err := FinishChecksum(fin, &vh); err != nil {
		t.Fatalf("%s: FinishChecksum: %v", name, err)
	}
	if !sameButMangledZero(fin, wf, p.L4Off+partialOff(p.Proto)) {
		t.Errorf("%s: rewritten partial frame, finished, differs from the one built with the new fields\n got % x\nwant % x", name, fin, wf)
	}
}

// partialOff is where a protocol's checksum field is in its header, 0 for one without.
func partialOff(proto uint8) int {
	return map[uint8]int{ProtoTCP: tcpCsumOff, ProtoUDP: udpCsumOff, ProtoICMP: icmpCsumOff, ProtoICMPv6: icmpCsumOff}[proto]
}

// sameButMangledZero reports whether got equals want but for the checksum at field being
// 0xffff where want has 0: FinishChecksum stores a computed 0 as 0xffff, as Linux does.
func sameButMangledZero(got, want []byte, field int) bool {
	if bytes.Equal(got, want) {
		return true
	}
	w := slices.Clone(want)
	if binary.BigEndian.Uint16(w[field:]) == 0 {
		binary.BigEndian.PutUint16(w[field:], 0xffff)
	}
	return bytes.Equal(got, w)
}

func echoSpec(typ uint8) natSpec {
	return natSpec{proto: ProtoICMP, icmpType: typ, src: natPriv, dst: natNet, sport: 0x1234, dport: 7, payload: payload(56)}
}

// errSpec is an ICMP error from the internet about a packet that left through the gateway.
func errSpec(typ uint8, inner natSpec, quote int) natSpec {
	return natSpec{proto: ProtoICMP, icmpType: typ, src: natHop, dst: natPub, inner: &inner, quote: quote}
}

func TestRewrite(t *testing.T) {
	tcp := natSpec{proto: ProtoTCP, src: natPriv, dst: natNet, sport: 40000, dport: 443, payload: payload(100)}
	udp := natSpec{proto: ProtoUDP, src: natPriv, dst: natNet, sport: 40001, dport: 53, payload: payload(33)}
	udp0 := udp
	udp0.noUDPCsum = true
	tcpOpts := tcp
	tcpOpts.opts = true
	out := func(s natSpec) natSpec { s.src = natPub; return s } // as it left the gateway
	tcp6 := natSpec{v6: true, proto: ProtoTCP, src: ip6A, dst: ip6B, sport: 40000, dport: 443, payload: payload(10)}
	udp6 := natSpec{v6: true, proto: ProtoUDP, src: ip6A, dst: ip6B, sport: 5353, dport: 53, payload: payload(9)}
	echo6 := natSpec{v6: true, proto: ProtoICMPv6, icmpType: 128, src: ip6A, dst: ip6B, sport: 77, dport: 1, payload: payload(20)}
	quoted := out(tcp)
	quoted.opts = true
	cases := []struct {
		name    string
		spec    natSpec
		partial bool
		ops     []natOp
	}{
		{"tcp src", tcp, false, []natOp{opSrc(natPub)}},
		{"tcp dst", tcp, false, []natOp{opDst(natPriv)}},
		{"tcp src to itself", tcp, false, []natOp{opSrc(natPriv)}},
		{"tcp with ip options snat", tcpOpts, false, []natOp{opSrc(natPub), opSport(1024)}},
		{"tcp snat", tcp, false, []natOp{opSrc(natPub), opSport(61000)}},
		{"tcp dnat reply", tcp, false, []natOp{opDst(natPriv), opDport(40000)}},
		{"udp src", udp, false, []natOp{opSrc(natPub)}},
		{"udp snat", udp, false, []natOp{opSrc(natPub), opSport(1), opDst(natHop), opDport(0xffff)}},
		{"udp without checksum", udp0, false, []natOp{opSrc(natPub), opSport(2000), opDport(3)}},
		{"icmp echo src", echoSpec(8), false, []natOp{opSrc(natPub)}},
		{"icmp echo snat", echoSpec(8), false, []natOp{opSrc(natPub), opID(0xbeef)}},
		{"icmp echo reply dnat", echoSpec(0), false, []natOp{opDst(natHop), opID(1)}},
		// An all-zero echo reply sums to 0, so its checksum is 0xffff, which an update by -0
		// (~id + id) would turn into 0: a rewrite to the same value must change nothing.
		{"icmp id to itself, checksum 0xffff", natSpec{proto: ProtoICMP, src: natPriv, dst: natNet}, false, []natOp{opID(0), opSrc(natPriv)}},
		{"tcp partial src", tcp, true, []natOp{opSrc(natPub)}},
		{"tcp partial snat", tcp, true, []natOp{opSrc(natPub), opSport(61000), opDport(8443), opDst(natHop)}},
		{"udp partial snat", udp, true, []natOp{opSrc(natPub), opSport(61001)}},
		{"icmp partial echo snat", echoSpec(8), true, []natOp{opSrc(natPub), opID(9)}},
		{"tcp6 ports", tcp6, false, []natOp{opSport(1), opDport(2)}},
		{"tcp6 partial ports", tcp6, true, []natOp{opSport(1), opDport(2)}},
		{"udp6 ports", udp6, false, []natOp{opSport(9), opDport(10)}},
		{"icmp6 echo id", echo6, false, []natOp{opID(4242)}},
		{"icmp6 partial echo id", echo6, true, []natOp{opID(4242)}},
		// Errors about a translated flow: the outer destination and the quoted source go back
		// to the private side; the quoted checksums and the outer ICMP checksum follow.
		{"port unreachable quoting tcp", errSpec(3, out(tcp), 20+20+100), false, []natOp{opDst(natPriv), opInnerSrc(natPriv), opInnerSport(1234)}},
		{"time exceeded quoting tcp, 8 bytes", errSpec(11, out(tcp), 28), false, []natOp{opDst(natPriv), opInnerSrc(natPriv), opInnerSport(1234), opInnerDport(80)}},
		{"quote with ip options", errSpec(3, quoted, 24+20), false, []natOp{opInnerSrc(natPriv), opInnerDst(natHop)}},
		{"port unreachable quoting udp", errSpec(3, out(udp), 28), false, []natOp{opDst(natPriv), opInnerSrc(natPriv), opInnerSport(4), opInnerDport(5)}},
		{"quoting udp without checksum", errSpec(3, out(udp0), 40), false, []natOp{opDst(natPriv), opInnerSrc(natPriv), opInnerSport(4)}},
		{"time exceeded quoting echo", errSpec(11, out(echoSpec(8)), 28), false, []natOp{opDst(natPriv), opInnerSrc(natPriv), opInnerID(0x4321)}},
		{"partial error quoting tcp", errSpec(3, out(tcp), 60), true, []natOp{opDst(natPriv), opInnerSrc(natPriv), opInnerSport(1234)}},
		{"partial error quoting echo", errSpec(11, out(echoSpec(8)), 36), true, []natOp{opInnerSrc(natPriv), opInnerID(2)}},
	}
	for _, c := range cases {
		checkRewrite(t, c.name, c.spec, c.partial, c.ops...)
	}
}

// fragments splits the IPv4 frame f into fragments whose data start at the given offsets of
// its IP payload (multiples of 8, the first 0), as a router would.
func fragments(t testing.TB, f []byte, starts ...int) [][]byte {
	t.Helper()
	hl := EthHdrLen + int(f[EthHdrLen]&0x0f)*4
	data := f[hl:]
	var out [][]byte
	for i, s := range starts {
		e := len(data)
		if i+1 < len(starts) {
			e = starts[i+1]
		}
		g := cat(f[:hl], data[s:e])
		ip := g[EthHdrLen:hl]
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+e-s))
		ff := uint16(s / 8)
		if i+1 < len(starts) {
			ff |= 0x2000
		}
		binary.BigEndian.PutUint16(ip[6:], ff)
		binary.BigEndian.PutUint16(ip[ipv4CsumOff:], 0)
		binary.BigEndian.PutUint16(ip[ipv4CsumOff:], naiveChecksum(ip, 0))
		out = append(out, g)
	}
	return out
}

// TestRewriteFragments: each fragment changes in its IP header, and the one that holds the
// TCP or UDP checksum field, the first or (after a tiny first fragment) a later one, updates
// it for the whole datagram's pseudo-header.
func TestRewriteFragments(t *testing.T) {
	tcp := natSpec{proto: ProtoTCP, src: natPriv, dst: natNet, sport: 40000, dport: 443, payload: payload(200)}
	udp := natSpec{proto: ProtoUDP, src: natPriv, dst: natNet, sport: 40001, dport: 53, payload: payload(200)}
	ops := []natOp{opSrc(natPub), opDst(natHop)}
	checkFragments(t, "tcp", tcp, ops, 0, 64, 128)
	checkFragments(t, "tcp, tiny first fragment", tcp, ops, 0, 8, 96)
	checkFragments(t, "tcp, two tiny fragments", tcp, ops, 0, 8, 16, 24)
	checkFragments(t, "udp", udp, ops, 0, 48)
	checkFragments(t, "icmp", echoSpec(8), ops, 0, 32)
}

// checkFragments fragments s at starts, applies ops to every fragment, and compares each
// with the fragment of the packet built with the new fields.
func checkFragments(t *testing.T, name string, s natSpec, ops []natOp, starts ...int) {
	t.Helper()
	want := s.clone()
	for _, op := range ops {
		op.edit(&want)
	}
	after := fragments(t, want.frame(t), starts...)
	for j, g := range fragments(t, s.frame(t), starts...) {
		var p Parsed
		p.Decode(g)
		for _, op := range ops {
			if err := op.do(g, &p, VnetHdr{}); err != nil {
				t.Fatalf("%s fragment %d: %s: %v", name, j, op.name, err)
			}
		}
		if !bytes.Equal(g, after[j]) {
			t.Fatalf("%s (%+v, starts %v) fragment %d:\n got % x\nwant % x", name, s, starts, j, g, after[j])
		}
	}
}

// TestRewriteRefuses: what cannot be rewritten right fails, leaving frame and Parsed as they
// were, and never panics, even on a Parsed of another frame.
func TestRewriteRefuses(t *testing.T) {
	tcp := natSpec{proto: ProtoTCP, src: natPriv, dst: natNet, sport: 40000, dport: 443, payload: payload(100)}
	tcpF := tcp.frame(t)
	ptcp, pvh := partialForm(t, tcpF)
	echoF := echoSpec(8).frame(t)
	errF := errSpec(3, echoSpec(8), 28).frame(t)
	v6F := natSpec{v6: true, proto: ProtoTCP, src: ip6A, dst: ip6B, sport: 1, dport: 2}.frame(t)
	frags := fragments(t, tcpF, 0, 64)
	frag := frags[0]
	wrongOff, wrongStart := pvh, pvh
	wrongOff.CsumOffset = udpCsumOff
	wrongStart.CsumStart += 4
	fragVH := VnetHdr{Flags: VnetFlagNeedsCsum, CsumStart: EthHdrLen + 20, CsumOffset: tcpCsumOff}
	cases := []struct {
		name  string
		frame []byte
		vh    VnetHdr
		op    natOp
		short int // cut the frame to this length after decoding (a Parsed of another frame)
	}{
		{"ipv4 rewrite of ipv6", v6F, VnetHdr{}, opSrc(natPub), 0},
		{"ipv6 address", tcpF, VnetHdr{}, opSrc(ip6A), 0},
		{"ipv4-mapped address", tcpF, VnetHdr{}, opDst(netip.MustParseAddr("::ffff:203.0.113.1")), 0},
		{"zero address", tcpF, VnetHdr{}, opDst(netip.Addr{}), 0},
		{"port of icmp", echoF, VnetHdr{}, opSport(1), 0},
		{"id of tcp", tcpF, VnetHdr{}, opID(1), 0},
		{"id of an error", errF, VnetHdr{}, opID(1), 0},
		{"inner of a non-error", tcpF, VnetHdr{}, opInnerSrc(natPub), 0},
		{"inner port of a quoted echo", errF, VnetHdr{}, opInnerSport(1), 0},
		{"inner ipv6 address", errF, VnetHdr{}, opInnerDst(ip6B), 0},
		{"inner id of a non-error", echoF, VnetHdr{}, opInnerID(1), 0},
		{"partial at the udp offset of tcp", ptcp, wrongOff, opSrc(natPub), 0},
		{"partial starting inside tcp", ptcp, wrongStart, opSport(9), 0},
		{"partial fragment", frag, fragVH, opSrc(natPub), 0},
		{"port of a non-first fragment", frags[1], VnetHdr{}, opSport(1), 0},
		{"icmp id of a non-first fragment", fragments(t, echoF, 0, 32)[1], VnetHdr{}, opID(1), 0},
		{"partial on an error, tcp offset", errF, fragVH, opInnerSrc(natPub), 0},
		{"stale parsed, address", tcpF, VnetHdr{}, opSrc(natPub), EthHdrLen + 10},
		{"stale parsed, port", tcpF, VnetHdr{}, opSport(7), EthHdrLen + 20 + 10},
		{"stale parsed, partial", ptcp, pvh, opSport(7), EthHdrLen + 20 + 10},
		{"stale parsed, icmp id", echoF, VnetHdr{}, opID(7), EthHdrLen + 20 + 4},
		{"stale parsed, inner", errF, VnetHdr{}, opInnerSrc(natPub), EthHdrLen + 20 + 8 + 10},
		{"stale parsed, inner id", errF, VnetHdr{}, opInnerID(7), EthHdrLen + 20 + 8 + 20 + 4},
	}
	for _, c := range cases {
		var p Parsed
		p.Decode(c.frame)
		f := slices.Clone(c.frame)
		if c.short > 0 {
			f = f[:c.short]
		}
		g, pb := slices.Clone(f), p
		err := c.op.do(f, &p, c.vh)
		if err == nil {
			t.Errorf("%s: %s succeeded", c.name, c.op.name)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		if !bytes.Equal(f, g) || p != pb {
			t.Errorf("%s: the refused rewrite changed the frame or the Parsed", c.name)
		}
	}
}

func TestFinishChecksum(t *testing.T) {
	tcp := natSpec{proto: ProtoTCP, src: natPriv, dst: natNet, sport: 40000, dport: 443, payload: payload(101)}
	for _, s := range []natSpec{
		tcp,
		{proto: ProtoUDP, src: natPriv, dst: natNet, sport: 1, dport: 2, payload: payload(7)},
		echoSpec(8),
		{v6: true, proto: ProtoTCP, src: ip6A, dst: ip6B, sport: 1, dport: 2, payload: payload(3)},
	} {
		want := s.frame(t)
		f, vh := partialForm(t, want)
		padded := cat(f, []byte{1, 2, 3, 4, 5, 6}) // Ethernet padding is not summed
		pvh := vh
		if err := FinishChecksum(padded, &pvh); err != nil {
			t.Fatal(err)
		}
		if pvh.Flags != 0 || pvh.CsumStart != 0 || pvh.CsumOffset != 0 {
			t.Errorf("FinishChecksum left the header %+v", pvh)
		}
		var q Parsed
		q.Decode(want)
		if !sameButMangledZero(padded[:len(want)], want, q.L4Off+partialOff(q.Proto)) {
			t.Errorf("protocol %d: finished % x\nwant % x", q.Proto, padded[:len(want)], want)
		}
		g := slices.Clone(want)
		done := VnetHdr{}
		if err := FinishChecksum(g, &done); err != nil || !bytes.Equal(g, want) {
			t.Errorf("a complete frame was touched (%v)", err)
		}
		gso := vh
		gso.GSOType, gso.GSOSize = VnetGSOTCPv4, 1448
		if err := FinishChecksum(slices.Clone(f), &gso); err == nil {
			t.Error("a GSO frame was finished")
		}
		past := vh
		past.CsumOffset = uint16(len(f))
		if err := FinishChecksum(slices.Clone(f), &past); err == nil {
			t.Error("a checksum field past the packet was accepted")
		}
	}
}

// TestFinishChecksumZero: a segment whose checksum computes to 0 gets 0xffff, the same sum,
// as Linux's skb_checksum_help stores it (and as UDP requires).
func TestFinishChecksumZero(t *testing.T) {
	for _, proto := range []uint8{ProtoTCP, ProtoUDP} {
		want := zeroSumSpec(t, natSpec{proto: proto, src: natPriv, dst: natNet, sport: 40000, dport: 443, payload: make([]byte, 42)}).frame(t)
		var p Parsed
		p.Decode(want)
		field := p.L4Off + partialOff(proto)
		if c := binary.BigEndian.Uint16(want[field:]); proto == ProtoTCP && c != 0 || proto == ProtoUDP && c != 0xffff {
			t.Fatalf("protocol %d: the constructed checksum is %#04x, not a computed zero", proto, c)
		}
		pf, vh := partialForm(t, want)
		if err := FinishChecksum(pf, &vh); err != nil {
			t.Fatal(err)
		}
		if c := binary.BigEndian.Uint16(pf[field:]); c != 0xffff || badChecksums(pf) != 0 {
			t.Errorf("protocol %d: a computed zero was stored as %#04x, want 0xffff", proto, c)
		}
	}
}

func randAddr4(r *rand.Rand) netip.Addr {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], r.Uint32())
	return netip.AddrFrom4(a)
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// randL4 describes a random TCP, UDP (with or without checksum) or ICMP echo packet.
func randL4(r *rand.Rand) natSpec {
	s := natSpec{src: randAddr4(r), dst: randAddr4(r), sport: uint16(r.Uint32()), dport: uint16(r.Uint32()),
		payload: randBytes(r, r.IntN(300)), opts: r.IntN(4) == 0}
	switch r.IntN(4) {
	case 0:
		s.proto = ProtoTCP
	case 1:
		s.proto = ProtoUDP
	case 2:
		s.proto, s.noUDPCsum = ProtoUDP, true
	default:
		s.proto, s.icmpType = ProtoICMP, []uint8{0, 8}[r.IntN(2)]
	}
	return s
}

// randOps picks one to four rewrites that apply to s, with random values.
func randOps(r *rand.Rand, s natSpec, addressesOnly bool) []natOp {
	var all []natOp
	all = append(all, opSrc(randAddr4(r)), opDst(randAddr4(r)))
	if !addressesOnly {
		switch {
		case s.inner != nil:
			all = append(all, opInnerSrc(randAddr4(r)), opInnerDst(randAddr4(r)))
			if s.inner.proto == ProtoICMP {
				all = append(all, opInnerID(uint16(r.Uint32())))
			} else {
				all = append(all, opInnerSport(uint16(r.Uint32())), opInnerDport(uint16(r.Uint32())))
			}
		case s.proto == ProtoICMP:
			all = append(all, opID(uint16(r.Uint32())))
		default:
			all = append(all, opSport(uint16(r.Uint32())), opDport(uint16(r.Uint32())))
		}
	}
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:1+r.IntN(min(4, len(all)))]
}

// TestRewriteRandom is the differential test: thousands of random packets, complete and
// partial, whole and fragmented, with random rewrites, each compared with the packet built
// from scratch with the new fields.
func TestRewriteRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 1624))
	n := 4000
	if testing.Short() {
		n = 500
	}
	seen := map[string]int{}
	defer func() { t.Logf("cases: %v", seen) }()
	for i := range n {
		s := randL4(r)
		if r.IntN(3) == 0 {
			in := s.clone()
			in.payload = randBytes(r, r.IntN(100))
			hl := 20
			if in.opts {
				hl = 24
			}
			full := len(in.ip(t))
			quote := hl + 8 + r.IntN(full-hl-8+1)
			if in.proto == ProtoTCP && quote == hl+tcpCsumOff+1 {
				quote++ // not half the checksum: see TestRewriteQuoteCutInChecksum
			}
			s = natSpec{proto: ProtoICMP, icmpType: []uint8{3, 11, 12}[r.IntN(3)], src: randAddr4(r), dst: randAddr4(r),
				inner: &in, quote: quote, opts: r.IntN(4) == 0}
		}
		if s.inner == nil && r.IntN(5) == 0 {
			data := len(s.ip(t)) - 20
			if s.opts {
				data -= 4
			}
			starts := []int{0}
			for at := 8 * (1 + r.IntN(4)); at < data; at += 8 * (1 + r.IntN(8)) {
				starts = append(starts, at)
			}
			checkFragments(t, "random", s, randOps(r, s, true), starts...)
			seen["fragmented"]++
			continue
		}
		// A sender that leaves the checksum to the device has one: no partial UDP without.
		partial := !s.noUDPCsum && r.IntN(2) == 0
		ops := randOps(r, s, false)
		checkRewrite(t, "random", s, partial, ops...)
		kind := map[uint8]string{ProtoTCP: "tcp", ProtoUDP: "udp", ProtoICMP: "icmp"}[s.proto]
		if s.inner != nil {
			kind = "error quoting " + map[uint8]string{ProtoTCP: "tcp", ProtoUDP: "udp", ProtoICMP: "icmp"}[s.inner.proto]
		}
		if partial {
			kind += ", partial"
		}
		seen[kind]++
		seen["rewrites"] += len(ops)
		if t.Failed() {
			t.Fatalf("case %d: spec %+v", i, s)
		}
	}
}

// TestRewriteQuoteCutInChecksum: a quote that ends inside the quoted TCP checksum (no sender
// cuts there: RFC 792 quotes 8 bytes, Linux up to 576) keeps its one byte of it, whose new
// value depends on the byte that is missing; the outer checksum stays right.
func TestRewriteQuoteCutInChecksum(t *testing.T) {
	in := natSpec{proto: ProtoTCP, src: natPub, dst: natNet, sport: 40000, dport: 443, payload: payload(10)}
	f := errSpec(3, in, 20+tcpCsumOff+1).frame(t)
	var p Parsed
	p.Decode(f)
	last := f[len(f)-1]
	if err := RewriteICMPInnerSrc(f, &p, VnetHdr{}, natPriv); err != nil {
		t.Fatal(err)
	}
	if err := RewriteICMPInnerSrcPort(f, &p, VnetHdr{}, 5); err != nil {
		t.Fatal(err)
	}
	if bad := badChecksums(f); bad != 0 || f[len(f)-1] != last {
		t.Errorf("bad checksums %b, the half checksum went from %#02x to %#02x", bad, last, f[len(f)-1])
	}
}

// zeroSumSpec returns s with its last payload word chosen so that its TCP or UDP checksum
// computes to 0 (which UDP sends as 0xffff). The payload's length must be even.
func zeroSumSpec(t *testing.T, s natSpec) natSpec {
	s = s.clone()
	s.payload = slices.Clone(s.payload)
	n := len(s.payload)
	clear(s.payload[n-2:])
	f := s.frame(t)
	var p Parsed
	p.Decode(f)
	// With a zero tail the checksum is C = ~sum; a tail of C makes the sum 0xffff, -0.
	copy(s.payload[n-2:], f[p.L4Off+partialOff(p.Proto):])
	return s
}

// TestRewriteToZeroSum: an update whose result computes to 0 gives TCP 0 (as a full
// computation does) and UDP 0xffff (0 would say "no checksum"), complete or quoted.
func TestRewriteToZeroSum(t *testing.T) {
	for _, proto := range []uint8{ProtoTCP, ProtoUDP} {
		after := zeroSumSpec(t, natSpec{proto: proto, src: natPub, dst: natNet, sport: 1000, dport: 53, payload: payload(40)})
		f := after.frame(t)
		var p Parsed
		p.Decode(f)
		if c := binary.BigEndian.Uint16(f[p.L4Off+partialOff(proto):]); c != 0 && c != 0xffff {
			t.Fatalf("protocol %d: the constructed checksum is %#04x, not a computed zero", proto, c)
		}
		before := after.clone()
		before.src = natPriv
		checkRewrite(t, "to a zero sum", before, false, opSrc(natPub))
		before.sport = 999
		checkRewrite(t, "port to a zero sum", before, false, opSrc(natPub), opSport(1000))
		checkRewrite(t, "quoted, to a zero sum", errSpec(3, before, 20+UDPLen+40), false, opInnerSrc(natPub), opInnerSport(1000))
	}
}

// TestRewriteAllocs: every rewrite, complete or partial, and FinishChecksum run without
// allocating.
func TestRewriteAllocs(t *testing.T) {
	tcp := natSpec{proto: ProtoTCP, src: natPriv, dst: natNet, sport: 40000, dport: 443, payload: payload(1400)}
	errF := errSpec(3, natSpec{proto: ProtoUDP, src: natPub, dst: natNet, sport: 5, dport: 53, payload: payload(20)}, 48).frame(t)
	echoErrF := errSpec(11, echoSpec(8), 28).frame(t)
	tcpF := tcp.frame(t)
	ptcp, pvh := partialForm(t, tcpF)
	cases := []struct {
		name  string
		frame []byte
		vh    VnetHdr
		ops   []natOp
	}{
		{"tcp snat", tcpF, VnetHdr{}, []natOp{opSrc(natPub), opSport(1), opSrc(natPriv), opSport(40000)}},
		{"tcp partial dnat", ptcp, pvh, []natOp{opDst(natPriv), opDport(2), opDst(natNet), opDport(443)}},
		{"echo id", echoSpec(8).frame(t), VnetHdr{}, []natOp{opID(1), opID(2)}},
		{"error quoting udp", errF, VnetHdr{}, []natOp{opInnerSrc(natPriv), opInnerSport(9), opInnerDst(natHop), opInnerDport(8)}},
		{"error quoting echo", echoErrF, VnetHdr{}, []natOp{opInnerID(1), opInnerID(2)}},
	}
	for _, c := range cases {
		var p Parsed
		p.Decode(c.frame)
		if n := testing.AllocsPerRun(100, func() {
			for _, op := range c.ops {
				if err := op.do(c.frame, &p, c.vh); err != nil {
					t.Fatal(err)
				}
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per run", c.name, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		vh := pvh
		_ = FinishChecksum(ptcp, &vh)
	}); n != 0 {
		t.Errorf("FinishChecksum: %v allocations per run", n)
	}
}

// fuzzOps are all the rewrites, with the values the fuzzer chose.
func fuzzOps(a netip.Addr, v uint16) []natOp {
	return []natOp{opSrc(a), opDst(a), opSport(v), opDport(v), opID(v),
		opInnerSrc(a), opInnerDst(a), opInnerSport(v), opInnerDport(v), opInnerID(v)}
}

// FuzzRewrite runs every rewrite on arbitrary frames, complete or (mode bit 0) with the
// partial checksum a sender would have left. A rewrite never panics; one that fails changes
// nothing; one that succeeds leaves a Parsed equal to a fresh decode; and no checksum that
// verified before (after completing a partial one) fails to verify after.
func FuzzRewrite(f *testing.F) {
	tcp := natSpec{proto: ProtoTCP, src: natPriv, dst: natNet, sport: 40000, dport: 443, payload: payload(30)}
	udp := natSpec{proto: ProtoUDP, src: natPriv, dst: natNet, sport: 40001, dport: 53, payload: payload(9)}
	udp0 := udp
	udp0.noUDPCsum = true
	for _, s := range []natSpec{tcp, udp, udp0, echoSpec(8), errSpec(3, tcp, 48), errSpec(3, udp, 28), errSpec(11, echoSpec(8), 36),
		{v6: true, proto: ProtoUDP, src: ip6A, dst: ip6B, sport: 1, dport: 2, payload: payload(4)}} {
		fr := s.frame(f)
		f.Add(fr, uint8(0), uint32(0xcb00710a), uint16(4242))
		f.Add(fr, uint8(1), uint32(0x0a00010a), uint16(0))
		f.Add(fr, uint8(6), uint32(0x00220022), uint16(len(fr)-4))
	}
	for _, fr := range fragments(f, tcp.frame(f), 0, 8) {
		f.Add(fr, uint8(0), uint32(0xc0000201), uint16(7))
	}
	f.Fuzz(func(t *testing.T, frame []byte, mode uint8, a uint32, v uint16) {
		var p Parsed
		p.Decode(frame)
		var vh VnetHdr
		if off := partialOff(p.Proto); mode&1 != 0 && off != 0 && !p.Fragment && (p.Proto != ProtoICMP || p.Kind == KindIPv4) &&
			(p.Proto != ProtoICMPv6 || p.Kind == KindIPv6) && p.L4Off+off+2 <= EthHdrLen+p.TotalLen {
			vh = VnetHdr{Flags: VnetFlagNeedsCsum, CsumStart: uint16(p.L4Off), CsumOffset: uint16(off)}
			// What the sender leaves in the field: the pseudo-header sum, or 0 without one.
			var init uint16
			if p.Proto != ProtoICMP {
				init = ^naiveChecksum(nil, pseudoSum(p.Src, p.Dst, p.Proto, p.TotalLen-p.IPHdrLen))
			}
			binary.BigEndian.PutUint16(frame[p.L4Off+off:], init)
		}
		var ab [4]byte
		binary.BigEndian.PutUint32(ab[:], a)
		if mode&2 != 0 && len(frame) > 0 {
			// A Parsed of a longer frame, and a virtio header the guest made up: nothing
			// may panic, and what fails must change nothing.
			frame = frame[:int(v)%len(frame)]
			vh = VnetHdr{Flags: mode >> 2, GSOType: mode & 0x80, CsumStart: uint16(a), CsumOffset: uint16(a >> 16)}
			for _, op := range fuzzOps(netip.AddrFrom4(ab), v) {
				g, pb := slices.Clone(frame), p
				if err := op.do(frame, &p, vh); err != nil && (!bytes.Equal(frame, g) || p != pb) {
					t.Fatalf("%s failed (%v) but changed the frame or the Parsed", op.name, err)
				}
			}
			g := slices.Clone(frame)
			if err := FinishChecksum(frame, &vh); err != nil && !bytes.Equal(frame, g) {
				t.Fatalf("FinishChecksum failed (%v) but changed the frame", err)
			}
			return
		}
		badBefore := badChecksums(completeRef(frame, vh))
		for _, op := range fuzzOps(netip.AddrFrom4(ab), v) {
			g, pb := slices.Clone(frame), p
			if err := op.do(frame, &p, vh); err != nil {
				if !bytes.Equal(frame, g) || p != pb {
					t.Fatalf("%s failed (%v) but changed the frame or the Parsed", op.name, err)
				}
				continue
			}
			var fresh Parsed
			fresh.Decode(frame)
			if d := diffParsed(p, fresh); d != "" {
				t.Fatalf("%s: Parsed differs from a fresh decode:%s", op.name, d)
			}
		}
		if bad := badChecksums(completeRef(frame, vh)); bad&^badBefore != 0 {
			t.Fatalf("checksums that verified before fail after the rewrites: %b (before %b)", bad, badBefore)
		}
		if err := FinishChecksum(frame, &vh); err == nil {
			if bad := badChecksums(frame); bad&^badBefore != 0 {
				t.Fatalf("checksums fail after FinishChecksum: %b (before %b)", bad, badBefore)
			}
		}
	})
}

func benchRewrite(b *testing.B, frame []byte, vh VnetHdr, ops ...natOp) {
	var p Parsed
	p.Decode(frame)
	b.ReportAllocs()
	for b.Loop() {
		for _, op := range ops {
			if err := op.do(frame, &p, vh); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// Each iteration translates and translates back, so every rewrite changes the frame.

func BenchmarkRewriteIPv4Src(b *testing.B) {
	f := natSpec{proto: ProtoTCP, src: natPriv, dst: natNet, sport: 40000, dport: 443, payload: payload(1400)}.frame(b)
	benchRewrite(b, f, VnetHdr{}, opSrc(natPub), opSrc(natPriv))
}

func BenchmarkRewriteSNATPartial(b *testing.B) {
	f, vh := partialForm(b, natSpec{proto: ProtoTCP, src: natPriv, dst: natNet, sport: 40000, dport: 443, payload: payload(1400)}.frame(b))
	benchRewrite(b, f, vh, opSrc(natPub), opSport(61000), opSrc(natPriv), opSport(40000))
}

func BenchmarkRewriteICMPErrorInner(b *testing.B) {
	in := natSpec{proto: ProtoUDP, src: natPub, dst: natNet, sport: 61000, dport: 53, payload: payload(40)}
	f := errSpec(3, in, 68).frame(b)
	benchRewrite(b, f, VnetHdr{}, opDst(natPriv), opInnerSrc(natPriv), opInnerSport(40000),
		opDst(natPub), opInnerSrc(natPub), opInnerSport(61000))
}

func BenchmarkFinishChecksum1500(b *testing.B) {
	f, vh := partialForm(b, natSpec{proto: ProtoTCP, src: natPriv, dst: natNet, sport: 40000, dport: 443, payload: payload(1460)}.frame(b))
	var p Parsed
	p.Decode(f)
	field := p.L4Off + tcpCsumOff
	init := binary.BigEndian.Uint16(f[field:])
	b.ReportAllocs()
	for b.Loop() {
		binary.BigEndian.PutUint16(f[field:], init)
		h := vh
		if err := FinishChecksum(f, &h); err != nil {
			b.Fatal(err)
		}
	}
}
