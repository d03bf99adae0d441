package awsimport

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/ec2sim/ec2sim/scenarios"
)

// Security groups and network ACLs, read as AWS and Batfish read them (docs/import-aws.md,
// "Rule readings").

func (c *converter) securityGroups() {
	// Names first: rules refer to groups of the same VPC by name.
	type pending struct {
		it item[awsSecurityGroup]
		g  *scenarios.SecurityGroup
	}
	var todo []pending
	for _, it := range c.s.groups {
		v := it.v
		c.fields("SecurityGroups", it.raw)
		c.nested("SecurityGroups", "IpPermissions", it.raw)
		c.nested("SecurityGroups", "IpPermissionsEgress", it.raw)
		what := obj("security group", v.GroupID)
		if v.VpcID == "" {
			c.rep.skip(what+" ("+it.src.String()+")", "EC2-Classic group (no VpcId)")
			continue
		}
		vpc := c.vpcs[v.VpcID]
		if vpc == nil {
			c.fail(it.src, what, "VpcId %s is not in the data (no Vpcs object has it)", v.VpcID)
			continue
		}
		if _, dup := c.groups[v.GroupID]; dup {
			c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf("%s (%s): the GroupId is described more than once; each is imported as a group of its own, and rules naming the id refer to the last", what, it.src))
		}
		var name string
		if v.GroupName == scenarios.DefaultGroup {
			name = scenarios.DefaultGroup
			c.rep.Names = append(c.rep.Names, Name{Kind: "security group", ID: v.GroupID, Name: vpc.Name + "/default"})
		} else {
			name = c.name("sg/"+vpc.Name, "security group", v.GroupName, v.GroupID, it.src)
		}
		g := &scenarios.SecurityGroup{Name: name, VPC: vpc.Name, Description: clip(v.Description)}
		vpc.SecurityGroups = append(vpc.SecurityGroups, g)
		c.groups[v.GroupID] = groupRef{v.VpcID, name}
		todo = append(todo, pending{it, g})
		c.rep.Imported["security groups"]++
	}
	for _, p := range todo {
		p.g.Ingress = c.permissions(p.it, p.it.v.IPPermissions, "ingress")
		p.g.Egress = c.permissions(p.it, p.it.v.IPPermissionsEgress, "egress")
	}
}

// clip shortens a description to the format's limit.
func clip(s string) string {
	if len(s) > scenarios.MaxDescriptionLen {
		return s[:scenarios.MaxDescriptionLen]
	}
	return s
}

// ports reads an IpPermission's protocol and ports. For tcp and udp a missing or -1 FromPort is
// 0 and a missing or -1 ToPort 65535 (Batfish's reading). For icmp and icmpv6 FromPort is the
// type and ToPort the code, -1 any; a code without a type never matches (Batfish flags it), so
// ok is false. Other protocols have no ports: AWS ignores any given, and so does the import.
func ports(proto int, from, to *int) (lo, hi int, ok bool, note string) {
	get := func(p *int) int {
		if p == nil {
			return -1
		}
		return *p
	}
	f, t := get(from), get(to)
	switch proto {
	case scenarios.ProtoTCP, scenarios.ProtoUDP:
		if f == -1 {
			f = 0
		}
		if t == -1 {
			t = 65535
		}
		if f > t || f < 0 || t > 65535 {
			return 0, 0, false, fmt.Sprintf("port range %d-%d matches nothing", f, t)
		}
		return f, t, true, ""
	case scenarios.ProtoICMP, scenarios.ProtoICMPv6:
		if f == -1 && t != -1 {
			return 0, 0, false, fmt.Sprintf("ICMP code %d without a type matches nothing (Batfish reads it so)", t)
		}
		return f, t, true, ""
	}
	if f != -1 || t != -1 {
		note = fmt.Sprintf("ports %d-%d ignored: protocol %d has none (AWS ignores them)", f, t, proto)
	}
	return -1, -1, true, note
}

