package probe

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"testing"

	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCraftedFramesDecode: every kind of crafted frame decodes with the fabric's own parser as
// what it claims to be — addresses, protocol, ports, flags, fragments — with correct checksums.
func TestCraftedFramesDecode(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.1.99"), netip.MustParseAddr("10.0.1.20")
	token := []byte("0123456789abcdef")
	cases := []struct {
		kind     string
		proto    uint8
		frames   int
		ports    bool
		tcpFlags uint8
	}{
		{CraftUDP, packet.ProtoUDP, 1, true, 0},
		{CraftSYN, packet.ProtoTCP, 1, true, packet.TCPSyn},
		{CraftSYNACK, packet.ProtoTCP, 1, true, packet.TCPSyn | packet.TCPAck},
		{CraftFragments, packet.ProtoUDP, 2, true, 0},
		{CraftGRE, 47, 1, false, 0},
		{CraftSCTP, 132, 1, false, 0},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			cr := &Craft{Kind: c.kind, Src: src, Dst: dst, Port: 22,
				SrcMAC: packet.MAC{2, 0, 0, 0, 0, 1}, DstMAC: packet.MAC{2, 0, 0, 0, 0, 2}}
			frames, err := BuildCrafted(cr, 0x1234, token)
			require.NoError(t, err)
			require.Len(t, frames, c.frames)
			var l4 []byte
			for i, f := range frames {
				var p packet.Parsed
				p.Decode(f)
				require.Equal(t, packet.KindIPv4, p.Kind, "frame %d", i)
				assert.Equal(t, cr.SrcMAC, p.SrcMAC)
				assert.Equal(t, src, p.Src)
				assert.Equal(t, dst, p.Dst)
				assert.Equal(t, c.proto, p.Proto)
				assert.Equal(t, c.frames > 1, p.Fragment)
				assert.Equal(t, c.frames > 1 && i == 0, p.FirstFragment)
				assert.Equal(t, uint16(0), packet.Checksum(f[packet.EthHdrLen:p.L4Off], 0), "IPv4 header checksum")
				if i == 0 {
					assert.Equal(t, c.ports, p.HasPorts)
					if c.ports {
						assert.Equal(t, uint16(22), p.DstPort)
						assert.Equal(t, c.tcpFlags, p.TCPFlags)
					}
				}
				s, off, ok := matchFrame(f, 0x1234, c.proto)
				assert.True(t, ok)
				assert.Equal(t, src, s)
				if i == 0 {
					assert.Zero(t, off)
				} else {
					assert.NotZero(t, off)
				}
				l4 = append(l4, f[p.L4Off:]...)
			}
			switch c.proto {
			case packet.ProtoUDP, packet.ProtoTCP:
				// The whole segment (both fragments) sums to zero with the pseudo-header.
				s, d := src.As4(), dst.As4()
				pseudo := uint32(binary.BigEndian.Uint16(s[0:])) + uint32(binary.BigEndian.Uint16(s[2:])) +
					uint32(binary.BigEndian.Uint16(d[0:])) + uint32(binary.BigEndian.Uint16(d[2:])) + uint32(c.proto) + uint32(len(l4))
				assert.Equal(t, uint16(0), packet.Checksum(l4, pseudo), "L4 checksum")
			case 132:
				got := binary.LittleEndian.Uint32(l4[8:])
				binary.LittleEndian.PutUint32(l4[8:], 0)
				assert.Equal(t, crc32.Checksum(l4, crc32.MakeTable(crc32.Castagnoli)), got, "SCTP CRC32c")
			}
		})
	}
	_, err := BuildCrafted(&Craft{Kind: "icmp", Src: src, Dst: dst}, 1, token)
	assert.ErrorContains(t, err, `crafted packet "icmp": want one of`)
	_, err = BuildCrafted(&Craft{Kind: CraftUDP, Src: netip.MustParseAddr("2001:db8::1"), Dst: dst}, 1, token)
	assert.ErrorContains(t, err, "IPv4")
}

// FuzzMatchFrame: the capture's matcher never panics on arbitrary frames and only matches
// IPv4 frames with the identification and protocol asked for.
func FuzzMatchFrame(f *testing.F) {
	fr, _ := BuildCrafted(&Craft{Kind: CraftUDP, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Port: 9}, 7, make([]byte, 16))
	f.Add(fr[0], uint16(7), uint8(17))
	f.Add([]byte{}, uint16(0), uint8(0))
	f.Add(make([]byte, 33), uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, id uint16, proto uint8) {
		_, _, ok := matchFrame(b, id, proto)
		if ok && (len(b) < 34 || b[12] != 8 || b[13] != 0 || b[14]>>4 != 4 || binary.BigEndian.Uint16(b[18:]) != id || b[23] != proto) {
			t.Fatalf("matched a frame that is not ours: % x", b)
		}
	})
}
