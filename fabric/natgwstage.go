package fabric

import (
	"github.com/ec2sim/ec2sim/fabric/natgw"
	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/sgengine"
)

// The NAT gateway stage (aws-semantics.md §1.5). A NAT gateway is an ENI of kind KindNATGW in
// its subnet, with its own private address and, when public, an Elastic IP that the internet
// gateway maps one-to-one like any ENI's. It has no port: the engine never delivers to it.
// Instead the decision goes through it:
//
//	outbound: instance -> SG egress -> route (0/0 -> nat) -> NACL out of the source subnet ->
//	NACL in of the gateway's subnet (not within one subnet) -> natgw.Outbound (source becomes
//	the gateway's private IP and a port of 1024-65535) -> the gateway subnet's route table ->
//	NACL out of its subnet -> IGW (private IP -> Elastic IP) -> internet.
//	inbound: internet -> IGW (Elastic IP -> private IP) -> NACL in of the gateway's subnet ->
//	natgw.Inbound (destination becomes the inside host and port) -> route -> NACLs -> the inside
//	ENI's groups -> the instance.
//
// The gateway has no security groups and its connections are always tracked (the table is the
// tracking). Decide evaluates the table without changing it; the engine applies the update the
// verdict carries (NATVerdict.Decision), as it does the conntrack updates. The two translations
// (the gateway's and the internet gateway's) compose into one rewrite of the frame.

// natRewrite says which way the gateway rewrites a packet's port.
type natRewrite uint8

const (
	natNone natRewrite = iota
	natOut             // from the inside: the source port (ICMP query: identifier)
	natIn              // to the inside: the destination port
)

// NATVerdict is the NAT gateway's part of a Verdict.
type NATVerdict struct {
	// Via: the packet's path reached a NAT gateway (routed to one, or sent to its Elastic IP),
	// whether or not it got through; GW is the gateway's ENI index.
	Via bool
	GW  uint32
	// Done: Decision is the gateway table's verdict, whose Update the engine applies.
	Done     bool
	Decision natgw.Decision
	// Port is what the gateway writes into the packet: outbound the source port (an ICMP
	// query's identifier), inbound the destination port; an ICMP error's quote the other way.
	Port    uint16
	Rewrite natRewrite
}

// SourcePort is the port (an ICMP query's identifier) the gateway gave an outbound packet, and
// whether it translated one: the reply comes back to that port.
func (n *NATVerdict) SourcePort() (uint16, bool) { return n.Port, n.Rewrite == natOut }

// NewNATTables makes an empty translation table for every NAT gateway ENI of st, indexed by
// ENI index (nil for the others). A table translates to the gateway's primary private address;
// the internet gateway maps that to the Elastic IP.
func NewNATTables(st *State) []*natgw.Table {
	out := make([]*natgw.Table, len(st.ENIs))
	for i := range st.ENIs {
		e := &st.ENIs[i]
		if !e.Present || e.Kind != KindNATGW || len(e.Identity.Addrs) == 0 {
			continue
		}
		// The only error is an unusable address, which the plan never gives; such a gateway
		// keeps a nil table and drops what is routed to it (ReasonGateway).
		if t, err := natgw.New(natgw.Options{PublicAddr: e.Identity.Addrs[0]}); err == nil {
			out[i] = t
		}
	}
	return out
}

// natTable returns ENI i's NAT table, or nil.
func (t *Tracking) natTable(i uint32) *natgw.Table {
	if t == nil || int(i) >= len(t.NAT) {
		return nil
	}
	return t.NAT[i]
}

// natPacket fills q with what the gateway's table needs of p.
func natPacket(p *packet.Parsed, q *natgw.Packet) {
	*q = natgw.Packet{Proto: p.Proto, Src: p.Src, Dst: p.Dst, Fragment: p.Fragment, FirstFragment: p.FirstFragment}
	if p.HasPorts {
		q.SrcPort, q.DstPort, q.TCPFlags = p.SrcPort, p.DstPort, p.TCPFlags
	}
	if p.HasICMP {
		q.ICMPType, q.ICMPID = p.ICMPType, p.ICMPID
		q.IsICMPError = isICMPError(p)
		if p.HasInner {
			q.Quote = natgw.Quote{Proto: p.InnerProto, Src: p.InnerSrc, Dst: p.InnerDst}
			if p.InnerHasPorts {
				q.Quote.SrcPort, q.Quote.DstPort = p.InnerSrcPort, p.InnerDstPort
			}
			if p.InnerHasICMP {
				q.Quote.ICMPID = p.InnerICMPID
			}
		}
	}
}

