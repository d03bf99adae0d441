package packet

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// Kind classifies a frame at the level the fabric decides on.
type Kind uint8

const (
	// KindUnknown is a frame too short or malformed to trust: truncated headers, a bad IHL,
	// an IP version that contradicts the EtherType, an unsupported ARP variant.
	KindUnknown Kind = iota
	// KindARP is an ARP packet for IPv4 over Ethernet.
	KindARP
	// KindIPv4 is a well-formed IPv4 packet.
	KindIPv4
	// KindIPv6 is a well-formed IPv6 packet.
	KindIPv6
	// KindOtherL2 is a well-formed Ethernet frame carrying something a VPC does not forward:
	// another EtherType, an 802.3 length frame, or a VLAN tag.
	KindOtherL2
)

// String names k for traces and test failures.
func (k Kind) String() string {
	switch k {
	case KindUnknown:
		return "unknown"
	case KindARP:
		return "arp"
	case KindIPv4:
		return "ipv4"
	case KindIPv6:
		return "ipv6"
	case KindOtherL2:
		return "other-l2"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Header sizes and EtherTypes.
const (
	EthHdrLen  = 14
	ARPLen     = 28 // ARP for IPv4 over Ethernet
	IPv4MinLen = 20
	IPv6HdrLen = 40

	EtherTypeIPv4 = 0x0800
	EtherTypeARP  = 0x0806
	EtherTypeIPv6 = 0x86dd
	EtherTypeVLAN = 0x8100
	EtherTypeQinQ = 0x88a8
)

// ARP operations.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// IP protocol numbers the parser looks inside.
const (
	ProtoHopByHop  = 0
	ProtoICMP      = 1
	ProtoTCP       = 6
	ProtoUDP       = 17
	ProtoRouting   = 43
	ProtoFragment  = 44
	ProtoICMPv6    = 58
	ProtoNoNext    = 59
	ProtoDstOpts   = 60
	maxExtHeaders  = 8 // IPv6 extension headers walked before a chain counts as malformed
	ipv6ExtMinSize = 8
)

// TCP flags, the low byte of the flags field (TCPFlags).
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
	TCPEce = 0x40
	TCPCwr = 0x80
)

// Parsed holds the decoded headers of one frame. Decode fills it in place; it is meant to be
// reused for every frame a port reads, so it is flat and holds no slices or pointers into the
// frame. A field is meaningful only for the Kinds (and flags) its comment names; Decode zeroes
// the rest. For KindUnknown only DstMAC, SrcMAC and EtherType may be set.
type Parsed struct {
	Kind      Kind
	DstMAC    MAC
	SrcMAC    MAC
	EtherType uint16

	// KindARP.
	ARPOp        uint16
	ARPSenderMAC MAC
	ARPTargetMAC MAC
	ARPSenderIP  netip.Addr
	ARPTargetIP  netip.Addr

	// KindIPv4 and KindIPv6 share these fields so that the decision path has one code path for
	// both families.
	Src, Dst netip.Addr
	// Proto is the upper-layer protocol: for IPv6 the Next Header after the hop-by-hop,
	// routing, destination-options and fragment headers. In a non-first IPv6 fragment it is the
	// fragment header's Next Header, the first header of the fragmentable part.
	Proto uint8
	TTL   uint8 // IPv6: hop limit
	// IPHdrLen is the length of all IP headers: IHL*4 for IPv4, 40 plus the extension headers
	// for IPv6. L4Off is EthHdrLen+IPHdrLen, where the upper-layer header starts in the frame.
	IPHdrLen int
	L4Off    int
	// TotalLen is the IP packet's length from its header: IPv4 total length, or 40 plus the
	// IPv6 payload length. When the header says 0 (a GSO super-frame or jumbogram too big for
	// the field) it is the length of the IP packet in the frame. Bytes of the frame past
	// EthHdrLen+TotalLen are Ethernet padding.
	TotalLen int
	// Fragment: the packet is a fragment (IPv4 MF set or offset non-zero, or an IPv6 fragment
	// header, even an atomic one). FirstFragment: Fragment with offset 0, which carries the L4
	// header. DF: IPv4 Don't Fragment.
	Fragment      bool
	FirstFragment bool
	DF            bool

	// HasPorts: a TCP or UDP header was present (not a non-first fragment, long enough) and
	// SrcPort, DstPort (and for TCP, TCPFlags) were read.
	HasPorts         bool
	SrcPort, DstPort uint16
	TCPFlags         uint8 // TCPFin | TCPSyn | ...
	// HasICMP: an ICMPv4 header (in IPv4) or ICMPv6 header (in IPv6) of 8 bytes was present.
	// ICMPID is the identifier of an echo request or reply, 0 for other types.
	HasICMP            bool
	ICMPType, ICMPCode uint8
	ICMPID             uint16

	// HasInner: the packet is an ICMP error (v4 types 3, 4, 5, 11, 12; v6 types 1-4) and the
	// IP header it quotes (same family) was read: conntrack relates the error to that flow.
	// InnerHasPorts: the quote holds the TCP or UDP ports. InnerHasICMP: the quoted packet is
	// an ICMP echo request or reply of the same family, with InnerICMPType and InnerICMPID.
	HasInner                   bool
	InnerSrc, InnerDst         netip.Addr
	InnerProto                 uint8
	InnerHasPorts              bool
	InnerSrcPort, InnerDstPort uint16
	InnerHasICMP               bool
	InnerICMPType              uint8
	InnerICMPID                uint16
}

// Decode parses frame, an Ethernet frame without the virtio header, into p, replacing what p
// held. It never allocates, never panics and keeps no reference to frame.
func (p *Parsed) Decode(frame []byte) {
	*p = Parsed{}
	if len(frame) < EthHdrLen {
		return
	}
	p.DstMAC = MAC(frame[0:6])
	p.SrcMAC = MAC(frame[6:12])
	p.EtherType = binary.BigEndian.Uint16(frame[12:14])
	ok := false
	switch p.EtherType {
	case EtherTypeARP:
		ok = p.decodeARP(frame[EthHdrLen:])
	case EtherTypeIPv4:
		ok = p.decodeIPv4(frame[EthHdrLen:])
	case EtherTypeIPv6:
		ok = p.decodeIPv6(frame[EthHdrLen:])
	default:
		// VLAN-tagged frames land here too: a VPC has no VLANs, so they are dropped as
		// non-IP rather than looked into.
		p.Kind = KindOtherL2
		return
	}
	if !ok {
		p.invalid()
	}
}

// invalid marks p as KindUnknown and zeroes what a partial decode may have set, so that no
// half-read field survives into a dropped frame's trace.
func (p *Parsed) invalid() {
	dst, src, et := p.DstMAC, p.SrcMAC, p.EtherType
	*p = Parsed{DstMAC: dst, SrcMAC: src, EtherType: et}
}

// decodeARP reads an ARP packet; only IPv4 over Ethernet (htype 1, ptype 0x0800, 6/4 address
// lengths) is accepted, as only that is meaningful in a VPC.
func (p *Parsed) decodeARP(b []byte) bool {
	if len(b) < ARPLen ||
		binary.BigEndian.Uint16(b[0:2]) != 1 ||
		binary.BigEndian.Uint16(b[2:4]) != EtherTypeIPv4 ||
		b[4] != 6 || b[5] != 4 {
		return false
	}
	p.Kind = KindARP
	p.ARPOp = binary.BigEndian.Uint16(b[6:8])
	p.ARPSenderMAC = MAC(b[8:14])
	p.ARPSenderIP = netip.AddrFrom4([4]byte(b[14:18]))
	p.ARPTargetMAC = MAC(b[18:24])
	p.ARPTargetIP = netip.AddrFrom4([4]byte(b[24:28]))
	return true
}

// decodeIPv4 reads the IPv4 packet b (the frame after the Ethernet header).
func (p *Parsed) decodeIPv4(b []byte) bool {
	if len(b) < IPv4MinLen || b[0]>>4 != 4 {
		return false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < IPv4MinLen || ihl > len(b) {
		return false
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total == 0 {
		// Linux leaves the field 0 in GSO super-frames past 64 KiB (BIG TCP); the frame
		// carries the packet.
		total = len(b)
	}
	// A packet cut short of its own length is not forwarded: the engine would deliver a
	// packet the sender never wrote.
	if total < ihl || total > len(b) {
		return false
	}
	b = b[:total]
	p.Kind = KindIPv4
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Proto = b[9]
	p.TTL = b[8]
	p.IPHdrLen = ihl
	p.L4Off = EthHdrLen + ihl
	p.TotalLen = total
	ff := binary.BigEndian.Uint16(b[6:8])
	p.DF = ff&0x4000 != 0
	off := ff & 0x1fff
	p.Fragment = ff&0x2000 != 0 || off != 0
	p.FirstFragment = p.Fragment && off == 0
	if off == 0 {
		p.decodeL4(b[ihl:])
	}
	return true
}

// decodeIPv6 reads the IPv6 packet b (the frame after the Ethernet header), walking the
// extension headers to the upper-layer protocol.
func (p *Parsed) decodeIPv6(b []byte) bool {
	if len(b) < IPv6HdrLen || b[0]>>4 != 6 {
		return false
	}
	total := IPv6HdrLen + int(binary.BigEndian.Uint16(b[4:6]))
	if total == IPv6HdrLen {
		// Payload length 0: a jumbogram or a GSO super-frame; the frame carries the packet.
		total = len(b)
	}
	if total > len(b) {
		return false
	}
	b = b[:total]
	var x extWalk
	if !x.walk(b, b[6]) {
		return false
	}
	p.Kind = KindIPv6
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	p.TTL = b[7]
	p.Proto = x.proto
	p.IPHdrLen = x.off
	p.L4Off = EthHdrLen + x.off
	p.TotalLen = total
	p.Fragment = x.frag
	p.FirstFragment = x.frag && !x.later
	if !x.later {
		p.decodeL4(b[x.off:])
	}
	return true
}

// extWalk is the result of walking an IPv6 extension-header chain.
type extWalk struct {
	proto uint8 // upper-layer protocol (or the fragment's Next Header in a later fragment)
	off   int   // offset of the upper-layer header from the IPv6 header's start
	frag  bool  // a fragment header was seen
	later bool  // ... with a non-zero offset: the rest is not headers
}

// walk follows the chain of the IPv6 packet (or quoted packet) b, whose fixed header names
// next. It fails on a chain that runs past b or is longer than maxExtHeaders.
func (x *extWalk) walk(b []byte, next uint8) bool {
	off := IPv6HdrLen
	for n := 0; ; n++ {
		switch next {
		case ProtoHopByHop, ProtoRouting, ProtoDstOpts, ProtoFragment:
		default:
			x.proto, x.off = next, off
			return true
		}
		if n == maxExtHeaders || off+ipv6ExtMinSize > len(b) {
			return false
		}
		h := b[off:]
		if next == ProtoFragment {
			// The fragment header is 8 bytes; its second byte is reserved, not a length.
			x.frag = true
			next = h[0]
			off += 8
			if binary.BigEndian.Uint16(h[2:4])>>3 != 0 {
				x.later = true
				x.proto, x.off = next, off
				return true
			}
			continue
		}
		size := int(h[1])*8 + 8
		if off+size > len(b) {
			return false
		}
		next = h[0]
		off += size
	}
}
