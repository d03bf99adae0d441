package packet

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func frameNamed(t *testing.T, name string) []byte {
	t.Helper()
	for _, c := range decodeCases(t) {
		if c.name == name {
			return c.frame
		}
	}
	t.Fatalf("no test frame %q", name)
	return nil
}

func TestBuildARPReply(t *testing.T) {
	var req Parsed
	req.Decode(frameNamed(t, "arp request"))
	buf := make([]byte, 64)
	n := BuildARPReply(buf, &req, macB)
	if n != ARPFrameLen {
		t.Fatalf("BuildARPReply = %d, want %d", n, ARPFrameLen)
	}
	var got Parsed
	got.Decode(buf[:n])
	want := Parsed{Kind: KindARP, DstMAC: macA, SrcMAC: macB, EtherType: EtherTypeARP, ARPOp: ARPReply,
		ARPSenderMAC: macB, ARPSenderIP: ipRtr, ARPTargetMAC: macA, ARPTargetIP: ipA}
	if d := diffParsed(got, want); d != "" {
		t.Errorf("reply decodes as:%s", d)
	}
	// And gopacket reads the same reply.
	pkt := gopacket.NewPacket(buf[:n], layers.LayerTypeEthernet, gopacket.Default)
	arp, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
	if !ok || pkt.ErrorLayer() != nil {
		t.Fatalf("gopacket cannot read the reply: %v", pkt)
	}
	if arp.Operation != layers.ARPReply || !bytes.Equal(arp.SourceHwAddress, macB[:]) ||
		!bytes.Equal(arp.SourceProtAddress, ipRtr.AsSlice()) || !bytes.Equal(arp.DstHwAddress, macA[:]) ||
		!bytes.Equal(arp.DstProtAddress, ipA.AsSlice()) {
		t.Errorf("gopacket reads %+v", arp)
	}
	if a := testing.AllocsPerRun(100, func() { BuildARPReply(buf, &req, macB) }); a != 0 {
		t.Errorf("BuildARPReply allocates %v times", a)
	}
}

func TestBuildARPReplyRefuses(t *testing.T) {
	var req Parsed
	req.Decode(frameNamed(t, "arp request"))
	reply := req
	reply.ARPOp = ARPReply
	var ip Parsed
	ip.Decode(frameNamed(t, "ipv4 udp"))
	for name, c := range map[string]struct {
		p   *Parsed
		len int
	}{
		"buffer one byte short": {&req, ARPFrameLen - 1},
		"an ARP reply":          {&reply, 64},
		"an IPv4 packet":        {&ip, 64},
	} {
		buf := bytes.Repeat([]byte{0xaa}, c.len)
		if n := BuildARPReply(buf, c.p, macB); n != 0 || !bytes.Equal(buf, bytes.Repeat([]byte{0xaa}, c.len)) {
			t.Errorf("%s: BuildARPReply = %d and wrote % x; want 0 and nothing", name, n, buf)
		}
	}
}

func TestSetMACs(t *testing.T) {
	f := append([]byte(nil), frameNamed(t, "ipv4 tcp syn")...)
	rest := append([]byte(nil), f[12:]...)
	SetMACs(f, macB, macRtr)
	var p Parsed
	p.Decode(f)
	if p.DstMAC != macB || p.SrcMAC != macRtr || !bytes.Equal(f[12:], rest) {
		t.Errorf("after SetMACs: dst %v src %v, rest changed: %v", p.DstMAC, p.SrcMAC, !bytes.Equal(f[12:], rest))
	}
	short := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	SetMACs(short, macB, macRtr)
	if !bytes.Equal(short, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}) {
		t.Errorf("SetMACs wrote into an 11-byte frame: % x", short)
	}
}

