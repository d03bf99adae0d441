package scenarios

import (
	"net/netip"
	"strings"

	"gopkg.in/yaml.v3"
)

// NAT gateways, VPN gateways with their on-premises networks, and VPC peering
// (aws-semantics.md §1.5).

func (d *decoder) natGateway(vpc, name string, k, n *yaml.Node) *NATGateway {
	g := &NATGateway{Name: name, VPC: vpc, Pos: d.pos(k)}
	what := "NAT gateway " + g.Qualified()
	d.object(n, kNATGateway, what, func(field string, _, v *yaml.Node) {
		d.mark(g, field, v)
		switch field {
		case "subnet":
			s, _ := d.str(v, what+": subnet")
			if s != "" && !strings.Contains(s, "/") {
				s = vpc + "/" + s // a subnet of the gateway's own VPC, as AWS requires
			}
			g.Subnet = s
		case "elastic_ip":
			g.ElasticIP, _ = d.addr(v, what+": elastic_ip")
		case "private":
			g.Private, _ = d.boolean(v, what+": private")
		}
	})
	return g
}

func (d *decoder) peering(name string, k, n *yaml.Node) *Peering {
	p := &Peering{Name: name, Pos: d.pos(k)}
	what := "peering " + name
	d.object(n, kPeering, what, func(field string, _, v *yaml.Node) {
		d.mark(p, field, v)
		switch field {
		case "requester":
			p.Requester, _ = d.str(v, what+": requester")
		case "accepter":
			p.Accepter, _ = d.str(v, what+": accepter")
		}
	})
	return p
}

func (d *decoder) onPrem(name string, k, n *yaml.Node) *OnPrem {
	o := &OnPrem{Name: name, Pos: d.pos(k)}
	what := "on-prem network " + name
	d.object(n, kOnPrem, what, func(field string, _, v *yaml.Node) {
		d.mark(o, field, v)
		switch field {
		case "cidr":
			o.CIDR, _ = d.prefix(v, what+": cidr")
		case "hosts":
			o.Hosts = []*Host{}
			d.namedMap(v, what+": hosts", func(hn string, k, v *yaml.Node) {
				o.Hosts = append(o.Hosts, d.host("on-prem host "+hn, hn, k, v))
			})
		}
	})
	return o
}

// natGateways checks a VPC's NAT gateways: names, subnets, and the Elastic IP of a public one
// (its uniqueness among the lab's public addresses is checked with the others').
func (v *validator) natGateways(vpc *VPC) {
	names := map[string]bool{}
	for _, g := range vpc.NATGateways {
		what := "NAT gateway " + g.Qualified()
		if names[g.Name] {
			v.p.errorf(g.Pos, "%s: defined twice", what)
		}
		names[g.Name] = true
		if err := checkName(g.Name); err != nil {
			v.p.errorf(g.Pos, "NAT gateway name: %v", err)
		}
		if g.VPC != vpc.Name {
			v.p.errorf(g.Pos, "%s: its VPC field says %q but it is listed in vpc %s", what, g.VPC, vpc.Name)
		}
		at := v.where(g, "subnet", g.Pos)
		switch sn := v.sc.Subnet(g.Subnet); {
		case !strings.HasPrefix(g.Subnet, vpc.Name+"/"):
			v.p.errorf(at, "%s: subnet %q is not in vpc %s; a NAT gateway is in a subnet of its own VPC: %s", what, g.Subnet, vpc.Name, vpcSubnetNames(vpc))
		case sn == nil:
			v.p.errorf(at, "%s: no subnet %q in vpc %s (InvalidSubnetID.NotFound); subnets there: %s", what, strings.TrimPrefix(g.Subnet, vpc.Name+"/"), vpc.Name, vpcSubnetNames(vpc))
		}
		eipAt := v.where(g, "elastic_ip", g.Pos)
		switch {
		case g.Private && g.ElasticIP.IsValid():
			v.p.errorf(eipAt, "%s: a private NAT gateway has no Elastic IP (it translates to its private address); leave elastic_ip out, or leave private out for a public gateway", what)
		case !g.Private && !vpc.InternetGateway:
			v.p.errorf(v.where(g, "private", g.Pos), "%s: a public NAT gateway needs an internet gateway, and vpc %s has none (Gateway.NotAttached); set internet_gateway: true on the VPC, or private: true", what, vpc.Name)
		}
	}
}

