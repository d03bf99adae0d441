package packet

import (
	"encoding/binary"
)

// TCPResetLen is the length of the frame BuildTCPReset writes: Ethernet, a 20-byte IPv4
// header and a 20-byte TCP header.
const TCPResetLen = EthHdrLen + IPv4MinLen + 20

// BuildTCPReset writes into dst the TCP RST that answers orig, decoded into p, on behalf of
// its destination: from p.Dst:p.DstPort to p.Src:p.SrcPort, to the sender's MAC from srcMAC.
// A NAT gateway sends it to an inside host that keeps using a connection whose mapping went
// idle. As RFC 9293 (3.10.7.1) has it for a segment that belongs to no connection: when the
// segment carries an ACK, the RST takes its sequence number from the ACK field; otherwise it
// is a RST|ACK with sequence 0 acknowledging the segment (its payload, plus one for SYN and for
// FIN). It returns the frame's length, or 0, writing nothing, when p is not a first (or only)
// IPv4 TCP fragment with its header in orig, is itself a RST, or dst is shorter than
// TCPResetLen.
func BuildTCPReset(dst []byte, orig []byte, p *Parsed, srcMAC MAC) int {
	if p.Kind != KindIPv4 || p.Proto != ProtoTCP || !p.HasPorts || p.TCPFlags&TCPRst != 0 || len(dst) < TCPResetLen {
		return 0
	}
	if len(orig) < p.L4Off+20 {
		return 0
	}
	tcp := orig[p.L4Off:]
	seq := binary.BigEndian.Uint32(tcp[4:8])
	ack := binary.BigEndian.Uint32(tcp[8:12])
	hdr := int(tcp[12]>>4) * 4
	b := dst[:TCPResetLen]
	putEth(b, p.SrcMAC, srcMAC, EtherTypeIPv4)
	ip := b[EthHdrLen : EthHdrLen+IPv4MinLen]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:4], IPv4MinLen+20)
	clear(ip[4:8])
	ip[6] = 0x40 // DF, as Linux sends its own RSTs
	ip[8], ip[9] = 64, ProtoTCP
	clear(ip[10:12])
	from, to := p.Dst.As4(), p.Src.As4()
	copy(ip[12:16], from[:])
	copy(ip[16:20], to[:])
	binary.BigEndian.PutUint16(ip[10:12], Checksum(ip, 0))
	t := b[EthHdrLen+IPv4MinLen:]
	binary.BigEndian.PutUint16(t[0:2], p.DstPort)
	binary.BigEndian.PutUint16(t[2:4], p.SrcPort)
	if p.TCPFlags&TCPAck != 0 {
		binary.BigEndian.PutUint32(t[4:8], ack)
		binary.BigEndian.PutUint32(t[8:12], 0)
		t[13] = TCPRst
	} else {
		// The segment's length: what follows the TCP header in the IP packet, plus SYN and FIN,
		// which each take a sequence number.
		n := p.TotalLen - p.IPHdrLen - hdr
		if n < 0 || hdr < 20 {
			n = 0
		}
		if p.TCPFlags&TCPSyn != 0 {
			n++
		}
		if p.TCPFlags&TCPFin != 0 {
			n++
		}
		binary.BigEndian.PutUint32(t[4:8], 0)
		binary.BigEndian.PutUint32(t[8:12], seq+uint32(n))
		t[13] = TCPRst | TCPAck
	}
	t[12] = 5 << 4
	clear(t[14:20]) // window 0, checksum, urgent pointer
	// The checksum covers the pseudo-header: addresses, protocol and TCP length.
	var ph uint32
	ph += uint32(binary.BigEndian.Uint16(from[0:2])) + uint32(binary.BigEndian.Uint16(from[2:4]))
	ph += uint32(binary.BigEndian.Uint16(to[0:2])) + uint32(binary.BigEndian.Uint16(to[2:4]))
	ph += ProtoTCP + 20
	binary.BigEndian.PutUint16(t[16:18], Checksum(t[:20], ph))
	return TCPResetLen
}
