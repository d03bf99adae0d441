package probe

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/hypervisor"
)

// Kinds of crafted packets.
const (
	CraftUDP       = "udp"       // a UDP datagram
	CraftSYN       = "syn"       // a TCP SYN
	CraftSYNACK    = "syn-ack"   // a TCP SYN-ACK that answers no SYN: a forged reply
	CraftFragments = "fragments" // a UDP datagram in two IPv4 fragments
	CraftGRE       = "gre"       // IP protocol 47 carrying a token
	CraftSCTP      = "sctp"      // IP protocol 132: an SCTP INIT
)

// CraftKinds lists the kinds, for help texts and validation.
func CraftKinds() []string {
	return []string{CraftUDP, CraftSYN, CraftSYNACK, CraftFragments, CraftGRE, CraftSCTP}
}

// Craft is a hand-made packet sent from inside an instance through a raw AF_PACKET socket, so
// that nothing in the sender's kernel fixes its addresses up: the fabric sees exactly these
// bytes, spoofed source and all.
type Craft struct {
	FromNS, FromIf string // the sender's namespace and interface (eth0)
	SrcMAC, DstMAC packet.MAC
	Src, Dst       netip.Addr
	Kind           string
	Port           uint16 // destination port of udp, syn, syn-ack, fragments and sctp
	// CaptureNS is where the packet should arrive: an AF_PACKET socket there watches every
	// interface for it.
	CaptureNS string
	Timeout   time.Duration
}

// CraftResult is what the capture saw.
type CraftResult struct {
	Arrived bool       // every frame sent was captured at the destination
	Frames  int        // how many of them were
	SeenSrc netip.Addr // the source address of the first one captured
	Detail  string
}

// BuildCrafted makes the Ethernet frames of c, with IPv4 identification id (which the capture
// matches on: a NAT on the way may change the addresses, never the identification).
func BuildCrafted(c *Craft, id uint16, token []byte) ([][]byte, error) {
	if !c.Src.Is4() || !c.Dst.Is4() {
		return nil, fmt.Errorf("crafted packets are IPv4: source %s, destination %s", c.Src, c.Dst)
	}
	sport := uint16(40000 + id%20000)
	var proto uint8
	var l4 []byte
	switch c.Kind {
	case CraftUDP, CraftFragments:
		proto = packet.ProtoUDP
		l4 = make([]byte, 8+2*len(token))
		binary.BigEndian.PutUint16(l4[0:], sport)
		binary.BigEndian.PutUint16(l4[2:], c.Port)
		binary.BigEndian.PutUint16(l4[4:], uint16(len(l4)))
		copy(l4[8:], token)
		copy(l4[8+len(token):], token)
		binary.BigEndian.PutUint16(l4[6:], l4Checksum(c.Src, c.Dst, proto, l4))
	case CraftSYN, CraftSYNACK:
		proto = packet.ProtoTCP
		l4 = make([]byte, 20)
		binary.BigEndian.PutUint16(l4[0:], sport)
		binary.BigEndian.PutUint16(l4[2:], c.Port)
		binary.BigEndian.PutUint32(l4[4:], binary.BigEndian.Uint32(token))
		l4[12] = 5 << 4
		l4[13] = 0x02 // SYN
		if c.Kind == CraftSYNACK {
			binary.BigEndian.PutUint32(l4[8:], binary.BigEndian.Uint32(token[4:]))
			l4[13] = 0x12 // SYN, ACK
		}
		binary.BigEndian.PutUint16(l4[14:], 64240)
		binary.BigEndian.PutUint16(l4[16:], l4Checksum(c.Src, c.Dst, proto, l4))
	case CraftGRE:
		proto = 47
		l4 = make([]byte, 4+len(token))
		binary.BigEndian.PutUint16(l4[2:], 0x0800)
		copy(l4[4:], token)
	case CraftSCTP:
		proto = 132
		l4 = make([]byte, 12+20)
		binary.BigEndian.PutUint16(l4[0:], sport)
		binary.BigEndian.PutUint16(l4[2:], c.Port)
		ch := l4[12:]
		ch[0] = 1 // INIT
		binary.BigEndian.PutUint16(ch[2:], 20)
		copy(ch[4:8], token) // initiate tag
		binary.BigEndian.PutUint32(ch[8:], 65535)
		binary.BigEndian.PutUint16(ch[12:], 1)
		binary.BigEndian.PutUint16(ch[14:], 1)
		copy(ch[16:20], token[4:])
		// SCTP's checksum is CRC32c, stored little-endian (RFC 9260 appendix A).
		binary.LittleEndian.PutUint32(l4[8:], crc32.Checksum(l4, crc32.MakeTable(crc32.Castagnoli)))
	default:
		return nil, fmt.Errorf("crafted packet %q: want one of %v", c.Kind, CraftKinds())
	}
	if c.Kind != CraftFragments {
		return [][]byte{ipv4Frame(c, id, proto, 0, false, l4)}, nil
	}
	// The first fragment carries the UDP header and a multiple of 8 bytes; the second the rest.
	cut := 8 + len(token)/8*8
	return [][]byte{ipv4Frame(c, id, proto, 0, true, l4[:cut]), ipv4Frame(c, id, proto, cut/8, false, l4[cut:])}, nil
}

