package reach

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

// Endpoint kinds.
const (
	KindInstance = "instance"
	KindInternet = "internet"
	KindOnPrem   = "on-prem"
)

// Endpoint is one row or column of the matrix: an instance's ENI, a host of the simulated
// internet, or an on-premises host (a target only: nothing in the lab sends from it).
type Endpoint struct {
	// Name is "web-1" for an instance's eth0, "web-1.eth1" for its other ENIs, or the host's name.
	Name     string     `json:"name"`
	Kind     string     `json:"kind"`
	Instance string     `json:"instance,omitempty"`
	Addr     netip.Addr `json:"address"`
	Public   netip.Addr `json:"public_address,omitzero"`
	// ENI is the fabric's ENI index (the internet's attachment for an internet host); NoENI for
	// an on-premises host.
	ENI uint32 `json:"-"`
	// Primary: an instance's eth0, or a host.
	Primary bool `json:"-"`
	// class is the endpoint's equivalence class: endpoints of one class get the same verdict
	// for every packet to or from any other endpoint.
	class int
	// out and in are the TCP and UDP rules that can judge the packets this endpoint sends (its
	// groups' egress rules, its subnet's outbound ACL entries) and receives.
	out, in []portRule
}

// portRule is what the analysis needs of a rule: its protocol, port range and peer.
type portRule struct {
	proto  int
	lo, hi int
	// peers are the prefixes the rule's peer must be in; none means any peer (a group
	// reference, kept whatever its members: it only adds boundaries).
	peers []netip.Prefix
}

// bounds adds the port boundaries of the rules of protocol proto that can match peer.
func addBounds(b *bounds, rules []portRule, proto int, peer netip.Addr) {
	for i := range rules {
		r := &rules[i]
		if r.proto != proto {
			continue
		}
		match := len(r.peers) == 0
		for _, p := range r.peers {
			match = match || p.Contains(peer)
		}
		if match {
			b.add(r.lo, r.hi)
		}
	}
}

// endpoints lists the plan's endpoints in scenario order: instances (every ENI of a running
// instance), internet hosts, on-premises hosts.
func endpoints(p *lab.Plan) []*Endpoint {
	st, sc := p.State, p.Scenario
	var out []*Endpoint
	for _, ip := range p.Instances {
		for k, idx := range ip.ENIs {
			e := &st.ENIs[idx]
			if !e.Present {
				continue // a stopped or terminated instance: nothing reaches it, it sends nothing
			}
			name := ip.Name
			if k > 0 {
				name = fmt.Sprintf("%s.%s", ip.Name, e.Name)
			}
			out = append(out, &Endpoint{Name: name, Kind: KindInstance, Instance: ip.Name, Addr: e.Identity.Addrs[0],
				Public: e.PublicIP, ENI: idx, Primary: k == 0})
		}
	}
	if st.Internet != fabric.NoENI {
		inet := &st.ENIs[st.Internet]
		if sc.Internet != nil && len(sc.Internet.Hosts) > 0 {
			for _, h := range sc.Internet.Hosts {
				out = append(out, &Endpoint{Name: h.Name, Kind: KindInternet, Addr: h.IP, ENI: st.Internet, Primary: true})
			}
		} else {
			// The internet with no declared hosts has one, so that gateways lead somewhere.
			out = append(out, &Endpoint{Name: scenarios.InternetEndpoint, Kind: KindInternet, Addr: inet.Identity.Addrs[0], ENI: st.Internet, Primary: true})
		}
	}
	for _, o := range sc.OnPrem {
		for _, h := range o.Hosts {
			out = append(out, &Endpoint{Name: h.Name, Kind: KindOnPrem, Addr: h.IP, ENI: fabric.NoENI, Primary: true})
		}
	}
	return out
}