// natReason is the drop reason of a gateway verdict that does not translate.
func natReason(v natgw.Verdict) Reason {
	switch v {
	case natgw.VerdictIdleTimeoutReset:
		return ReasonNATIdleTimeout
	case natgw.VerdictFragment:
		return ReasonNATFragment
	case natgw.VerdictErrorPortAllocation:
		return ReasonNATPortAllocation
	case natgw.VerdictUnsupported:
		return ReasonNATUnsupported
	}
	return ReasonNATNoMapping
}

// toNATGW takes a packet that subnet from's route ri sends to the NAT gateway on ENI gw: the
// NACLs between the two subnets, the gateway's translation, then the gateway subnet's route
// table. f is the packet's flow for the later stages; it is rewritten as the gateway rewrites
// the packet, so that the destination's network ACLs and groups see what arrives.
func toNATGW(p *packet.Parsed, in, from, gw uint32, ri int, st *State, f *sgengine.Flow, tr *Tracking, v *Verdict) (uint32, bool) {
	if int(gw) >= len(st.ENIs) || !st.ENIs[gw].Present || st.ENIs[gw].Kind != KindNATGW {
		v.stepAt(StageRoute, false, ReasonBlackhole, in, from, ri)
		return NoENI, false
	}
	if v.NAT.Via {
		// What a gateway sent is routed to a gateway again: AWS does not chain them.
		v.stepAt(StageRoute, false, ReasonGateway, in, from, ri)
		return NoENI, false
	}
	v.stepAt(StageRoute, true, ReasonNone, in, from, ri)
	v.NAT.Via, v.NAT.GW = true, gw
	g := &st.ENIs[gw]
	if !crossSubnets(in, from, gw, g.Subnet, st, f, v) {
		return NoENI, false
	}
	t := tr.natTable(gw)
	if t == nil {
		v.stepAt(StageNATGW, false, ReasonGateway, gw, g.Subnet, -1)
		return NoENI, false
	}
	var q natgw.Packet
	natPacket(p, &q)
	d := t.Outbound(&q, tr.now())
	v.NAT.Done, v.NAT.Decision = true, d
	if !d.Verdict.Translates() {
		v.stepAt(StageNATGW, false, natReason(d.Verdict), gw, g.Subnet, -1)
		if d.Verdict.Resets() && p.Kind == packet.KindIPv4 {
			v.Action = ReplyReset
		}
		return NoENI, false
	}
	v.stepAt(StageNATGW, true, ReasonNone, gw, g.Subnet, -1)
	// From here the packet is the gateway's own: from its address and the port it chose.
	pub := t.PublicAddr()
	out := *p
	out.Src, f.Src, v.SetSrc = pub, pub, pub
	if d.Verdict != natgw.VerdictAddressOnly {
		v.NAT.Port, v.NAT.Rewrite = d.Ext, natOut
		switch {
		case p.HasInner:
			out.InnerDst, f.Inner.Dst = pub, pub
			if p.InnerHasPorts {
				out.InnerDstPort, f.Inner.DstPort = d.Ext, d.Ext
			} else if p.InnerHasICMP {
				out.InnerICMPID, f.Inner.ICMPID = d.Ext, d.Ext
			}
		case p.HasPorts:
			out.SrcPort, f.SrcPort = d.Ext, d.Ext
		case p.HasICMP:
			out.ICMPID, f.ICMPID = d.Ext, d.Ext
		}
	}
	gsub := &st.Subnets[g.Subnet]
	return route(&out, gw, g.Subnet, st, f, tr, v, st.RouteTables[gsub.RouteTable].Lookup(p.Dst))
}

