package packet

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// This file checks Decode against gopacket's decoder on the same bytes (DESIGN.md). gopacket
// is lenient where the hot path must not be (it ignores the IP version nibble and reads
// truncated packets) and strict where the hot path need not be (it parses IPv4 and TCP
// options), so the comparison runs in both directions only where both are defined:
//   - what Decode reports must agree with every layer gopacket decoded without error;
//   - a layer gopacket decoded cleanly, under the conditions Decode documents, must have been
//     reported by Decode.
// A layer directly before gopacket's DecodeFailure is not trusted: depending on the decoder
// it is the one that failed.

// documentedMaxExt is how many IPv6 extension headers Decode promises to walk.
const documentedMaxExt = 8

// gp is one gopacket decode with the trust rule above.
type gp struct {
	ls   []gopacket.Layer
	fail int // index of the DecodeFailure layer, or len(ls)
}

func gopacketDecode(b []byte, first gopacket.LayerType) gp {
	pkt := gopacket.NewPacket(b, first, gopacket.DecodeOptions{NoCopy: true})
	g := gp{ls: pkt.Layers()}
	g.fail = len(g.ls)
	for i, l := range g.ls {
		if l.LayerType() == gopacket.LayerTypeDecodeFailure {
			g.fail = i
			break
		}
	}
	return g
}

func (g gp) trusted(i int) bool {
	if i >= len(g.ls) {
		return false
	}
	return g.fail == len(g.ls) || i < g.fail-1
}

// chain6 is gopacket's view of an IPv6 extension-header chain.
type chain6 struct {
	proto    uint8
	hdrLen   int
	frag     bool
	later    bool
	n        int  // extension headers
	next     int  // index of the layer after the chain
	complete bool // ended on an upper-layer protocol or a later fragment, every layer trusted
}

// gopacketChain6 follows the extension layers after the IPv6 layer at index i.
func gopacketChain6(g gp, i int) chain6 {
	ip := g.ls[i].(*layers.IPv6)
	c := chain6{hdrLen: IPv6HdrLen, next: i + 1}
	next := uint8(ip.NextHeader)
	for {
		switch next {
		case ProtoHopByHop, ProtoRouting, ProtoDstOpts, ProtoFragment:
		default:
			c.proto, c.complete = next, true
			return c
		}
		if !g.trusted(c.next) {
			return c
		}
		switch l := g.ls[c.next].(type) {
		case *layers.IPv6HopByHop:
			next, c.hdrLen = uint8(l.NextHeader), c.hdrLen+l.ActualLength
		case *layers.IPv6Routing:
			next, c.hdrLen = uint8(l.NextHeader), c.hdrLen+l.ActualLength
		case *layers.IPv6Destination:
			next, c.hdrLen = uint8(l.NextHeader), c.hdrLen+l.ActualLength
		case *layers.IPv6Fragment:
			next, c.hdrLen, c.frag = uint8(l.NextHeader), c.hdrLen+8, true
			if l.FragmentOffset != 0 {
				c.n++
				c.next++
				c.proto, c.later, c.complete = next, true, true
				return c
			}
		default:
			return c
		}
		c.n++
		c.next++
	}
}

func addr(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a
}

// crossCheck decodes frame with Decode, checks Parsed's own invariants, and compares it with
// gopacket. It reports through t.Errorf with the frame in hex, so a failure can be replayed.
func crossCheck(t testing.TB, frame []byte) {
	t.Helper()
	var p Parsed
	p.Decode(frame)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("frame %x:\n"+format+"\nparsed: %+v", append(append([]any{frame}, args...), p)...)
	}
	checkInvariants(t, frame, &p, fail)
	if len(frame) < EthHdrLen {
		return
	}
	g := gopacketDecode(frame, layers.LayerTypeEthernet)
	eth, ok := g.ls[0].(*layers.Ethernet)
	if !ok {
		fail("gopacket has no Ethernet layer")
		return
	}
	if MAC(eth.DstMAC) != p.DstMAC || MAC(eth.SrcMAC) != p.SrcMAC {
		fail("MACs: gopacket %v > %v", eth.SrcMAC, eth.DstMAC)
	}
	switch p.EtherType {
	case EtherTypeARP:
		crossARP(g, &p, fail)
	case EtherTypeIPv4:
		crossIPv4(g, frame, &p, fail)
	case EtherTypeIPv6:
		crossIPv6(g, frame, &p, fail)
	default:
		if p.Kind != KindOtherL2 {
			fail("EtherType %#04x is not other-l2", p.EtherType)
		}
	}
}

