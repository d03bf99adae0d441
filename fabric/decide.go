package fabric

import (
	"net/netip"

	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/sgengine"
)

// Action is what the engine does with a frame.
type Action uint8

const (
	// Drop discards the frame silently (AWS sends no RST and no ICMP for what it denies).
	Drop Action = iota
	// Deliver writes the frame to the Out ENI's port, with the MACs rewritten when RewriteMACs.
	Deliver
	// ReplyARP answers an ARP request on the ingress port with ARPAnswer as the target's MAC.
	ReplyARP
	// ReplyFragNeeded answers on the ingress port with ICMP "fragmentation needed" carrying
	// Verdict.MTU: the packet had DF set and is larger than the next hop's MTU.
	ReplyFragNeeded
	// ReplyReset answers on the ingress port with a TCP RST from the packet's destination: a
	// NAT gateway's answer to a segment of a connection whose mapping went idle (natgwstage.go).
	ReplyReset
)

func (a Action) String() string {
	switch a {
	case Drop:
		return "drop"
	case Deliver:
		return "deliver"
	case ReplyARP:
		return "arp-reply"
	case ReplyFragNeeded:
		return "icmp-frag-needed"
	case ReplyReset:
		return "tcp-reset"
	}
	return "unknown"
}

// Reason says why a packet got its verdict. Drop reasons are counted per ENI.
type Reason uint8

const (
	ReasonNone Reason = iota
	ReasonDelivered
	ReasonARPAnswered
	ReasonMalformed
	ReasonNonIP
	ReasonBroadcast
	ReasonARPUnanswered
	ReasonBadSourceMAC
	ReasonBadSourceIP
	ReasonBadDestIP
	ReasonUnknownDstMAC
	ReasonNoRoute
	ReasonNoDestination
	ReasonReservedAddress
	ReasonUnknownPort
	ReasonSGEgress
	ReasonSGIngress
	ReasonConntrackAllowance
	ReasonNACLOutbound
	ReasonNACLInbound
	ReasonBlackhole
	ReasonGateway
	ReasonNoPublicIP
	ReasonNotPublic
	ReasonTooBig
	ReasonOutsidePeerVPC
	ReasonNATNoMapping
	ReasonNATIdleTimeout
	ReasonNATFragment
	ReasonNATPortAllocation
	ReasonNATUnsupported
	numReasons
)

// NumReasons is the number of distinct reasons, for counter arrays.
const NumReasons = int(numReasons)

var reasonNames = [numReasons]string{
	ReasonNone:               "none",
	ReasonDelivered:          "delivered",
	ReasonARPAnswered:        "arp-answered",
	ReasonMalformed:          "malformed",
	ReasonNonIP:              "non-ip",
	ReasonBroadcast:          "broadcast-or-multicast",
	ReasonARPUnanswered:      "arp-unanswered",
	ReasonBadSourceMAC:       "spoofed-source-mac",
	ReasonBadSourceIP:        "spoofed-source-ip",
	ReasonBadDestIP:          "not-addressed-to-eni",
	ReasonUnknownDstMAC:      "unknown-destination-mac",
	ReasonNoRoute:            "no-route",
	ReasonNoDestination:      "no-such-address",
	ReasonReservedAddress:    "reserved-address",
	ReasonUnknownPort:        "unknown-ingress-eni",
	ReasonSGEgress:           "security-group-egress",
	ReasonSGIngress:          "security-group-ingress",
	ReasonConntrackAllowance: "conntrack-allowance-exceeded",
	ReasonNACLOutbound:       "network-acl-outbound",
	ReasonNACLInbound:        "network-acl-inbound",
	ReasonBlackhole:          "blackhole-route",
	ReasonGateway:            "gateway-not-available",
	ReasonNoPublicIP:         "no-public-ip",
	ReasonNotPublic:          "no-such-public-ip",
	ReasonTooBig:             "larger-than-mtu",
	ReasonOutsidePeerVPC:     "outside-peer-vpc",
	ReasonNATNoMapping:       "nat-gateway-no-mapping",
	ReasonNATIdleTimeout:     "nat-gateway-idle-timeout",
	ReasonNATFragment:        "nat-gateway-fragment",
	ReasonNATPortAllocation:  "nat-gateway-port-allocation",
	ReasonNATUnsupported:     "nat-gateway-unsupported",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Stage names one step of the packet's path (DESIGN.md, "How a packet travels").
type Stage uint8

const (
	StageParse Stage = iota
	StageL2
	StageSourceCheck
	StageSGEgress
	StageRoute
	StageNACLOut
	StageNACLIn
	StageDestCheck
	StageSGIngress
	StageDeliver
	StageIGW
	StageVGW
	StageNATGW
)

var stageNames = [...]string{"parse", "l2", "source-check", "sg-egress", "route", "nacl-outbound", "nacl-inbound", "dest-check", "sg-ingress", "deliver", "internet-gateway", "vpn-gateway", "nat-gateway"}

func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return "unknown"
}

