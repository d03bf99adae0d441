package tfimport

import (
	"github.com/ec2sim/ec2sim/scenarios"
)

// Route tables, routes and associations.

// unmodelledTargets are route target attributes of the AWS provider that the scenario format
// has no target for.
var unmodelledTargets = []string{"transit_gateway_id", "egress_only_gateway_id", "vpc_endpoint_id", "carrier_gateway_id", "local_gateway_id", "core_network_arn"}

func (b *builder) addRouteTable(r *resource) {
	var v *scenarios.VPC
	t := &scenarios.RouteTable{}
	if r.Type == "aws_default_route_table" {
		vr := b.one(r, "default_route_table_id", "aws_vpc")
		if vr == nil {
			return
		}
		v = b.vpc[vr]
		if v == nil {
			return
		}
		if v.RouteTable(scenarios.MainRouteTable) != nil {
			b.fail(r, "VPC %s has a second aws_default_route_table", b.source[v])
			return
		}
		t.Name, t.Main = scenarios.MainRouteTable, true
	} else {
		if v = b.vpcOf(r, "vpc_id"); v == nil {
			return
		}
		t.Name = b.name("rt:"+v.Name, r)
	}
	t.VPC = v.Name
	if r.Unknown["route"] == true && r.cfg == nil {
		b.problem(r, "route", &refError{msg: "is known only after apply and the plan has no configuration to read"})
	}
	bs := configBlocks(r.cfgExprs(), "route")
	elems := objects(r.Values, "route")
	if r.Unknown["route"] == true && len(elems) == 0 {
		// the whole set is unknown (its routes name gateways this plan creates): read the
		// configuration's blocks, with constants where the plan has values
		if bs.joined != nil {
			b.problem(r, "route", &refError{msg: "is known only after apply, and the plan's configuration has only the references of its blocks, not the blocks"})
		}
		for _, blk := range bs.blocks {
			b.route(r, v, t, blk, constants(blk), "cidr_block", "ipv6_cidr_block", "destination_prefix_list_id")
		}
	}
	for _, elem := range elems {
		b.route(r, v, t, bs.match(elem), elem, "cidr_block", "ipv6_cidr_block", "destination_prefix_list_id")
	}
	if t.Main {
		v.RouteTables = append([]*scenarios.RouteTable{t}, v.RouteTables...)
	} else {
		v.RouteTables = append(v.RouteTables, t)
	}
	b.rt[r] = t
	b.rep.mapped(r.Addr, "route table %s/%s", v.Name, t.Name)
}

func (b *builder) addRoute(r *resource) {
	t := b.tableOf(r, "route_table_id")
	if t == nil {
		return
	}
	b.route(r, b.sc.VPC(t.VPC), t, r.cfgExprs(), r.Values, "destination_cidr_block", "destination_ipv6_cidr_block", "destination_prefix_list_id")
	b.rep.mapped(r.Addr, "route of route table %s/%s", t.VPC, t.Name)
}

// targetTypes are the resource types each route target attribute names.
var targetTypes = map[string][]string{
	"gateway_id": {"aws_internet_gateway", "aws_vpn_gateway"}, "nat_gateway_id": {"aws_nat_gateway"},
	"network_interface_id": {"aws_network_interface", "aws_instance"}, "instance_id": {"aws_instance"},
	"vpc_peering_connection_id": {"aws_vpc_peering_connection"}, "transit_gateway_id": {"aws_ec2_transit_gateway"},
	"egress_only_gateway_id": {"aws_egress_only_internet_gateway"}, "vpc_endpoint_id": {"aws_vpc_endpoint"},
	"carrier_gateway_id": {"aws_ec2_carrier_gateway"}, "local_gateway_id": {"aws_ec2_local_gateway"},
	"core_network_arn": {"aws_networkmanager_core_network"},
}