// fromInternetToNATGW takes what the internet sends to a NAT gateway's Elastic IP (ENI gw):
// the gateway subnet's inbound NACL, the table's reverse translation (only replies of flows
// the gateway opened get through), and on to the inside host by the gateway subnet's routes.
func fromInternetToNATGW(p *packet.Parsed, in, gw uint32, st *State, tr *Tracking, v *Verdict) {
	g := &st.ENIs[gw]
	v.NAT.Via, v.NAT.GW = true, gw
	v.step(StageIGW, true, ReasonNone, in)
	pub := g.Identity.Addrs[0]
	var flow sgengine.Flow
	flowOf(p, &flow)
	flow.Dst = pub
	if !naclStage(g.Subnet, gw, false, st, &flow, v) {
		return
	}
	natInbound(p, &flow, gw, st, tr, v)
}

// natInbound runs the gateway's reverse translation on p, addressed to the gateway's address
// (from the internet through the internet gateway, or from inside the VPC to a private
// gateway), with flow its flow so far, and takes the translated packet on to the inside host
// by the gateway subnet's routes.
func natInbound(p *packet.Parsed, flow *sgengine.Flow, gw uint32, st *State, tr *Tracking, v *Verdict) {
	g := &st.ENIs[gw]
	v.NAT.Via, v.NAT.GW = true, gw
	pub := g.Identity.Addrs[0]
	t := tr.natTable(gw)
	if t == nil {
		v.stepAt(StageNATGW, false, ReasonGateway, gw, g.Subnet, -1)
		return
	}
	var q natgw.Packet
	natPacket(p, &q)
	q.Dst = pub
	if q.IsICMPError && g.PublicIP.IsValid() && q.Quote.Src == g.PublicIP {
		// An error from the internet quotes the packet as the internet saw it: from the
		// Elastic IP, which the internet gateway maps back to the gateway's own address.
		q.Quote.Src = pub
	}
	d := t.Inbound(&q, tr.now())
	v.NAT.Done, v.NAT.Decision = true, d
	if !d.Verdict.Translates() {
		v.stepAt(StageNATGW, false, natReason(d.Verdict), gw, g.Subnet, -1)
		return
	}
	v.stepAt(StageNATGW, true, ReasonNone, gw, g.Subnet, -1)
	inside, port := d.Flow.Inside, d.Flow.InsidePort
	back := *p
	back.Dst, flow.Dst, v.SetDst = inside, inside, inside
	v.NAT.Port, v.NAT.Rewrite = port, natIn
	switch {
	case p.HasInner:
		back.InnerSrc, flow.Inner.Src = inside, inside
		if p.InnerHasPorts {
			back.InnerSrcPort, flow.Inner.SrcPort = port, port
		} else if p.InnerHasICMP {
			back.InnerICMPID, flow.Inner.ICMPID = port, port
		}
	case p.HasPorts:
		back.DstPort, flow.DstPort = port, port
	case p.HasICMP:
		back.ICMPID, flow.ICMPID = port, port
	}
	gsub := &st.Subnets[g.Subnet]
	out, ok := route(&back, gw, g.Subnet, st, flow, tr, v, st.RouteTables[gsub.RouteTable].Lookup(inside))
	if !ok {
		return
	}
	if st.ENIs[out].Kind != KindInstance {
		v.drop(StageRoute, ReasonGateway, gw)
		return
	}
	arrive(&back, out, false, true, st.VPCs[g.VPC].RouterMAC, st, flow, tr, v)
}

// applyNAT applies the gateway table's update that v carries. A translation that lost a race
// since Decide (another packet took the port, or the mapping was reaped) is dropped after all;
// the sender retransmits.
func applyNAT(tr *Tracking, v *Verdict) {
	t := tr.natTable(v.NAT.GW)
	if t == nil {
		return
	}
	if !t.Apply(&v.NAT.Decision.Update, tr.Now) && v.Action == Deliver && v.NAT.Decision.Verdict.Translates() {
		v.Action, v.Reason = Drop, ReasonNATNoMapping
	}
}