// vpnGateway checks that a VPC's VPN gateway connects to an on-premises network of the file.
func (v *validator) vpnGateway(vpc *VPC) {
	if vpc.VPNGateway == "" {
		return
	}
	if v.sc.OnPremNetwork(vpc.VPNGateway) == nil {
		v.p.errorf(v.where(vpc, "vpn_gateway", vpc.Pos), "vpc %s: vpn_gateway %q: no on-prem network %q; want the name of a network under on_prem: (%s)",
			vpc.Name, vpc.VPNGateway, vpc.VPNGateway, onPremNames(v.sc))
	}
}

// nameList lists the names of items for an error message ("a, b, c"), or none when there are
// none.
func nameList[T any](items []T, name func(T) string, none string) string {
	if len(items) == 0 {
		return none
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = name(it)
	}
	return strings.Join(out, ", ")
}

func onPremNames(sc *Scenario) string {
	return nameList(sc.OnPrem, func(o *OnPrem) string { return o.Name }, "there are none")
}

func vpcSubnetNames(vpc *VPC) string {
	return nameList(vpc.Subnets, func(s *Subnet) string { return s.Name }, "none")
}

func vpcNames(sc *Scenario) string {
	return nameList(sc.VPCs, func(v *VPC) string { return v.Name }, "none")
}

// peerings checks the peering connections: two existing, different VPCs whose CIDRs do not
// overlap, at most one connection per pair.
func (v *validator) peerings() {
	names := map[string]bool{}
	pairs := map[[2]string]*Peering{}
	for _, p := range v.sc.Peerings {
		what := "peering " + p.Name
		if names[p.Name] {
			v.p.errorf(p.Pos, "%s: defined twice", what)
		}
		names[p.Name] = true
		if err := checkName(p.Name); err != nil {
			v.p.errorf(p.Pos, "peering name: %v", err)
		}
		ok := true
		for _, end := range [...]struct{ field, vpc string }{{"requester", p.Requester}, {"accepter", p.Accepter}} {
			if v.sc.VPC(end.vpc) == nil {
				v.p.errorf(v.where(p, end.field, p.Pos), "%s: %s %q: no such VPC; VPCs: %s", what, end.field, end.vpc, vpcNames(v.sc))
				ok = false
			}
		}
		if !ok {
			continue
		}
		if p.Requester == p.Accepter {
			v.p.errorf(v.where(p, "accepter", p.Pos), "%s: requester and accepter are both vpc %s; a peering connects two different VPCs", what, p.Requester)
			continue
		}
		a, b := v.sc.VPC(p.Requester), v.sc.VPC(p.Accepter)
		if a.CIDR.IsValid() && b.CIDR.IsValid() && a.CIDR.Overlaps(b.CIDR) {
			v.p.errorf(v.where(p, "accepter", p.Pos), "%s: vpc %s (%s) and vpc %s (%s) overlap; AWS refuses to peer VPCs with overlapping CIDRs", what, a.Name, a.CIDR, b.Name, b.CIDR)
		}
		pair := [2]string{min(p.Requester, p.Accepter), max(p.Requester, p.Accepter)}
		if o := pairs[pair]; o != nil {
			v.p.errorf(p.Pos, "%s: vpc %s and vpc %s are already peered by %s (line %d); AWS allows one active peering per pair (VpcPeeringConnectionAlreadyExists)", what, pair[0], pair[1], o.Name, o.Pos.Line)
			continue
		}
		pairs[pair] = p
	}
}