// permissions expands IpPermissions into one rule per source or destination.
func (c *converter) permissions(it item[awsSecurityGroup], perms []awsPermission, dir string) []*scenarios.Rule {
	out := []*scenarios.Rule{} // an empty list is "no rules", not "the default"
	g := it.v
	what := fmt.Sprintf("security group %s %s rule", g.GroupID, dir)
	use := fmt.Sprintf("security group %s %s", g.GroupID, dir)
	add := func(r *scenarios.Rule) {
		for _, o := range out {
			if o.Proto == r.Proto && o.FromPort == r.FromPort && o.ToPort == r.ToPort && o.CIDR == r.CIDR && o.Group == r.Group && o.PrefixList == r.PrefixList {
				c.rep.Unmodelled["SecurityGroups: rules merged (same traffic after address mapping)"]++
				return
			}
		}
		out = append(out, r)
	}
	for i, p := range perms {
		proto, err := scenarios.ParseProto(p.IPProtocol)
		if err != nil {
			c.fail(it.src, fmt.Sprintf("%s %d", what, i+1), "IpProtocol: %v", err)
			continue
		}
		lo, hi, ok, note := ports(proto, p.FromPort, p.ToPort)
		if !ok {
			c.rep.skip(fmt.Sprintf("%s %d (%s)", what, i+1, it.src), "%s", note)
			continue
		}
		if note != "" {
			c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf("%s %d: %s", what, i+1, note))
		}
		rule := func(desc string) *scenarios.Rule {
			return &scenarios.Rule{Proto: proto, FromPort: lo, ToPort: hi, Description: clip(desc)}
		}
		ranges := make([]awsIPRange, 0, len(p.IPRanges)+len(p.IPv6Ranges))
		ranges = append(ranges, p.IPRanges...)
		for _, rg := range p.IPv6Ranges {
			ranges = append(ranges, awsIPRange{CidrIP: rg.CidrIPv6, Description: rg.Description})
		}
		for _, rg := range ranges {
			pfx, err := c.prefix(rg.CidrIP, use)
			if err != nil {
				c.fail(it.src, fmt.Sprintf("%s %d", what, i+1), "%v", err)
				continue
			}
			if v6 := pfx.Addr().Is6(); v6 && proto == scenarios.ProtoICMP || !v6 && proto == scenarios.ProtoICMPv6 {
				c.rep.skip(fmt.Sprintf("%s %d (%s)", what, i+1, it.src), "%s from %s matches nothing", scenarios.ProtoName(proto), pfx)
				continue
			}
			r := rule(rg.Description)
			r.CIDR = pfx
			add(r)
		}
		for _, pl := range p.PrefixListIDs {
			name, ok := c.prefixes[pl.PrefixListID]
			if !ok {
				c.fail(it.src, fmt.Sprintf("%s %d", what, i+1), "prefix list %s is not in the data (add the output of describe-managed-prefix-lists or describe-prefix-lists)", pl.PrefixListID)
				continue
			}
			r := rule(pl.Description)
			r.PrefixList = name
			add(r)
		}
		for _, gp := range p.UserIDGroupPairs {
			ref, ok := c.groups[gp.GroupID]
			switch {
			case !ok && gp.VpcID == "" && (gp.UserID == "" || g.OwnerID == "" || gp.UserID == g.OwnerID):
				c.fail(it.src, fmt.Sprintf("%s %d", what, i+1), "group %s is not in the data (no SecurityGroups object has that GroupId)", gp.GroupID)
				continue
			case !ok || ref.vpcID != g.VpcID:
				c.rep.Unmodelled["SecurityGroups: rules naming a group of another VPC or account"]++
				c.rep.skip(fmt.Sprintf("%s %d (%s)", what, i+1, it.src), "group %s is in another VPC (%s) or account; the format refers to groups of the same VPC only", gp.GroupID, cmp.Or(gp.VpcID, ref.vpcID))
				continue
			}
			r := rule(gp.Description)
			r.Group = ref.name
			add(r)
		}
	}
	return out
}

func (c *converter) networkACLs() {
	for _, it := range c.s.acls {
		v := it.v
		c.fields("NetworkAcls", it.raw)
		what := obj("network ACL", v.NetworkACLID)
		vpc := c.vpcs[v.VpcID]
		if vpc == nil {
			c.fail(it.src, what, "VpcId %s is not in the data (no Vpcs object has it)", v.VpcID)
			continue
		}
		name := scenarios.DefaultACL
		if v.IsDefault {
			if vpc.NetworkACL(scenarios.DefaultACL) != nil {
				c.fail(it.src, what, "VPC %s already has a default network ACL", v.VpcID)
				continue
			}
			c.rep.Names = append(c.rep.Names, Name{Kind: "network ACL", ID: v.NetworkACLID, Name: vpc.Name + "/default"})
		} else {
			name = c.name("acl/"+vpc.Name, "network ACL", nameTag(v.Tags), v.NetworkACLID, it.src)
		}
		c.nested("NetworkAcls", "Entries", it.raw)
		acl := &scenarios.NetworkACL{Name: name, VPC: vpc.Name, Default: v.IsDefault, Ingress: []*scenarios.ACLEntry{}, Egress: []*scenarios.ACLEntry{}}
		for i, e := range v.Entries {
			en, ok := c.aclEntry(it.src, fmt.Sprintf("%s entry %d", what, i+1), e)
			if !ok {
				continue
			}
			if e.Egress {
				acl.Egress = append(acl.Egress, en)
			} else {
				acl.Ingress = append(acl.Ingress, en)
			}
		}
		for _, dir := range []*[]*scenarios.ACLEntry{&acl.Ingress, &acl.Egress} {
			slices.SortStableFunc(*dir, func(a, b *scenarios.ACLEntry) int { return a.Number - b.Number })
		}
		if v.IsDefault {
			vpc.NetworkACLs = slices.Insert(vpc.NetworkACLs, 0, acl)
		} else {
			vpc.NetworkACLs = append(vpc.NetworkACLs, acl)
		}
		for _, a := range v.Associations {
			if sn := c.associated(it.src, what, a.SubnetID, vpc.Name); sn != nil && !v.IsDefault {
				sn.NetworkACL = name
			}
		}
		c.rep.Imported["network ACLs"]++
	}
}

