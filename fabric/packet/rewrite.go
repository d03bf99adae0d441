package packet

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Header rewriting for the gateways' NAT: the internet gateway's one-to-one translation
// (private <-> public address) and the NAT gateway's source NAT with port translation.
//
// Every function rewrites one field of a frame in place and keeps every checksum that covers
// the field right without recomputing it, by the incremental update of RFC 1624 (eqn. 3):
// HC' = ~(~HC + ~m + m'). A frame read from a TAP may carry a partial L4 checksum instead of a
// complete one: its virtio header says NEEDS_CSUM, and the checksum field at
// CsumStart+CsumOffset holds the folded pseudo-header sum, not complemented, which the device
// that finally sends the frame completes by summing from CsumStart to the end. Such a field is
// updated without the complement, and only for what lies outside the summed bytes (the
// pseudo-header's addresses): a change inside them, a port or an ICMP id, is summed by the
// completion itself and must not be counted twice.
//
// The functions take the Parsed that Decode made of the frame and keep it true to the
// rewritten frame. They check everything they index and change nothing when they return an
// error, so a frame they refuse is intact (and the caller drops it). They do not allocate,
// except to build an error.

// Offsets inside the headers that the rewrites touch.
const (
	ipv4CsumOff = 10
	ipv4SrcOff  = 12
	ipv4DstOff  = 16
	tcpCsumOff  = 16
	udpCsumOff  = 6
	icmpCsumOff = 2
	icmpIDOff   = 4
)

// RewriteIPv4Src replaces the source address of the IPv4 packet in frame (an Ethernet frame,
// decoded into p; vh is the virtio header it came with) by to, updating the IP header checksum
// and the TCP or UDP checksum, which covers the address through its pseudo-header. ICMPv4 has
// no pseudo-header, so an ICMP packet's checksum stays as it is. A fragment changes in its IP
// header only, unless it is the one holding the TCP or UDP checksum field.
func RewriteIPv4Src(frame []byte, p *Parsed, vh VnetHdr, to netip.Addr) error {
	if err := rewriteIPv4Addr(frame, p, vh, ipv4SrcOff, to); err != nil {
		return fmt.Errorf("rewrite IPv4 source: %w", err)
	}
	p.Src = to
	return nil
}

// RewriteIPv4Dst replaces the destination address, as RewriteIPv4Src does the source.
func RewriteIPv4Dst(frame []byte, p *Parsed, vh VnetHdr, to netip.Addr) error {
	if err := rewriteIPv4Addr(frame, p, vh, ipv4DstOff, to); err != nil {
		return fmt.Errorf("rewrite IPv4 destination: %w", err)
	}
	p.Dst = to
	return nil
}

// RewriteSrcPort replaces the source port of a TCP or UDP packet (IPv4 or IPv6) that has its
// ports in frame (p.HasPorts), updating the L4 checksum: a complete one is adjusted, a UDP
// checksum of 0 (none) stays 0, and a partial one needs nothing, as the port lies inside the
// bytes its completion sums.
func RewriteSrcPort(frame []byte, p *Parsed, vh VnetHdr, port uint16) error {
	if err := rewritePort(frame, p, vh, 0, port); err != nil {
		return fmt.Errorf("rewrite source port: %w", err)
	}
	p.SrcPort = port
	return nil
}

// RewriteDstPort replaces the destination port, as RewriteSrcPort does the source port.
func RewriteDstPort(frame []byte, p *Parsed, vh VnetHdr, port uint16) error {
	if err := rewritePort(frame, p, vh, 2, port); err != nil {
		return fmt.Errorf("rewrite destination port: %w", err)
	}
	p.DstPort = port
	return nil
}

