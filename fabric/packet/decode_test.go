package packet

import (
	"testing"
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