// set reports whether a route block or resource gives attr: a value, an unknown one or a
// reference. In a block of a joined set, an attribute the block does not know is set when the
// joined references name a resource of the attribute's type.
func (b *builder) set(r *resource, exprs, vals map[string]any, attr string) bool {
	if s, ok := vals[attr].(string); ok && s != "" {
		return true
	}
	if joined(exprs) {
		if vals[attr] != nil {
			return false
		}
		got, _ := b.rv.lookup(r, expression(exprs, attr), nil, true)
		return len(ofTypes(got, targetTypes[attr])) > 0
	}
	return unknown(r.Unknown, attr) || len(references(expression(exprs, attr))) > 0
}

// route adds one route (an inline block or an aws_route) to table t of VPC v.
func (b *builder) route(r *resource, v *scenarios.VPC, t *scenarios.RouteTable, exprs, vals map[string]any, cidrAttr, cidr6Attr, plAttr string) {
	dest := str(vals, cidrAttr)
	switch {
	case dest == "" && str(vals, cidr6Attr) != "":
		b.rep.skip(r.Addr, "route to %s: IPv6 routes are not modelled yet", str(vals, cidr6Attr))
		return
	case dest == "" && b.set(r, exprs, vals, plAttr):
		b.rep.skip(r.Addr, "route to a prefix list: managed prefix lists are not imported")
		return
	case dest == "":
		b.problem(r, cidrAttr, &refError{msg: "is not known before apply; the route cannot be imported"})
		return
	}
	p, ok := b.prefix(r, cidrAttr, dest)
	if !ok {
		return
	}
	if p == v.CIDR || str(vals, "gateway_id") == "local" {
		b.rep.note(r.Addr, "route %s local: every table has the local route already", p)
		return
	}
	for _, attr := range unmodelledTargets {
		if b.set(r, exprs, vals, attr) {
			b.rep.skip(r.Addr, "route %s via %s: that target is not modelled", p, attr)
			return
		}
	}
	target, ok := b.routeTarget(r, v, exprs, vals)
	if !ok {
		return
	}
	for _, o := range t.Routes {
		if o.Destination == p {
			b.fail(r, "route %s is given twice in route table %s (RouteAlreadyExists)", p, t.Name)
			return
		}
	}
	t.Routes = append(t.Routes, &scenarios.Route{Destination: p, Target: target})
}

func (b *builder) routeTarget(r *resource, v *scenarios.VPC, exprs, vals map[string]any) (scenarios.RouteTarget, bool) {
	switch {
	case b.set(r, exprs, vals, "gateway_id"):
		g := b.oneIn(r, exprs, vals, "gateway_id", "aws_internet_gateway", "aws_vpn_gateway")
		if g == nil {
			return scenarios.RouteTarget{}, false
		}
		if g.Type == "aws_vpn_gateway" {
			b.rep.skip(r.Addr, "route via VPN gateway %s: on-premises networks are not part of a plan", g.Addr)
			return scenarios.RouteTarget{}, false
		}
		if b.igw[g] != v {
			b.fail(r, "routes to internet gateway %s, which is not attached to this route table's VPC %s", g.Addr, b.source[v])
			return scenarios.RouteTarget{}, false
		}
		return scenarios.RouteTarget{Kind: "igw"}, true
	case b.set(r, exprs, vals, "nat_gateway_id"):
		g := b.oneIn(r, exprs, vals, "nat_gateway_id", "aws_nat_gateway")
		if g == nil || b.nat[g] == nil {
			return scenarios.RouteTarget{}, false
		}
		if b.nat[g].VPC != v.Name {
			b.fail(r, "routes to NAT gateway %s of another VPC (%s)", g.Addr, b.nat[g].VPC)
			return scenarios.RouteTarget{}, false
		}
		return scenarios.RouteTarget{Kind: "nat", Name: b.nat[g].Name}, true
	case b.set(r, exprs, vals, "network_interface_id"):
		g := b.oneIn(r, exprs, vals, "network_interface_id", "aws_network_interface", "aws_instance")
		if g == nil {
			return scenarios.RouteTarget{}, false
		}
		at := b.eni[g]
		if g.Type == "aws_instance" && b.inst[g] != nil && len(b.inst[g].ENIs) > 0 {
			at = eniRef{b.inst[g], 0} // primary_network_interface_id
		}
		if at.in == nil {
			b.rep.skip(r.Addr, "route via %s, which is not in the lab", g.Addr)
			return scenarios.RouteTarget{}, false
		}
		return scenarios.RouteTarget{Kind: "eni", Name: eniName(at)}, true
	case b.set(r, exprs, vals, "instance_id"):
		g := b.oneIn(r, exprs, vals, "instance_id", "aws_instance")
		if g == nil || b.inst[g] == nil || len(b.inst[g].ENIs) == 0 {
			return scenarios.RouteTarget{}, false
		}
		return scenarios.RouteTarget{Kind: "instance", Name: b.inst[g].Name}, true
	case b.set(r, exprs, vals, "vpc_peering_connection_id"):
		g := b.oneIn(r, exprs, vals, "vpc_peering_connection_id", "aws_vpc_peering_connection")
		if g == nil || b.peer[g] == nil {
			return scenarios.RouteTarget{}, false
		}
		return scenarios.RouteTarget{Kind: "peering", Name: b.peer[g].Name}, true
	}
	b.fail(r, "a route without a target; AWS wants one of gateway_id, nat_gateway_id, network_interface_id, vpc_peering_connection_id, transit_gateway_id, ...")
	return scenarios.RouteTarget{}, false
}