// classify gives every endpoint its bounds and its equivalence class. Two instance ENIs are
// equivalent when nothing on any path tells them apart: the same subnet (so the same route table
// and ACL), the same groups (so the same rules and the same membership in every group reference),
// the same source/destination check and public-address status, the same set of rule, ACL and
// route prefixes containing their address, and neither is the target of a route. Hosts are
// classes of their own.
func classify(p *lab.Plan, eps []*Endpoint) (classes int) {
	st, sc := p.State, p.Scenario
	groupsOf := map[uint32][]*scenarios.SecurityGroup{}
	for i, in := range sc.Instances {
		for k, e := range in.ENIs {
			vpc := sc.VPC(e.VPCName())
			for _, name := range e.SecurityGroups {
				if g := vpc.Group(name); g != nil {
					groupsOf[p.Instances[i].ENIs[k]] = append(groupsOf[p.Instances[i].ENIs[k]], g)
				}
			}
		}
	}
	// Every prefix a decision can look an address up in.
	var prefixes []netip.Prefix
	lists := map[string][]netip.Prefix{}
	for _, l := range sc.PrefixLists {
		lists[l.Name] = l.Entries
	}
	for _, v := range sc.VPCs {
		for _, g := range v.SecurityGroups {
			for _, r := range append(slices.Clone(g.Ingress), g.Egress...) {
				if r.CIDR.IsValid() {
					prefixes = append(prefixes, r.CIDR)
				}
				prefixes = append(prefixes, lists[r.PrefixList]...)
			}
		}
	}
	routeTarget := map[uint32]bool{}
	for _, rt := range st.RouteTables {
		for _, r := range rt.Routes {
			prefixes = append(prefixes, r.Dest)
			if r.Kind == fabric.TargetENI {
				routeTarget[r.Index] = true
			}
		}
	}
	// ACL entries' port rules by ACL and direction (0 out, 1 in).
	aclRules := make([][2][]portRule, len(st.ACLs))
	for i, a := range st.ACLs {
		for d, list := range [][]fabric.ACLEntry{a.Egress, a.Ingress} {
			for _, e := range list {
				prefixes = append(prefixes, e.CIDR)
				if e.Proto == 6 || e.Proto == 17 {
					aclRules[i][d] = append(aclRules[i][d], portRule{e.Proto, e.FromPort, e.ToPort, []netip.Prefix{e.CIDR}})
				}
			}
		}
	}
	slices.SortFunc(prefixes, func(a, b netip.Prefix) int { return strings.Compare(a.String(), b.String()) })
	prefixes = slices.Compact(prefixes)

	ids := map[string]int{}
	for _, ep := range eps {
		var key strings.Builder
		switch {
		case ep.Kind != KindInstance:
			key.WriteString(ep.Kind + ":" + ep.Name)
		default:
			e := &st.ENIs[ep.ENI]
			sub := &st.Subnets[e.Subnet]
			ep.out = slices.Clone(aclRules[sub.ACL][0])
			ep.in = slices.Clone(aclRules[sub.ACL][1])
			// A route to a NAT gateway puts the gateway's subnet's ACL on the path both ways, on
			// translated addresses and the gateway's port: its rules add boundaries for any peer.
			for _, acl := range natGatewayACLs(st, sub) {
				for d := range 2 {
					for _, r := range aclRules[acl][d] {
						r.peers = nil
						ep.out, ep.in = append(ep.out, r), append(ep.in, r)
					}
				}
			}
			var names []string
			for _, g := range groupsOf[ep.ENI] {
				names = append(names, g.Name)
				for d, rules := range [][]*scenarios.Rule{g.Egress, g.Ingress} {
					for _, r := range rules {
						if r.Proto != 6 && r.Proto != 17 {
							continue
						}
						pr := portRule{proto: r.Proto, lo: r.FromPort, hi: r.ToPort}
						switch {
						case r.CIDR.IsValid():
							pr.peers = []netip.Prefix{r.CIDR}
						case r.PrefixList != "":
							pr.peers = lists[r.PrefixList]
							if len(pr.peers) == 0 {
								continue // an empty list matches nothing
							}
						}
						if d == 0 {
							ep.out = append(ep.out, pr)
						} else {
							ep.in = append(ep.in, pr)
						}
					}
				}
			}
			slices.Sort(names)
			fmt.Fprintf(&key, "eni subnet=%d groups=%s check=%v public=%v", e.Subnet, strings.Join(names, ","),
				e.Identity.SourceDestCheck, e.PublicIP.IsValid())
			if routeTarget[ep.ENI] {
				fmt.Fprintf(&key, " target=%d", ep.ENI)
			}
			key.WriteString(" in=")
			for i, pfx := range prefixes {
				if pfx.Contains(ep.Addr) {
					fmt.Fprintf(&key, "%d,", i)
				}
			}
		}
		id, ok := ids[key.String()]
		if !ok {
			id = len(ids)
			ids[key.String()] = id
		}
		ep.class = id
	}
	return len(ids)
}

// natGatewayACLs lists the ACLs of the subnets of the NAT gateways that sub's route table sends
// to, when they are not sub's own.
func natGatewayACLs(st *fabric.State, sub *fabric.SubnetState) []uint32 {
	var out []uint32
	for _, r := range st.RouteTables[sub.RouteTable].Routes {
		if r.Kind != fabric.TargetNATGW || int(r.Index) >= len(st.ENIs) {
			continue
		}
		if a := st.Subnets[st.ENIs[r.Index].Subnet].ACL; a != sub.ACL && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
