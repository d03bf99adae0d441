package packet

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Addresses of the test frames. Nothing is sent anywhere; they only need to be distinct.
var (
	macA   = MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a}
	macB   = MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b}
	macRtr = MAC{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	ipA    = netip.MustParseAddr("10.0.1.10")
	ipB    = netip.MustParseAddr("10.0.2.20")
	ipRtr  = netip.MustParseAddr("10.0.1.1")
	ip6A   = netip.MustParseAddr("2600:1f18:1:1::a")
	ip6B   = netip.MustParseAddr("2600:1f18:1:2::b")
	ip6Rtr = netip.MustParseAddr("2600:1f18:1:1::1")
)

func hw(m MAC) net.HardwareAddr { return net.HardwareAddr(m[:]) }
func nip(a netip.Addr) net.IP   { return net.IP(a.AsSlice()) }

// ser serialises layers the way gopacket would put them on the wire, lengths and checksums
// fixed.
func ser(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		t.Fatalf("serialise %v: %v", ls, err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(dst, src MAC, et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{DstMAC: hw(dst), SrcMAC: hw(src), EthernetType: et}
}

func ip4(src, dst netip.Addr, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: nip(src), DstIP: nip(dst),
		Flags: layers.IPv4DontFragment, Id: 0x4242}
}

func ip6(src, dst netip.Addr, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 63, NextHeader: next, SrcIP: nip(src), DstIP: nip(dst)}
}

func tcpSYN(sport, dport uint16, nl gopacket.NetworkLayer) *layers.TCP {
	t := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: true,
		Seq: 1000, Window: 64240,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}}
	_ = t.SetNetworkLayerForChecksum(nl)
	return t
}

func udp(sport, dport uint16, nl gopacket.NetworkLayer) *layers.UDP {
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	_ = u.SetNetworkLayerForChecksum(nl)
	return u
}

func payload(n int) gopacket.Payload {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return gopacket.Payload(b)
}

// ipv4Packet is the IP part (no Ethernet) of a TCP packet A→B, for quoting in ICMP errors.
func ipv4TCP(t testing.TB) []byte {
	ip := ip4(ipA, ipB, layers.IPProtocolTCP)
	return ser(t, ip, tcpSYN(40000, 443, ip), payload(100))
}

func ipv6UDP(t testing.TB) []byte {
	ip := ip6(ip6A, ip6B, layers.IPProtocolUDP)
	return ser(t, ip, udp(5353, 53, ip), payload(30))
}

// ext6 is an IPv6 extension header (hop-by-hop, routing or destination options) of 8*(1+n)
// bytes filled with PadN options, naming next.
func ext6(next uint8, n int) []byte {
	b := make([]byte, 8*(1+n))
	b[0], b[1] = next, uint8(n)
	b[2], b[3] = 1, uint8(len(b)-4) // PadN over the rest
	return b
}