// associated returns the subnet a route table or ACL of vpc is associated with, or nil: when the
// import skipped it (said already), or when it is not in the data or in another VPC (an error).
func (c *converter) associated(src Source, what, subnetID, vpc string) *scenarios.Subnet {
	sn := c.subnets[subnetID]
	switch {
	case sn == nil && c.subnetSkipped(subnetID):
	case sn == nil:
		c.fail(src, what, "associated with subnet %s, which is not in the data", subnetID)
	case sn.VPC != vpc:
		c.fail(src, what, "associated with subnet %s of another VPC", subnetID)
	default:
		return sn
	}
	return nil
}

// subnetSkipped reports whether the data has the subnet but the import left it out.
func (c *converter) subnetSkipped(id string) bool {
	for _, s := range c.s.subnets {
		if s.v.SubnetID == id {
			return true
		}
	}
	return false
}

// aclEntry reads one NACL entry. Rule 32767 (and 32768 for IPv6) is AWS's final deny, which the
// format implies; it is not written. A tcp or udp entry without a PortRange covers every port;
// an ICMP entry without IcmpTypeCode, or with -1, any type or code.
func (c *converter) aclEntry(src Source, what string, e awsACLEntry) (*scenarios.ACLEntry, bool) {
	if e.RuleNumber == 32767 || e.RuleNumber == 32768 {
		c.rep.Imported["network ACL final deny rules (implied, not written)"]++
		return nil, false
	}
	if e.RuleNumber < 1 || e.RuleNumber > 32766 {
		c.fail(src, what, "RuleNumber %d: want 1-32766 (32767 and 32768 are AWS's final deny)", e.RuleNumber)
		return nil, false
	}
	proto, err := scenarios.ParseProto(e.Protocol)
	if err != nil {
		c.fail(src, what, "Protocol: %v", err)
		return nil, false
	}
	en := &scenarios.ACLEntry{Number: e.RuleNumber, Allow: e.RuleAction == "allow", Proto: proto, FromPort: 0, ToPort: 65535, ICMPType: -1, ICMPCode: -1}
	if e.RuleAction != "allow" && e.RuleAction != "deny" {
		c.fail(src, what, "RuleAction %q: want allow or deny", e.RuleAction)
		return nil, false
	}
	cidr := e.CidrBlock
	if cidr == "" {
		cidr = e.IPv6CidrBlock
	}
	en.CIDR, err = c.prefix(cidr, "network ACL "+what)
	if err != nil {
		c.fail(src, what, "%v", err)
		return nil, false
	}
	switch proto {
	case scenarios.ProtoTCP, scenarios.ProtoUDP:
		if pr := e.PortRange; pr != nil {
			if pr.From != nil && *pr.From >= 0 {
				en.FromPort = *pr.From
			}
			if pr.To != nil && *pr.To >= 0 {
				en.ToPort = *pr.To
			}
		}
	case scenarios.ProtoICMP, scenarios.ProtoICMPv6:
		if tc := e.IcmpTypeCode; tc != nil {
			if tc.Type != nil {
				en.ICMPType = *tc.Type
			}
			if tc.Code != nil {
				en.ICMPCode = *tc.Code
			}
		}
		if en.ICMPType == -1 && en.ICMPCode != -1 {
			c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf("%s: ICMP code %d without a type; read as any type and code", what, en.ICMPCode))
			en.ICMPCode = -1
		}
	}
	if en.CIDR.Addr().Is6() && proto == scenarios.ProtoICMP || en.CIDR.Addr().Is4() && proto == scenarios.ProtoICMPv6 {
		c.rep.skip(what+" ("+src.String()+")", "protocol %s with an %s CIDR matches nothing", scenarios.ProtoName(proto), map[bool]string{true: "IPv6", false: "IPv4"}[en.CIDR.Addr().Is6()])
		return nil, false
	}
	return en, true
}
