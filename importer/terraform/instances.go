package tfimport

import (
	"net/netip"
	"sort"
	"strconv"

	"github.com/ec2sim/ec2sim/scenarios"
)

// Instances, their network interfaces and Elastic IPs. An instance's ENIs come from its own
// subnet_id (eth0), from network_interface blocks, from aws_network_interface attachment blocks
// and from aws_network_interface_attachment; they are collected by device index and numbered
// densely once all are known.

// placed is an ENI waiting for its instance's ENIs to be numbered.
type placed struct {
	eni   *scenarios.ENI
	in    *scenarios.Instance
	index int
	res   *resource // the aws_network_interface, nil for an instance's own eth0
}

func (b *builder) addInstance(r *resource) {
	in := &scenarios.Instance{Name: b.name("instance", r), Type: str(r.Values, "instance_type")}
	if scenarios.CheckInstanceType(in.Type) != nil {
		b.rep.note(r.Addr, "instance_type %s is not one ec2sim models; the instance runs as the default, %s", in.Type, scenarios.DefaultInstanceType)
		in.Type = ""
	}
	blocks := objects(r.Values, "network_interface")
	if len(blocks) == 0 {
		if r.Values["subnet_id"] == nil && !unknown(r.Unknown, "subnet_id") && len(references(expression(r.cfgExprs(), "subnet_id"))) == 0 {
			b.problem(r, "subnet_id", &refError{msg: "is not set: the instance would be in the region's default VPC, which is not in the plan", notInPlan: true})
			return
		}
		s := b.subnetOf(r, r.cfgExprs(), r.Values, "subnet_id")
		if s == nil {
			return
		}
		e := b.newENI(r, r.cfgExprs(), r.Values, s, "private_ip", "secondary_private_ips", "vpc_security_group_ids")
		// unset (unknown in the plan), the subnet's map_public_ip_on_launch decides, as on AWS
		e.PublicIP = s.MapPublicIP
		if v, ok := r.Values["associate_public_ip_address"].(bool); ok {
			e.PublicIP = v
		}
		b.pending = append(b.pending, &placed{eni: e, in: in, index: 0})
	}
	bs := configBlocks(r.cfgExprs(), "network_interface")
	for _, blk := range blocks {
		idx, _ := integer(blk, "device_index")
		t := b.oneIn(r, bs.match(blk), blk, "network_interface_id", "aws_network_interface")
		if t != nil {
			b.attach[t] = append(b.attach[t], attachment{in: in, index: idx, by: r})
		}
	}
	b.sc.Instances = append(b.sc.Instances, in)
	b.inst[r], b.source[in] = in, r.Addr
	b.rep.mapped(r.Addr, "instance %s", in.Name)
	if str(r.Values, "user_data") != "" || str(r.Values, "user_data_base64") != "" {
		b.rep.skip(r.Addr, "user_data: the plan holds only its hash, not the script")
	}
}

// attachment is an aws_network_interface attached to an instance at a device index.
type attachment struct {
	in    *scenarios.Instance
	index int
	by    *resource
}

// newENI reads the interface fields shared by aws_instance and aws_network_interface.
func (b *builder) newENI(r *resource, exprs, vals map[string]any, s *scenarios.Subnet, ipAttr, secondaryAttr, groupsAttr string) *scenarios.ENI {
	e := &scenarios.ENI{Subnet: s.Qualified(), SourceDestCheck: true}
	if v, ok := vals["source_dest_check"].(bool); ok {
		e.SourceDestCheck = v
	}
	if a, err := netip.ParseAddr(str(vals, ipAttr)); err == nil {
		e.IP = a
	}
	for _, x := range strList(vals, secondaryAttr) {
		if a, err := netip.ParseAddr(x); err == nil && a != e.IP {
			e.SecondaryIPs = append(e.SecondaryIPs, a)
		}
	}
	for _, t := range b.many(r, exprs, vals, groupsAttr) {
		g := b.sg[t]
		switch {
		case g == nil:
		case g.VPC != s.VPC:
			b.fail(r, "%s names %s, a group of VPC %s, but the interface is in VPC %s", groupsAttr, t.Addr, g.VPC, s.VPC)
		default:
			e.SecurityGroups = append(e.SecurityGroups, g.Name)
		}
	}
	return e
}

