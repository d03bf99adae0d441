package packet

import (
	"encoding/binary"
	"net/netip"
)

// Minimum header sizes read at L4. The ICMP header is 8 bytes in both families; an error's
// quote starts after it.
const (
	TCPMinLen  = 20
	UDPLen     = 8
	ICMPHdrLen = 8
)

// decodeL4 reads the upper-layer header at the start of b, which ends where the IP packet
// does. A header too short to hold its fixed part is left unread: the packet keeps its Kind
// and Proto but has no ports, as a tiny first fragment would.
func (p *Parsed) decodeL4(b []byte) {
	switch p.Proto {
	case ProtoTCP:
		// The whole fixed header, not just the ports: a first fragment that splits the TCP
		// header (RFC 1858) must not pass as one whose flags were checked.
		if len(b) < TCPMinLen {
			return
		}
		p.HasPorts = true
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		p.TCPFlags = b[13]
	case ProtoUDP:
		if len(b) < UDPLen {
			return
		}
		p.HasPorts = true
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
	case ProtoICMP:
		if p.Kind == KindIPv4 && len(b) >= ICMPHdrLen {
			p.decodeICMP(b, icmpEcho4(b[0]), icmpError4(b[0]))
		}
	case ProtoICMPv6:
		if p.Kind == KindIPv6 && len(b) >= ICMPHdrLen {
			p.decodeICMP(b, icmpEcho6(b[0]), icmpError6(b[0]))
		}
	}
}

// decodeICMP reads an ICMP header of either family; b holds at least ICMPHdrLen bytes.
func (p *Parsed) decodeICMP(b []byte, echo, isErr bool) {
	p.HasICMP = true
	p.ICMPType, p.ICMPCode = b[0], b[1]
	if echo {
		p.ICMPID = binary.BigEndian.Uint16(b[4:6])
	}
	if isErr {
		p.decodeInner(b[ICMPHdrLen:])
	}
}

// ICMP types that carry an echo identifier or quote the packet that caused them.
func icmpEcho4(t uint8) bool { return t == 0 || t == 8 }
func icmpEcho6(t uint8) bool { return t == 128 || t == 129 }

// icmpError4 reports whether t is an ICMPv4 error that quotes a packet: destination
// unreachable, source quench, redirect, time exceeded, parameter problem.
func icmpError4(t uint8) bool { return t == 3 || t == 4 || t == 5 || t == 11 || t == 12 }

// icmpError6 reports whether t is an ICMPv6 error: destination unreachable, packet too big,
// time exceeded, parameter problem.
func icmpError6(t uint8) bool { return t >= 1 && t <= 4 }

// decodeInner reads the packet quoted by an ICMP error, which must be of the outer packet's
// family. The quote is cut short by design (IPv4 guarantees only the header and 8 bytes), so
// the quoted header's own length field is not held against it. Nothing is set unless the
// quoted IP header is whole.
func (p *Parsed) decodeInner(q []byte) {
	var l4 []byte
	var later, ok bool
	switch p.Kind {
	case KindIPv4:
		l4, later, ok = p.innerIPv4(q)
	case KindIPv6:
		l4, later, ok = p.innerIPv6(q)
	}
	if !ok {
		return
	}
	p.HasInner = true
	if later {
		return // a non-first fragment was quoted: it has no L4 header
	}
	switch p.InnerProto {
	case ProtoTCP, ProtoUDP:
		// Only the ports: that is all RFC 792's 8 bytes promise and all conntrack needs.
		if len(l4) >= 4 {
			p.InnerHasPorts = true
			p.InnerSrcPort = binary.BigEndian.Uint16(l4[0:2])
			p.InnerDstPort = binary.BigEndian.Uint16(l4[2:4])
		}
	case ProtoICMP, ProtoICMPv6:
		// Errors are sent about echo requests (a ping's TTL running out) and conntrack keys
		// those flows by the echo id. ICMP of the other family is meaningless here.
		is4 := p.Kind == KindIPv4
		if len(l4) < ICMPHdrLen || (p.InnerProto == ProtoICMP) != is4 {
			return
		}
		if is4 && icmpEcho4(l4[0]) || !is4 && icmpEcho6(l4[0]) {
			p.InnerHasICMP = true
			p.InnerICMPType = l4[0]
			p.InnerICMPID = binary.BigEndian.Uint16(l4[4:6])
		}
	}
}

// innerIPv4 reads a quoted IPv4 header and returns the bytes after it; later reports a
// non-first fragment, whose bytes are not an L4 header.
func (p *Parsed) innerIPv4(q []byte) (l4 []byte, later, ok bool) {
	if len(q) < IPv4MinLen || q[0]>>4 != 4 {
		return nil, false, false
	}
	ihl := int(q[0]&0x0f) * 4
	if ihl < IPv4MinLen || ihl > len(q) {
		return nil, false, false
	}
	p.InnerSrc = netip.AddrFrom4([4]byte(q[12:16]))
	p.InnerDst = netip.AddrFrom4([4]byte(q[16:20]))
	p.InnerProto = q[9]
	return q[ihl:], binary.BigEndian.Uint16(q[6:8])&0x1fff != 0, true
}

// innerIPv6 reads a quoted IPv6 header and its extension headers and returns the bytes after
// them, like innerIPv4.
func (p *Parsed) innerIPv6(q []byte) (l4 []byte, later, ok bool) {
	if len(q) < IPv6HdrLen || q[0]>>4 != 6 {
		return nil, false, false
	}
	var x extWalk
	if !x.walk(q, q[6]) {
		return nil, false, false
	}
	p.InnerSrc = netip.AddrFrom16([16]byte(q[8:24]))
	p.InnerDst = netip.AddrFrom16([16]byte(q[24:40]))
	p.InnerProto = x.proto
	return q[x.off:], x.later, true
}
