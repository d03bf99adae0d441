package check

import (
	"fmt"
	"strings"

	"github.com/ec2sim/ec2sim/scenarios"
)

// Run checks a loaded scenario and returns its findings, most severe first. It fails only when a
// network ACL cannot be compiled, which the loader's checks should have made impossible.
func Run(sc *scenarios.Scenario) ([]Finding, error) {
	r := &report{sc: sc, members: groupMembers(sc)}
	for _, w := range sc.Warnings {
		r.add("EC2SIM-FILE-001", w.Pos, "scenario "+sc.Name, w.Msg, "change the file so that the loader has nothing to warn about (the message says what it did)")
	}
	for _, v := range sc.VPCs {
		for _, g := range v.SecurityGroups {
			r.securityGroup(v, g)
		}
		used := aclsInUse(v)
		for _, a := range v.NetworkACLs {
			if err := r.networkACL(v, a, used[a.Name]); err != nil {
				return nil, err
			}
		}
		r.publicInPrivate(v)
		r.sourceDestCheck(v)
		r.natGateways(v)
		r.routeTables(v)
	}
	r.prefixLists()
	sortFindings(r.out)
	return r.out, nil
}

// report collects findings.
type report struct {
	sc *scenarios.Scenario
	// members counts the ENIs of each group, by "vpc/group".
	members map[string]int
	out     []Finding
}

func (r *report) add(id string, at scenarios.Pos, object, msg, fix string) {
	r.out = append(r.out, Finding{ID: id, Severity: kind(id).Severity, Object: object, Pos: at, Message: msg, Fix: fix})
}

func (r *report) addf(id string, at scenarios.Pos, object, fix, format string, args ...any) {
	r.add(id, at, object, fmt.Sprintf(format, args...), fix)
}

// groupMembers counts, for every "vpc/group", the ENIs that use it.
func groupMembers(sc *scenarios.Scenario) map[string]int {
	m := map[string]int{}
	for _, in := range sc.Instances {
		for _, e := range in.ENIs {
			for _, g := range e.SecurityGroups {
				m[e.VPCName()+"/"+g]++
			}
		}
	}
	return m
}

// aclsInUse names the ACLs of v that some subnet uses; the default ACL serves every subnet
// without an association.
func aclsInUse(v *scenarios.VPC) map[string]bool {
	used := map[string]bool{}
	for _, sn := range v.Subnets {
		if sn.NetworkACL == "" {
			used[scenarios.DefaultACL] = true
		} else {
			used[sn.NetworkACL] = true
		}
	}
	return used
}

// publicInPrivate reports public addresses in subnets whose route table has no route to an
// internet gateway.
func (r *report) publicInPrivate(v *scenarios.VPC) {
	for _, sn := range v.Subnets {
		if hasIGWRoute(v, sn) {
			continue
		}
		table := sn.RouteTable
		if table == "" {
			if mt := v.MainTable(); mt != nil {
				table = mt.Name
			}
		}
		why := fmt.Sprintf("subnet %s is private: its route table %s has no route to an internet gateway", sn.Qualified(), table)
		if !v.InternetGateway {
			why = fmt.Sprintf("subnet %s is private: vpc %s has no internet gateway", sn.Qualified(), v.Name)
		}
		fix := "remove the public address (use a NAT gateway for outbound access), or route the subnet to the internet gateway if it is meant to be public"
		if sn.MapPublicIP {
			r.addf("EC2SIM-NET-001", sn.Pos, "subnet "+sn.Qualified(), "set map_public_ip_on_launch: false, or route the subnet to the internet gateway if it is meant to be public",
				"map_public_ip_on_launch gives instances public IPs, but %s", why)
		}
		for _, in := range r.sc.Instances {
			for k, e := range in.ENIs {
				if e.Subnet != sn.Qualified() || (!e.PublicIP && !e.ElasticIP.IsValid()) {
					continue
				}
				what := "a public IP"
				if e.ElasticIP.IsValid() {
					what = "Elastic IP " + e.ElasticIP.String()
				}
				r.addf("EC2SIM-NET-001", e.Pos, fmt.Sprintf("instance %s eth%d", in.Name, k), fix, "%s.eth%d has %s, but %s", in.Name, k, what, why)
			}
		}
	}
}

func hasIGWRoute(v *scenarios.VPC, sn *scenarios.Subnet) bool {
	if !v.InternetGateway {
		return false
	}
	t := v.MainTable()
	if sn.RouteTable != "" {
		t = v.RouteTable(sn.RouteTable)
	}
	if t == nil {
		return false
	}
	for _, rt := range t.Routes {
		if rt.Target.Kind == "igw" {
			return true
		}
	}
	return false
}

// prefixLists reports prefix lists that no rule references.
func (r *report) prefixLists() {
	refs := map[string]bool{}
	for _, v := range r.sc.VPCs {
		for _, g := range v.SecurityGroups {
			for _, rl := range append(append([]*scenarios.Rule{}, g.Ingress...), g.Egress...) {
				if rl.PrefixList != "" {
					refs[rl.PrefixList] = true
				}
			}
		}
	}
	for _, pl := range r.sc.PrefixLists {
		// AWS-managed lists (com.amazonaws.REGION.SERVICE, which the AWS importer names
		// com-amazonaws-...) come with the account and serve gateway endpoints' routes, which
		// scenarios do not model: unused by rules is no finding there, and they cannot be
		// deleted.
		if !refs[pl.Name] && !strings.HasPrefix(pl.Name, "com-amazonaws-") {
			r.addf("EC2SIM-PL-002", pl.Pos, "prefix list "+pl.Name, "delete it, or reference it where it was meant to be used",
				"prefix list %s is referenced by no security group rule", pl.Name)
		}
	}
}