func (b *builder) addENI(r *resource) {
	s := b.subnetOf(r, r.cfgExprs(), r.Values, "subnet_id")
	if s == nil {
		return
	}
	e := b.newENI(r, r.cfgExprs(), r.Values, s, "private_ip", "private_ips", "security_groups")
	if !e.IP.IsValid() && len(e.SecondaryIPs) > 0 {
		// private_ips is a set without a primary; AWS makes the first one primary
		e.IP, e.SecondaryIPs = e.SecondaryIPs[0], e.SecondaryIPs[1:]
		if len(e.SecondaryIPs) == 0 {
			e.SecondaryIPs = nil
		}
	}
	e.Description = str(r.Values, "description")
	if !descriptionOK(e.Description) {
		e.Description = ""
	}
	b.eniRes[r] = e
	bs := configBlocks(r.cfgExprs(), "attachment")
	for _, blk := range objects(r.Values, "attachment") {
		idx, _ := integer(blk, "device_index")
		if t := b.oneIn(r, bs.match(blk), blk, "instance", "aws_instance"); t != nil && b.inst[t] != nil {
			b.attach[r] = append(b.attach[r], attachment{in: b.inst[t], index: idx, by: r})
		}
	}
}

func (b *builder) addENIAttachment(r *resource) {
	t := b.one(r, "instance_id", "aws_instance")
	n := b.one(r, "network_interface_id", "aws_network_interface")
	if t == nil || n == nil || b.inst[t] == nil {
		return
	}
	idx, _ := integer(r.Values, "device_index")
	b.attach[n] = append(b.attach[n], attachment{in: b.inst[t], index: idx, by: r})
	b.rep.mapped(r.Addr, "attachment of %s to instance %s", n.Addr, b.inst[t].Name)
}

// placeENIs numbers every instance's ENIs by device index, drops instances left without one,
// and reports interfaces attached to no instance.
func (b *builder) placeENIs() {
	var ress []*resource
	for r := range b.eniRes {
		ress = append(ress, r)
	}
	sort.Slice(ress, func(i, j int) bool { return ress[i].Addr < ress[j].Addr })
	for _, r := range ress {
		atts := b.attach[r]
		switch {
		case len(atts) == 0:
			b.rep.skip(r.Addr, "attached to no instance: an interface alone carries no traffic")
			continue
		case len(atts) > 1:
			b.fail(r, "is attached twice (by %s and %s); an interface has one attachment", atts[0].by.Addr, atts[1].by.Addr)
			continue
		}
		b.pending = append(b.pending, &placed{eni: b.eniRes[r], in: atts[0].in, index: atts[0].index, res: r})
	}
	byInst := map[*scenarios.Instance][]*placed{}
	for _, p := range b.pending {
		byInst[p.in] = append(byInst[p.in], p)
	}
	var kept []*scenarios.Instance
	for _, in := range b.sc.Instances {
		ps := byInst[in]
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].index < ps[j].index })
		for k, p := range ps {
			if k > 0 && ps[k-1].index == p.index {
				other := b.source[ps[k-1].eni]
				if other == "" {
					other = "its own subnet_id's"
				}
				b.fail(p.res, "takes device index %d of instance %s, which another interface (%s) already has", p.index, b.source[in], other)
			}
			if k == 0 && p.index != 0 {
				b.fail(p.res, "is the lowest interface of instance %s but has device index %d; eth0 has device index 0", b.source[in], p.index)
			}
			in.ENIs = append(in.ENIs, p.eni)
			b.eniAt[p.eni] = eniRef{in, k}
			if p.res != nil {
				b.eni[p.res] = eniRef{in, k}
				b.source[p.eni] = p.res.Addr
				b.rep.mapped(p.res.Addr, "interface %s.eth%d", in.Name, k)
			}
		}
		if len(in.ENIs) == 0 {
			b.rep.skip(b.source[in], "no network interface could be placed, so the instance is left out")
			continue
		}
		if len(in.ENIs) > scenarios.MaxENIsPerInstance {
			b.fail(b.resourceAt(b.source[in]), "has %d network interfaces; at most %d are modelled", len(in.ENIs), scenarios.MaxENIsPerInstance)
		}
		if len(in.ENIs) > 1 && in.ENIs[0].PublicIP {
			in.ENIs[0].PublicIP = false
			b.rep.note(b.source[in], "associate_public_ip_address: AWS gives no automatic public IP to an instance launched with several interfaces; give eth0 an Elastic IP instead")
		}
		kept = append(kept, in)
	}
	b.sc.Instances = kept
}