func ipv4Frame(c *Craft, id uint16, proto uint8, offset8 int, more bool, payload []byte) []byte {
	f := make([]byte, packet.EthHdrLen+20+len(payload))
	copy(f[0:6], c.DstMAC[:])
	copy(f[6:12], c.SrcMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[packet.EthHdrLen:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(ip[4:], id)
	ff := uint16(offset8)
	if more {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(ip[6:], ff)
	ip[8] = 64
	ip[9] = proto
	s, d := c.Src.As4(), c.Dst.As4()
	copy(ip[12:16], s[:])
	copy(ip[16:20], d[:])
	binary.BigEndian.PutUint16(ip[10:], packet.Checksum(ip[:20], 0))
	copy(ip[20:], payload)
	return f
}

// l4Checksum is the TCP or UDP checksum of seg (its checksum field zero) with the IPv4
// pseudo-header.
func l4Checksum(src, dst netip.Addr, proto uint8, seg []byte) uint16 {
	s, d := src.As4(), dst.As4()
	sum := uint32(binary.BigEndian.Uint16(s[0:])) + uint32(binary.BigEndian.Uint16(s[2:])) +
		uint32(binary.BigEndian.Uint16(d[0:])) + uint32(binary.BigEndian.Uint16(d[2:])) +
		uint32(proto) + uint32(len(seg))
	c := packet.Checksum(seg, sum)
	if c == 0 && proto == packet.ProtoUDP {
		c = 0xffff // 0 means "no checksum" in UDP
	}
	return c
}

// Send captures at the destination, sends c's frames from the sender's interface and reports
// whether all of them arrived within the timeout.
func Send(c Craft) (CraftResult, error) {
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	var idb [2]byte
	token := make([]byte, 16)
	rand.Read(idb[:])
	rand.Read(token)
	id := binary.BigEndian.Uint16(idb[:]) | 1 // never 0, which kernels use for DF packets
	frames, err := BuildCrafted(&c, id, token)
	if err != nil {
		return CraftResult{}, err
	}
	var capFD int
	err = hypervisor.RunIn(c.CaptureNS, func() error {
		var err error
		capFD, err = syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, int(htons(syscall.ETH_P_ALL)))
		return err
	})
	if err != nil {
		return CraftResult{}, fmt.Errorf("capture socket in %s: %w", c.CaptureNS, err)
	}
	defer syscall.Close(capFD)
	tv := syscall.NsecToTimeval(int64(50 * time.Millisecond))
	syscall.SetsockoptTimeval(capFD, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	err = hypervisor.RunIn(c.FromNS, func() error {
		ifc, err := net.InterfaceByName(c.FromIf)
		if err != nil {
			return err
		}
		fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, 0)
		if err != nil {
			return err
		}
		defer syscall.Close(fd)
		to := &syscall.SockaddrLinklayer{Ifindex: ifc.Index, Halen: 6}
		copy(to.Addr[:], c.DstMAC[:])
		for _, f := range frames {
			if err := syscall.Sendto(fd, f, 0, to); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return CraftResult{}, fmt.Errorf("send from %s in %s: %w", c.FromIf, c.FromNS, err)
	}
	res := CraftResult{}
	seen := map[uint16]bool{} // fragment offsets captured
	buf := make([]byte, 65536)
	deadline := time.Now().Add(c.Timeout)
	for time.Now().Before(deadline) && len(seen) < len(frames) {
		n, from, err := syscall.Recvfrom(capFD, buf, 0)
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
				continue
			}
			return res, fmt.Errorf("capture in %s: %w", c.CaptureNS, err)
		}
		if ll, ok := from.(*syscall.SockaddrLinklayer); ok && ll.Pkttype == syscall.PACKET_OUTGOING {
			continue
		}
		src, off, ok := matchFrame(buf[:n], id, frames[0][packet.EthHdrLen+9])
		if !ok || seen[off] {
			continue
		}
		if !res.SeenSrc.IsValid() {
			res.SeenSrc = src
		}
		seen[off] = true
	}
	res.Frames = len(seen)
	res.Arrived = res.Frames == len(frames)
	switch {
	case res.Arrived:
		res.Detail = fmt.Sprintf("arrived from %s", res.SeenSrc)
	case res.Frames > 0:
		res.Detail = fmt.Sprintf("%d of %d frames arrived (from %s)", res.Frames, len(frames), res.SeenSrc)
	default:
		res.Detail = fmt.Sprintf("nothing arrived within %s", c.Timeout)
	}
	return res, nil
}

// matchFrame reports whether an Ethernet frame is an IPv4 packet with identification id and
// protocol proto, with its source address and fragment offset.
func matchFrame(f []byte, id uint16, proto uint8) (netip.Addr, uint16, bool) {
	if len(f) < packet.EthHdrLen+20 || binary.BigEndian.Uint16(f[12:]) != 0x0800 {
		return netip.Addr{}, 0, false
	}
	ip := f[packet.EthHdrLen:]
	if ip[0]>>4 != 4 || binary.BigEndian.Uint16(ip[4:]) != id || ip[9] != proto {
		return netip.Addr{}, 0, false
	}
	return netip.AddrFrom4([4]byte(ip[12:16])), binary.BigEndian.Uint16(ip[6:]) & 0x1fff, true
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