func TestBuildICMPFragNeeded(t *testing.T) {
	for _, name := range []string{"ipv4 tcp all flags", "ipv4 options", "ipv4 first fragment", "ipv4 gso super-frame", "ipv4 tcp header cut"} {
		t.Run(name, func(t *testing.T) {
			orig := frameNamed(t, name)
			var p Parsed
			p.Decode(orig)
			buf := make([]byte, 128)
			const mtu = 1400
			n := BuildICMPFragNeeded(buf, orig, &p, macRtr, ipRtr, mtu)
			quote := min(p.IPHdrLen+8, p.TotalLen)
			if want := EthHdrLen + IPv4MinLen + ICMPHdrLen + quote; n != want {
				t.Fatalf("BuildICMPFragNeeded = %d, want %d", n, want)
			}
			f := buf[:n]
			var got Parsed
			got.Decode(f)
			want := Parsed{Kind: KindIPv4, DstMAC: p.SrcMAC, SrcMAC: macRtr, EtherType: EtherTypeIPv4,
				Src: ipRtr, Dst: p.Src, Proto: ProtoICMP, TTL: 64, IPHdrLen: 20, L4Off: 34, TotalLen: n - EthHdrLen,
				HasICMP: true, ICMPType: 3, ICMPCode: 4,
				HasInner: true, InnerSrc: p.Src, InnerDst: p.Dst, InnerProto: p.Proto,
				// The quote's first 4 bytes after the IP header are read as ports whether or
				// not the original's TCP header was whole: they are what the sender wrote.
				InnerHasPorts: true,
				InnerSrcPort:  binary.BigEndian.Uint16(orig[p.L4Off:]), InnerDstPort: binary.BigEndian.Uint16(orig[p.L4Off+2:])}
			if d := diffParsed(got, want); d != "" {
				t.Errorf("the error decodes as:%s", d)
			}
			if c := Checksum(f[EthHdrLen:EthHdrLen+20], 0); c != 0 {
				t.Errorf("IP header checksum does not verify (residue %#04x)", c)
			}
			if c := Checksum(f[34:], 0); c != 0 {
				t.Errorf("ICMP checksum does not verify (residue %#04x)", c)
			}
			pkt := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
			icmp, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if !ok || pkt.ErrorLayer() != nil {
				t.Fatalf("gopacket cannot read the error: %v", pkt)
			}
			if icmp.TypeCode != layers.CreateICMPv4TypeCode(3, 4) || icmp.Id != 0 || icmp.Seq != mtu {
				t.Errorf("gopacket reads type/code %v, unused %d, next-hop MTU %d", icmp.TypeCode, icmp.Id, icmp.Seq)
			}
			if !bytes.Equal(icmp.Payload, orig[EthHdrLen:EthHdrLen+quote]) {
				t.Errorf("quote = % x, want % x", icmp.Payload, orig[EthHdrLen:EthHdrLen+quote])
			}
			if a := testing.AllocsPerRun(100, func() { BuildICMPFragNeeded(buf, orig, &p, macRtr, ipRtr, mtu) }); a != 0 {
				t.Errorf("BuildICMPFragNeeded allocates %v times", a)
			}
		})
	}
}

