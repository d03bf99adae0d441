package fabric

import (
	"net/netip"

	"github.com/ec2sim/ec2sim/fabric/packet"
)

// FlowEvent is what one decided packet means for the flow log of one ENI: the packet as that
// ENI saw it, the direction, and whether the ENI's security groups and its subnet's network ACL
// accepted it.
type FlowEvent struct {
	ENI      uint32
	Egress   bool
	Accept   bool
	Src, Dst netip.Addr
	// TrafficPath is AWS's traffic-path field for egress: 1 another resource in the VPC, 8 the
	// internet gateway (Nitro); 0 when it does not apply.
	TrafficPath uint8
	// Ports, when set, are the packet's ports as this ENI saw them (a NAT gateway's side of a
	// translation); otherwise they are the packet's own.
	Ports            bool
	SrcPort, DstPort uint16
}

// MaxFlowEvents is the most events one packet makes: the sender's egress, a NAT gateway's
// ingress and egress, and the receiver's ingress.
const MaxFlowEvents = 4

// FlowEvents fills out with the flow-log events of a decided packet and returns how many there
// are (egress on the sender, ingress on the receiver, and both on a NAT gateway between them). It follows AWS's examples:
// an ENI logs a packet REJECT when its security groups or its subnet's network ACL refused it,
// ACCEPT when they let it through, and nothing for traffic that never reached it. Drops by the
// hypervisor's own checks (spoofed MAC or source, ARP, broadcast) are not flow-logged: they are
// not a security group or network ACL decision. It does not allocate.
func FlowEvents(st *State, p *packet.Parsed, v *Verdict, out *[MaxFlowEvents]FlowEvent) int {
	if p.Kind != packet.KindIPv4 && p.Kind != packet.KindIPv6 {
		return 0
	}
	if v.NAT.Via {
		return natFlowEvents(st, p, v, out)
	}
	n := 0
	in := v.In
	var reachedIn, rejectIn, delivered bool
	for _, s := range v.Steps[:v.NSteps] {
		switch s.Stage {
		case StageSourceCheck:
			if !s.OK {
				return 0
			}
		case StageSGEgress:
			if !s.OK {
				return emit(st, p, v, out, in, true, false, 0)
			}
		case StageNACLOut:
			if !s.OK {
				return emit(st, p, v, out, in, true, false, 0)
			}
		case StageNACLIn:
			reachedIn = true
			if !s.OK {
				rejectIn = true
			}
		case StageSGIngress:
			reachedIn = true
			if !s.OK {
				rejectIn = true
			}
		case StageDeliver:
			delivered = true
		}
	}
	if int(in) < len(st.ENIs) && st.ENIs[in].Kind == KindInstance && hasStage(v, StageSourceCheck) {
		out[n] = FlowEvent{ENI: in, Egress: true, Accept: true, Src: p.Src, Dst: p.Dst, TrafficPath: trafficPath(st, in, v.Out)}
		n++
	}
	if v.Out != NoENI && int(v.Out) < len(st.ENIs) && st.ENIs[v.Out].Kind == KindInstance && (reachedIn || delivered) {
		dst := p.Dst
		if v.SetDst.IsValid() {
			dst = v.SetDst
		}
		out[n] = FlowEvent{ENI: v.Out, Egress: false, Accept: !rejectIn && delivered, Src: p.Src, Dst: dst}
		n++
	}
	return n
}

// trafficPath is AWS's traffic-path of what ENI from sends towards ENI to: 8 through an internet
// gateway, 3 through a virtual private gateway, 4 through an intra-Region peering connection,
// 1 inside the VPC.
func trafficPath(st *State, from, to uint32) uint8 {
	if to == NoENI || int(to) >= len(st.ENIs) {
		return 1
	}
	switch o := &st.ENIs[to]; {
	case o.Kind == KindInternet:
		return 8
	case o.Kind == KindOnPrem:
		return 3
	case o.VPC != st.ENIs[from].VPC:
		return 4
	}
	return 1
}

func emit(st *State, p *packet.Parsed, v *Verdict, out *[MaxFlowEvents]FlowEvent, eni uint32, egress, accept bool, path uint8) int {
	if int(eni) >= len(st.ENIs) || st.ENIs[eni].Kind != KindInstance {
		return 0
	}
	out[0] = FlowEvent{ENI: eni, Egress: egress, Accept: accept, Src: p.Src, Dst: p.Dst, TrafficPath: path}
	return 1
}

func hasStage(v *Verdict, s Stage) bool {
	for _, x := range v.Steps[:v.NSteps] {
		if x.Stage == s {
			return true
		}
	}
	return false
}
