package lab

import (
	"fmt"
	"strings"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/scenarios"
)

// planPeerings adds the scenario's peering connections to st, active from the start, in file
// order: route targets peering/NAME index them in that order. The loader has checked both ends
// exist and do not overlap.
func planPeerings(sc *scenarios.Scenario, labName string, st *fabric.State) {
	vpc := map[string]uint32{}
	for i, v := range sc.VPCs {
		vpc[v.Name] = uint32(i)
	}
	st.Peerings = nil
	for _, p := range sc.Peerings {
		st.Peerings = append(st.Peerings, fabric.PeeringState{Name: p.Name, ID: awsID("pcx", labName, p.Name), A: vpc[p.Requester], B: vpc[p.Accepter]})
	}
}

// peeringIndex is the index in State.Peerings of the connection called name.
func peeringIndex(st *fabric.State, name string) (uint32, bool) {
	for i := range st.Peerings {
		if st.Peerings[i].Name == name {
			return uint32(i), true
		}
	}
	return 0, false
}

// gatewayTarget resolves a route target added to a running lab: vgw (some VPC has a VPN
// gateway; a table of a VPC without one drops at the gateway, as Decide says) or peering/NAME.
func gatewayTarget(st *fabric.State, kind, name string) (fabric.TargetKind, uint32, error) {
	if kind == "vgw" {
		for _, v := range st.VPCs {
			if v.HasVGW {
				return fabric.TargetVGW, 0, nil
			}
		}
		return 0, 0, fmt.Errorf("target vgw: no VPN gateway is attached in this lab (a VPC gets one with vpn_gateway: NETWORK)")
	}
	i, ok := peeringIndex(st, name)
	if !ok {
		var names []string
		for _, p := range st.Peerings {
			names = append(names, p.Name)
		}
		return 0, 0, fmt.Errorf("target peering/%s: no peering %q (peerings: %s)", name, name, strings.Join(names, ", "))
	}
	return fabric.TargetPeering, i, nil
}

// peeringOfTable refuses a route from table t to peering idx unless t's VPC is one of the
// peering's two ends, as AWS refuses it: the plan names every table's ID after its VPC
// (network.go), which is how the table's VPC is found again here.
func peeringOfTable(st *fabric.State, lab string, t *fabric.RouteTableState, idx uint32) error {
	pc := &st.Peerings[idx]
	for k, v := range st.VPCs {
		if t.ID != awsID("rtb", lab, v.Name+"/"+t.Name) {
			continue
		}
		if _, ok := pc.Peer(uint32(k)); !ok {
			return fmt.Errorf("target peering/%s: route table %s belongs to vpc %s, which is not an end of peering %s (it connects vpc %s and vpc %s)",
				pc.Name, t.Name, v.Name, pc.Name, st.VPCs[pc.A].Name, st.VPCs[pc.B].Name)
		}
		return nil
	}
	return nil
}

// gatewayStatus describes the peering connections and VPN gateways, one line each, for
// `ec2sim route list`.
func gatewayStatus(st *fabric.State) []string {
	var out []string
	for _, p := range st.Peerings {
		out = append(out, fmt.Sprintf("peering/%s %s: vpc %s (%s) <-> vpc %s (%s), active", p.Name, p.ID,
			st.VPCs[p.A].Name, st.VPCs[p.A].CIDR, st.VPCs[p.B].Name, st.VPCs[p.B].CIDR))
	}
	for _, v := range st.VPCs {
		if v.HasVGW && int(v.VGW) < len(st.OnPrem) {
			o := &st.OnPrem[v.VGW]
			out = append(out, fmt.Sprintf("vgw of vpc %s: %s to on-prem network %s (%s)", v.Name, o.ID, o.Name, o.CIDR))
		}
	}
	return out
}

// peeredRef checks a rule's group reference added to a running lab: VPC/GROUP of another VPC
// needs a peering between the two, as the loader requires for the scenario's own rules.
func peeredRef(sc *scenarios.Scenario, vpc, ref string) error {
	peer, _, cross := strings.Cut(ref, "/")
	if !cross || peer == vpc {
		return nil
	}
	for _, p := range sc.Peerings {
		if p.Peer(vpc) == peer {
			return nil
		}
	}
	return fmt.Errorf("group %s is in vpc %s, which is not peered with vpc %s; a rule may reference a group of another VPC only across a peering connection", ref, peer, vpc)
}
