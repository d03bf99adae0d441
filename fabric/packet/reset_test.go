package packet

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TestBuildTCPReset checks the RST a NAT gateway sends for a segment of an expired connection,
// parsed back by gopacket with its checksums verified: the sequence number is the segment's
// ACK when it has one, otherwise a RST|ACK acknowledges the segment.
func TestBuildTCPReset(t *testing.T) {
	cases := []struct {
		name             string
		ack, syn, fin    bool
		payload          int
		wantSeq, wantAck uint32
		wantACKFlag      bool
	}{
		{name: "data with ACK", ack: true, payload: 100, wantSeq: 7777},
		{name: "SYN without ACK", syn: true, wantAck: 1001, wantACKFlag: true},
		{name: "FIN and data without ACK", fin: true, payload: 10, wantAck: 1011, wantACKFlag: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ip := ip4(ipA, ipB, layers.IPProtocolTCP)
			tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, Seq: 1000, Ack: 7777, ACK: c.ack, SYN: c.syn, FIN: c.fin, Window: 500}
			_ = tcp.SetNetworkLayerForChecksum(ip)
			frame := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, tcp, payload(c.payload))
			var p Parsed
			p.Decode(frame)
			dst := make([]byte, 128)
			n := BuildTCPReset(dst, frame, &p, macRtr)
			if n != TCPResetLen {
				t.Fatalf("BuildTCPReset = %d, want %d", n, TCPResetLen)
			}
			pk := gopacket.NewPacket(dst[:n], layers.LayerTypeEthernet, gopacket.Default)
			e, _ := pk.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			i4, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			r, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if e == nil || i4 == nil || r == nil {
				t.Fatalf("not Ethernet/IPv4/TCP: %v", pk)
			}
			if e.DstMAC.String() != hw(macA).String() || e.SrcMAC.String() != hw(macRtr).String() {
				t.Errorf("MACs %v <- %v", e.DstMAC, e.SrcMAC)
			}
			if !i4.SrcIP.Equal(nip(ipB)) || !i4.DstIP.Equal(nip(ipA)) || r.SrcPort != 443 || r.DstPort != 40000 {
				t.Errorf("addresses %v:%d -> %v:%d, want the segment's reversed", i4.SrcIP, r.SrcPort, i4.DstIP, r.DstPort)
			}
			if !r.RST || r.ACK != c.wantACKFlag || r.Seq != c.wantSeq || r.Ack != c.wantAck {
				t.Errorf("RST=%v ACK=%v seq=%d ack=%d, want ACK=%v seq=%d ack=%d", r.RST, r.ACK, r.Seq, r.Ack, c.wantACKFlag, c.wantSeq, c.wantAck)
			}
			if Checksum(dst[EthHdrLen:EthHdrLen+IPv4MinLen], 0) != 0 {
				t.Error("IPv4 header checksum is wrong")
			}
			// Re-serialising with computed checksums gives the same bytes if ours was right.
			want := r.Checksum
			_ = r.SetNetworkLayerForChecksum(i4)
			again := ser(t, e, i4, r)
			var q Parsed
			q.Decode(again)
			if got := uint16(again[q.L4Off+16])<<8 | uint16(again[q.L4Off+17]); got != want {
				t.Errorf("TCP checksum %#04x, want %#04x", want, got)
			}
		})
	}
	// What gets no RST: a RST, UDP, a frame too short for its header.
	var p Parsed
	ip := ip4(ipA, ipB, layers.IPProtocolTCP)
	tcp := &layers.TCP{SrcPort: 1, DstPort: 2, RST: true}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	frame := ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), ip, tcp)
	p.Decode(frame)
	if n := BuildTCPReset(make([]byte, 128), frame, &p, macRtr); n != 0 {
		t.Errorf("a RST was answered with a RST (%d bytes)", n)
	}
	u := ip4(ipA, ipB, layers.IPProtocolUDP)
	frame = ser(t, eth(macRtr, macA, layers.EthernetTypeIPv4), u, udp(1, 2, u))
	p.Decode(frame)
	if n := BuildTCPReset(make([]byte, 128), frame, &p, macRtr); n != 0 {
		t.Errorf("UDP answered with a RST (%d bytes)", n)
	}
	if n := BuildTCPReset(make([]byte, 10), frame, &p, macRtr); n != 0 {
		t.Errorf("wrote %d bytes into a 10-byte buffer", n)
	}
}