func (b *builder) addRTAssociation(r *resource) {
	if b.set(r, r.cfgExprs(), r.Values, "gateway_id") {
		b.rep.skip(r.Addr, "an edge association with a gateway is not modelled")
		return
	}
	t := b.tableOf(r, "route_table_id")
	sr := b.one(r, "subnet_id", "aws_subnet")
	if t == nil || sr == nil || b.subnet[sr] == nil {
		return
	}
	s := b.subnet[sr]
	if t.VPC != s.VPC {
		b.fail(r, "associates subnet %s (VPC %s) with route table %s of VPC %s; they must be in one VPC", sr.Addr, s.VPC, t.Name, t.VPC)
		return
	}
	if s.RouteTable != "" && s.RouteTable != t.Name {
		b.fail(r, "associates %s with route table %s, but it is already associated with %s; a subnet has one route table", sr.Addr, t.Name, s.RouteTable)
		return
	}
	s.RouteTable = t.Name
	b.rep.mapped(r.Addr, "association of %s with route table %s", s.Qualified(), t.Name)
}

func (b *builder) addMainAssociation(r *resource) {
	v := b.vpcOf(r, "vpc_id")
	t := b.tableOf(r, "route_table_id")
	if v == nil || t == nil {
		return
	}
	if t.VPC != v.Name {
		b.fail(r, "makes route table %s of VPC %s the main table of VPC %s", t.Name, t.VPC, v.Name)
		return
	}
	var rest []*scenarios.RouteTable
	for _, o := range v.RouteTables {
		if o != t {
			o.Main = false
			rest = append(rest, o)
		}
	}
	t.Main = true
	v.RouteTables = append([]*scenarios.RouteTable{t}, rest...)
	b.rep.mapped(r.Addr, "main route table of vpc %s: %s", v.Name, t.Name)
}

// tableOf resolves a route_table_id: a route table of the plan, or a VPC's
// default_route_table_id / main_route_table_id, which is the VPC's main table.
func (b *builder) tableOf(r *resource, attr string) *scenarios.RouteTable {
	t := b.one(r, attr, "aws_route_table", "aws_default_route_table", "aws_vpc")
	switch {
	case t == nil:
		return nil
	case t.Type == "aws_vpc":
		if v := b.vpc[t]; v != nil {
			return b.mainTable(v)
		}
		return nil
	}
	return b.rt[t]
}

// mainTable is the VPC's main route table, made as AWS creates it (the local route only) when
// the plan does not manage it with aws_default_route_table.
func (b *builder) mainTable(v *scenarios.VPC) *scenarios.RouteTable {
	if t := v.MainTable(); t != nil {
		return t
	}
	if t := v.RouteTable(scenarios.MainRouteTable); t != nil {
		return t
	}
	t := &scenarios.RouteTable{Name: scenarios.MainRouteTable, VPC: v.Name, Main: true}
	v.RouteTables = append([]*scenarios.RouteTable{t}, v.RouteTables...)
	return t
}
