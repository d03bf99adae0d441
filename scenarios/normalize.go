package scenarios

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// normalize turns what the file said into the full model: AWS's default groups and rules filled
// in, rule and prefix-list CIDRs canonicalised (with a warning, as AWS does silently), subnets
// qualified, and ENIs without groups given the VPC's default group.
func (d *decoder) normalize(sc *Scenario) {
	for _, v := range sc.VPCs {
		d.defaultGroups(v)
		d.networkDefaults(v)
		for _, g := range v.SecurityGroups {
			for i, r := range g.Ingress {
				d.canonicalRule(fmt.Sprintf("security group %s/%s: ingress rule %d", g.VPC, g.Name, i+1), r)
			}
			for i, r := range g.Egress {
				d.canonicalRule(fmt.Sprintf("security group %s/%s: egress rule %d", g.VPC, g.Name, i+1), r)
			}
		}
	}
	for _, pl := range sc.PrefixLists {
		for i, e := range pl.Entries {
			if e.IsValid() && e.Masked() != e {
				d.p.warnf(d.where(pl, "entries."+strconv.Itoa(i), pl.Pos), "prefix list %s: entry %s has host bits set; canonicalised to %s, as AWS does", pl.Name, e, e.Masked())
				pl.Entries[i] = e.Masked()
			}
		}
		if !d.has(pl, "max_entries") {
			pl.MaxEntries = len(pl.Entries)
		}
	}
	for _, in := range sc.Instances {
		for k, e := range in.ENIs {
			d.qualifySubnet(sc, in, k, e)
			if len(e.SecurityGroups) == 0 {
				e.SecurityGroups = []string{DefaultGroup}
			}
		}
		d.mapPublicIP(sc, in)
	}
}

// mapPublicIP applies the subnet's map_public_ip_on_launch to eth0, as AWS does at launch: an
// automatic public IP unless the file says public_ip: false or gives an Elastic IP, and none at
// all for an instance launched with several ENIs (AWS assigns none then; the loader warns).
func (d *decoder) mapPublicIP(sc *Scenario, in *Instance) {
	if len(in.ENIs) == 0 {
		return
	}
	e := in.ENIs[0]
	sn := sc.Subnet(e.Subnet)
	if sn == nil || !sn.MapPublicIP || d.has(e, "public_ip") || e.ElasticIP.IsValid() {
		return
	}
	if len(in.ENIs) > 1 {
		d.p.warnf(d.where(e, "subnet", e.Pos), "instance %s: eth0: subnet %s maps public IPs on launch, but AWS assigns none to an instance launched with %d network interfaces; give eth0 an elastic_ip for a public address",
			in.Name, sn.Qualified(), len(in.ENIs))
		return
	}
	e.PublicIP = true
}

// defaultGroups puts the VPC's default group first, as the file gave it or as AWS makes it, and
// fills in the rules that AWS gives a group whose file entry leaves them out.
func (d *decoder) defaultGroups(v *VPC) {
	var def *SecurityGroup
	rest := make([]*SecurityGroup, 0, len(v.SecurityGroups)+1)
	for _, g := range v.SecurityGroups {
		if g.Name == DefaultGroup && def == nil {
			def = g
			continue
		}
		rest = append(rest, g)
	}
	if def == nil {
		def = &SecurityGroup{Name: DefaultGroup, VPC: v.Name, Implicit: true, Pos: v.Pos}
	}
	if def.Implicit || !d.has(def, "ingress") {
		def.Ingress = []*Rule{{Proto: ProtoAll, FromPort: -1, ToPort: -1, Group: DefaultGroup, Pos: def.Pos}}
		def.IngressDefaulted = true
	}
	if def.Description == "" && def.Implicit {
		def.Description = "default VPC security group"
	}
	v.SecurityGroups = append([]*SecurityGroup{def}, rest...)
	for _, g := range v.SecurityGroups {
		if g.Ingress == nil {
			g.Ingress = []*Rule{}
		}
		if g.Implicit || !d.has(g, "egress") {
			g.Egress = []*Rule{allowAllIPv4(g.Pos)}
			g.EgressDefaulted = true
		}
	}
}

// canonicalRule masks a rule CIDR's host bits, as AWS does, and warns about rules that can never
// match because their protocol belongs to the other address family.
func (d *decoder) canonicalRule(what string, r *Rule) {
	if !r.CIDR.IsValid() {
		return
	}
	at := d.where(r, "cidr", r.Pos)
	if m := r.CIDR.Masked(); m != r.CIDR && !r.CIDR.Addr().Is4In6() {
		d.p.warnf(at, "%s: cidr %s has host bits set; canonicalised to %s, as AWS does", what, r.CIDR, m)
		r.CIDR = m
	}
	switch {
	case r.Proto == ProtoICMP && r.CIDR.Addr().Is6():
		d.p.warnf(at, "%s: icmp is IPv4 only, so with the IPv6 cidr %s it never matches; use icmpv6", what, r.CIDR)
	case r.Proto == ProtoICMPv6 && r.CIDR.Addr().Is4():
		d.p.warnf(at, "%s: icmpv6 is IPv6 only, so with the IPv4 cidr %s it never matches; use icmp", what, r.CIDR)
	}
}

// qualifySubnet accepts a bare subnet name when exactly one VPC has a subnet of that name.
func (d *decoder) qualifySubnet(sc *Scenario, in *Instance, k int, e *ENI) {
	if e.Subnet == "" || strings.Contains(e.Subnet, "/") {
		return
	}
	var found []string
	for _, v := range sc.VPCs {
		if v.Subnet(e.Subnet) != nil {
			found = append(found, v.Name+"/"+e.Subnet)
		}
	}
	switch len(found) {
	case 1:
		e.Subnet = found[0]
	case 0: // validation names the subnets there are
	default:
		d.p.errorf(d.where(e, "subnet", e.Pos), "instance %s: eth%d: subnet %q is in more than one VPC; write one of %s",
			in.Name, k, e.Subnet, strings.Join(found, ", "))
	}
}

// lastAddr is the highest address of a canonical prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= p.Bits() {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
