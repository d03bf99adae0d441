package packet

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func benchDecode(b *testing.B, frame []byte, want Kind) {
	var p Parsed
	p.Decode(frame)
	if p.Kind != want {
		b.Fatalf("frame decodes as %v, want %v", p.Kind, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Decode(frame)
	}
}

func BenchmarkDecodeTCPv4(b *testing.B) {
	ip := ip4(ipA, ipB, layers.IPProtocolTCP)
	benchDecode(b, ser(b, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, tcpSYN(40000, 443, ip), payload(1400)), KindIPv4)
}

func BenchmarkDecodeUDPv6(b *testing.B) {
	ip := ip6(ip6A, ip6B, layers.IPProtocolUDP)
	benchDecode(b, ser(b, eth(macRtr, macA, layers.EthernetTypeIPv6), ip, udp(5353, 53, ip), payload(512)), KindIPv6)
}

func BenchmarkDecodeARP(b *testing.B) {
	f := ser(b, eth(MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, macA, layers.EthernetTypeARP),
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: ARPRequest,
			SourceHwAddress: hw(macA), SourceProtAddress: nip(ipA),
			DstHwAddress: hw(MAC{}), DstProtAddress: nip(ipRtr)})
	benchDecode(b, f, KindARP)
}

func BenchmarkDecodeICMPv4Error(b *testing.B) {
	ip := ip4(ipRtr, ipA, layers.IPProtocolICMPv4)
	f := ser(b, eth(macA, macRtr, layers.EthernetTypeIPv4), ip,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 4), Seq: 1400}, gopacket.Payload(ipv4TCP(b)[:28]))
	benchDecode(b, f, KindIPv4)
}

// BenchmarkGopacketTCPv4 is the reference: gopacket's DecodingLayerParser, its fastest mode,
// on the same frame as BenchmarkDecodeTCPv4.
func BenchmarkGopacketTCPv4(b *testing.B) {
	ip := ip4(ipA, ipB, layers.IPProtocolTCP)
	f := ser(b, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, tcpSYN(40000, 443, ip), payload(1400))
	var e layers.Ethernet
	var i4 layers.IPv4
	var t layers.TCP
	var pl gopacket.Payload
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &e, &i4, &t, &pl)
	parser.IgnoreUnsupported = true // port 443 would ask for a TLS decoder
	decoded := make([]gopacket.LayerType, 0, 4)
	b.ReportAllocs()
	for b.Loop() {
		if err := parser.DecodeLayers(f, &decoded); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildARPReply(b *testing.B) {
	var req Parsed
	for _, c := range decodeCases(b) {
		if c.name == "arp request" {
			req.Decode(c.frame)
		}
	}
	buf := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		if BuildARPReply(buf, &req, macB) == 0 {
			b.Fatal("no reply")
		}
	}
}

func BenchmarkBuildICMPFragNeeded(b *testing.B) {
	ip := ip4(ipA, ipB, layers.IPProtocolTCP)
	orig := ser(b, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, tcpSYN(40000, 443, ip), payload(8000))
	var p Parsed
	p.Decode(orig)
	buf := make([]byte, 128)
	b.ReportAllocs()
	for b.Loop() {
		if BuildICMPFragNeeded(buf, orig, &p, macRtr, ipRtr, 1500) == 0 {
			b.Fatal("no error built")
		}
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	buf := []byte(payload(1500))
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		Checksum(buf, 0)
	}
}
