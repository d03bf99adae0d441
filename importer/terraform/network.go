package tfimport

import (
	"net/netip"

	"github.com/ec2sim/ec2sim/scenarios"
)

// VPCs, subnets, internet and NAT gateways, Elastic IPs and peering connections.

// vpcOf resolves a resource's vpc_id to a VPC of the scenario.
func (b *builder) vpcOf(r *resource, attr string) *scenarios.VPC {
	t := b.one(r, attr, "aws_vpc")
	if t == nil {
		return nil
	}
	return b.vpc[t]
}

// cidrBlock reads the cidr_block of a VPC or subnet; hint says what to do when it is unknown.
func (b *builder) cidrBlock(r *resource, hint string) (netip.Prefix, bool) {
	cidr := str(r.Values, "cidr_block")
	if cidr == "" {
		b.problem(r, "cidr_block", &refError{msg: "is known only after apply " + hint})
		return netip.Prefix{}, false
	}
	return b.prefix(r, "cidr_block", cidr)
}

func (b *builder) addVPC(r *resource) {
	p, ok := b.cidrBlock(r, "(an IPAM pool?); give the VPC a cidr_block to import it")
	if !ok {
		return
	}
	if !p.Addr().Is4() || p.Bits() < 16 || p.Bits() > 28 {
		b.fail(r, "cidr_block %s: AWS wants an IPv4 block from /16 to /28", p)
		return
	}
	v := &scenarios.VPC{Name: b.name("vpc", r), CIDR: p}
	b.sc.VPCs = append(b.sc.VPCs, v)
	b.vpc[r], b.source[v] = v, r.Addr
	b.rep.mapped(r.Addr, "vpc %s", v.Name)
	if s := str(r.Values, "ipv6_cidr_block"); s != "" || boolean(r.Values, "assign_generated_ipv6_cidr_block") {
		b.rep.skip(r.Addr, "its IPv6 CIDR block: IPv6 VPC CIDRs are not modelled yet")
	}
}

func (b *builder) addSubnet(r *resource) {
	v := b.vpcOf(r, "vpc_id")
	if v == nil {
		return
	}
	p, ok := b.cidrBlock(r, "(from an IPAM pool or a function of other resources); only subnets with a cidr_block can be imported")
	if !ok {
		return
	}
	s := &scenarios.Subnet{Name: b.name("subnet:"+v.Name, r), VPC: v.Name, CIDR: p, MapPublicIP: boolean(r.Values, "map_public_ip_on_launch")}
	v.Subnets = append(v.Subnets, s)
	b.subnet[r] = s
	b.rep.mapped(r.Addr, "subnet %s", s.Qualified())
}

func (b *builder) subnetOf(r *resource, exprs, values map[string]any, attr string) *scenarios.Subnet {
	t := b.oneIn(r, exprs, values, attr, "aws_subnet")
	if t == nil {
		return nil
	}
	return b.subnet[t]
}

func (b *builder) addIGW(r *resource) {
	if r.Values["vpc_id"] == nil && !unknown(r.Unknown, "vpc_id") && len(references(expression(r.cfgExprs(), "vpc_id"))) == 0 {
		b.rep.mapped(r.Addr, "internet gateway, attached by an aws_internet_gateway_attachment or to nothing")
		return
	}
	if v := b.vpcOf(r, "vpc_id"); v != nil {
		b.attachIGW(r, r, v)
	}
}

func (b *builder) addIGWAttachment(r *resource) {
	g := b.one(r, "internet_gateway_id", "aws_internet_gateway")
	v := b.vpcOf(r, "vpc_id")
	if g == nil || v == nil {
		return
	}
	if b.igw[g] != nil {
		b.fail(r, "attaches %s, which is already attached to %s; a gateway has one VPC", g.Addr, b.source[b.igw[g]])
		return
	}
	b.attachIGW(r, g, v)
}

// attachIGW attaches internet gateway g to VPC v, as r (the gateway or its attachment) says.
func (b *builder) attachIGW(r, g *resource, v *scenarios.VPC) {
	if v.InternetGateway {
		b.fail(r, "VPC %s already has an internet gateway; AWS attaches at most one", b.source[v])
		return
	}
	v.InternetGateway = true
	b.igw[g] = v
	b.rep.mapped(r.Addr, "internet gateway of vpc %s", v.Name)
}

// publicIP takes the next address for Elastic IPs: 198.51.100.10 upwards, apart from the lab's
// automatic public IPs (203.0.113.100 upwards) and its usual internet hosts.
func (b *builder) publicIP() (netip.Addr, bool) {
	if b.nextIP > 240 {
		return netip.Addr{}, false
	}
	a := netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + b.nextIP)})
	b.nextIP++
	return a, true
}

func (b *builder) addEIP(r *resource) {
	a, ok := b.publicIP()
	if !ok {
		b.fail(r, "more than 231 Elastic IPs: the documentation range 198.51.100.0/24 that they are given from is full")
		return
	}
	b.eip[r] = a
	b.rep.PublicIPs = append(b.rep.PublicIPs, PublicIP{Address: r.Addr, Assigned: a.String(), Original: str(r.Values, "public_ip")})
}

func (b *builder) addNAT(r *resource) {
	s := b.subnetOf(r, r.cfgExprs(), r.Values, "subnet_id")
	if s == nil {
		return
	}
	v := b.sc.VPC(s.VPC)
	n := &scenarios.NATGateway{Name: b.name("nat:"+v.Name, r), VPC: v.Name, Subnet: s.Qualified(), Private: str(r.Values, "connectivity_type") == "private"}
	if !n.Private {
		if t := b.one(r, "allocation_id", "aws_eip"); t != nil {
			if b.eipNAT[t] || b.eipUsed[t] {
				b.fail(r, "allocation_id %s is already used by another NAT gateway; an Elastic IP has one holder", t.Addr)
				return
			}
			b.eipNAT[t] = true
			n.ElasticIP = b.eip[t]
			b.rep.mapped(t.Addr, "elastic ip %s of nat gateway %s", n.ElasticIP, n.Qualified())
		}
	}
	v.NATGateways = append(v.NATGateways, n)
	b.nat[r] = n
	b.rep.mapped(r.Addr, "nat gateway %s", n.Qualified())
}

func (b *builder) addPeering(r *resource) {
	a := b.vpcOf(r, "vpc_id")
	c := b.vpcOf(r, "peer_vpc_id")
	if a == nil || c == nil {
		return
	}
	if a == c {
		b.fail(r, "vpc_id and peer_vpc_id are the same VPC %s; a peering connects two VPCs", b.source[a])
		return
	}
	p := &scenarios.Peering{Name: b.name("peering", r), Requester: a.Name, Accepter: c.Name}
	b.sc.Peerings = append(b.sc.Peerings, p)
	b.peer[r] = p
	b.rep.mapped(r.Addr, "peering %s (%s <-> %s)", p.Name, a.Name, c.Name)
}