func crossARP(g gp, p *Parsed, fail func(string, ...any)) {
	// gopacket adds an ARP layer only when it decoded.
	arp, _ := g.layer(1).(*layers.ARP)
	v4eth := arp != nil && arp.AddrType == layers.LinkTypeEthernet && arp.Protocol == layers.EthernetTypeIPv4 &&
		arp.HwAddressSize == 6 && arp.ProtAddressSize == 4
	if !v4eth {
		if p.Kind != KindUnknown {
			fail("gopacket ARP %+v is not IPv4 over Ethernet, or failed, but Decode took it", arp)
		}
		return
	}
	if p.Kind != KindARP || p.ARPOp != arp.Operation ||
		p.ARPSenderMAC != MAC(arp.SourceHwAddress) || p.ARPTargetMAC != MAC(arp.DstHwAddress) ||
		p.ARPSenderIP != addr(arp.SourceProtAddress) || p.ARPTargetIP != addr(arp.DstProtAddress) {
		fail("gopacket ARP %+v", arp)
	}
}

func crossIPv4(g gp, frame []byte, p *Parsed, fail func(string, ...any)) {
	if len(g.ls) < 2 {
		// gopacket does not decode an empty payload.
		if p.Kind != KindUnknown {
			fail("gopacket has no IPv4 layer")
		}
		return
	}
	ip, ok := g.ls[1].(*layers.IPv4)
	if !ok {
		fail("gopacket's layer after Ethernet is %v", g.ls[1].LayerType())
		return
	}
	if !g.trusted(1) {
		return // failed on what Decode does not parse (options) or on too little data
	}
	raw := int(binary.BigEndian.Uint16(frame[EthHdrLen+2:]))
	total := raw
	if raw == 0 {
		total = len(frame) - EthHdrLen
	}
	clean := ip.Version == 4 && total <= len(frame)-EthHdrLen
	if !clean {
		if p.Kind != KindUnknown {
			fail("IPv4 version %d, total %d in %d bytes: Decode should refuse it", ip.Version, total, len(frame)-EthHdrLen)
		}
		return
	}
	if p.Kind != KindIPv4 {
		fail("gopacket decoded IPv4 %v > %v cleanly; Decode said %v", ip.SrcIP, ip.DstIP, p.Kind)
		return
	}
	frag := ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0
	if p.Src != addr(ip.SrcIP) || p.Dst != addr(ip.DstIP) || p.Proto != uint8(ip.Protocol) || p.TTL != ip.TTL ||
		p.IPHdrLen != int(ip.IHL)*4 || p.TotalLen != total || p.DF != (ip.Flags&layers.IPv4DontFragment != 0) ||
		p.Fragment != frag || p.FirstFragment != (frag && ip.FragOffset == 0) {
		fail("gopacket IPv4: %v > %v proto %d ttl %d ihl %d len %d flags %v offset %d",
			ip.SrcIP, ip.DstIP, ip.Protocol, ip.TTL, ip.IHL, ip.Length, ip.Flags, ip.FragOffset)
	}
	crossL4(g, 2, p, !frag, fail)
}

