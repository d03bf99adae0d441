package scenarios

import "net/netip"

// NATGateway is a NAT gateway of a VPC. A public one translates to its Elastic IP (through the
// VPC's internet gateway); a private one to its private IP. Neither admits connections from
// outside (aws-semantics.md §1.5).
type NATGateway struct {
	Name, VPC string
	// Subnet is where the gateway's network interface is, qualified "vpc/subnet" (the file names
	// a subnet of the gateway's VPC, with or without the VPC). The gateway takes one automatic
	// address there.
	Subnet string
	// ElasticIP is a public gateway's address, in the documentation ranges; zero = one from the
	// lab's pool of automatic public addresses. Always zero for a private gateway.
	ElasticIP netip.Addr
	// Private: connectivity type private (no Elastic IP, no internet; for VPN, peering and
	// other VPC traffic).
	Private bool
	Pos     Pos
}

// Qualified names the NAT gateway as "vpc/name".
func (n *NATGateway) Qualified() string { return n.VPC + "/" + n.Name }

// Peering is a VPC peering connection between two VPCs of the lab, active once the lab is up.
// It is not transitive, and neither VPC can use the other's gateways (no edge-to-edge routing).
type Peering struct {
	Name                string
	Requester, Accepter string // VPC names
	Pos                 Pos
}

// Peer is the VPC at the other end of the peering from vpc, or "" when vpc is not one of its
// ends.
func (p *Peering) Peer(vpc string) string {
	switch vpc {
	case p.Requester:
		return p.Accepter
	case p.Accepter:
		return p.Requester
	}
	return ""
}

// OnPrem is an on-premises network: hosts that VPCs reach through their VPN gateway (a VPC with
// vpn_gateway: NAME and routes with target vgw).
type OnPrem struct {
	Name  string
	CIDR  netip.Prefix // IPv4, canonical, overlapping no VPC
	Hosts []*Host      // in file order, inside CIDR
	Pos   Pos
}

// NATGateway returns the VPC's NAT gateway called name, or nil.
func (v *VPC) NATGateway(name string) *NATGateway {
	for _, n := range v.NATGateways {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// RouteTable returns the VPC's route table called name, or nil.
func (v *VPC) RouteTable(name string) *RouteTable {
	for _, t := range v.RouteTables {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// MainTable returns the VPC's main route table (the first, after Parse), or nil.
func (v *VPC) MainTable() *RouteTable {
	for _, t := range v.RouteTables {
		if t.Main {
			return t
		}
	}
	return nil
}

// NetworkACL returns the VPC's network ACL called name, or nil.
func (v *VPC) NetworkACL(name string) *NetworkACL {
	for _, a := range v.NetworkACLs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Peering returns the peering connection called name, or nil.
func (s *Scenario) Peering(name string) *Peering {
	for _, p := range s.Peerings {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// OnPremNetwork returns the on-premises network called name, or nil.
func (s *Scenario) OnPremNetwork(name string) *OnPrem {
	for _, o := range s.OnPrem {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// OnPremHost returns the on-premises host called name and its network, or nils.
func (s *Scenario) OnPremHost(name string) (*OnPrem, *Host) {
	for _, o := range s.OnPrem {
		for _, h := range o.Hosts {
			if h.Name == name {
				return o, h
			}
		}
	}
	return nil, nil
}
