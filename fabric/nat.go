package fabric

import (
	"encoding/binary"
	"net/netip"

	"github.com/ec2sim/ec2sim/fabric/packet"
)

// rewriteIPv4 replaces the source (src true) or destination address of an IPv4 packet in place,
// keeping every checksum right without recomputing it (RFC 1624 incremental updates): the IP
// header's, and the TCP or UDP checksum, which covers the addresses through its pseudo-header.
// A frame whose virtio header says NEEDS_CSUM carries in its L4 checksum field the folded
// pseudo-header sum, not complemented, which the receiving kernel completes: that field is
// adjusted the same way but without the complement. It reports false for what it cannot rewrite.
func rewriteIPv4(frame []byte, partial bool, p *packet.Parsed, src bool, to netip.Addr) bool {
	if p.Kind != packet.KindIPv4 || !to.Is4() || len(frame) < packet.EthHdrLen+20 {
		return false
	}
	off := packet.EthHdrLen + 16
	if src {
		off = packet.EthHdrLen + 12
	}
	var oldA [4]byte
	copy(oldA[:], frame[off:off+4])
	newA := to.As4()
	if oldA == newA {
		return true
	}
	copy(frame[off:off+4], newA[:])
	ck := packet.EthHdrLen + 10
	binary.BigEndian.PutUint16(frame[ck:], adjust(binary.BigEndian.Uint16(frame[ck:]), oldA, newA, true))
	if src {
		p.Src = to
	} else {
		p.Dst = to
	}
	// Only the first fragment carries the L4 header and its checksum.
	if p.Fragment && !p.FirstFragment {
		return true
	}
	var l4ck int
	switch p.Proto {
	case 6:
		l4ck = p.L4Off + 16
	case 17:
		l4ck = p.L4Off + 6
	default:
		return true // ICMP has no pseudo-header; other protocols are passed as they are
	}
	if l4ck+2 > len(frame) {
		return true
	}
	old := binary.BigEndian.Uint16(frame[l4ck:])
	if p.Proto == 17 && old == 0 && !partial {
		return true // a UDP datagram without a checksum stays without one
	}
	n := adjust(old, oldA, newA, !partial)
	if p.Proto == 17 && n == 0 && !partial {
		n = 0xffff // UDP sends a computed zero as all ones
	}
	binary.BigEndian.PutUint16(frame[l4ck:], n)
	return true
}

// adjust updates a 16-bit one's-complement checksum field for a 4-byte change from old to new.
// A complemented field (a finished checksum) is HC' = ~(~HC + ~m + m'); a partial sum (what a
// NEEDS_CSUM frame carries) is S' = S + ~m + m'.
func adjust(field uint16, old, new [4]byte, complemented bool) uint16 {
	sum := uint32(field)
	if complemented {
		sum = uint32(^field)
	}
	for i := 0; i < 4; i += 2 {
		sum += uint32(^binary.BigEndian.Uint16(old[i:]))
		sum += uint32(binary.BigEndian.Uint16(new[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	if complemented {
		return ^uint16(sum)
	}
	return uint16(sum)
}