func crossIPv6(g gp, frame []byte, p *Parsed, fail func(string, ...any)) {
	if len(g.ls) < 2 {
		// gopacket does not decode an empty payload.
		if p.Kind != KindUnknown {
			fail("gopacket has no IPv6 layer")
		}
		return
	}
	ip, ok := g.ls[1].(*layers.IPv6)
	if !ok {
		fail("gopacket's layer after Ethernet is %v", g.ls[1].LayerType())
		return
	}
	fits := len(frame) >= EthHdrLen+IPv6HdrLen && IPv6HdrLen+int(ip.Length) <= len(frame)-EthHdrLen
	if ip.Version != 6 || !fits {
		if p.Kind != KindUnknown {
			fail("IPv6 version %d, payload %d in %d bytes: Decode should refuse it", ip.Version, ip.Length, len(frame)-EthHdrLen)
		}
		return
	}
	if !g.trusted(1) || ip.Length == 0 {
		// A jumbogram's length comes from a hop-by-hop option Decode does not read.
		return
	}
	c := gopacketChain6(g, 1)
	if !c.complete {
		return
	}
	if c.n > documentedMaxExt {
		if p.Kind != KindUnknown {
			fail("%d extension headers: Decode should refuse them", c.n)
		}
		return
	}
	if p.Kind != KindIPv6 {
		fail("gopacket decoded IPv6 %v > %v cleanly; Decode said %v", ip.SrcIP, ip.DstIP, p.Kind)
		return
	}
	if p.Src != addr(ip.SrcIP) || p.Dst != addr(ip.DstIP) || p.TTL != ip.HopLimit || p.Proto != c.proto ||
		p.IPHdrLen != c.hdrLen || p.TotalLen != IPv6HdrLen+int(ip.Length) || p.Fragment != c.frag ||
		p.FirstFragment != (c.frag && !c.later) || p.DF {
		fail("gopacket IPv6: %v > %v hop limit %d payload %d, chain %+v", ip.SrcIP, ip.DstIP, ip.HopLimit, ip.Length, c)
	}
	// gopacket stops at every fragment header; only an unfragmented packet has its L4 layer.
	crossL4(g, c.next, p, !c.frag, fail)
}