// RewriteICMPID replaces the identifier of an ICMP or ICMPv6 echo request or reply, which the
// NAT gateway translates as it does a port, updating the ICMP checksum (or leaving a partial
// one, whose completion covers the identifier).
func RewriteICMPID(frame []byte, p *Parsed, vh VnetHdr, id uint16) error {
	if !p.HasICMP || !(p.Kind == KindIPv4 && icmpEcho4(p.ICMPType) || p.Kind == KindIPv6 && icmpEcho6(p.ICMPType)) {
		return fmt.Errorf("rewrite ICMP id: %v packet (ICMP %v, type %d) is not an ICMP echo request or reply", p.Kind, p.HasICMP, p.ICMPType)
	}
	part, err := partialSum(frame, p, vh)
	if err != nil {
		return fmt.Errorf("rewrite ICMP id: %w", err)
	}
	if p.L4Off+ICMPHdrLen > packetEnd(frame, p) {
		return fmt.Errorf("rewrite ICMP id: ICMP header at %d does not fit the %d-byte frame; Parsed is not this frame's", p.L4Off, len(frame))
	}
	d := put16(frame, p.L4Off+icmpIDOff, id)
	if part < 0 {
		adjustComplete(frame, p.L4Off+icmpCsumOff, d)
	}
	p.ICMPID = id
	return nil
}

// RewriteICMPInnerSrc replaces the source address of the IPv4 packet that an ICMPv4 error
// quotes (p.HasInner), as NAT must when it translates an error about a translated flow. It
// updates the quoted IP header's checksum, the quoted TCP or UDP checksum when the quote holds
// it, and the outer ICMP checksum, which covers all three changes. The outer header is the
// caller's to rewrite with RewriteIPv4Src or RewriteIPv4Dst.
func RewriteICMPInnerSrc(frame []byte, p *Parsed, vh VnetHdr, to netip.Addr) error {
	if err := rewriteInnerAddr(frame, p, vh, ipv4SrcOff, to); err != nil {
		return fmt.Errorf("rewrite quoted IPv4 source: %w", err)
	}
	p.InnerSrc = to
	return nil
}

// RewriteICMPInnerDst replaces the destination address of the quoted packet, as
// RewriteICMPInnerSrc does the source.
func RewriteICMPInnerDst(frame []byte, p *Parsed, vh VnetHdr, to netip.Addr) error {
	if err := rewriteInnerAddr(frame, p, vh, ipv4DstOff, to); err != nil {
		return fmt.Errorf("rewrite quoted IPv4 destination: %w", err)
	}
	p.InnerDst = to
	return nil
}

// RewriteICMPInnerSrcPort replaces the source port of the TCP or UDP packet that an ICMPv4
// error quotes (p.InnerHasPorts), with the quoted L4 checksum (when quoted) and the outer ICMP
// checksum.
func RewriteICMPInnerSrcPort(frame []byte, p *Parsed, vh VnetHdr, port uint16) error {
	if err := rewriteInnerPort(frame, p, vh, 0, port); err != nil {
		return fmt.Errorf("rewrite quoted source port: %w", err)
	}
	p.InnerSrcPort = port
	return nil
}

// RewriteICMPInnerDstPort replaces the destination port of the quoted packet.
func RewriteICMPInnerDstPort(frame []byte, p *Parsed, vh VnetHdr, port uint16) error {
	if err := rewriteInnerPort(frame, p, vh, 2, port); err != nil {
		return fmt.Errorf("rewrite quoted destination port: %w", err)
	}
	p.InnerDstPort = port
	return nil
}

// RewriteICMPInnerID replaces the identifier of the ICMPv4 echo that an ICMPv4 error quotes
// (p.InnerHasICMP): a ping whose TTL ran out past a NAT gateway. The quoted echo's checksum and
// the outer ICMP checksum follow.
func RewriteICMPInnerID(frame []byte, p *Parsed, vh VnetHdr, id uint16) error {
	q, err := quote(frame, p, vh)
	if err == nil && !p.InnerHasICMP {
		err = fmt.Errorf("the quoted packet (protocol %d) is not an ICMP echo", p.InnerProto)
	}
	if err == nil && q.l4+ICMPHdrLen > q.end {
		err = fmt.Errorf("quoted ICMP header at %d does not fit the quote ending at %d; Parsed is not this frame's", q.l4, q.end)
	}
	if err != nil {
		return fmt.Errorf("rewrite quoted ICMP id: %w", err)
	}
	d := put16(frame, q.l4+icmpIDOff, id)
	d += adjustComplete(frame, q.l4+icmpCsumOff, d)
	q.adjustOuter(frame, p, d)
	p.InnerICMPID = id
	return nil
}

