package fabric

import (
	"net/netip"

	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/sgengine"
)

// OnPremState is an on-premises network behind a site-to-site VPN (aws-semantics.md §1.5): a
// namespace holding its hosts, attached to the engine as ENI index ENI, and reached from every
// VPC whose virtual private gateway connects to it (VPCState.HasVGW and VGW). Routes with
// target TargetVGW send there; the network reaches back only into those VPCs, and only to their
// own addresses (a VPN gateway is no way into a peer VPC or onto the internet).
type OnPremState struct {
	Name string
	ID   string // the VPN gateway's ID, vgw-...
	CIDR netip.Prefix
	ENI  uint32
	// MAC is the VPN gateway's MAC on the on-premises side: the engine answers the network's
	// ARP requests for every address it does not hold with it, as its router would.
	MAC mac.HW
}

// onPremOf finds the on-premises network attached as ENI in.
func onPremOf(st *State, in uint32) (uint32, bool) {
	for i := range st.OnPrem {
		if st.OnPrem[i].ENI == in {
			return uint32(i), true
		}
	}
	return 0, false
}

// toVGW takes a packet that subnet from routed to its VPC's VPN gateway: the subnet's outbound
// NACL, then the tunnel to the on-premises network, without translation.
func toVGW(p *packet.Parsed, in, from uint32, st *State, f *sgengine.Flow, v *Verdict) (uint32, bool) {
	sub := &st.Subnets[from]
	vpc := &st.VPCs[sub.VPC]
	if !vpc.HasVGW || int(vpc.VGW) >= len(st.OnPrem) {
		v.stepAt(StageVGW, false, ReasonGateway, in, from, -1)
		return NoENI, false
	}
	op := &st.OnPrem[vpc.VGW]
	if !naclStage(from, in, true, st, f, v) {
		return NoENI, false
	}
	if !op.CIDR.Contains(p.Dst) {
		v.stepAt(StageVGW, false, ReasonNoDestination, in, from, -1)
		return NoENI, false
	}
	v.stepAt(StageVGW, true, ReasonNone, in, from, -1)
	out := op.ENI
	v.Out, v.Action, v.Reason = out, Deliver, ReasonDelivered
	v.RewriteMACs, v.SrcMAC, v.DstMAC = true, op.MAC, st.ENIs[out].Identity.MAC
	v.step(StageDeliver, true, ReasonDelivered, out)
	return out, true
}

// decideFromOnPrem handles what an on-premises network sends: ARP is answered with the VPN
// gateway's MAC for every address the network does not hold; IP from one of its hosts to an
// address of a VPC connected to it passes the destination subnet's inbound NACL and the ENI's
// groups and is delivered. Nothing else crosses the gateway.
func decideFromOnPrem(p *packet.Parsed, in uint32, st *State, tr *Tracking, v *Verdict) {
	src := &st.ENIs[in]
	oi, ok := onPremOf(st, in)
	if !ok {
		v.drop(StageParse, ReasonUnknownPort, in)
		return
	}
	op := &st.OnPrem[oi]
	if !gatewayL2(p, src, op.MAC, in, v) {
		return
	}
	out := NoENI
	attached := false
	for vi := range st.VPCs {
		vpc := &st.VPCs[vi]
		if !vpc.HasVGW || vpc.VGW != oi {
			continue
		}
		attached = true
		if i, ok := vpc.byIP[p.Dst]; ok {
			out = i
			break
		}
	}
	switch {
	case !attached:
		v.drop(StageVGW, ReasonGateway, in)
		return
	case out == NoENI:
		v.drop(StageVGW, ReasonNoDestination, in)
		return
	}
	v.step(StageVGW, true, ReasonNone, in)
	var flow sgengine.Flow
	flowOf(p, &flow)
	enterVPC(out, &flow, st, tr, v)
}

// gatewayL2 runs the checks every gateway attachment (the internet, an on-premises network)
// makes before IP forwarding: a parsable frame from the attachment's own MAC, ARP answered with
// the gateway's MAC gw for any address the attachment does not hold itself, IP sent to gw from
// one of the attachment's own addresses. It returns true when an IP packet may go on.
func gatewayL2(p *packet.Parsed, src *ENIState, gw mac.HW, in uint32, v *Verdict) bool {
	if p.Kind == packet.KindUnknown || p.Kind == packet.KindOtherL2 {
		v.drop(StageParse, ReasonMalformed, in)
		return false
	}
	if mac.HW(p.SrcMAC) != src.Identity.MAC {
		v.drop(StageSourceCheck, ReasonBadSourceMAC, in)
		return false
	}
	if p.Kind == packet.KindARP {
		if p.ARPOp != 1 || src.Identity.Owns(p.ARPTargetIP) {
			v.drop(StageL2, ReasonARPUnanswered, in)
			return false
		}
		v.step(StageL2, true, ReasonARPAnswered, in)
		v.Action, v.Reason, v.ARPAnswer = ReplyARP, ReasonARPAnswered, gw
		return false
	}
	if mac.HW(p.DstMAC) != gw {
		v.drop(StageL2, ReasonUnknownDstMAC, in)
		return false
	}
	// The hosts send from their own addresses only; anything else would be a spoofed source
	// outside the VPCs, which the scenario never asked for.
	if !src.Identity.Owns(p.Src) {
		v.drop(StageSourceCheck, ReasonBadSourceIP, in)
		return false
	}
	return true
}

// enterVPC finishes a packet a gateway brings into a VPC for ENI out (flow already addressed
// to out's private address): the inbound NACL of out's subnet, out's groups, delivery from the
// VPC router's MAC.
func enterVPC(out uint32, flow *sgengine.Flow, st *State, tr *Tracking, v *Verdict) {
	dst := &st.ENIs[out]
	v.Out = out
	if !naclStage(dst.Subnet, out, false, st, flow, v) {
		return
	}
	if !sgIngress(out, st, flow, tr, v) {
		return
	}
	v.RewriteMACs, v.SrcMAC, v.DstMAC = true, st.VPCs[dst.VPC].RouterMAC, dst.Identity.MAC
	v.step(StageDeliver, true, ReasonDelivered, out)
	v.Action, v.Reason = Deliver, ReasonDelivered
}

// vgwName names the VPN gateway a step went through: the sender's VPC's, or the one the
// on-premises network sent through.
func vgwName(st *State, s Step) string {
	oi, ok := onPremOf(st, s.ENI)
	if !ok && int(s.Where) < len(st.Subnets) && s.ENI < uint32(len(st.ENIs)) && st.ENIs[s.ENI].Kind == KindInstance {
		vpc := &st.VPCs[st.Subnets[s.Where].VPC]
		oi, ok = vpc.VGW, vpc.HasVGW && int(vpc.VGW) < len(st.OnPrem)
	}
	if !ok {
		return "VPN gateway (none attached)"
	}
	return "VPN gateway " + st.OnPrem[oi].ID + " to on-prem network " + st.OnPrem[oi].Name
}
