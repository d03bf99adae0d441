package packet

import (
	"encoding/binary"
	"net/netip"
)

// Sizes of the frames the router builds.
const (
	ARPFrameLen = EthHdrLen + ARPLen
	// icmpErrTTL is the TTL of ICMP errors the router originates, Linux's default.
	icmpErrTTL = 64
)

// SetMACs rewrites the Ethernet addresses of frame, as the VPC router does for a packet it
// forwards. A frame shorter than the two addresses is left alone.
func SetMACs(frame []byte, dst, src MAC) {
	if len(frame) < 12 {
		return
	}
	copy(frame[0:6], dst[:])
	copy(frame[6:12], src[:])
}

// BuildARPReply writes into dst the Ethernet frame answering the ARP request req with
// answerMAC as the owner of req.ARPTargetIP, and returns its length (ARPFrameLen). The reply
// goes to the frame's source MAC, which the pipeline has checked, not to the sender MAC inside
// the ARP payload, which it has not. The frame is not padded to 60 bytes: TAP devices do not
// need it. It returns 0, writing nothing, when req is not an ARP request or dst is too short.
func BuildARPReply(dst []byte, req *Parsed, answerMAC MAC) int {
	if req.Kind != KindARP || req.ARPOp != ARPRequest || len(dst) < ARPFrameLen {
		return 0
	}
	b := dst[:ARPFrameLen]
	putEth(b, req.SrcMAC, answerMAC, EtherTypeARP)
	a := b[EthHdrLen:]
	binary.BigEndian.PutUint16(a[0:2], 1) // Ethernet
	binary.BigEndian.PutUint16(a[2:4], EtherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], ARPReply)
	copy(a[8:14], answerMAC[:])
	tip := req.ARPTargetIP.As4()
	copy(a[14:18], tip[:])
	copy(a[18:24], req.ARPSenderMAC[:])
	sip := req.ARPSenderIP.As4()
	copy(a[24:28], sip[:])
	return ARPFrameLen
}

// BuildICMPFragNeeded writes into dst the ICMPv4 "fragmentation needed" error (type 3 code 4)
// that tells the sender of orig, decoded into p, to send packets of at most mtu bytes. It comes
// from the router (routerMAC, routerIP) and quotes orig's IP header and the first 8 bytes after
// it, which hold the ports and, for TCP, the sequence number the sender's stack checks. It
// returns the frame's length, or 0, writing nothing, when no such error may be sent (RFC 1122
// 3.2.2, RFC 1812 4.3.2.7): p is not IPv4, a non-first fragment, an ICMP error itself, or from
// or to a broadcast, multicast, unspecified or loopback address; or when routerIP is not IPv4,
// mtu is outside 68-65535, orig is shorter than p says, or dst is too short.
func BuildICMPFragNeeded(dst []byte, orig []byte, p *Parsed, routerMAC MAC, routerIP netip.Addr, mtu int) int {
	if p.Kind != KindIPv4 || !routerIP.Is4() || mtu < 68 || mtu > 0xffff {
		return 0
	}
	if (p.Fragment && !p.FirstFragment) || (p.HasICMP && icmpError4(p.ICMPType)) {
		return 0
	}
	if !unicastV4(p.Src) || !unicastV4(p.Dst) || p.SrcMAC.IsMulticast() {
		return 0
	}
	quote := min(p.IPHdrLen+8, p.TotalLen)
	if len(orig) < EthHdrLen+quote {
		return 0
	}
	n := EthHdrLen + IPv4MinLen + ICMPHdrLen + quote
	if len(dst) < n {
		return 0
	}
	b := dst[:n]
	putEth(b, p.SrcMAC, routerMAC, EtherTypeIPv4)
	ip := b[EthHdrLen : EthHdrLen+IPv4MinLen]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:4], uint16(n-EthHdrLen))
	clear(ip[4:8]) // ID 0, no flags: the error is small enough never to be fragmented
	ip[8], ip[9] = icmpErrTTL, ProtoICMP
	clear(ip[10:12])
	src, to := routerIP.As4(), p.Src.As4()
	copy(ip[12:16], src[:])
	copy(ip[16:20], to[:])
	binary.BigEndian.PutUint16(ip[10:12], Checksum(ip, 0))
	icmp := b[EthHdrLen+IPv4MinLen:]
	icmp[0], icmp[1] = 3, 4
	clear(icmp[2:6])
	binary.BigEndian.PutUint16(icmp[6:8], uint16(mtu))
	copy(icmp[ICMPHdrLen:], orig[EthHdrLen:EthHdrLen+quote])
	binary.BigEndian.PutUint16(icmp[2:4], Checksum(icmp, 0))
	return n
}

// unicastV4 reports whether a may be the source or destination of a packet an ICMP error is
// sent about.
func unicastV4(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

func putEth(b []byte, dst, src MAC, etherType uint16) {
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	binary.BigEndian.PutUint16(b[12:14], etherType)
}

// Checksum returns the Internet checksum (RFC 1071) of b, ready to store: the complement of
// the one's-complement sum of b's 16-bit big-endian words, an odd last byte padded with zero.
// initial is added to the sum, so that a pseudo-header's sum (its 16-bit words added up in a
// uint32) can be included; pass 0 otherwise. A buffer whose checksum field is filled in
// correctly sums to 0.
func Checksum(b []byte, initial uint32) uint16 {
	// Adding 32-bit words into 64 bits and folding at the end gives the same one's-complement
	// sum (RFC 1071 2(B)) in half the additions; 2^32 words cannot overflow the accumulator.
	s := uint64(initial)
	for len(b) >= 4 {
		s += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}