// frag6 is an IPv6 fragment header.
func frag6(next uint8, off uint16, more bool) []byte {
	b := make([]byte, 8)
	b[0] = next
	v := off << 3
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(b[2:], v)
	binary.BigEndian.PutUint32(b[4:], 0xfeedbeef)
	return b
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// decodeCase is a frame and everything Decode must make of it. needed is the length of the
// frame Decode needs to see for that result: shorter prefixes are truncated packets, unless
// lenFromFrame says the IP header leaves the length to the frame (GSO).
type decodeCase struct {
	name         string
	frame        []byte
	want         Parsed
	needed       int
	lenFromFrame bool
}

func ipBase(kind Kind, src, dst netip.Addr, proto, ttl uint8, hdr, total int) Parsed {
	et := uint16(EtherTypeIPv4)
	if kind == KindIPv6 {
		et = EtherTypeIPv6
	}
	return Parsed{Kind: kind, DstMAC: macRtr, SrcMAC: macA, EtherType: et, Src: src, Dst: dst,
		Proto: proto, TTL: ttl, IPHdrLen: hdr, L4Off: EthHdrLen + hdr, TotalLen: total}
}

// decodeCases builds the table of hand-made frames shared by the table, truncation,
// allocation and fuzz-seed tests.
func decodeCases(t testing.TB) []decodeCase {
	var cs []decodeCase
	add := func(name string, frame []byte, want Parsed) {
		needed := EthHdrLen
		switch want.Kind {
		case KindARP:
			needed += ARPLen
		case KindIPv4, KindIPv6:
			needed += want.TotalLen
		}
		cs = append(cs, decodeCase{name, frame, want, needed, false})
	}

	{
		f := ser(t, eth(MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, macA, layers.EthernetTypeARP),
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
				HwAddressSize: 6, ProtAddressSize: 4, Operation: ARPRequest,
				SourceHwAddress: hw(macA), SourceProtAddress: nip(ipA),
				DstHwAddress: make(net.HardwareAddr, 6), DstProtAddress: nip(ipRtr)})
		add("arp request", f, Parsed{Kind: KindARP, DstMAC: MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			SrcMAC: macA, EtherType: EtherTypeARP, ARPOp: ARPRequest, ARPSenderMAC: macA,
			ARPSenderIP: ipA, ARPTargetIP: ipRtr})
	}
	{
		ip := ip4(ipA, ipB, layers.IPProtocolTCP)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, tcpSYN(40000, 22, ip))
		w := ipBase(KindIPv4, ipA, ipB, ProtoTCP, 64, 20, 44)
		w.DF, w.HasPorts, w.SrcPort, w.DstPort, w.TCPFlags = true, true, 40000, 22, TCPSyn
		add("ipv4 tcp syn", f, w)
	}
	{
		ip := ip4(ipA, ipB, layers.IPProtocolTCP)
		tcp := &layers.TCP{SrcPort: 443, DstPort: 40000, SYN: true, ACK: true, FIN: true, PSH: true, RST: true,
			URG: true, ECE: true, CWR: true, Window: 1}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, tcp, payload(1000))
		w := ipBase(KindIPv4, ipA, ipB, ProtoTCP, 64, 20, 1040)
		w.DF, w.HasPorts, w.SrcPort, w.DstPort, w.TCPFlags = true, true, 443, 40000, 0xff
		add("ipv4 tcp all flags", f, w)
	}
	{
		ip := ip4(ipA, ipB, layers.IPProtocolUDP)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, udp(5353, 53, ip), payload(12))
		w := ipBase(KindIPv4, ipA, ipB, ProtoUDP, 64, 20, 40)
		w.DF, w.HasPorts, w.SrcPort, w.DstPort = true, true, 5353, 53
		add("ipv4 udp", f, w)
	}
	{
		ip := ip4(ipA, ipB, layers.IPProtocolICMPv4)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 0x1234, Seq: 7}, payload(56))
		w := ipBase(KindIPv4, ipA, ipB, ProtoICMP, 64, 20, 84)
		w.DF, w.HasICMP, w.ICMPType, w.ICMPID = true, true, 8, 0x1234
		add("icmp echo request", f, w)
	}
	{
		q := ipv4TCP(t)[:28]
		ip := ip4(ipRtr, ipA, layers.IPProtocolICMPv4)
		f := ser(t, eth(macA, macRtr, layers.EthernetTypeIPv4), ip,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 4), Seq: 1400}, gopacket.Payload(q))
		w := ipBase(KindIPv4, ipRtr, ipA, ProtoICMP, 64, 20, 56)
		w.DstMAC, w.SrcMAC = macA, macRtr
		w.DF, w.HasICMP, w.ICMPType, w.ICMPCode = true, true, 3, 4
		w.HasInner, w.InnerSrc, w.InnerDst, w.InnerProto = true, ipA, ipB, ProtoTCP
		w.InnerHasPorts, w.InnerSrcPort, w.InnerDstPort = true, 40000, 443
		add("icmp frag needed quoting tcp", f, w)
	}
	{
		inner := ip4(ipA, ipB, layers.IPProtocolICMPv4)
		q := ser(t, inner, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 0x77, Seq: 1})
		ip := ip4(ipRtr, ipA, layers.IPProtocolICMPv4)
		f := ser(t, eth(macA, macRtr, layers.EthernetTypeIPv4), ip,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(11, 0)}, gopacket.Payload(q))
		w := ipBase(KindIPv4, ipRtr, ipA, ProtoICMP, 64, 20, 56)
		w.DstMAC, w.SrcMAC = macA, macRtr
		w.DF, w.HasICMP, w.ICMPType = true, true, 11
		w.HasInner, w.InnerSrc, w.InnerDst, w.InnerProto = true, ipA, ipB, ProtoICMP
		w.InnerHasICMP, w.InnerICMPType, w.InnerICMPID = true, 8, 0x77
		add("icmp time exceeded quoting echo", f, w)
	}
	{
		// ICMPv6 inside IPv4 is just an unknown protocol: no echo to relate.
		inner := ip4(ipA, ipB, layers.IPProtocolICMPv6)
		q := ser(t, inner, gopacket.Payload{128, 0, 0, 0, 0, 0x77, 0, 1})
		ip := ip4(ipRtr, ipA, layers.IPProtocolICMPv4)
		f := ser(t, eth(macA, macRtr, layers.EthernetTypeIPv4), ip,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 2)}, gopacket.Payload(q))
		w := ipBase(KindIPv4, ipRtr, ipA, ProtoICMP, 64, 20, 56)
		w.DstMAC, w.SrcMAC = macA, macRtr
		w.DF, w.HasICMP, w.ICMPType, w.ICMPCode = true, true, 3, 2
		w.HasInner, w.InnerSrc, w.InnerDst, w.InnerProto = true, ipA, ipB, ProtoICMPv6
		add("icmp error quoting icmpv6 in ipv4", f, w)
	}
	{
		inner := ip6(ip6A, ip6B, layers.IPProtocolICMPv6)
		iic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		_ = iic.SetNetworkLayerForChecksum(inner)
		q := ser(t, inner, iic, &layers.ICMPv6Echo{Identifier: 0x99, SeqNumber: 3})
		ip := ip6(ip6Rtr, ip6A, layers.IPProtocolICMPv6)
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(3, 0)}
		_ = ic.SetNetworkLayerForChecksum(ip)
		f := ser(t, eth(macA, macRtr, layers.EthernetTypeIPv6), ip, ic, gopacket.Payload(cat([]byte{0, 0, 0, 0}, q)))
		w := ipBase(KindIPv6, ip6Rtr, ip6A, ProtoICMPv6, 63, 40, 40+8+48)
		w.DstMAC, w.SrcMAC = macA, macRtr
		w.HasICMP, w.ICMPType = true, 3
		w.HasInner, w.InnerSrc, w.InnerDst, w.InnerProto = true, ip6A, ip6B, ProtoICMPv6
		w.InnerHasICMP, w.InnerICMPType, w.InnerICMPID = true, 128, 0x99
		add("icmpv6 time exceeded quoting echo", f, w)
	}
	{
		// An IPv6 packet quoted in an ICMPv4 error is nonsense: the error stays, the inner goes.
		ip := ip4(ipRtr, ipA, layers.IPProtocolICMPv4)
		f := ser(t, eth(macA, macRtr, layers.EthernetTypeIPv4), ip,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 1)}, gopacket.Payload(ipv6UDP(t)[:48]))
		w := ipBase(KindIPv4, ipRtr, ipA, ProtoICMP, 64, 20, 76)
		w.DstMAC, w.SrcMAC = macA, macRtr
		w.DF, w.HasICMP, w.ICMPType, w.ICMPCode = true, true, 3, 1
		add("icmp error quoting ipv6", f, w)
	}
	{
		ip := ip4(ipA, ipB, layers.IPProtocolUDP)
		ip.Options = []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}} // router alert
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, udp(1, 2, ip))
		w := ipBase(KindIPv4, ipA, ipB, ProtoUDP, 64, 24, 32)
		w.DF, w.HasPorts, w.SrcPort, w.DstPort = true, true, 1, 2
		add("ipv4 options", f, w)
	}
	{
		ip := ip4(ipA, ipB, layers.IPProtocolUDP)
		ip.Flags = layers.IPv4MoreFragments
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, udp(4000, 4001, ip), payload(1472))
		w := ipBase(KindIPv4, ipA, ipB, ProtoUDP, 64, 20, 1500)
		w.Fragment, w.FirstFragment, w.HasPorts, w.SrcPort, w.DstPort = true, true, true, 4000, 4001
		add("ipv4 first fragment", f, w)
	}
	{
		ip := ip4(ipA, ipB, layers.IPProtocolUDP)
		ip.Flags, ip.FragOffset = 0, 185
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, payload(100))
		w := ipBase(KindIPv4, ipA, ipB, ProtoUDP, 64, 20, 120)
		w.Fragment = true
		add("ipv4 last fragment", f, w)
	}
	{
		// A GSO super-frame: one TCP segment of 20 000 bytes that the kernel will cut up.
		ip := ip4(ipA, ipB, layers.IPProtocolTCP)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, tcpSYN(40000, 22, ip), payload(20000))
		w := ipBase(KindIPv4, ipA, ipB, ProtoTCP, 64, 20, 20044)
		w.DF, w.HasPorts, w.SrcPort, w.DstPort, w.TCPFlags = true, true, 40000, 22, TCPSyn
		add("ipv4 gso super-frame", f, w)
	}
	{
		// BIG TCP: past 64 KiB the total length field is 0.
		ip := ip4(ipA, ipB, layers.IPProtocolTCP)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, tcpSYN(40000, 22, ip), payload(70000))
		binary.BigEndian.PutUint16(f[EthHdrLen+2:], 0)
		w := ipBase(KindIPv4, ipA, ipB, ProtoTCP, 64, 20, len(f)-EthHdrLen)
		w.DF, w.HasPorts, w.SrcPort, w.DstPort, w.TCPFlags = true, true, 40000, 22, TCPSyn
		add("ipv4 total length 0", f, w)
		cs[len(cs)-1].lenFromFrame = true
	}
	{
		// Proto TCP with 10 bytes of it: an IP packet, but no header to take ports from.
		ip := ip4(ipA, ipB, layers.IPProtocolTCP)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, payload(10))
		w := ipBase(KindIPv4, ipA, ipB, ProtoTCP, 64, 20, 30)
		w.DF = true
		add("ipv4 tcp header cut", f, w)
	}
	{
		ip := ip6(ip6A, ip6B, layers.IPProtocolTCP)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv6), ip, tcpSYN(40000, 443, ip))
		w := ipBase(KindIPv6, ip6A, ip6B, ProtoTCP, 63, 40, 64)
		w.HasPorts, w.SrcPort, w.DstPort, w.TCPFlags = true, 40000, 443, TCPSyn
		add("ipv6 tcp", f, w)
	}
	{
		ip := ip6(ip6A, ip6B, layers.IPProtocolIPv6HopByHop)
		u := ser(t, udp(5353, 53, ip), payload(8))
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv6), ip,
			gopacket.Payload(cat(ext6(ProtoDstOpts, 0), ext6(ProtoRouting, 1), ext6(ProtoUDP, 0), u)))
		w := ipBase(KindIPv6, ip6A, ip6B, ProtoUDP, 63, 40+8+16+8, 40+32+16)
		w.HasPorts, w.SrcPort, w.DstPort = true, 5353, 53
		add("ipv6 extension headers", f, w)
	}
	{
		ip := ip6(ip6A, ip6B, layers.IPProtocolIPv6Fragment)
		u := ser(t, udp(4000, 4001, ip), payload(100))
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv6), ip, gopacket.Payload(cat(frag6(ProtoUDP, 0, true), u)))
		w := ipBase(KindIPv6, ip6A, ip6B, ProtoUDP, 63, 48, 48+108)
		w.Fragment, w.FirstFragment, w.HasPorts, w.SrcPort, w.DstPort = true, true, true, 4000, 4001
		add("ipv6 first fragment", f, w)
	}
	{
		ip := ip6(ip6A, ip6B, layers.IPProtocolIPv6Fragment)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv6), ip,
			gopacket.Payload(cat(frag6(ProtoUDP, 100, false), payload(64))))
		w := ipBase(KindIPv6, ip6A, ip6B, ProtoUDP, 63, 48, 48+64)
		w.Fragment = true
		add("ipv6 later fragment", f, w)
	}
	{
		ip := ip6(ip6A, ip6B, layers.IPProtocolICMPv6)
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		_ = ic.SetNetworkLayerForChecksum(ip)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv6), ip, ic,
			&layers.ICMPv6Echo{Identifier: 0xabcd, SeqNumber: 1}, payload(56))
		w := ipBase(KindIPv6, ip6A, ip6B, ProtoICMPv6, 63, 40, 40+64)
		w.HasICMP, w.ICMPType, w.ICMPID = true, 128, 0xabcd
		add("icmpv6 echo request", f, w)
	}
	{
		ip := ip6(ip6Rtr, ip6A, layers.IPProtocolICMPv6)
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(2, 0)}
		_ = ic.SetNetworkLayerForChecksum(ip)
		f := ser(t, eth(macA, macRtr, layers.EthernetTypeIPv6), ip, ic,
			gopacket.Payload(cat([]byte{0, 0, 0x05, 0xdc}, ipv6UDP(t))))
		w := ipBase(KindIPv6, ip6Rtr, ip6A, ProtoICMPv6, 63, 40, 40+8+78)
		w.DstMAC, w.SrcMAC = macA, macRtr
		w.HasICMP, w.ICMPType = true, 2
		w.HasInner, w.InnerSrc, w.InnerDst, w.InnerProto = true, ip6A, ip6B, ProtoUDP
		w.InnerHasPorts, w.InnerSrcPort, w.InnerDstPort = true, 5353, 53
		add("icmpv6 packet too big quoting udp", f, w)
	}
	{
		// GSO over IPv6 may leave the payload length 0; the frame carries the packet.
		ip := ip6(ip6A, ip6B, layers.IPProtocolTCP)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv6), ip, tcpSYN(40000, 443, ip), payload(3000))
		binary.BigEndian.PutUint16(f[EthHdrLen+4:], 0)
		w := ipBase(KindIPv6, ip6A, ip6B, ProtoTCP, 63, 40, len(f)-EthHdrLen)
		w.HasPorts, w.SrcPort, w.DstPort, w.TCPFlags = true, 40000, 443, TCPSyn
		add("ipv6 payload length 0", f, w)
		cs[len(cs)-1].lenFromFrame = true
	}
	{
		ip := ip4(ipA, ipB, layers.IPProtocolUDP)
		f := ser(t, eth(macRtr, macA, layers.EthernetTypeDot1Q),
			&layers.Dot1Q{VLANIdentifier: 42, Type: layers.EthernetTypeIPv4}, ip, udp(1, 2, ip))
		add("vlan tagged", f, Parsed{Kind: KindOtherL2, DstMAC: macRtr, SrcMAC: macA, EtherType: EtherTypeVLAN})
	}
	{
		f := ser(t, eth(macRtr, macA, layers.EthernetType(0x88cc)), payload(40)) // LLDP
		add("other ethertype", f, Parsed{Kind: KindOtherL2, DstMAC: macRtr, SrcMAC: macA, EtherType: 0x88cc})
	}

	// Malformed frames: Kind unknown, only the Ethernet fields kept.
	bad := func(name string, f []byte) {
		cs = append(cs, decodeCase{name, f, Parsed{DstMAC: MAC(f[0:6]), SrcMAC: MAC(f[6:12]),
			EtherType: binary.BigEndian.Uint16(f[12:14])}, len(f), false})
	}
	mutate := func(f []byte, fn func(ip []byte)) []byte {
		f = append([]byte(nil), f...)
		fn(f[EthHdrLen:])
		return f
	}
	find := func(name string) []byte {
		for _, c := range cs {
			if c.name == name {
				return c.frame
			}
		}
		t.Fatalf("no test frame %q", name)
		return nil
	}
	tcp4 := find("ipv4 tcp syn")
	bad("ipv4 ethertype with version 6", mutate(tcp4, func(ip []byte) { ip[0] = 0x65 }))
	bad("ipv4 ihl 4", mutate(tcp4, func(ip []byte) { ip[0] = 0x44 }))
	bad("ipv4 ihl past frame", mutate(tcp4, func(ip []byte) { ip[0] = 0x4f }))
	bad("ipv4 total length under ihl", mutate(tcp4, func(ip []byte) { binary.BigEndian.PutUint16(ip[2:], 19) }))
	bad("ipv4 total length past frame", mutate(tcp4, func(ip []byte) { binary.BigEndian.PutUint16(ip[2:], 1500) }))
	bad("ipv6 ethertype with version 4", mutate(find("ipv6 tcp"), func(ip []byte) { ip[0] = 0x45 }))
	{
		ip := ip6(ip6A, ip6B, layers.IPProtocolIPv6Destination)
		var chain []byte
		for range maxExtHeaders {
			chain = append(chain, ext6(ProtoDstOpts, 0)...)
		}
		chain = append(chain, ext6(ProtoNoNext, 0)...)
		bad("ipv6 extension chain too long", ser(t, eth(macRtr, macA, layers.EthernetTypeIPv6), ip, gopacket.Payload(chain)))
		ip = ip6(ip6A, ip6B, layers.IPProtocolIPv6Destination)
		bad("ipv6 extension past packet", ser(t, eth(macRtr, macA, layers.EthernetTypeIPv6), ip,
			gopacket.Payload(ext6(ProtoUDP, 3)[:16])))
	}
	bad("arp for another hardware type", mutate(find("arp request"), func(a []byte) { a[1] = 6 }))
	bad("arp with 16-byte protocol addresses", mutate(find("arp request"), func(a []byte) { a[5] = 16 }))
	cs = append(cs, decodeCase{"runt", []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, Parsed{}, 0, false})
	return cs
}