// Step is one stage's outcome, kept so that trace can show the whole path.
type Step struct {
	Stage  Stage
	OK     bool
	Reason Reason
	ENI    uint32 // the ENI the stage ran on, or NoENI
	// Where and Rule say which object decided: for a NACL stage the subnet index and the rule
	// number; for a route stage the subnet index and the route's index in its table.
	Where uint32
	Rule  int32
}

// maxSteps bounds the steps recorded per decision; the array keeps Decide allocation-free.
const maxSteps = 12

// Verdict is the outcome of Decide: what to do with the frame, why, and every step on the way.
type Verdict struct {
	Action      Action
	Reason      Reason
	In, Out     uint32
	RewriteMACs bool
	DstMAC      mac.HW
	SrcMAC      mac.HW
	ARPAnswer   mac.HW
	// Egress and Ingress are the security groups' decisions on the sending and receiving ENI,
	// valid when EgressDone and IngressDone; their Updates are what the engine applies to the
	// two ENIs' conntrack tables.
	Egress      sgengine.Decision
	Ingress     sgengine.Decision
	EgressDone  bool
	IngressDone bool
	// SetSrc and SetDst, when valid, are the addresses the engine writes into the packet before
	// delivery (the internet gateway's one-to-one NAT); MTU is the MTU of ReplyFragNeeded.
	SetSrc netip.Addr
	SetDst netip.Addr
	MTU    int
	// NAT is the NAT gateway's part, valid when NAT.Via (natgwstage.go).
	NAT    NATVerdict
	Steps  [maxSteps]Step
	NSteps int
}

func (v *Verdict) step(s Stage, ok bool, r Reason, eni uint32) {
	if v.NSteps < maxSteps {
		v.Steps[v.NSteps] = Step{Stage: s, OK: ok, Reason: r, ENI: eni}
		v.NSteps++
	}
}

func (v *Verdict) stepAt(s Stage, ok bool, r Reason, eni, where uint32, rule int) {
	if v.NSteps < maxSteps {
		v.Steps[v.NSteps] = Step{Stage: s, OK: ok, Reason: r, ENI: eni, Where: where, Rule: int32(rule)}
		v.NSteps++
	}
	if !ok {
		v.Action, v.Reason = Drop, r
	}
}

func (v *Verdict) drop(s Stage, r Reason, eni uint32) {
	v.step(s, false, r, eni)
	v.Action, v.Reason = Drop, r
}