func TestBuildICMPFragNeededRefuses(t *testing.T) {
	tcp := frameNamed(t, "ipv4 tcp syn")
	var ok Parsed
	ok.Decode(tcp)
	with := func(frame []byte, fn func(p *Parsed)) Parsed {
		var p Parsed
		p.Decode(frame)
		if fn != nil {
			fn(&p)
		}
		return p
	}
	for _, c := range []struct {
		name   string
		p      Parsed
		orig   []byte
		rtr    netip.Addr
		mtu    int
		bufLen int
	}{
		{"ipv6 packet", with(frameNamed(t, "ipv6 tcp"), nil), frameNamed(t, "ipv6 tcp"), ipRtr, 1400, 128},
		{"non-first fragment", with(frameNamed(t, "ipv4 last fragment"), nil), frameNamed(t, "ipv4 last fragment"), ipRtr, 1400, 128},
		{"an icmp error", with(frameNamed(t, "icmp frag needed quoting tcp"), nil), frameNamed(t, "icmp frag needed quoting tcp"), ipRtr, 1400, 128},
		{"to broadcast", with(tcp, func(p *Parsed) { p.Dst = netip.MustParseAddr("255.255.255.255") }), tcp, ipRtr, 1400, 128},
		{"to multicast", with(tcp, func(p *Parsed) { p.Dst = netip.MustParseAddr("239.1.1.1") }), tcp, ipRtr, 1400, 128},
		{"from 0.0.0.0", with(tcp, func(p *Parsed) { p.Src = netip.IPv4Unspecified() }), tcp, ipRtr, 1400, 128},
		{"from loopback", with(tcp, func(p *Parsed) { p.Src = netip.MustParseAddr("127.0.0.1") }), tcp, ipRtr, 1400, 128},
		{"from a group MAC", with(tcp, func(p *Parsed) { p.SrcMAC[0] |= 1 }), tcp, ipRtr, 1400, 128},
		{"ipv6 router address", ok, tcp, ip6Rtr, 1400, 128},
		{"mtu 67", ok, tcp, ipRtr, 67, 128},
		{"mtu 65536", ok, tcp, ipRtr, 65536, 128},
		{"buffer one byte short", ok, tcp, ipRtr, 1400, EthHdrLen + 20 + 8 + 28 - 1},
		{"orig shorter than parsed", ok, tcp[:40], ipRtr, 1400, 128},
	} {
		buf := bytes.Repeat([]byte{0xaa}, c.bufLen)
		if n := BuildICMPFragNeeded(buf, c.orig, &c.p, macRtr, c.rtr, c.mtu); n != 0 || !bytes.Equal(buf, bytes.Repeat([]byte{0xaa}, c.bufLen)) {
			t.Errorf("%s: BuildICMPFragNeeded = %d; want 0 and nothing written", c.name, n)
		}
	}
	// The limits themselves are accepted.
	buf := make([]byte, 128)
	for _, mtu := range []int{68, 65535} {
		if n := BuildICMPFragNeeded(buf, tcp, &ok, macRtr, ipRtr, mtu); n == 0 {
			t.Errorf("mtu %d refused", mtu)
		}
	}
}

// naiveChecksum is RFC 1071 done the textbook way, 16 bits at a time with end-around carry.
func naiveChecksum(b []byte, initial uint32) uint16 {
	s := initial&0xffff + initial>>16
	for i := 0; i < len(b); i += 2 {
		w := uint32(b[i]) << 8
		if i+1 < len(b) {
			w |= uint32(b[i+1])
		}
		s += w
		s = s&0xffff + s>>16
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func TestChecksum(t *testing.T) {
	// RFC 1071 section 3's example: the sum of these words is 0xddf2.
	if got := Checksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, 0); got != ^uint16(0xddf2) {
		t.Errorf("RFC 1071 example: %#04x, want %#04x", got, ^uint16(0xddf2))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		b := make([]byte, r.IntN(1600))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if i%7 == 0 {
			for j := range b {
				b[j] = 0xff // the carries pile up
			}
		}
		initial := r.Uint32()
		if i%3 == 0 {
			initial = 0
		}
		if got, want := Checksum(b, initial), naiveChecksum(b, initial); got != want {
			t.Fatalf("len %d initial %#x: Checksum = %#04x, naive = %#04x", len(b), initial, got, want)
		}
	}
	big := bytes.Repeat([]byte{0xff, 0xfe}, 40000)
	if got, want := Checksum(big, 0xffffffff), naiveChecksum(big, 0xffffffff); got != want {
		t.Fatalf("80 KB of carries: Checksum = %#04x, naive = %#04x", got, want)
	}
}

// TestChecksumPseudoHeader: with a pseudo-header sum as initial, the TCP and UDP segments
// that gopacket checksummed verify to 0.
func TestChecksumPseudoHeader(t *testing.T) {
	for _, name := range []string{"ipv4 tcp syn", "ipv4 udp", "ipv6 tcp", "ipv6 extension headers"} {
		f := frameNamed(t, name)
		var p Parsed
		p.Decode(f)
		seg := f[p.L4Off : EthHdrLen+p.TotalLen]
		var ph uint32
		for _, a := range []netip.Addr{p.Src, p.Dst} {
			s := a.AsSlice()
			for i := 0; i < len(s); i += 2 {
				ph += uint32(binary.BigEndian.Uint16(s[i:]))
			}
		}
		ph += uint32(p.Proto) + uint32(len(seg))
		if c := Checksum(seg, ph); c != 0 {
			t.Errorf("%s: L4 checksum with pseudo-header does not verify (residue %#04x)", name, c)
		}
	}
}