// translateNATPorts writes the gateway's port into frame, as Translate writes the addresses.
func translateNATPorts(frame []byte, p *packet.Parsed, vh packet.VnetHdr, n *NATVerdict) {
	out := n.Rewrite == natOut
	switch {
	case p.HasInner && p.InnerHasPorts:
		if out {
			packet.RewriteICMPInnerDstPort(frame, p, vh, n.Port)
		} else {
			packet.RewriteICMPInnerSrcPort(frame, p, vh, n.Port)
		}
	case p.HasInner && p.InnerHasICMP:
		packet.RewriteICMPInnerID(frame, p, vh, n.Port)
	case p.HasPorts:
		if out {
			packet.RewriteSrcPort(frame, p, vh, n.Port)
		} else {
			packet.RewriteDstPort(frame, p, vh, n.Port)
		}
	case p.HasICMP && !p.HasInner:
		packet.RewriteICMPID(frame, p, vh, n.Port)
	}
}

// NATMetrics returns the counters of the NAT gateway on ENI i, named as AWS's CloudWatch
// metrics, and false when i is not a NAT gateway.
func (e *Engine) NATMetrics(i uint32) (natgw.Metrics, bool) {
	if int(i) >= len(e.tracking.NAT) || e.tracking.NAT[i] == nil {
		return natgw.Metrics{}, false
	}
	return e.tracking.NAT[i].Metrics(), true
}

// NATMappings returns the number of translations in the table of the NAT gateway on ENI i
// (expired ones not reaped yet included), and false when i is not a NAT gateway.
func (e *Engine) NATMappings(i uint32) (int, bool) {
	if int(i) >= len(e.tracking.NAT) || e.tracking.NAT[i] == nil {
		return 0, false
	}
	return e.tracking.NAT[i].Len(), true
}

// sendReset answers a segment the NAT gateway refused after an idle timeout with a RST to the
// inside host, on the port it came from, from the router's MAC.
func sendReset(port Port, reply, frame []byte, p *packet.Parsed, st *State, in uint32) error {
	packet.PutZeroVnetHdr(reply)
	m := packet.BuildTCPReset(reply[packet.VnetHdrLen:], frame, p, packet.MAC(st.VPCs[st.ENIs[in].VPC].RouterMAC))
	if m == 0 {
		return nil
	}
	_, err := port.Write(reply[:packet.VnetHdrLen+m])
	return err
}

// arrive finishes a packet at ENI out: the destination check, the ENI's inbound groups and
// delivery (with the router's MACs when routed). forwarded says the sender does not hold the
// packet's source, so that group references do not match it.
func arrive(p *packet.Parsed, out uint32, forwarded, routed bool, routerMAC mac.HW, st *State, flow *sgengine.Flow, tr *Tracking, v *Verdict) {
	dst := &st.ENIs[out]
	v.Out = out
	if dst.Identity.CheckDest(p.Dst) != mac.OK {
		v.drop(StageDestCheck, ReasonBadDestIP, out)
		return
	}
	v.step(StageDestCheck, true, ReasonNone, out)
	flow.Forwarded = forwarded
	if !sgIngress(out, st, flow, tr, v) {
		return
	}
	if routed {
		v.RewriteMACs = true
		v.SrcMAC = routerMAC
		v.DstMAC = dst.Identity.MAC
	}
	v.step(StageDeliver, true, ReasonDelivered, out)
	v.Action, v.Reason = Deliver, ReasonDelivered
}

// sgIngress runs ENI out's inbound security groups on flow, recording the step; it reports
// false when they drop the packet. Without a policy (unit tests of the lower stages) it passes.
func sgIngress(out uint32, st *State, flow *sgengine.Flow, tr *Tracking, v *Verdict) bool {
	if st.SG == nil {
		return true
	}
	v.Ingress = st.SG.Ingress(out, flow, tr.table(out), tr.now())
	v.IngressDone = true
	if !v.Ingress.Allowed {
		v.drop(StageSGIngress, sgDropReason(&v.Ingress, ReasonSGIngress), out)
		return false
	}
	v.step(StageSGIngress, true, ReasonNone, out)
	return true
}