// FinishChecksum completes the partial checksum of a NEEDS_CSUM frame in software, as the
// kernel's skb_checksum_help does, and clears the flag and the offsets in vh, which the caller
// writes back (vh.Put) before the frame. The engine needs it for a frame it delivers to a port
// without checksum offload. A frame without NEEDS_CSUM is left alone. A GSO super-frame is
// refused: each of its segments needs its own checksum, so it must be segmented first.
//
// The sum runs from CsumStart to the end of the IP packet that the frame's IPv4 or IPv6 header
// announces, not over Ethernet padding past it, which is not part of the segment the receiver
// checks; the kernel sums to the end of the frame, which agrees when the padding is zeros. As
// the kernel does, a computed 0 is stored as 0xffff, which means "no checksum" only to UDP and
// is the same sum to everyone else.
func FinishChecksum(frame []byte, vh *VnetHdr) error {
	if vh.Flags&VnetFlagNeedsCsum == 0 {
		return nil
	}
	if vh.IsGSO() {
		return fmt.Errorf("finish checksum: a GSO frame (type %d, segment size %d) has one checksum per segment; segment it first", vh.GSOType, vh.GSOSize)
	}
	start, field, end := int(vh.CsumStart), int(vh.CsumStart)+int(vh.CsumOffset), ipEnd(frame)
	if field+2 > end {
		return fmt.Errorf("finish checksum: csum_start %d + csum_offset %d is past the %d-byte packet; want the field inside it", vh.CsumStart, vh.CsumOffset, end)
	}
	c := Checksum(frame[start:end], 0)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(frame[field:], c)
	vh.Flags &^= VnetFlagNeedsCsum
	vh.CsumStart, vh.CsumOffset = 0, 0
	return nil
}

// rewriteIPv4Addr replaces the address at off (ipv4SrcOff or ipv4DstOff) of the IPv4 header.
func rewriteIPv4Addr(frame []byte, p *Parsed, vh VnetHdr, off int, to netip.Addr) error {
	if p.Kind != KindIPv4 {
		return fmt.Errorf("the frame is %v, want ipv4", p.Kind)
	}
	if !to.Is4() {
		return fmt.Errorf("new address %v is not IPv4", to)
	}
	end := packetEnd(frame, p)
	if p.L4Off < EthHdrLen+IPv4MinLen || p.L4Off > end {
		return fmt.Errorf("IPv4 header of %d bytes does not fit the %d-byte frame; Parsed is not this frame's", p.IPHdrLen, len(frame))
	}
	part, err := partialSum(frame, p, vh)
	if err != nil {
		return err
	}
	// The TCP or UDP checksum covers the address through the pseudo-header: partial, the field
	// that NEEDS_CSUM names (partialSum checked that it is this one); complete, the field, if
	// this frame (a fragment, perhaps) holds it.
	ck, partial := -1, false
	if p.Proto == ProtoTCP || p.Proto == ProtoUDP {
		if part >= 0 {
			ck, partial = part, true
		} else {
			fragOff := int(binary.BigEndian.Uint16(frame[EthHdrLen+6:])&0x1fff) * 8
			ck = l4CsumField(p.Proto, p.L4Off, fragOff, end)
		}
	}
	a := to.As4()
	d := put32(frame, EthHdrLen+off, binary.BigEndian.Uint32(a[:]))
	adjustComplete(frame, EthHdrLen+ipv4CsumOff, d)
	switch {
	case ck < 0:
	case partial:
		adjustPartial(frame, ck, d)
	default:
		adjustL4(frame, p.Proto, ck, d)
	}
	return nil
}

