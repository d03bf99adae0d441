package lab

import (
	"fmt"
	"strings"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/scenarios"
)

// buildNetwork compiles the scenario's route tables and network ACLs into st and associates every
// subnet: the VPC's main table and default ACL unless the subnet names others. A VPC without a
// declared main table gets AWS's (the local route only); without a declared default ACL, AWS's
// (rule 100 allows all IPv4 in and out).
func buildNetwork(sc *scenarios.Scenario, labName string, st *fabric.State, subnetIdx map[string]uint32) error {
	st.RouteTables, st.ACLs = nil, nil
	for _, v := range sc.VPCs {
		local := fabric.RouteEntry{Dest: v.CIDR, Kind: fabric.TargetLocal, Name: "local"}
		tables := map[string]uint32{}
		main := -1
		for _, rt := range v.RouteTables {
			routes := []fabric.RouteEntry{local}
			for _, r := range rt.Routes {
				e := fabric.RouteEntry{Dest: r.Destination, Name: r.Target.String()}
				switch r.Target.Kind {
				case "blackhole":
					e.Kind = fabric.TargetBlackhole
				case "igw":
					e.Kind = fabric.TargetIGW
				case "vgw":
					e.Kind = fabric.TargetVGW
				case "peering":
					i, ok := peeringIndex(st, r.Target.Name)
					if !ok {
						return fmt.Errorf("%s: route table %s: no peering %q", r.Pos, rt.Name, r.Target.Name)
					}
					e.Kind, e.Index = fabric.TargetPeering, i
				case "instance", "eni":
					target := r.Target.Name
					if r.Target.Kind == "instance" {
						target += ".eth0"
					}
					idx, err := eniOf(st, target)
					if err != nil {
						return fmt.Errorf("%s: route table %s: %w", r.Pos, rt.Name, err)
					}
					e.Kind, e.Index = fabric.TargetENI, idx
				case "nat":
					idx, err := natGatewayENI(st, v.Name, r.Target.Name)
					if err != nil {
						return fmt.Errorf("%s: route table %s: %w", r.Pos, rt.Name, err)
					}
					e.Kind, e.Index = fabric.TargetNATGW, idx
				default:
					return fmt.Errorf("%s: route table %s: target %s is not supported yet", r.Pos, rt.Name, r.Target)
				}
				routes = append(routes, e)
			}
			tables[rt.Name] = uint32(len(st.RouteTables))
			if rt.Main {
				main = len(st.RouteTables)
			}
			st.RouteTables = append(st.RouteTables, fabric.NewRouteTable(rt.Name, awsID("rtb", labName, v.Name+"/"+rt.Name), routes))
		}
		if main < 0 {
			main = len(st.RouteTables)
			st.RouteTables = append(st.RouteTables, fabric.NewRouteTable(scenarios.MainRouteTable, awsID("rtb", labName, v.Name+"/"+scenarios.MainRouteTable), []fabric.RouteEntry{local}))
		}
		acls := map[string]uint32{}
		def := -1
		for _, a := range v.NetworkACLs {
			acls[a.Name] = uint32(len(st.ACLs))
			if a.Default {
				def = len(st.ACLs)
			}
			st.ACLs = append(st.ACLs, fabric.NewACL(a.Name, awsID("acl", labName, v.Name+"/"+a.Name), aclEntries(a.Ingress), aclEntries(a.Egress)))
		}
		if def < 0 {
			def = len(st.ACLs)
			st.ACLs = append(st.ACLs, fabric.DefaultACL(scenarios.DefaultACL, awsID("acl", labName, v.Name+"/"+scenarios.DefaultACL)))
		}
		for _, s := range v.Subnets {
			si := subnetIdx[v.Name+"/"+s.Name]
			st.Subnets[si].RouteTable, st.Subnets[si].ACL = uint32(main), uint32(def)
			if s.RouteTable != "" {
				st.Subnets[si].RouteTable = tables[s.RouteTable]
			}
			if s.NetworkACL != "" {
				st.Subnets[si].ACL = acls[s.NetworkACL]
			}
		}
	}
	return nil
}

func aclEntries(es []*scenarios.ACLEntry) []fabric.ACLEntry {
	out := make([]fabric.ACLEntry, 0, len(es))
	for _, e := range es {
		out = append(out, aclEntry(e))
	}
	return out
}

func aclEntry(e *scenarios.ACLEntry) fabric.ACLEntry {
	return fabric.ACLEntry{Number: e.Number, Allow: e.Allow, Proto: e.Proto, FromPort: e.FromPort, ToPort: e.ToPort, ICMPType: e.ICMPType, ICMPCode: e.ICMPCode, CIDR: e.CIDR}
}

// eniOf resolves "instance.ethN" among planned ENIs.
func eniOf(st *fabric.State, target string) (uint32, error) {
	name, eth, _ := strings.Cut(target, ".")
	for i, e := range st.ENIs {
		if e.Instance == name && e.Name == eth {
			return uint32(i), nil
		}
	}
	return 0, fmt.Errorf("no ENI %s", target)
}
