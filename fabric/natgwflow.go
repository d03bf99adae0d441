package fabric

import (
	"net/netip"

	"github.com/ec2sim/ec2sim/fabric/packet"
)

// natFlowEvents is FlowEvents for a packet whose path reaches a NAT gateway. The gateway's ENI
// logs the packet twice, as AWS's NAT gateway example shows (instance 10.0.1.5, gateway
// 10.0.0.220, destination 203.0.113.5; srcaddr dstaddr pkt-srcaddr pkt-dstaddr):
//
//	10.0.1.5    10.0.0.220  10.0.1.5    203.0.113.5   in from the instance
//	10.0.0.220  203.0.113.5 10.0.0.220  203.0.113.5   out to the destination
//	203.0.113.5 10.0.0.220  203.0.113.5 10.0.0.220    in, the reply
//	10.0.0.220  10.0.1.5    203.0.113.5 10.0.1.5      out to the instance
//
// The events carry the packet's addresses as the gateway's ENI saw them (the pkt-* fields);
// the flow log substitutes the ENI's primary address for srcaddr and dstaddr where AWS does.
// The instance's records show the packet as the instance sent or received it. A gateway has no
// security groups: its records are REJECT where its subnet's network ACL refused the packet,
// or its table did (a packet that arrived after the connection was closed, as AWS puts it).
func natFlowEvents(st *State, p *packet.Parsed, v *Verdict, out *[MaxFlowEvents]FlowEvent) int {
	gw := v.NAT.GW
	if int(gw) >= len(st.ENIs) || int(v.In) >= len(st.ENIs) {
		return 0
	}
	gwIP := st.ENIs[gw].Identity.Addrs[0]
	fromInside := st.ENIs[v.In].Kind == KindInstance
	steps := v.Steps[:v.NSteps]
	at := -1
	for k, s := range steps {
		if s.Stage == StageNATGW {
			at = k
			break
		}
	}
	pre := steps
	if at >= 0 {
		pre = steps[:at]
	}
	n := 0
	for _, s := range pre {
		switch s.Stage {
		case StageSourceCheck:
			if !s.OK {
				return 0
			}
		case StageSGEgress, StageNACLOut:
			if !s.OK {
				return emit(st, p, v, out, v.In, true, false, 0)
			}
		}
	}
	if fromInside {
		out[n] = FlowEvent{ENI: v.In, Egress: true, Accept: true, Src: p.Src, Dst: p.Dst, TrafficPath: 1}
		n++
	}
	// The gateway's ingress: refused by its subnet's inbound ACL (the last step before the
	// gateway's), or judged by its table.
	inDst := p.Dst
	if p.Dst == st.ENIs[gw].PublicIP {
		inDst = gwIP // the internet gateway translated the Elastic IP before the gateway's ENI
	}
	if at < 0 {
		if len(pre) > 0 {
			if s := pre[len(pre)-1]; s.Stage == StageNACLIn && !s.OK && s.ENI == gw {
				out[n] = FlowEvent{ENI: gw, Accept: false, Src: p.Src, Dst: inDst}
				n++
			}
		}
		return n
	}
	ok := steps[at].OK
	out[n] = FlowEvent{ENI: gw, Accept: ok, Src: p.Src, Dst: inDst}
	n++
	if !ok {
		return n
	}
	// The gateway's egress: the translated packet, once the gateway's subnet has a route for it.
	post := steps[at+1:]
	if len(post) == 0 || post[0].Stage != StageRoute || !post[0].OK {
		return n
	}
	accept, reachedDst, delivered := true, false, false
	for _, s := range post[1:] {
		switch s.Stage {
		case StageNACLOut:
			accept = accept && s.OK
		case StageNACLIn, StageDestCheck, StageSGIngress:
			reachedDst = true
		case StageDeliver:
			delivered = true
		}
	}
	e := FlowEvent{ENI: gw, Egress: true, Accept: accept}
	var src, dst netip.Addr
	sport, dport := p.SrcPort, p.DstPort
	if v.NAT.Rewrite != natIn {
		src, dst = gwIP, p.Dst
		if v.NAT.Rewrite == natOut {
			sport = v.NAT.Port
		}
	} else {
		src, dst = p.Src, v.SetDst
		if v.NAT.Rewrite == natIn {
			dport = v.NAT.Port
		}
	}
	e.Src, e.Dst = src, dst
	if p.HasPorts {
		e.Ports, e.SrcPort, e.DstPort = true, sport, dport
	}
	e.TrafficPath = trafficPath(st, gw, v.Out)
	out[n] = e
	n++
	if !accept || v.Out == NoENI || int(v.Out) >= len(st.ENIs) || st.ENIs[v.Out].Kind != KindInstance || !(reachedDst || delivered) {
		return n
	}
	r := e
	r.ENI, r.Egress, r.Accept, r.TrafficPath = v.Out, false, delivered && v.Action == Deliver, 0
	out[n] = r
	return n + 1
}
