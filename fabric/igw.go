package fabric

import (
	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/sgengine"
)

// InternetMTU is the MTU of traffic through an internet gateway; inside a VPC jumbo frames of
// 9001 bytes are allowed (AWS: network_mtu).
const InternetMTU = 1500

// toInternet takes a packet that subnet from routed to its VPC's internet gateway: the subnet's
// outbound NACL, then the gateway's one-to-one NAT of the source's private address to its public
// address, then the internet. The instance only ever sees its private address.
func toInternet(p *packet.Parsed, in, from uint32, st *State, f *sgengine.Flow, tr *Tracking, v *Verdict) (uint32, bool) {
	sub := &st.Subnets[from]
	if !st.VPCs[sub.VPC].IGW || st.Internet == NoENI {
		v.stepAt(StageIGW, false, ReasonGateway, in, from, -1)
		return NoENI, false
	}
	if !naclStage(from, in, true, st, f, v) {
		return NoENI, false
	}
	// The gateway translates only a private address that has a public one: the primary private
	// IP of an ENI with a public or Elastic IP, in this VPC.
	owner, ok := st.VPCs[sub.VPC].byIP[p.Src]
	if !ok || !st.ENIs[owner].PublicIP.IsValid() || st.ENIs[owner].Identity.Addrs[0] != p.Src {
		v.stepAt(StageIGW, false, ReasonNoPublicIP, in, from, -1)
		return NoENI, false
	}
	if p.Kind == packet.KindIPv4 && p.DF && p.TotalLen > InternetMTU && (tr == nil || !tr.GSO) {
		v.stepAt(StageIGW, false, ReasonTooBig, in, from, -1)
		fragNeeded(p, sub, st, f, tr, v)
		return NoENI, false
	}
	v.stepAt(StageIGW, true, ReasonNone, in, from, -1)
	out := st.Internet
	v.SetSrc = st.ENIs[owner].PublicIP
	v.Out, v.Action, v.Reason = out, Deliver, ReasonDelivered
	v.RewriteMACs, v.SrcMAC, v.DstMAC = true, st.IGWMAC, st.ENIs[out].Identity.MAC
	v.step(StageDeliver, true, ReasonDelivered, out)
	return out, true
}

// fragNeeded answers a DF packet too big for the internet with ICMP "fragmentation needed" to
// its sender, if the sender's groups admit it: the answer is ICMP like any other, and AWS
// documents that PMTUD is blocked unless the groups admit it inbound. The engine builds the
// answer from the frame as the sender sent it, from the router of the sender's subnet. A packet
// that a NAT gateway has translated is answered to the instance behind the gateway (v.In, the
// inside flow of the gateway's decision), not to the gateway.
func fragNeeded(p *packet.Parsed, sub *SubnetState, st *State, f *sgengine.Flow, tr *Tracking, v *Verdict) {
	sender, src := v.In, p.Src
	inner := sgengine.InnerFlow{Src: p.Src, Dst: p.Dst, Proto: p.Proto, SrcPort: f.SrcPort, DstPort: f.DstPort}
	if v.NAT.Via {
		k := &v.NAT.Decision.Flow
		sub = &st.Subnets[st.ENIs[sender].Subnet]
		src, inner.Src = k.Inside, k.Inside
		if p.HasPorts {
			inner.SrcPort = k.InsidePort
		}
	}
	icmp := sgengine.Flow{Src: sub.Router, Dst: src, Proto: 1, ICMPType: 3, ICMPCode: 4, IsICMPError: true, Inner: inner}
	if st.SG == nil || st.SG.Ingress(sender, &icmp, tr.table(sender), tr.now()).Allowed {
		v.Action, v.MTU = ReplyFragNeeded, InternetMTU
	}
}

// decideFromInternet handles what the simulated internet sends: ARP is answered with the
// gateway's MAC for every address that is not the internet's own (the internet reaches all
// public addresses through the gateways); IP to a public or Elastic IP is translated to the
// private address, passes the subnet's inbound NACL and the ENI's groups, and is delivered.
func decideFromInternet(p *packet.Parsed, in uint32, st *State, tr *Tracking, v *Verdict) {
	if !gatewayL2(p, &st.ENIs[in], st.IGWMAC, in, v) {
		return
	}
	out, ok := st.public[p.Dst]
	if !ok {
		v.drop(StageIGW, ReasonNotPublic, in)
		return
	}
	dst := &st.ENIs[out]
	if !st.VPCs[dst.VPC].IGW {
		v.drop(StageIGW, ReasonGateway, in)
		return
	}
	if dst.Kind == KindNATGW {
		fromInternetToNATGW(p, in, out, st, tr, v)
		return
	}
	v.step(StageIGW, true, ReasonNone, in)
	priv := dst.Identity.Addrs[0]
	var flow sgengine.Flow
	flowOf(p, &flow)
	flow.Dst = priv
	enterVPC(out, &flow, st, tr, v)
	if v.Action == Deliver {
		v.SetDst = priv
	}
}
