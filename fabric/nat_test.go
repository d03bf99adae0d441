package fabric

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ec2sim/ec2sim/fabric/packet"
)

// natFrame serialises an IPv4 packet of protocol proto from src to dst with correct checksums.
func natFrame(t *testing.T, proto layers.IPProtocol, src, dst netip.Addr, payload []byte, udpNoCsum bool) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), Flags: layers.IPv4DontFragment}
	var l4 gopacket.SerializableLayer
	switch proto {
	case layers.IPProtocolTCP:
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 7, ACK: true, Ack: 9, Window: 512}
		tcp.SetNetworkLayerForChecksum(ip)
		l4 = tcp
	case layers.IPProtocolUDP:
		udp := &layers.UDP{SrcPort: 40000, DstPort: 53}
		udp.SetNetworkLayerForChecksum(ip)
		l4 = udp
	default:
		l4 = &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 5, Seq: 1}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, l4, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	b := append([]byte(nil), buf.Bytes()...)
	if udpNoCsum {
		binary.BigEndian.PutUint16(b[packet.EthHdrLen+20+6:], 0)
	}
	return b
}

func TestRewriteMatchesRecomputedChecksums(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	addr := func() netip.Addr {
		return netip.AddrFrom4([4]byte{byte(r.Intn(256)), byte(r.Intn(256)), byte(r.Intn(256)), byte(r.Intn(256))})
	}
	for i := 0; i < 3000; i++ {
		proto := []layers.IPProtocol{layers.IPProtocolTCP, layers.IPProtocolUDP, layers.IPProtocolICMPv4}[i%3]
		src, dst, to := addr(), addr(), addr()
		payload := make([]byte, r.Intn(200))
		r.Read(payload)
		f := natFrame(t, proto, src, dst, payload, false)
		var p packet.Parsed
		p.Decode(f)
		rewriteSrc := i%2 == 0
		if !rewriteIPv4(f, false, &p, rewriteSrc, to) {
			t.Fatal("rewrite refused")
		}
		ns, nd := to, dst
		if !rewriteSrc {
			ns, nd = src, to
		}
		want := natFrame(t, proto, ns, nd, payload, false)
		if !bytes.Equal(f, want) {
			t.Fatalf("case %d (%v, src=%v): rewritten frame differs from one built with the new address\n got % x\nwant % x", i, proto, rewriteSrc, f, want)
		}
		if p.Src != ns || p.Dst != nd {
			t.Fatal("parsed view not updated")
		}
	}
}

// pseudoSum is the folded, uncomplemented pseudo-header sum a NEEDS_CSUM frame carries.
func pseudoSum(src, dst netip.Addr, proto uint8, l4len int) uint16 {
	s, d := src.As4(), dst.As4()
	sum := uint32(binary.BigEndian.Uint16(s[0:])) + uint32(binary.BigEndian.Uint16(s[2:])) +
		uint32(binary.BigEndian.Uint16(d[0:])) + uint32(binary.BigEndian.Uint16(d[2:])) + uint32(proto) + uint32(l4len)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

func TestRewritePartialChecksum(t *testing.T) {
	src, dst, to := netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("198.51.100.20")
	for _, proto := range []layers.IPProtocol{layers.IPProtocolTCP, layers.IPProtocolUDP} {
		f := natFrame(t, proto, src, dst, []byte("hello"), false)
		var p packet.Parsed
		p.Decode(f)
		ck := p.L4Off + 16
		if proto == layers.IPProtocolUDP {
			ck = p.L4Off + 6
		}
		l4len := len(f) - p.L4Off
		binary.BigEndian.PutUint16(f[ck:], pseudoSum(src, dst, uint8(proto), l4len))
		rewriteIPv4(f, true, &p, true, to)
		if got, want := binary.BigEndian.Uint16(f[ck:]), pseudoSum(to, dst, uint8(proto), l4len); got != want {
			t.Errorf("%v: partial sum %#x, want %#x", proto, got, want)
		}
	}
}

func TestRewriteUDPWithoutChecksum(t *testing.T) {
	f := natFrame(t, layers.IPProtocolUDP, netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("192.0.2.1"), []byte("x"), true)
	var p packet.Parsed
	p.Decode(f)
	rewriteIPv4(f, false, &p, true, netip.MustParseAddr("203.0.113.5"))
	if binary.BigEndian.Uint16(f[p.L4Off+6:]) != 0 {
		t.Error("a UDP datagram without a checksum got one")
	}
	if n := testing.AllocsPerRun(100, func() { rewriteIPv4(f, false, &p, true, netip.MustParseAddr("203.0.113.6")) }); n != 0 {
		t.Errorf("rewrite allocates %v", n)
	}
}
