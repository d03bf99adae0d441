// Package fabric is the virtual VPC: the model of VPCs, subnets and ENIs, the immutable snapshot of
// it that the packet path reads, the pure Decide function that settles one packet's fate, and the
// engine that moves frames between ENI ports and applies those decisions.
package fabric

import (
	"fmt"
	"net/netip"

	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/sgengine"
)

// NoENI is the index used where no ENI applies.
const NoENI = ^uint32(0)

// State is an immutable snapshot of the fabric that the packet path reads through an atomic
// pointer. A change (a source/dest check toggled, an instance started) builds a new State; readers
// never see a half-made one. Indexes are stable for the life of a lab: an ENI keeps its index.
type State struct {
	ENIs    []ENIState
	VPCs    []VPCState
	Subnets []SubnetState
	// SG is the compiled security groups of every ENI. Nil means no security groups are
	// enforced (unit tests of the lower stages); a lab always has one.
	SG *sgengine.Policy
	// RouteTables and ACLs are indexed by SubnetState.RouteTable and SubnetState.ACL.
	RouteTables []RouteTableState
	ACLs        []ACLState
	// Internet is the ENI index of the simulated internet's attachment, or NoENI; IGWMAC is the
	// MAC the internet gateways answer ARP with on it.
	Internet uint32
	IGWMAC   mac.HW
	// Peerings are the active VPC peering connections (peering.go); OnPrem the on-premises
	// networks that VPN gateways connect to (vgw.go). Routes index both.
	Peerings []PeeringState
	OnPrem   []OnPremState
	// public maps public and Elastic IPs to the ENI that holds them.
	public map[netip.Addr]uint32
}

// ENIKind says what sits behind an ENI index.
type ENIKind uint8

const (
	// KindInstance is an instance's ENI: a TAP in the instance's namespace.
	KindInstance ENIKind = iota
	// KindInternet is the attachment of the simulated internet: a TAP in the internet namespace,
	// reached through an internet gateway.
	KindInternet
	// KindOnPrem is the attachment of an on-premises network: a TAP in its namespace, reached
	// through the VPN gateways of the VPCs connected to it (State.OnPrem).
	KindOnPrem
	// KindNATGW is a NAT gateway's network interface: no port of its own; the engine
	// translates what is routed to it and forwards it on (natgwstage.go).
	KindNATGW
)

// ENIState is one ENI as the packet path needs it.
type ENIState struct {
	Kind     ENIKind
	Present  bool // false for an index whose ENI is gone (instance stopped, lab shrinking)
	ID       string
	Instance string
	Name     string // eth0, eth1, ... inside the instance
	Subnet   uint32
	VPC      uint32
	Identity mac.Identity
	// PublicIP is the public or Elastic IP the internet gateway maps to the ENI's primary
	// private address; zero when it has none.
	PublicIP netip.Addr
}

// VPCState is one VPC: its router's MAC and the maps from private address and MAC to ENI.
type VPCState struct {
	// IGW: an internet gateway is attached.
	IGW bool
	// HasVGW: a VPN gateway is attached, connecting to the on-premises network State.OnPrem[VGW].
	HasVGW    bool
	VGW       uint32
	Name      string
	ID        string
	CIDR      netip.Prefix
	RouterMAC mac.HW
	byIP      map[netip.Addr]uint32
	byMAC     map[mac.HW]uint32
}

// SubnetState is one subnet.
type SubnetState struct {
	Name   string // qualified: vpc/subnet
	ID     string
	VPC    uint32
	CIDR   netip.Prefix
	Router netip.Addr // .1
	DNS    netip.Addr // .2 (AWS reserves base+2 in every subnet)
	// RouteTable and ACL index State.RouteTables and State.ACLs.
	RouteTable uint32
	ACL        uint32
}

// ENIByIP finds the ENI that holds a (as a primary or secondary private address) in VPC v.
func (s *State) ENIByIP(v uint32, a netip.Addr) (uint32, bool) {
	i, ok := s.VPCs[v].byIP[a]
	return i, ok
}

// ENIByMAC finds the ENI with MAC h in VPC v.
func (s *State) ENIByMAC(v uint32, h mac.HW) (uint32, bool) {
	i, ok := s.VPCs[v].byMAC[h]
	return i, ok
}