// rewritePort replaces the TCP or UDP port at off (0 source, 2 destination) of the L4 header.
func rewritePort(frame []byte, p *Parsed, vh VnetHdr, off int, port uint16) error {
	if !p.HasPorts || p.Proto != ProtoTCP && p.Proto != ProtoUDP {
		return fmt.Errorf("%v packet (protocol %d, fragment %v) has no TCP or UDP ports in this frame", p.Kind, p.Proto, p.Fragment)
	}
	part, err := partialSum(frame, p, vh)
	if err != nil {
		return err
	}
	ck := l4CsumField(p.Proto, p.L4Off, 0, packetEnd(frame, p))
	if ck < 0 {
		return fmt.Errorf("%d-byte frame ends before the L4 checksum field at %d; Parsed is not this frame's", len(frame), p.L4Off)
	}
	d := put16(frame, p.L4Off+off, port)
	if part < 0 {
		adjustL4(frame, p.Proto, ck, d)
	}
	return nil
}

// rewriteInnerAddr replaces the address at off (ipv4SrcOff or ipv4DstOff) of the IPv4 header
// that an ICMPv4 error quotes.
func rewriteInnerAddr(frame []byte, p *Parsed, vh VnetHdr, off int, to netip.Addr) error {
	if !to.Is4() {
		return fmt.Errorf("new address %v is not IPv4", to)
	}
	q, err := quote(frame, p, vh)
	if err != nil {
		return err
	}
	a := to.As4()
	d := put32(frame, q.ip+off, binary.BigEndian.Uint32(a[:]))
	// Every field the address change touches lies inside the outer ICMP message, so the outer
	// checksum takes the sum of all their changes.
	outer := d + adjustComplete(frame, q.ip+ipv4CsumOff, d)
	if q.l4ck >= 0 {
		outer += adjustL4(frame, q.proto, q.l4ck, d)
	}
	q.adjustOuter(frame, p, outer)
	return nil
}

// rewriteInnerPort replaces the port at off (0 source, 2 destination) of the TCP or UDP header
// that an ICMPv4 error quotes.
func rewriteInnerPort(frame []byte, p *Parsed, vh VnetHdr, off int, port uint16) error {
	q, err := quote(frame, p, vh)
	if err != nil {
		return err
	}
	if !p.InnerHasPorts || q.l4+4 > q.end {
		return fmt.Errorf("the quoted packet (protocol %d) has no TCP or UDP ports in the quote", p.InnerProto)
	}
	d := put16(frame, q.l4+off, port)
	outer := d
	if q.l4ck >= 0 {
		outer += adjustL4(frame, q.proto, q.l4ck, d)
	}
	q.adjustOuter(frame, p, outer)
	return nil
}

// quoted locates the parts of an ICMPv4 error's quote in the frame.
type quoted struct {
	ip, l4, end int   // quoted IP header, the header after it, the quote's end
	proto       uint8 // the quoted packet's protocol
	l4ck        int   // the quoted TCP or UDP checksum field, or -1 when the quote lacks it
	partial     bool  // the outer ICMP checksum is partial
}

