package packet

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestDecode(t *testing.T) {
	cs := decodeCases(t)
	// One Parsed for every case, dirtied first by the richest frame there is, proves Decode
	// resets whatever it does not set.
	var dirty []byte
	for _, c := range cs {
		if c.name == "icmpv6 packet too big quoting udp" {
			dirty = c.frame
		}
	}
	if dirty == nil {
		t.Fatal("no dirtying frame")
	}
	var p Parsed
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			p.Decode(dirty)
			if !p.HasInner {
				t.Fatalf("dirtying frame decoded without its inner packet: %+v", p)
			}
			p.Decode(c.frame)
			if d := diffParsed(p, c.want); d != "" {
				t.Errorf("Decode:%s", d)
			}
		})
	}
}

// TestDecodeTruncated cuts every frame at every length: a prefix shorter than what the packet
// says it holds is unknown (with its MACs once they are there), a longer one decodes as the
// whole frame, and nothing panics.
func TestDecodeTruncated(t *testing.T) {
	for _, c := range decodeCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var p Parsed
			for n := range len(c.frame) + 1 {
				p.Decode(c.frame[:n])
				want := c.want
				switch {
				case n < EthHdrLen:
					want = Parsed{}
				case c.lenFromFrame && n >= c.want.L4Off:
					// The packet shrinks with the frame: a GSO frame's length is the frame's.
					want.TotalLen = n - EthHdrLen
					if n < c.want.L4Off+TCPMinLen {
						want.HasPorts, want.SrcPort, want.DstPort, want.TCPFlags = false, 0, 0, 0
					}
				case n < c.needed || c.lenFromFrame:
					want = Parsed{DstMAC: c.want.DstMAC, SrcMAC: c.want.SrcMAC, EtherType: c.want.EtherType}
				}
				if d := diffParsed(p, want); d != "" {
					t.Fatalf("frame cut to %d of %d bytes:%s", n, len(c.frame), d)
				}
			}
		})
	}
}

// TestDecodePadding: bytes after the IP packet are Ethernet padding, never headers.
func TestDecodePadding(t *testing.T) {
	for _, c := range decodeCases(t) {
		if c.want.Kind != KindIPv4 && c.want.Kind != KindIPv6 || c.lenFromFrame {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			f := append(append([]byte(nil), c.frame...), 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef)
			var p Parsed
			p.Decode(f)
			if d := diffParsed(p, c.want); d != "" {
				t.Errorf("Decode with trailing padding:%s", d)
			}
		})
	}
}

func TestDecodeAllocs(t *testing.T) {
	cs := decodeCases(t)
	var p Parsed
	allocs := testing.AllocsPerRun(100, func() {
		for _, c := range cs {
			p.Decode(c.frame)
		}
	})
	if allocs != 0 {
		t.Fatalf("Decode allocates %v times per round of %d frames; want 0", allocs, len(cs))
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindUnknown: "unknown", KindARP: "arp", KindIPv4: "ipv4",
		KindIPv6: "ipv6", KindOtherL2: "other-l2", Kind(200): "kind(200)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// TestICMPErrorTypes: exactly the error types quote a packet, in both families; the quote may
// hold as little as 4 bytes after the IP header and still give the ports.
func TestICMPErrorTypes(t *testing.T) {
	q4 := ipv4TCP(t)[:24]
	q6 := ipv6UDP(t)[:44]
	for typ := range 256 {
		ip := ip4(ipRtr, ipA, layers.IPProtocolICMPv4)
		f := ser(t, eth(macA, macRtr, layers.EthernetTypeIPv4), ip,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(uint8(typ), 0)}, gopacket.Payload(q4))
		var p Parsed
		p.Decode(f)
		isErr := typ == 3 || typ == 4 || typ == 5 || typ == 11 || typ == 12
		if !p.HasICMP || p.HasInner != isErr || isErr && (!p.InnerHasPorts || p.InnerSrcPort != 40000 || p.InnerDstPort != 443) {
			t.Errorf("ICMPv4 type %d: HasInner %v ports %v %d>%d; want inner %v", typ, p.HasInner,
				p.InnerHasPorts, p.InnerSrcPort, p.InnerDstPort, isErr)
		}

		ip6 := ip6(ip6Rtr, ip6A, layers.IPProtocolICMPv6)
		ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(uint8(typ), 0)}
		_ = ic.SetNetworkLayerForChecksum(ip6)
		f = ser(t, eth(macA, macRtr, layers.EthernetTypeIPv6), ip6, ic, gopacket.Payload(cat([]byte{0, 0, 0, 0}, q6)))
		p.Decode(f)
		isErr = typ >= 1 && typ <= 4
		if !p.HasICMP || p.HasInner != isErr || isErr && (!p.InnerHasPorts || p.InnerSrcPort != 5353 || p.InnerDstPort != 53) {
			t.Errorf("ICMPv6 type %d: HasInner %v ports %v %d>%d; want inner %v", typ, p.HasInner,
				p.InnerHasPorts, p.InnerSrcPort, p.InnerDstPort, isErr)
		}
	}
}