// index fills the lookup maps from the ENI list and gives a State without route tables or ACLs
// the VPC defaults (a main table with the local routes, the allow-all default ACL); every
// builder of a State calls it last.
func (s *State) index() error {
	if len(s.RouteTables) == 0 && len(s.ACLs) == 0 {
		for vi, v := range s.VPCs {
			s.RouteTables = append(s.RouteTables, NewRouteTable("main", v.ID+"-main", []RouteEntry{{Dest: v.CIDR, Kind: TargetLocal, Name: "local"}}))
			s.ACLs = append(s.ACLs, DefaultACL("default", v.ID+"-default"))
			for si := range s.Subnets {
				if s.Subnets[si].VPC == uint32(vi) {
					s.Subnets[si].RouteTable, s.Subnets[si].ACL = uint32(vi), uint32(vi)
				}
			}
		}
	}
	for v := range s.VPCs {
		s.VPCs[v].byIP = map[netip.Addr]uint32{}
		s.VPCs[v].byMAC = map[mac.HW]uint32{}
	}
	s.public = map[netip.Addr]uint32{}
	s.Internet = NoENI
	for i := range s.ENIs {
		e := &s.ENIs[i]
		if !e.Present {
			continue
		}
		if e.Kind == KindInternet {
			s.Internet = uint32(i)
			continue
		}
		if e.Kind == KindOnPrem {
			continue
		}
		if e.PublicIP.IsValid() {
			if j, dup := s.public[e.PublicIP]; dup {
				return fmt.Errorf("public IP %s is on both %s and %s", e.PublicIP, s.ENIs[j].ID, e.ID)
			}
			s.public[e.PublicIP] = uint32(i)
		}
		v := &s.VPCs[e.VPC]
		if j, dup := v.byMAC[e.Identity.MAC]; dup {
			return fmt.Errorf("MAC %s is on both %s and %s", e.Identity.MAC, s.ENIs[j].ID, e.ID)
		}
		v.byMAC[e.Identity.MAC] = uint32(i)
		for _, a := range e.Identity.Addrs {
			if j, dup := v.byIP[a]; dup {
				return fmt.Errorf("address %s is on both %s and %s", a, s.ENIs[j].ID, e.ID)
			}
			v.byIP[a] = uint32(i)
		}
	}
	return nil
}

// clone copies s deeply enough that the copy can be changed and re-indexed without touching s.
func (s *State) clone() *State {
	n := &State{
		ENIs:    append([]ENIState(nil), s.ENIs...),
		VPCs:    append([]VPCState(nil), s.VPCs...),
		Subnets: append([]SubnetState(nil), s.Subnets...),
		SG:      s.SG,
		// Tables and ACLs are replaced whole by the functions that change them, never edited in
		// place, so the copy may share them.
		RouteTables: s.RouteTables,
		ACLs:        s.ACLs,
		Peerings:    s.Peerings,
		OnPrem:      s.OnPrem,
		IGWMAC:      s.IGWMAC,
	}
	for i := range n.ENIs {
		id := &n.ENIs[i].Identity
		id.Addrs = append([]netip.Addr(nil), id.Addrs...)
		id.Prefixes = append([]netip.Prefix(nil), id.Prefixes...)
	}
	return n
}

// WithSourceDestCheck returns a copy of s in which ENI i's source/destination check is on.
func (s *State) WithSourceDestCheck(i uint32, on bool) (*State, error) {
	if int(i) >= len(s.ENIs) || !s.ENIs[i].Present {
		return nil, fmt.Errorf("no ENI with index %d", i)
	}
	n := s.clone()
	n.ENIs[i].Identity.SourceDestCheck = on
	if err := n.index(); err != nil {
		return nil, err
	}
	return n, nil
}

// Index builds st's lookup maps; a State made outside this package must be indexed before use.
func Index(st *State) error { return st.index() }

// WithPolicy returns a copy of s whose security groups are pol.
func (s *State) WithPolicy(pol *sgengine.Policy) *State {
	n := *s
	n.SG = pol
	return &n
}