// quote locates the IPv4 packet that the ICMPv4 error in frame quotes, and checks that the
// outer ICMP checksum is one the rewrite can keep: complete, or partial with its completion
// covering the whole ICMP message.
func quote(frame []byte, p *Parsed, vh VnetHdr) (quoted, error) {
	if p.Kind != KindIPv4 || !p.HasInner {
		return quoted{}, fmt.Errorf("the frame (%v, protocol %d, ICMP type %d) is not an ICMPv4 error quoting an IPv4 packet", p.Kind, p.Proto, p.ICMPType)
	}
	part, err := partialSum(frame, p, vh)
	if err != nil {
		return quoted{}, err
	}
	q := quoted{ip: p.L4Off + ICMPHdrLen, end: packetEnd(frame, p), l4ck: -1, partial: part >= 0}
	if q.ip+IPv4MinLen > q.end || frame[q.ip]>>4 != 4 {
		return quoted{}, fmt.Errorf("no quoted IPv4 header at %d in the frame's packet ending at %d; Parsed is not this frame's", q.ip, q.end)
	}
	q.l4 = q.ip + int(frame[q.ip]&0x0f)*4
	if q.l4 < q.ip+IPv4MinLen || q.l4 > q.end {
		return quoted{}, fmt.Errorf("quoted IPv4 header length %d is outside 20-%d; Parsed is not this frame's", q.l4-q.ip, q.end-q.ip)
	}
	q.proto = frame[q.ip+9]
	fragOff := int(binary.BigEndian.Uint16(frame[q.ip+6:])&0x1fff) * 8
	q.l4ck = l4CsumField(q.proto, q.l4, fragOff, q.end)
	return q, nil
}

// adjustOuter carries the sum d of the changes made inside the quote into the outer ICMP
// checksum, unless that is partial and its completion will sum them anyway.
func (q quoted) adjustOuter(frame []byte, p *Parsed, d uint32) {
	if !q.partial {
		adjustComplete(frame, p.L4Off+icmpCsumOff, d)
	}
}

// partialSum returns where the partial checksum field of a NEEDS_CSUM frame is, or -1 when
// vh does not say NEEDS_CSUM. It accepts only what a Linux sender produces and what the
// rewrites can keep right: the checksum of the packet's own TCP, UDP, ICMP or ICMPv6 header,
// summed from that header's start. A fragment never carries one: checksums are finished
// before a packet is fragmented.
func partialSum(frame []byte, p *Parsed, vh VnetHdr) (int, error) {
	if vh.Flags&VnetFlagNeedsCsum == 0 {
		return -1, nil
	}
	want := -1
	switch {
	case p.Fragment:
	case p.Proto == ProtoTCP:
		want = tcpCsumOff
	case p.Proto == ProtoUDP:
		want = udpCsumOff
	case p.Proto == ProtoICMP && p.Kind == KindIPv4, p.Proto == ProtoICMPv6 && p.Kind == KindIPv6:
		want = icmpCsumOff
	}
	if want < 0 {
		return -1, fmt.Errorf("NEEDS_CSUM on a packet of %v protocol %d (fragment %v): only an unfragmented TCP, UDP or ICMP packet can carry a partial checksum", p.Kind, p.Proto, p.Fragment)
	}
	if int(vh.CsumStart) != p.L4Off || int(vh.CsumOffset) != want {
		return -1, fmt.Errorf("NEEDS_CSUM with csum_start %d and csum_offset %d; for protocol %d want %d and %d", vh.CsumStart, vh.CsumOffset, p.Proto, p.L4Off, want)
	}
	field := p.L4Off + want
	if field+2 > packetEnd(frame, p) {
		return -1, fmt.Errorf("NEEDS_CSUM field at %d is past the %d-byte frame", field, len(frame))
	}
	return field, nil
}

// l4CsumField returns where the checksum field of a TCP or UDP header starting at l4 lies, in
// a packet (or fragment, whose data starts fragOff bytes into the datagram) that ends at end;
// -1 for another protocol or when these bytes do not hold the field. A fragment's offset is a
// multiple of 8 and the field is 2 bytes at an even offset, so no fragment holds half of it. An
// ICMP error's quote might end inside it; its one byte is left as it was, as the new value
// depends on the missing byte's carries (and no sender cuts there: RFC 792 quotes 8 bytes of
// the L4 header, Linux up to 576 bytes in all).
func l4CsumField(proto uint8, l4, fragOff, end int) int {
	var c int
	switch proto {
	case ProtoTCP:
		c = tcpCsumOff
	case ProtoUDP:
		c = udpCsumOff
	default:
		return -1
	}
	if c < fragOff || l4+c-fragOff+2 > end {
		return -1
	}
	return l4 + c - fragOff
}

