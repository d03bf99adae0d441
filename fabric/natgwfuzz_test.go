package fabric

import (
	"net/netip"
	"testing"

	"github.com/ec2sim/ec2sim/fabric/packet"
)

// FuzzNATGatewayDecide sends arbitrary headers through the NAT gateway fixture, from the
// private instance and from the internet, applying every verdict as the engine does: nothing
// panics, a delivered packet goes to a present ENI, a translation names a port, flow events
// stay within their array, and a packet from the internet reaches the inside only as the reply
// to a mapping (an inside host's packet was translated first).
func FuzzNATGatewayDecide(f *testing.F) {
	f.Add(true, uint8(6), uint16(40000), uint16(443), uint8(packet.TCPSyn), false, false, uint8(0), uint16(0), false, uint8(0), uint16(0))
	f.Add(false, uint8(6), uint16(443), uint16(1024), uint8(packet.TCPSyn|packet.TCPAck), false, false, uint8(0), uint16(0), false, uint8(0), uint16(0))
	f.Add(true, uint8(1), uint16(0), uint16(0), uint8(0), false, false, uint8(8), uint16(7), false, uint8(0), uint16(0))
	f.Add(false, uint8(1), uint16(0), uint16(0), uint8(0), false, false, uint8(3), uint16(0), true, uint8(17), uint16(2000))
	f.Add(true, uint8(17), uint16(5353), uint16(53), uint8(0), true, true, uint8(0), uint16(0), false, uint8(0), uint16(0))
	f.Add(true, uint8(47), uint16(0), uint16(0), uint8(0), true, false, uint8(0), uint16(0), false, uint8(0), uint16(0))
	f.Fuzz(func(t *testing.T, inside bool, proto uint8, sport, dport uint16, flags uint8, frag, first bool, icmpType uint8, icmpID uint16, inner bool, innerProto uint8, innerPort uint16) {
		st := natState(t, nil)
		tr := natTracking(st)
		var v Verdict
		var ev [MaxFlowEvents]FlowEvent
		remote, eip := netip.MustParseAddr(natInetA), netip.MustParseAddr(natEIP)
		for round := range 3 {
			var p *packet.Parsed
			in := uint32(2)
			if inside || round == 1 {
				p = tcpTo(st, 2, 0, natInetA, dport, true)
			} else {
				in = natInet
				p = &packet.Parsed{Kind: packet.KindIPv4, SrcMAC: packet.MAC(st.ENIs[natInet].Identity.MAC), DstMAC: packet.MAC(st.IGWMAC), Src: remote, Dst: eip}
			}
			p.Proto, p.Fragment, p.FirstFragment = proto, frag, frag && first
			p.HasPorts = (proto == 6 || proto == 17) && (!frag || first)
			if p.HasPorts {
				p.SrcPort, p.DstPort, p.TCPFlags = sport, dport, flags
			} else {
				p.SrcPort, p.DstPort = 0, 0
			}
			if proto == 1 {
				p.HasICMP, p.ICMPType, p.ICMPID = true, icmpType, icmpID
				if inner {
					p.HasInner, p.InnerProto, p.InnerSrc, p.InnerDst = true, innerProto, eip, remote
					if in == 2 {
						p.InnerSrc, p.InnerDst = remote, p.Src
					}
					p.InnerHasPorts, p.InnerSrcPort, p.InnerDstPort = innerProto == 6 || innerProto == 17, innerPort, innerPort
				}
			}
			tr.Now = int64(round + 1)
			Decide(p, in, st, tr, &v)
			if v.Action == Deliver {
				if int(v.Out) >= len(st.ENIs) || !st.ENIs[v.Out].Present {
					t.Fatalf("delivered to ENI %d", v.Out)
				}
				if in == natInet && v.Out == 2 && (!v.NAT.Via || v.NAT.Rewrite != natIn) {
					t.Fatalf("the internet reached the instance without the gateway's reverse translation: %+v", v.NAT)
				}
			}
			if n := FlowEvents(st, p, &v, &ev); n > MaxFlowEvents {
				t.Fatalf("%d flow events", n)
			}
			pathResult(st, &v)
			apply(tr, &v)
		}
	})
}