// crossL4 compares the upper-layer header, gopacket's layer i. whole says gopacket decoded
// past the IP layer (not a fragment).
func crossL4(g gp, i int, p *Parsed, whole bool, fail func(string, ...any)) {
	if p.Fragment && !p.FirstFragment && (p.HasPorts || p.HasICMP) {
		fail("a later fragment has an L4 header")
	}
	var l gopacket.Layer
	if i < len(g.ls) {
		l = g.ls[i]
	}
	ok := g.trusted(i)
	switch p.Proto {
	case ProtoTCP:
		tcp, isTCP := l.(*layers.TCP)
		if whole && p.HasPorts && !isTCP {
			fail("Decode read TCP ports; gopacket has %v", l)
		}
		if isTCP && p.HasPorts {
			flags := uint8(0)
			for bit, set := range []bool{tcp.FIN, tcp.SYN, tcp.RST, tcp.PSH, tcp.ACK, tcp.URG, tcp.ECE, tcp.CWR} {
				if set {
					flags |= 1 << bit
				}
			}
			if p.SrcPort != uint16(tcp.SrcPort) || p.DstPort != uint16(tcp.DstPort) || p.TCPFlags != flags {
				fail("gopacket TCP %d > %d flags %#02x", tcp.SrcPort, tcp.DstPort, flags)
			}
		}
		if isTCP && ok && !p.HasPorts {
			fail("gopacket decoded TCP %d > %d; Decode has no ports", tcp.SrcPort, tcp.DstPort)
		}
	case ProtoUDP:
		udp, isUDP := l.(*layers.UDP)
		if whole && p.HasPorts && !isUDP {
			fail("Decode read UDP ports; gopacket has %v", l)
		}
		if isUDP && p.HasPorts && (p.SrcPort != uint16(udp.SrcPort) || p.DstPort != uint16(udp.DstPort)) {
			fail("gopacket UDP %d > %d", udp.SrcPort, udp.DstPort)
		}
		if isUDP && ok && !p.HasPorts {
			fail("gopacket decoded UDP %d > %d; Decode has no ports", udp.SrcPort, udp.DstPort)
		}
	case ProtoICMP:
		icmp, isICMP := l.(*layers.ICMPv4)
		if p.Kind != KindIPv4 {
			return // ICMPv4 in IPv6 means nothing; gopacket decodes it anyway
		}
		if whole && p.HasICMP && !isICMP {
			fail("Decode read ICMP; gopacket has %v", l)
		}
		if isICMP && ok != p.HasICMP {
			fail("gopacket ICMPv4 %v decoded: %v", icmp.TypeCode, ok)
		}
		if isICMP && p.HasICMP {
			id := uint16(0)
			if icmpEcho4(icmp.TypeCode.Type()) {
				id = icmp.Id
			}
			if p.ICMPType != icmp.TypeCode.Type() || p.ICMPCode != icmp.TypeCode.Code() || p.ICMPID != id {
				fail("gopacket ICMPv4 %v id %d", icmp.TypeCode, icmp.Id)
			}
			crossInner(icmp.Payload, layers.LayerTypeIPv4, p, icmpError4(p.ICMPType), fail)
		}
	case ProtoICMPv6:
		icmp, isICMP := l.(*layers.ICMPv6)
		if p.Kind != KindIPv6 {
			return
		}
		if whole && p.HasICMP && !isICMP {
			fail("Decode read ICMPv6; gopacket has %v", l)
		}
		if !isICMP {
			return
		}
		long := len(icmp.Payload) >= ICMPHdrLen-4
		if ok && long != p.HasICMP {
			fail("gopacket ICMPv6 %v with %d bytes of body", icmp.TypeCode, len(icmp.Payload))
		}
		if !p.HasICMP {
			return
		}
		if p.ICMPType != icmp.TypeCode.Type() || p.ICMPCode != icmp.TypeCode.Code() {
			fail("gopacket ICMPv6 %v", icmp.TypeCode)
		}
		if icmpEcho6(p.ICMPType) && p.ICMPID != binary.BigEndian.Uint16(icmp.Payload) {
			fail("ICMPv6 echo id %d, body % x", p.ICMPID, icmp.Payload[:4])
		}
		if echo, isEcho := g.layer(i + 1).(*layers.ICMPv6Echo); isEcho && p.ICMPID != echo.Identifier {
			fail("gopacket ICMPv6 echo id %d", echo.Identifier)
		}
		crossInner(icmp.Payload[4:], layers.LayerTypeIPv6, p, icmpError6(p.ICMPType), fail)
	}
}

func (g gp) layer(i int) gopacket.Layer {
	if i < len(g.ls) {
		return g.ls[i]
	}
	return nil
}

