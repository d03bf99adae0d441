package fabric

import (
	"net/netip"

	"github.com/ec2sim/ec2sim/fabric/packet"
)

// PeeringState is an active VPC peering connection between two VPCs of the lab
// (aws-semantics.md §1.5). A route with target TargetPeering and Index i sends through
// State.Peerings[i]. A peering delivers straight to the ENI in the peer VPC that holds the
// destination (after the source subnet's outbound ACL and the destination subnet's inbound ACL
// and the destination's groups); it carries only traffic for the peer VPC's own CIDR, which is
// why it is not transitive and why no VPC can use its peer's internet gateway, NAT gateway or
// VPN gateway (no edge-to-edge routing): the peer's route tables are never consulted.
type PeeringState struct {
	Name, ID string
	A, B     uint32 // VPC indexes, requester and accepter
}

// Peer is the VPC at the other end of the connection from VPC v.
func (c *PeeringState) Peer(v uint32) (uint32, bool) {
	switch v {
	case c.A:
		return c.B, true
	case c.B:
		return c.A, true
	}
	return 0, false
}

// viaPeering resolves a packet that the route at index ri of subnet from's table sends to a
// peering connection: the ENI of the peer VPC holding the destination. It records the route
// step and returns false when the packet is dropped.
func viaPeering(p *packet.Parsed, in, from uint32, st *State, v *Verdict, ri int) (uint32, bool) {
	r := &st.RouteTables[st.Subnets[from].RouteTable].Routes[ri]
	if int(r.Index) >= len(st.Peerings) {
		v.stepAt(StageRoute, false, ReasonBlackhole, in, from, ri)
		return NoENI, false
	}
	peer, ok := st.Peerings[r.Index].Peer(st.Subnets[from].VPC)
	if !ok {
		v.stepAt(StageRoute, false, ReasonBlackhole, in, from, ri)
		return NoENI, false
	}
	if !st.VPCs[peer].CIDR.Contains(p.Dst) {
		// Not transitive, no edge-to-edge: the peer VPC does not forward what is not its own.
		v.stepAt(StageRoute, false, ReasonOutsidePeerVPC, in, from, ri)
		return NoENI, false
	}
	out, ok := st.VPCs[peer].byIP[p.Dst]
	if !ok {
		v.stepAt(StageRoute, false, ReasonNoDestination, in, from, ri)
		return NoENI, false
	}
	return out, true
}

// peerDestination finds the ENI holding dst in the VPC at the other end of route r's peering
// from VPC from, for trace's independent checks.
func peerDestination(st *State, from uint32, r *RouteEntry, dst netip.Addr) (uint32, bool) {
	if int(r.Index) >= len(st.Peerings) {
		return 0, false
	}
	peer, ok := st.Peerings[r.Index].Peer(from)
	if !ok || !st.VPCs[peer].CIDR.Contains(dst) {
		return 0, false
	}
	i, ok := st.VPCs[peer].byIP[dst]
	return i, ok
}
