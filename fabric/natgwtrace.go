package fabric

import (
	"fmt"

	"github.com/ec2sim/ec2sim/fabric/natgw"
	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/sgengine"
)

// natName names a NAT gateway's ENI in traces.
func natName(st *State, i uint32) string {
	e := &st.ENIs[i]
	return fmt.Sprintf("NAT gateway %s (%s)", e.Instance, e.ID)
}

// natDetail says what the gateway did: the translation, or why it refused the packet.
func natDetail(st *State, v *Verdict, s Step) string {
	if !s.OK {
		return fmt.Sprintf("%s (%s)", s.Reason, v.NAT.Decision.Verdict)
	}
	switch v.NAT.Rewrite {
	case natOut:
		return fmt.Sprintf("%s: source becomes %s port %d", v.NAT.Decision.Verdict, st.ENIs[v.NAT.GW].Identity.Addrs[0], v.NAT.Port)
	case natIn:
		return fmt.Sprintf("translated back to %s port %d", v.SetDst, v.NAT.Port)
	}
	return v.NAT.Decision.Verdict.String()
}

// natReturn makes the traced reply the answer to what the gateway sent: to its port (an ICMP
// echo reply: its identifier), which the trace's caller has addressed to the gateway's
// address already (Verdict.SetSrc).
func natReturn(back *TraceSpec, v *Verdict) {
	if v.NAT.Rewrite != natOut {
		return
	}
	if back.Proto == 1 {
		back.SrcPort = v.NAT.Port
		return
	}
	back.DstPort = v.NAT.Port
}

// natBlockers is blockers for a path through a NAT gateway: each component on the way is
// evaluated on its own, before the translation with the packet as sent and after it with the
// packet as the gateway sends it; the gateway's own refusal is reported as Decide found it.
func natBlockers(st *State, p *packet.Parsed, in uint32, v *Verdict, tr *Tracking) []Blocker {
	var out []Blocker
	add := func(r Reason, comp, det string) {
		out = append(out, Blocker{Code: ExplanationCode(r), Component: comp, Detail: det})
	}
	acl := func(sub uint32, egress bool, f *sgengine.Flow) { out = appendACLBlocker(out, st, sub, egress, f) }
	ingress := func(dst uint32, f *sgengine.Flow) {
		if st.SG != nil {
			if d := st.SG.Ingress(dst, f, tr.table(dst), tr.Now); !d.Allowed {
				add(ReasonSGIngress, "security groups of "+eniName(st, dst), "no inbound rule allows it")
			}
		}
	}
	gw := v.NAT.GW
	g := &st.ENIs[gw]
	gwIP := g.Identity.Addrs[0]
	src := &st.ENIs[in]
	var f sgengine.Flow
	flowOf(p, &f)
	for _, s := range v.Steps[:v.NSteps] {
		if s.Stage == StageNATGW && !s.OK {
			add(s.Reason, natName(st, gw), natDetail(st, v, s))
		}
	}
	inbound := src.Kind != KindInstance || p.Dst == gwIP
	if !inbound {
		if st.SG != nil {
			if d := st.SG.Egress(in, &f, tr.table(in), tr.Now); !d.Allowed {
				add(ReasonSGEgress, "security groups of "+eniName(st, in), "no outbound rule allows it")
			}
		}
		if src.Subnet != g.Subnet {
			acl(src.Subnet, true, &f)
			acl(g.Subnet, false, &f)
		}
		// After the translation: from the gateway's address and port.
		f.Src = gwIP
		if v.NAT.Rewrite == natOut && p.HasPorts {
			f.SrcPort = v.NAT.Port
		}
		rt := &st.RouteTables[st.Subnets[g.Subnet].RouteTable]
		ri := rt.Lookup(p.Dst)
		switch {
		case ri < 0:
			add(ReasonNoRoute, fmt.Sprintf("route table %s (%s)", rt.Name, rt.ID), fmt.Sprintf("no route matches %s", p.Dst))
		case rt.Routes[ri].Kind == TargetIGW:
			acl(g.Subnet, true, &f)
			if !g.PublicIP.IsValid() {
				add(ReasonNoPublicIP, natName(st, gw), "a private NAT gateway has no Elastic IP to reach the internet with")
			}
		case rt.Routes[ri].Kind == TargetLocal:
			if dst, ok := st.VPCs[g.VPC].byIP[p.Dst]; ok {
				if to := st.ENIs[dst].Subnet; to != g.Subnet {
					acl(g.Subnet, true, &f)
					acl(to, false, &f)
				}
				ingress(dst, &f)
			}
		}
	} else {
		f.Dst = gwIP
		if src.Kind != KindInstance {
			acl(g.Subnet, false, &f)
		}
		if v.NAT.Rewrite == natIn {
			f.Dst = v.SetDst
			if p.HasPorts {
				f.DstPort = v.NAT.Port
			}
			if dst, ok := st.VPCs[g.VPC].byIP[v.SetDst]; ok {
				if to := st.ENIs[dst].Subnet; to != g.Subnet {
					acl(g.Subnet, true, &f)
					acl(to, false, &f)
				}
				ingress(dst, &f)
			}
		}
	}
	if len(out) == 0 && v.NSteps > 0 {
		s := v.Steps[v.NSteps-1]
		add(s.Reason, component(st, s), detail(st, v, s))
	}
	return out
}

// natTables returns the scratch's NAT tables for st, making them when a previous trace used
// them (or st has other ENIs): QuickTrace follows each packet on empty tables.
func (sc *TraceScratch) natTables(st *State) []*natgw.Table {
	if len(sc.nat) != len(st.ENIs) {
		sc.nat = NewNATTables(st)
	}
	return sc.nat
}