// crossInner decodes an ICMP error's quote with gopacket and compares it with the Inner
// fields.
func crossInner(q []byte, first gopacket.LayerType, p *Parsed, isErr bool, fail func(string, ...any)) {
	if !isErr {
		if p.HasInner || p.InnerHasPorts || p.InnerHasICMP {
			fail("ICMP type %d is not an error but has an inner packet", p.ICMPType)
		}
		return
	}
	g := gopacketDecode(q, first)
	if !g.trusted(0) {
		return
	}
	var src, dst netip.Addr
	var proto uint8
	var l4 []byte
	var later bool
	next := 1
	switch ip := g.ls[0].(type) {
	case *layers.IPv4:
		if ip.Version != 4 {
			if p.HasInner {
				fail("quoted IPv4 has version %d", ip.Version)
			}
			return
		}
		src, dst, proto, l4, later = addr(ip.SrcIP), addr(ip.DstIP), uint8(ip.Protocol), ip.Payload, ip.FragOffset != 0
	case *layers.IPv6:
		if ip.Version != 6 {
			if p.HasInner {
				fail("quoted IPv6 has version %d", ip.Version)
			}
			return
		}
		if ip.Length == 0 {
			return // gopacket wants a jumbo option; the quote's length field is not used
		}
		c := gopacketChain6(g, 0)
		if !c.complete || c.n > documentedMaxExt {
			return
		}
		src, dst, proto, later, next = addr(ip.SrcIP), addr(ip.DstIP), c.proto, c.later, c.next
		if !later {
			// gopacket cuts the quote at the quoted packet's length; the hot path reads what
			// was quoted, which is all ports need.
			l4 = q[min(c.hdrLen, len(q)):]
			if int(ip.Length)+IPv6HdrLen < len(q) {
				l4 = q[min(c.hdrLen, IPv6HdrLen+int(ip.Length)):min(len(q), IPv6HdrLen+int(ip.Length))]
			}
		}
	default:
		return
	}
	if !p.HasInner || p.InnerSrc != src || p.InnerDst != dst || p.InnerProto != proto {
		fail("gopacket reads the quote as %v > %v proto %d", src, dst, proto)
		return
	}
	if later || (proto != ProtoTCP && proto != ProtoUDP) {
		if p.InnerHasPorts {
			fail("inner ports from a quote of proto %d, later fragment %v", proto, later)
		}
	} else if len(l4) >= 4 {
		if !p.InnerHasPorts || p.InnerSrcPort != binary.BigEndian.Uint16(l4) || p.InnerDstPort != binary.BigEndian.Uint16(l4[2:]) {
			fail("quoted ports % x", l4[:4])
		}
	}
	// A quoted echo of the error's own family: gopacket's ICMP layer right after the quoted
	// IP headers.
	echo, typ, id := false, uint8(0), uint16(0)
	switch l := g.layer(next).(type) {
	case *layers.ICMPv4:
		typ, id = l.TypeCode.Type(), l.Id
		echo = first == layers.LayerTypeIPv4 && icmpEcho4(typ)
	case *layers.ICMPv6:
		typ = l.TypeCode.Type()
		echo = first == layers.LayerTypeIPv6 && icmpEcho6(typ) && len(l.Payload) >= 4
		if echo {
			id = binary.BigEndian.Uint16(l.Payload)
		}
	}
	echo = echo && !later && g.trusted(next)
	if echo && (!p.InnerHasICMP || p.InnerICMPType != typ || p.InnerICMPID != id) {
		fail("gopacket reads a quoted echo type %d id %d", typ, id)
	}
	_, fragment := g.layer(next).(*gopacket.Fragment) // gopacket stops at a first fragment
	if p.InnerHasICMP && !echo && !fragment && len(l4) >= ICMPHdrLen {
		fail("Decode found a quoted echo; gopacket reads %v", g.layer(next))
	}
}

