package route

import (
	"fmt"
	"net/netip"
	"slices"
)

// TargetKind is what a route sends to. The zero value is invalid.
type TargetKind uint8

const (
	// Local delivers inside the VPC, to the ENI that holds the destination.
	Local TargetKind = iota + 1
	IGW
	EgressOnlyIGW
	NATGW
	// ENI sends to a network interface: a middlebox appliance.
	ENI
	// Instance sends to an instance's primary network interface.
	Instance
	VGW
	Peering
	TGW
	GWLBEndpoint
	// Blackhole drops: a route that says so outright. A route whose target was deleted keeps
	// its target and has State Blackhole instead.
	Blackhole
	numKinds
)

// kindInfo holds each kind's word (as ParseTarget reads it and String writes it), its AWS ID
// prefix, and the words errors use.
var kindInfo = [numKinds]struct{ word, prefix, name string }{
	Local:         {"local", "", "local"},
	IGW:           {"igw", "igw-", "internet gateway"},
	EgressOnlyIGW: {"eigw", "eigw-", "egress-only internet gateway"},
	NATGW:         {"nat", "nat-", "NAT gateway"},
	ENI:           {"eni", "eni-", "network interface"},
	Instance:      {"instance", "i-", "instance"},
	VGW:           {"vgw", "vgw-", "virtual private gateway"},
	Peering:       {"peering", "pcx-", "peering connection"},
	TGW:           {"tgw", "tgw-", "transit gateway"},
	GWLBEndpoint:  {"gwlbe", "vpce-", "Gateway Load Balancer endpoint"},
	Blackhole:     {"blackhole", "", "blackhole"},
}

func (k TargetKind) valid() bool { return k >= Local && k < numKinds }