func (b *builder) resourceAt(addr string) *resource { return b.p.byAddr[addr] }

// placeEIPs numbers the ENIs, then gives Elastic IPs named by an aws_eip's instance or
// network_interface to their ENIs.
func (b *builder) placeEIPs(eips []*resource) {
	b.placeENIs()
	for _, r := range eips {
		exprs := r.cfgExprs()
		switch {
		case r.Values["network_interface"] != nil || len(references(expression(exprs, "network_interface"))) > 0:
			if t := b.one(r, "network_interface", "aws_network_interface"); t != nil {
				b.giveEIP(r, r, b.eni[t], t.Addr)
			}
		case r.Values["instance"] != nil || len(references(expression(exprs, "instance"))) > 0:
			if t := b.one(r, "instance", "aws_instance"); t != nil && b.inst[t] != nil && len(b.inst[t].ENIs) > 0 {
				b.giveEIP(r, r, eniRef{b.inst[t], 0}, t.Addr)
			}
		}
	}
}

// giveEIP gives the Elastic IP of eip to an ENI; by is the resource that asks for it.
func (b *builder) giveEIP(by, eip *resource, at eniRef, target string) {
	if at.in == nil {
		return // the ENI was not placed; that is reported already
	}
	a, ok := b.eip[eip]
	if !ok {
		return
	}
	if b.eipUsed[eip] || b.eipNAT[eip] {
		b.fail(by, "associates %s, which is already associated elsewhere; an Elastic IP has one holder", eip.Addr)
		return
	}
	e := at.in.ENIs[at.k]
	if e.ElasticIP.IsValid() {
		b.fail(by, "gives %s.eth%d a second Elastic IP; it already has %s", at.in.Name, at.k, e.ElasticIP)
		return
	}
	b.eipUsed[eip] = true
	e.ElasticIP, e.PublicIP = a, false
	b.rep.mapped(eip.Addr, "elastic ip %s of %s.eth%d (%s)", a, at.in.Name, at.k, target)
	if by != eip {
		b.rep.mapped(by.Addr, "association of %s with %s.eth%d", eip.Addr, at.in.Name, at.k)
	}
}

func (b *builder) addEIPAssociation(r *resource) {
	eip := b.one(r, "allocation_id", "aws_eip")
	if eip == nil {
		return
	}
	exprs := r.cfgExprs()
	if r.Values["network_interface_id"] != nil || len(references(expression(exprs, "network_interface_id"))) > 0 {
		if t := b.one(r, "network_interface_id", "aws_network_interface"); t != nil {
			b.giveEIP(r, eip, b.eni[t], t.Addr)
		}
		return
	}
	if t := b.one(r, "instance_id", "aws_instance"); t != nil && b.inst[t] != nil && len(b.inst[t].ENIs) > 0 {
		b.giveEIP(r, eip, eniRef{b.inst[t], 0}, t.Addr)
	}
}

// unusedEIPs reports Elastic IPs that nothing in the lab holds.
func (b *builder) unusedEIPs(eips []*resource) {
	for _, r := range eips {
		if _, ok := b.eip[r]; ok && !b.eipUsed[r] && !b.eipNAT[r] {
			b.rep.skip(r.Addr, "associated with nothing that is in the lab; its address %s is unused", b.eip[r])
		}
	}
}

// eniName names an ENI as route targets do: INSTANCE.ethN.
func eniName(at eniRef) string { return at.in.Name + ".eth" + strconv.Itoa(at.k) }