// checkInvariants checks what must hold of any Parsed, whatever gopacket says, and that Decode
// does not depend on what p held before.
func checkInvariants(t testing.TB, frame []byte, p *Parsed, fail func(string, ...any)) {
	t.Helper()
	var dirty Parsed
	dirty.Kind, dirty.HasInner, dirty.InnerSrc, dirty.Src, dirty.L4Off, dirty.ICMPID = KindIPv6, true, ip6A, ipA, 99, 7
	dirty.Decode(frame)
	if dirty != *p {
		fail("Decode depends on the previous contents: %+v", dirty)
	}
	l2 := Parsed{}
	if len(frame) >= EthHdrLen {
		l2 = Parsed{DstMAC: MAC(frame[0:6]), SrcMAC: MAC(frame[6:12]), EtherType: binary.BigEndian.Uint16(frame[12:14])}
	}
	if p.DstMAC != l2.DstMAC || p.SrcMAC != l2.SrcMAC || p.EtherType != l2.EtherType {
		fail("Ethernet fields differ from the frame's first 14 bytes")
	}
	switch p.Kind {
	case KindUnknown, KindOtherL2:
		want := l2
		want.Kind = p.Kind
		if *p != want {
			fail("%v frame has fields beyond Ethernet", p.Kind)
		}
	case KindARP:
		if !p.ARPSenderIP.Is4() || !p.ARPTargetIP.Is4() || p.Src.IsValid() || p.HasPorts {
			fail("ARP fields inconsistent")
		}
	case KindIPv4, KindIPv6:
		is4 := p.Kind == KindIPv4
		if p.Src.Is4() != is4 || p.Dst.Is4() != is4 || !p.Src.IsValid() || !p.Dst.IsValid() {
			fail("address family does not match %v", p.Kind)
		}
		if p.L4Off != EthHdrLen+p.IPHdrLen || p.L4Off > EthHdrLen+p.TotalLen || EthHdrLen+p.TotalLen > len(frame) {
			fail("offsets: L4Off %d IPHdrLen %d TotalLen %d frame %d", p.L4Off, p.IPHdrLen, p.TotalLen, len(frame))
		}
		if p.FirstFragment && !p.Fragment || p.DF && !is4 || p.ARPOp != 0 {
			fail("flags inconsistent")
		}
		if p.HasPorts && (p.Proto != ProtoTCP && p.Proto != ProtoUDP || p.L4Off+8 > EthHdrLen+p.TotalLen) {
			fail("ports for proto %d", p.Proto)
		}
		if !p.HasPorts && (p.SrcPort != 0 || p.DstPort != 0 || p.TCPFlags != 0) {
			fail("port fields without HasPorts")
		}
		if p.HasICMP && (is4 && p.Proto != ProtoICMP || !is4 && p.Proto != ProtoICMPv6) {
			fail("ICMP in proto %d", p.Proto)
		}
		if !p.HasICMP && (p.ICMPType != 0 || p.ICMPCode != 0 || p.ICMPID != 0 || p.HasInner) {
			fail("ICMP fields without HasICMP")
		}
		if p.HasInner != (p.InnerSrc.IsValid()) || p.HasInner && (p.InnerSrc.Is4() != is4 || p.InnerDst.Is4() != is4) {
			fail("inner addresses inconsistent")
		}
		if !p.HasInner && (p.InnerProto != 0 || p.InnerHasPorts || p.InnerHasICMP) {
			fail("inner fields without HasInner")
		}
		if p.InnerHasPorts && p.InnerHasICMP {
			fail("inner ports and inner ICMP at once")
		}
	default:
		fail("Kind %d out of range", p.Kind)
	}
}

// seedFrames are the table-test frames, the fuzzing seeds. The GSO frame past 64 KiB is left
// out: it makes every fuzz iteration slow.
func seedFrames(t testing.TB) [][]byte {
	var fs [][]byte
	for _, c := range decodeCases(t) {
		if len(c.frame) <= 4096 {
			fs = append(fs, c.frame)
		}
	}
	return fs
}

func FuzzDecode(f *testing.F) {
	for _, fr := range seedFrames(f) {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		crossCheck(t, frame)
	})
}

// TestCrossCheck runs the fuzz comparison on every table frame and on seeded random mutations
// of them, so that plain `go test` covers it too.
func TestCrossCheck(t *testing.T) {
	for _, c := range decodeCases(t) {
		crossCheck(t, c.frame)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for _, seed := range seedFrames(t) {
		for range 400 {
			f := append([]byte(nil), seed...)
			// Headers live in the first ~130 bytes; most mutations land there.
			for range 1 + r.IntN(3) {
				i := r.IntN(min(len(f), 130))
				switch r.IntN(4) {
				case 0:
					f[i] = byte(r.Uint32())
				case 1:
					f[i] ^= 1 << r.IntN(8)
				case 2:
					f[i] = []byte{0, 1, 4, 5, 6, 17, 43, 44, 58, 59, 60, 0x45, 0x46, 0x60, 0xff}[r.IntN(15)]
				case 3:
					f = f[:r.IntN(len(f)+1)]
				}
				if len(f) == 0 {
					break
				}
			}
			crossCheck(t, f)
			if t.Failed() {
				return
			}
		}
	}
}