// onPrem checks the on-premises networks: a CIDR that overlaps no VPC, no other on-premises
// network and not the simulated internet, hosts inside it, and a VPC that connects to it.
func (v *validator) onPrem() {
	names := map[string]bool{}
	var seen []*OnPrem
	for _, o := range v.sc.OnPrem {
		what := "on-prem network " + o.Name
		if names[o.Name] {
			v.p.errorf(o.Pos, "%s: defined twice", what)
		}
		names[o.Name] = true
		if err := checkName(o.Name); err != nil {
			v.p.errorf(o.Pos, "on-prem network name: %v", err)
		}
		if !v.onPremCIDR(o, what, seen) {
			continue
		}
		seen = append(seen, o)
		addrs := map[netip.Addr]string{}
		for _, h := range o.Hosts {
			if err := checkName(h.Name); err != nil {
				v.p.errorf(h.Pos, "on-prem host name: %v", err)
			}
			at := v.where(h, "ip", h.Pos)
			switch {
			case !h.IP.IsValid():
			case !h.IP.Is4():
				v.p.errorf(at, "on-prem host %s: %s: want an IPv4 address", h.Name, h.IP)
			case !o.CIDR.Contains(h.IP):
				v.p.errorf(at, "on-prem host %s: %s is outside its network %s (%s)", h.Name, h.IP, o.Name, o.CIDR)
			case addrs[h.IP] != "":
				v.p.errorf(at, "on-prem host %s: %s is already host %s's", h.Name, h.IP, addrs[h.IP])
			default:
				addrs[h.IP] = h.Name
			}
		}
		connected := false
		for _, vpc := range v.sc.VPCs {
			connected = connected || vpc.VPNGateway == o.Name
		}
		if !connected {
			v.p.warnf(o.Pos, "%s: no VPC connects to it (vpn_gateway: %s on a VPC), so nothing reaches it", what, o.Name)
		}
	}
}

// onPremCIDR checks an on-premises network's CIDR and reports whether it is usable.
func (v *validator) onPremCIDR(o *OnPrem, what string, seen []*OnPrem) bool {
	at := v.where(o, "cidr", o.Pos)
	c := o.CIDR
	switch {
	case !c.IsValid():
		v.p.errorf(at, "%s: cidr: want an IPv4 CIDR such as 192.168.0.0/16", what)
		return false
	case !c.Addr().Is4():
		v.p.errorf(at, "%s: cidr %s: want an IPv4 CIDR (IPv6 is not supported yet)", what, c)
		return false
	case c.Masked() != c:
		v.p.errorf(at, "%s: cidr %s has host bits set; did you mean %s?", what, c, c.Masked())
		return false
	}
	if r, kind, bad := badVPCRange(c); bad {
		v.p.errorf(at, "%s: cidr %s overlaps %s (%s); use a private range such as 192.168.0.0/16", what, c, r, kind)
		return false
	}
	for _, r := range DocumentationRanges() {
		if r.Overlaps(c) {
			v.p.errorf(at, "%s: cidr %s overlaps %s, which the simulated internet uses; use a private range such as 192.168.0.0/16", what, c, r)
			return false
		}
	}
	for _, vpc := range v.sc.VPCs {
		if vpc.CIDR.IsValid() && vpc.CIDR.Overlaps(c) {
			v.p.errorf(at, "%s: cidr %s overlaps vpc %s (%s); a VPN cannot route between overlapping networks", what, c, vpc.Name, vpc.CIDR)
			return false
		}
	}
	for _, other := range seen {
		if other.CIDR.Overlaps(c) {
			v.p.errorf(at, "%s: cidr %s overlaps on-prem network %s (%s, line %d)", what, c, other.Name, other.CIDR, other.Pos.Line)
			return false
		}
	}
	return true
}

// names checks the one namespace that probes draw from: instances, internet hosts, on-prem
// networks and on-prem hosts (the simulated internet's and on-prem networks' namespaces are
// named like instances'), and the reserved name internet.
func (v *validator) names() {
	type taken struct {
		what string
		pos  Pos
	}
	seen := map[string]taken{}
	claim := func(name, what string, at Pos) {
		if name == InternetName {
			v.p.errorf(at, "%s %s: the name %q is reserved for the simulated internet", what, name, name)
			return
		}
		t, dup := seen[name]
		switch {
		case dup && t.what == "instance" && what == "instance":
			// "instance x: defined twice" is reported with the instances.
		case dup:
			v.p.errorf(at, "%s %s: the name is already used by %s %s (line %d); instances, internet hosts, on-prem networks and on-prem hosts share one set of names, because probes name them",
				what, name, t.what, name, t.pos.Line)
		default:
			seen[name] = taken{what, at}
		}
	}
	for _, in := range v.sc.Instances {
		claim(in.Name, "instance", in.Pos)
	}
	if v.sc.Internet != nil {
		for _, h := range v.sc.Internet.Hosts {
			claim(h.Name, "internet host", h.Pos)
		}
	}
	for _, o := range v.sc.OnPrem {
		claim(o.Name, "on-prem network", o.Pos)
		for _, h := range o.Hosts {
			claim(h.Name, "on-prem host", h.Pos)
		}
	}
}