// packetEnd is where p's IP packet ends in frame: Ethernet padding after it is not covered by
// any checksum. A Parsed that claims more than frame holds is cut to the frame, so that a stale
// one fails the bounds checks rather than panics.
func packetEnd(frame []byte, p *Parsed) int {
	return min(EthHdrLen+p.TotalLen, len(frame))
}

// ipEnd is where the IPv4 or IPv6 packet in frame ends by its own length field, or the frame's
// end for anything else, a length of 0 (a GSO super-frame) or one the frame cannot hold.
func ipEnd(frame []byte) int {
	if len(frame) < EthHdrLen+IPv4MinLen {
		return len(frame)
	}
	n := 0
	switch binary.BigEndian.Uint16(frame[12:14]) {
	case EtherTypeIPv4:
		n = int(binary.BigEndian.Uint16(frame[EthHdrLen+2:]))
	case EtherTypeIPv6:
		if l := int(binary.BigEndian.Uint16(frame[EthHdrLen+4:])); l > 0 {
			n = IPv6HdrLen + l
		}
	}
	if n == 0 || EthHdrLen+n > len(frame) {
		return len(frame)
	}
	return EthHdrLen + n
}

// put16 stores v at off and returns what the change adds to a one's-complement sum over it:
// ~old + new (RFC 1624). An unchanged word adds 0 rather than ~old + old, which is -0 in one's
// complement but would turn a checksum of 0xffff into 0: rewriting a field to its own value
// leaves the frame as it was, bit for bit.
func put16(frame []byte, off int, v uint16) uint32 {
	old := binary.BigEndian.Uint16(frame[off:])
	if old == v {
		return 0
	}
	binary.BigEndian.PutUint16(frame[off:], v)
	return uint32(^old) + uint32(v)
}

// put32 stores v at off as put16 does, two 16-bit words at once.
func put32(frame []byte, off int, v uint32) uint32 {
	return put16(frame, off, uint16(v>>16)) + put16(frame, off+2, uint16(v))
}

// adjustComplete updates the complete checksum field at off for data whose sum grew by d, and
// returns what the field's own change adds to a sum over it (for an enclosing checksum).
func adjustComplete(frame []byte, off int, d uint32) uint32 {
	old := binary.BigEndian.Uint16(frame[off:])
	return put16(frame, off, ^fold(uint32(^old)+d))
}

// adjustL4 is adjustComplete for a TCP or UDP checksum, with UDP's rules: 0 means the sender
// computed none, so it stays 0; a computed 0 is sent as 0xffff.
func adjustL4(frame []byte, proto uint8, off int, d uint32) uint32 {
	old := binary.BigEndian.Uint16(frame[off:])
	if proto != ProtoUDP {
		return adjustComplete(frame, off, d)
	}
	if old == 0 {
		return 0
	}
	c := ^fold(uint32(^old) + d)
	if c == 0 {
		c = 0xffff
	}
	return put16(frame, off, c)
}

// adjustPartial updates the partial sum at off, the folded pseudo-header sum of a NEEDS_CSUM
// frame, which is stored without the complement, for a pseudo-header whose sum grew by d.
func adjustPartial(frame []byte, off int, d uint32) {
	old := binary.BigEndian.Uint16(frame[off:])
	binary.BigEndian.PutUint16(frame[off:], fold(uint32(old)+d))
}

// fold adds the carries of a 32-bit one's-complement sum back into its low 16 bits. Two
// rounds suffice for any 32-bit value; a non-zero sum folds to 1..0xffff, never 0, just as
// in a checksum computed from scratch, so incremental and full results agree bit for bit.
func fold(s uint32) uint16 {
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s)
}