func (k TargetKind) String() string {
	if k.valid() {
		return kindInfo[k].word
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Target is where a route sends: a kind, the ID of the gateway, interface or connection, and
// the engine's index of it, which the engine fills in when it compiles its snapshot.
type Target struct {
	Kind  TargetKind
	ID    string
	Index uint32
}

// needsID says whether a target names an object; local and blackhole do not.
func (t Target) needsID() bool { return t.Kind != Local && t.Kind != Blackhole }

// Origin is how a route came to be. The zero value is a static route (AWS's CreateRoute).
type Origin uint8

const (
	Static Origin = iota
	// OriginLocal is a VPC CIDR's local route (AWS's CreateRouteTable).
	OriginLocal
	// Propagated routes come from a virtual private gateway (EnableVgwRoutePropagation).
	Propagated
)

func (o Origin) String() string {
	switch o {
	case Static:
		return "static"
	case OriginLocal:
		return "local"
	case Propagated:
		return "propagated"
	}
	return fmt.Sprintf("origin(%d)", uint8(o))
}

// State is active, or blackhole once the target is gone. The zero value is active.
type State uint8

const (
	Active State = iota
	StateBlackhole
)

func (s State) String() string {
	switch s {
	case Active:
		return "active"
	case StateBlackhole:
		return "blackhole"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Route is one route of a table.
type Route struct {
	Dest   netip.Prefix
	Target Target
	Origin Origin
	State  State
}

// Drops says the route discards what it matches: its target was deleted, or it is a blackhole
// route.
func (r Route) Drops() bool { return r.State == StateBlackhole || r.Target.Kind == Blackhole }

// String reads like the console: "10.0.0.0/16 -> local", "0.0.0.0/0 -> nat-1 (blackhole)".
func (r Route) String() string {
	s := r.Dest.String() + " -> " + r.Target.String()
	if r.Origin == Propagated {
		s += " (propagated)"
	}
	if r.State == StateBlackhole {
		s += " (blackhole)"
	}
	return s
}

// VPC is what a table's rules depend on: the VPC's CIDRs (each has a local route) and its
// subnets' CIDRs (the only destinations a route more specific than local may have).
type VPC struct {
	CIDRs   []netip.Prefix
	Subnets []netip.Prefix
}

// Table is a route table.
type Table struct {
	ID string
	// Main marks the VPC's main table, used by every subnet without an explicit association.
	Main   bool
	Routes []Route
}

func (t *Table) label() string { return fmt.Sprintf("route table %q", t.ID) }

// LocalRoutes are the local routes of a VPC, one per CIDR.
func LocalRoutes(vpc VPC) []Route {
	rs := make([]Route, 0, len(vpc.CIDRs))
	for _, c := range vpc.CIDRs {
		rs = append(rs, Route{Dest: c.Masked(), Target: Target{Kind: Local}, Origin: OriginLocal})
	}
	return rs
}

// NewTable is a new table of a VPC: its local routes only, as AWS creates it.
func NewTable(id string, main bool, vpc VPC) Table {
	return Table{ID: id, Main: main, Routes: LocalRoutes(vpc)}
}

// SyncLocal makes the table's local routes those of the VPC's CIDRs, as AWS does when a CIDR
// is associated with or removed from the VPC.
func (t *Table) SyncLocal(vpc VPC) {
	rs := LocalRoutes(vpc)
	for _, r := range t.Routes {
		if r.Origin != OriginLocal {
			rs = append(rs, r)
		}
	}
	t.Routes = rs
}

// AddRoute adds a static or propagated route (CreateRoute), after checking it against AWS's
// rules and the routes already in the table. On error the table is unchanged.
func (t *Table) AddRoute(r Route, vpc VPC) error {
	if r.Origin == OriginLocal || r.Target.Kind == Local {
		return fmt.Errorf("%s: route %v: local routes come from the VPC's CIDRs and cannot be added", t.label(), r)
	}
	next := *t
	next.Routes = append(slices.Clip(t.Routes), r)
	if err := Check(next, vpc); err != nil {
		return err
	}
	t.Routes = next.Routes
	return nil
}

// ReplaceRoute changes the target of the static route to r.Dest (ReplaceRoute), which also
// revives a blackhole route.
func (t *Table) ReplaceRoute(r Route, vpc VPC) error {
	i := t.find(r.Dest, Static)
	if i < 0 {
		return t.notFound(r.Dest)
	}
	if r.Origin != Static || r.Target.Kind == Local {
		return fmt.Errorf("%s: route %v: only a static route's target can be replaced", t.label(), r)
	}
	next := *t
	next.Routes = slices.Clone(t.Routes)
	next.Routes[i] = r
	if err := Check(next, vpc); err != nil {
		return err
	}
	t.Routes = next.Routes
	return nil
}

// DeleteRoute removes the static route to dest (DeleteRoute). Local routes cannot be deleted;
// propagated ones go when propagation is disabled.
func (t *Table) DeleteRoute(dest netip.Prefix) error {
	i := t.find(dest, Static)
	if i < 0 {
		return t.notFound(dest)
	}
	t.Routes = slices.Delete(slices.Clone(t.Routes), i, i+1)
	return nil
}

func (t *Table) find(dest netip.Prefix, o Origin) int {
	return slices.IndexFunc(t.Routes, func(r Route) bool { return r.Dest == dest && r.Origin == o })
}

func (t *Table) notFound(dest netip.Prefix) error {
	if t.find(dest, OriginLocal) >= 0 {
		return fmt.Errorf("%s: %s is a local route, which cannot be changed", t.label(), dest)
	}
	var have []string
	for _, r := range t.Routes {
		if r.Origin == Static {
			have = append(have, r.Dest.String())
		}
	}
	return fmt.Errorf("%s: no static route to %s (static routes: %v)", t.label(), dest, have)
}

// TargetDeleted puts every route to the target in state blackhole, as AWS does when a NAT
// gateway, interface, instance or gateway is deleted, and returns how many it changed. The
// routes stay until they are deleted or replaced.
func (t *Table) TargetDeleted(kind TargetKind, id string) int {
	n := 0
	for i := range t.Routes {
		r := &t.Routes[i]
		if r.Target.Kind == kind && r.Target.ID == id && r.Target.needsID() && r.State != StateBlackhole {
			r.State = StateBlackhole
			n++
		}
	}
	return n
}

// TargetDeleted marks the target deleted in every table; see [Table.TargetDeleted].
func TargetDeleted(tables []Table, kind TargetKind, id string) int {
	n := 0
	for i := range tables {
		n += tables[i].TargetDeleted(kind, id)
	}
	return n
}