// peeringRoute checks a route to a peering connection: the connection exists and involves the
// route's VPC. Traffic to addresses outside the peer VPC is dropped (no edge-to-edge routing),
// which the loader says in a warning.
func (v *validator) peeringRoute(vpc *VPC, r *Route, what string, at Pos) {
	p := v.sc.Peering(r.Target.Name)
	switch {
	case r.Target.Name == "":
		v.p.errorf(at, "%s: target peering needs the connection's name: peering/NAME", what)
	case p == nil:
		v.p.errorf(at, "%s: target %s: no peering %q; peerings: %s", what, r.Target, r.Target.Name, peeringNames(v.sc))
	case p.Peer(vpc.Name) == "":
		v.p.errorf(at, "%s: target %s connects vpc %s and vpc %s, not vpc %s", what, r.Target, p.Requester, p.Accepter, vpc.Name)
	default:
		peer := v.sc.VPC(p.Peer(vpc.Name))
		if peer != nil && peer.CIDR.IsValid() && r.Destination.IsValid() && !peer.CIDR.Overlaps(r.Destination) {
			v.p.warnf(v.where(r, "destination", r.Pos), "%s: %s is outside vpc %s (%s): a peering carries only traffic for the peer VPC's addresses (no edge-to-edge routing), so this traffic is dropped",
				what, r.Destination, peer.Name, peer.CIDR)
		}
	}
}

func peeringNames(sc *Scenario) string {
	return nameList(sc.Peerings, func(p *Peering) string { return p.Name }, "none (define them under peerings:)")
}

// natRoute checks a route to a NAT gateway of the route's VPC.
func (v *validator) natRoute(vpc *VPC, r *Route, what string, at Pos) {
	switch {
	case r.Target.Name == "":
		v.p.errorf(at, "%s: target nat needs the gateway's name: nat/NAME", what)
	case vpc.NATGateway(r.Target.Name) == nil:
		var names []string
		for _, g := range vpc.NATGateways {
			names = append(names, g.Name)
		}
		list := strings.Join(names, ", ")
		if list == "" {
			list = "none (define them under nat_gateways:)"
		}
		v.p.errorf(at, "%s: target %s: no NAT gateway %q in vpc %s; NAT gateways there: %s", what, r.Target, r.Target.Name, vpc.Name, list)
	}
}

// vgwRoute checks a route to the VPC's VPN gateway.
func (v *validator) vgwRoute(vpc *VPC, r *Route, what string, at Pos) {
	if r.Target.Name != "" {
		v.p.errorf(at, "%s: target vgw takes no name (a VPC has one VPN gateway)", what)
	}
	if vpc.VPNGateway == "" {
		v.p.errorf(at, "%s: target vgw: vpc %s has no VPN gateway (set vpn_gateway: NETWORK, naming an on_prem network)", what, vpc.Name)
	}
}

// peerGroupRef checks a security-group rule of vpc that references group name of VPC peer
// (written peer/name): AWS allows references to groups of a peered VPC only.
func (v *validator) peerGroupRef(vpc *VPC, peer, name, what string, at Pos) {
	pv := v.sc.VPC(peer)
	if pv == nil {
		v.p.errorf(at, "%s: group %s/%s: no vpc %q; VPCs: %s", what, peer, name, peer, vpcNames(v.sc))
		return
	}
	if pv.Group(name) == nil {
		v.p.errorf(at, "%s: group %s/%s: vpc %s has no security group %q; groups there: %s", what, peer, name, peer, name, groupNames(pv))
		return
	}
	for _, p := range v.sc.Peerings {
		if p.Peer(vpc.Name) == peer {
			return
		}
	}
	v.p.errorf(at, "%s: group %s/%s is in vpc %s, which is not peered with vpc %s; a rule may reference a group of another VPC only across a peering connection (add one under peerings:)",
		what, peer, name, peer, vpc.Name)
}
