package check

import (
	"fmt"
	"strconv"

	"github.com/ec2sim/ec2sim/scenarios"
)

// routedENIs maps every ENI ("instance.ethN") that a route of v targets to the first such route,
// as "table destination".
func routedENIs(v *scenarios.VPC) map[string]*scenarios.Route {
	out := map[string]*scenarios.Route{}
	for _, t := range v.RouteTables {
		for _, r := range t.Routes {
			var eni string
			switch r.Target.Kind {
			case "instance":
				eni = r.Target.Name + ".eth0"
			case "eni":
				eni = r.Target.Name
			default:
				continue
			}
			if _, ok := out[eni]; !ok {
				out[eni] = r
			}
		}
	}
	return out
}

// sourceDestCheck reports routes to ENIs whose source/destination check is on (the hypervisor
// drops what they forward, aws-semantics.md §1.4) and ENIs with the check off that no route
// targets (anti-spoofing given up with no route that needs it).
func (r *report) sourceDestCheck(v *scenarios.VPC) {
	routed := routedENIs(v)
	for _, in := range r.sc.Instances {
		for k, e := range in.ENIs {
			if e.VPCName() != v.Name {
				continue
			}
			name := in.Name + ".eth" + strconv.Itoa(k)
			obj := fmt.Sprintf("instance %s eth%d", in.Name, k)
			rt, isTarget := routed[name]
			switch {
			case isTarget && e.SourceDestCheck:
				r.addf("EC2SIM-NET-002", rt.Pos, obj, "set source_dest_check: false on "+name+" if it is meant to forward, or route to a NAT gateway instead",
					"route %s -> %s sends traffic through %s, whose source/destination check is on: the hypervisor drops every packet it receives for others or sends from others' addresses",
					rt.Destination, rt.Target, name)
			case !isTarget && !e.SourceDestCheck:
				r.addf("EC2SIM-NET-003", e.Pos, obj, "set source_dest_check back to true unless the instance forwards traffic (routes inside other instances are not visible to check)",
					"%s has its source/destination check off, so it may send from any address, but no route table of vpc %s routes through it", name, v.Name)
			}
		}
	}
}

// natGateways reports public NAT gateways in subnets without a route to an internet gateway:
// they translate to an Elastic IP that can reach nothing.
func (r *report) natGateways(v *scenarios.VPC) {
	for _, n := range v.NATGateways {
		sn := r.sc.Subnet(n.Subnet)
		if n.Private || sn == nil || hasIGWRoute(v, sn) {
			continue
		}
		r.addf("EC2SIM-NET-004", n.Pos, "NAT gateway "+n.Qualified(), "put the NAT gateway in a public subnet (one whose route table sends 0.0.0.0/0 to the internet gateway), or make it private: true",
			"public NAT gateway %s is in subnet %s, which has no route to an internet gateway: what it translates cannot reach the internet", n.Qualified(), sn.Qualified())
	}
}

// routeTables reports blackhole routes (a target that was deleted, AWS's stale route) and
// route tables that are neither main nor associated with a subnet.
func (r *report) routeTables(v *scenarios.VPC) {
	used := map[string]bool{}
	for _, sn := range v.Subnets {
		used[sn.RouteTable] = true
	}
	for _, t := range v.RouteTables {
		name := "route table " + v.Name + "/" + t.Name
		if !t.Main && !used[t.Name] {
			r.addf("EC2SIM-NET-006", t.Pos, name, "associate it with the subnets it was written for (route_table: "+t.Name+"), or delete it",
				"route table %s/%s is not the main table and no subnet is associated with it", v.Name, t.Name)
		}
		for i, rt := range t.Routes {
			if rt.Target.Kind == "blackhole" {
				r.addf("EC2SIM-NET-005", rt.Pos, fmt.Sprintf("%s route %d", name, i+1), "delete the route, or point it at the target that replaced the deleted one",
					"route %s -> blackhole drops everything to %s: on AWS a route is a blackhole when its target was deleted", rt.Destination, rt.Destination)
			}
		}
	}
}