// Decide settles the fate of one frame that ENI in sent, given a snapshot of the fabric and the
// conntrack state. It is pure: it reads p, st and tr and writes only *v, so that the engine, trace
// and the static analyser share it. It does not allocate.
func Decide(p *packet.Parsed, in uint32, st *State, tr *Tracking, v *Verdict) {
	*v = Verdict{In: in, Out: NoENI}
	if int(in) >= len(st.ENIs) || !st.ENIs[in].Present {
		v.drop(StageParse, ReasonUnknownPort, in)
		return
	}
	src := &st.ENIs[in]
	switch src.Kind {
	case KindInternet:
		decideFromInternet(p, in, st, tr, v)
		return
	case KindOnPrem:
		decideFromOnPrem(p, in, st, tr, v)
		return
	}
	switch p.Kind {
	case packet.KindUnknown:
		v.drop(StageParse, ReasonMalformed, in)
		return
	case packet.KindOtherL2:
		v.drop(StageL2, ReasonNonIP, in)
		return
	}
	// The source MAC is checked for every frame, ARP included and whatever the source/dest check
	// says: AWS lets an instance send only from the MAC assigned to it.
	if mac.HW(p.SrcMAC) != src.Identity.MAC {
		v.drop(StageSourceCheck, ReasonBadSourceMAC, in)
		return
	}
	if p.Kind == packet.KindARP {
		decideARP(p, in, st, v)
		return
	}
	dstMAC := mac.HW(p.DstMAC)
	if dstMAC[0]&0x01 != 0 {
		v.drop(StageL2, ReasonBroadcast, in)
		return
	}
	if src.Identity.CheckSource(mac.HW(p.SrcMAC), p.Src) != mac.OK {
		v.drop(StageSourceCheck, ReasonBadSourceIP, in)
		return
	}
	v.step(StageSourceCheck, true, ReasonNone, in)

	// The route is looked up once: the security groups need the next hop (middlebox caveat)
	// before the route stage records it.
	ri := -1
	if mac.HW(p.DstMAC) == st.VPCs[src.VPC].RouterMAC {
		ri = st.RouteTables[st.Subnets[src.Subnet].RouteTable].Lookup(p.Dst)
	}
	var flow sgengine.Flow
	var now int64
	if tr != nil {
		now = tr.Now
	}
	if st.SG != nil {
		flowOf(p, &flow)
		// The middlebox caveat: when the next hop does not hold the destination (the packet
		// goes to an appliance that will forward it), group references do not match.
		flow.Forwarded = nextHopForwards(p, src, st, ri)
		v.Egress = st.SG.Egress(in, &flow, tr.table(in), now)
		v.EgressDone = true
		if !v.Egress.Allowed {
			r := sgDropReason(&v.Egress, ReasonSGEgress)
			v.drop(StageSGEgress, r, in)
			return
		}
		v.step(StageSGEgress, true, ReasonNone, in)
	}

	if st.SG == nil {
		flowOf(p, &flow)
	}
	vpc := &st.VPCs[src.VPC]
	out := NoENI
	routed := false
	switch {
	case dstMAC == vpc.RouterMAC:
		// Sent to the VPC router: forward by the route table of the sender's subnet. The
		// router's own addresses (.1, .2 and the other reserved ones) have no service yet.
		if isReservedFor(st, src.VPC, p.Dst) {
			v.drop(StageRoute, ReasonReservedAddress, in)
			return
		}
		i, ok := route(p, in, src.Subnet, st, &flow, tr, v, ri)
		if !ok {
			return
		}
		if k := st.ENIs[i].Kind; k != KindInstance && k != KindNATGW {
			return // delivered to the internet or on premises: no checks beyond the gateway
		}
		out, routed = i, true
	default:
		// Addressed to another ENI's MAC: delivered inside the subnet only (no route table, no
		// NACL), which is how a guest route via an appliance in the same subnet reaches it.
		i, ok := vpc.byMAC[dstMAC]
		if !ok || st.ENIs[i].Subnet != src.Subnet {
			v.drop(StageL2, ReasonUnknownDstMAC, in)
			return
		}
		out = i
		v.step(StageRoute, true, ReasonNone, in)
	}
	if st.ENIs[out].Kind == KindNATGW {
		// To a NAT gateway's own address (a reply to a private gateway, routed or sent to its
		// MAC from its subnet): its table decides.
		natInbound(p, &flow, out, st, tr, v)
		return
	}
	// The receiver's own router is the source MAC, also over a peering.
	arrive(p, out, !src.Identity.Owns(p.Src), routed, st.VPCs[st.ENIs[out].VPC].RouterMAC, st, &flow, tr, v)
}

// sgDropReason is the reason a security-group refusal d is counted under: the conntrack
// allowance when the table was full, else r (the direction's rule mismatch).
func sgDropReason(d *sgengine.Decision, r Reason) Reason {
	if d.Reason == sgengine.ReasonAllowanceExceeded {
		return ReasonConntrackAllowance
	}
	return r
}

// decideARP answers a request the way the VPC's hypervisor does: the router's MAC for the
// subnet's router address, the owner's MAC for an address held by an ENI in the same subnet, and
// nothing otherwise. Replies and gratuitous ARP from guests change nothing and are dropped.
func decideARP(p *packet.Parsed, in uint32, st *State, v *Verdict) {
	src := &st.ENIs[in]
	if p.ARPOp != 1 {
		v.drop(StageL2, ReasonARPUnanswered, in)
		return
	}
	sub := &st.Subnets[src.Subnet]
	t := p.ARPTargetIP
	if t == sub.Router {
		v.step(StageL2, true, ReasonARPAnswered, in)
		v.Action, v.Reason, v.ARPAnswer = ReplyARP, ReasonARPAnswered, st.VPCs[src.VPC].RouterMAC
		return
	}
	if i, ok := st.VPCs[src.VPC].byIP[t]; ok && st.ENIs[i].Subnet == src.Subnet && i != in {
		v.step(StageL2, true, ReasonARPAnswered, in)
		v.Action, v.Reason, v.ARPAnswer = ReplyARP, ReasonARPAnswered, st.ENIs[i].Identity.MAC
		return
	}
	v.drop(StageL2, ReasonARPUnanswered, in)
}

// isReservedFor reports whether a is one of AWS's reserved addresses of a subnet of VPC v.
func isReservedFor(st *State, v uint32, a netip.Addr) bool {
	for i := range st.Subnets {
		s := &st.Subnets[i]
		if s.VPC == v && s.CIDR.Contains(a) {
			return mac.IsReserved(s.CIDR, a)
		}
	}
	return false
}

// route forwards a packet from subnet from by its route table and returns the ENI it goes to,
// running the network ACLs of the subnets it leaves and enters. It records its steps in v and
// returns false when the packet is dropped.
// ri is the route table's answer for the destination, looked up once per packet by Decide.
func route(p *packet.Parsed, in, from uint32, st *State, f *sgengine.Flow, tr *Tracking, v *Verdict, ri int) (uint32, bool) {
	rt := &st.RouteTables[st.Subnets[from].RouteTable]
	if ri < 0 {
		v.stepAt(StageRoute, false, ReasonNoRoute, in, from, -1)
		return NoENI, false
	}
	r := &rt.Routes[ri]
	var out uint32
	switch r.Kind {
	case TargetLocal:
		i, ok := st.VPCs[st.Subnets[from].VPC].byIP[p.Dst]
		if !ok {
			v.stepAt(StageRoute, false, ReasonNoDestination, in, from, ri)
			return NoENI, false
		}
		out = i
	case TargetENI:
		if int(r.Index) >= len(st.ENIs) || !st.ENIs[r.Index].Present {
			v.stepAt(StageRoute, false, ReasonBlackhole, in, from, ri)
			return NoENI, false
		}
		out = r.Index
	case TargetBlackhole:
		v.stepAt(StageRoute, false, ReasonBlackhole, in, from, ri)
		return NoENI, false
	case TargetIGW:
		v.stepAt(StageRoute, true, ReasonNone, in, from, ri)
		return toInternet(p, in, from, st, f, tr, v)
	case TargetPeering:
		i, ok := viaPeering(p, in, from, st, v, ri)
		if !ok {
			return NoENI, false
		}
		out = i
	case TargetVGW:
		v.stepAt(StageRoute, true, ReasonNone, in, from, ri)
		return toVGW(p, in, from, st, f, v)
	case TargetNATGW:
		return toNATGW(p, in, from, r.Index, ri, st, f, tr, v)
	default:
		v.stepAt(StageRoute, false, ReasonGateway, in, from, ri)
		return NoENI, false
	}
	v.stepAt(StageRoute, true, ReasonNone, in, from, ri)
	if !crossSubnets(in, from, out, st.ENIs[out].Subnet, st, f, v) {
		return NoENI, false
	}
	return out, true
}

// naclStage evaluates the network ACL of subnet sub on f, outbound (egress) or inbound, and
// records the stage at ENI eni; every path that crosses a subnet's boundary — routed inside the
// VPC, to and from the gateways, over a peering — passes its ACLs through here.
func naclStage(sub, eni uint32, egress bool, st *State, f *sgengine.Flow, v *Verdict) bool {
	ok, rule := st.ACLs[st.Subnets[sub].ACL].Evaluate(egress, f)
	stage, r := StageNACLIn, ReasonNACLInbound
	if egress {
		stage, r = StageNACLOut, ReasonNACLOutbound
	}
	if ok {
		r = ReasonNone
	}
	v.stepAt(stage, ok, r, eni, sub, rule)
	return ok
}

// crossSubnets applies the network ACLs between subnet from (ENI in sends) and subnet to (ENI
// out receives): outbound of from, then inbound of to. They apply where traffic crosses a
// subnet boundary, never inside a subnet.
func crossSubnets(in, from, out, to uint32, st *State, f *sgengine.Flow, v *Verdict) bool {
	if to == from {
		return true
	}
	return naclStage(from, in, true, st, f, v) && naclStage(to, out, false, st, f, v)
}

// nextHopForwards reports whether the ENI a packet goes to next does not hold its destination:
// a frame to an appliance's MAC, or a route to an appliance's ENI. It looks the way up without
// recording anything; the route stage does that.
func nextHopForwards(p *packet.Parsed, src *ENIState, st *State, ri int) bool {
	vpc := &st.VPCs[src.VPC]
	dstMAC := mac.HW(p.DstMAC)
	if dstMAC != vpc.RouterMAC {
		if i, ok := vpc.byMAC[dstMAC]; ok {
			return !st.ENIs[i].Identity.Owns(p.Dst)
		}
		return false
	}
	rt := &st.RouteTables[st.Subnets[src.Subnet].RouteTable]
	if ri >= 0 && rt.Routes[ri].Kind == TargetENI {
		t := rt.Routes[ri].Index
		return int(t) < len(st.ENIs) && !st.ENIs[t].Identity.Owns(p.Dst)
	}
	return false
}
