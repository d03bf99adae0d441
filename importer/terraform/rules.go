package tfimport

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/ec2sim/ec2sim/scenarios"
)

// Security groups and network ACLs with their rules, in every form the AWS provider has.

func (b *builder) addGroup(r *resource) {
	if r.Values["vpc_id"] == nil && !unknown(r.Unknown, "vpc_id") && len(references(expression(r.cfgExprs(), "vpc_id"))) == 0 {
		b.problem(r, "vpc_id", &refError{msg: "is not set: the group would be in the region's default VPC, which is not in the plan", notInPlan: true})
		return
	}
	v := b.vpcOf(r, "vpc_id")
	if v == nil {
		return
	}
	g := &scenarios.SecurityGroup{VPC: v.Name, Description: str(r.Values, "description"), Ingress: []*scenarios.Rule{}, Egress: []*scenarios.Rule{}}
	if r.Type == "aws_default_security_group" {
		if v.Group(scenarios.DefaultGroup) != nil {
			b.fail(r, "VPC %s has a second aws_default_security_group; a VPC has one default group", b.source[v])
			return
		}
		// Terraform removes every rule of the default group that its configuration does not
		// list, so the group has exactly the resource's rules.
		g.Name = scenarios.DefaultGroup
		g.Description = "default VPC security group"
		v.SecurityGroups = append([]*scenarios.SecurityGroup{g}, v.SecurityGroups...)
	} else {
		g.Name = b.name("sg:"+v.Name, r)
		v.SecurityGroups = append(v.SecurityGroups, g)
	}
	if !descriptionOK(g.Description) {
		b.rep.note(r.Addr, "description %q has characters AWS does not allow in group descriptions; left out", g.Description)
		g.Description = ""
	}
	b.sg[r] = g
	b.rep.mapped(r.Addr, "security group %s/%s", v.Name, g.Name)
}

// descriptionOK checks AWS's character set for group descriptions.
func descriptionOK(s string) bool {
	if len(s) > scenarios.MaxDescriptionLen {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(" ._-:/()#,@[]+=&;{}!$*", c)) {
			return false
		}
	}
	return true
}

// addInlineRules adds a group's ingress and egress blocks. Terraform removes AWS's default
// allow-all egress of a new group, so a group without egress blocks sends nothing; that is what
// the scenario says too (an explicit, empty egress list).
func (b *builder) addInlineRules(r *resource) {
	g := b.sg[r]
	if g == nil {
		return
	}
	for _, dir := range []string{"ingress", "egress"} {
		bs := configBlocks(r.cfgExprs(), dir)
		elems := objects(r.Values, dir)
		if r.Unknown[dir] == true && len(elems) == 0 {
			// The whole set is unknown (its elements name groups created by this plan): the
			// configuration's blocks say the same, with constants where the plan has values.
			if r.cfg == nil || bs.joined != nil {
				b.problem(r, dir, &refError{msg: "is known only after apply, and the plan's configuration has only the references of its blocks, not the blocks"})
			}
			for _, blk := range bs.blocks {
				b.classicRule(r, dir, g, constants(blk), blk)
			}
			continue
		}
		ambiguous := false
		if bs.joined != nil {
			// The references of all blocks are joined: they can be told apart only when
			// one block names groups this plan creates, or when they all name the same one.
			open := 0
			for _, e := range elems {
				if e["security_groups"] == nil {
					open++
				}
			}
			groups, _ := b.rv.lookup(r, bs.joined, nil, true)
			if open > 1 && len(ofTypes(groups, groupTypes)) > 1 {
				ambiguous = true
				b.problem(r, dir, &refError{msg: fmt.Sprintf("has %d rules naming groups this plan creates, and the plan's configuration joins their references, so which rule names which group is not known", open)})
			}
		}
		for _, elem := range elems {
			exprs := bs.match(elem)
			if ambiguous && elem["security_groups"] == nil {
				exprs = nil
			}
			b.classicRule(r, dir, g, elem, exprs)
		}
	}
}

var groupTypes = []string{"aws_security_group", "aws_default_security_group"}

// classicRule adds the rules of one block of the classic form (inline, aws_security_group_rule):
// one scenario rule per CIDR, group and self.
func (b *builder) classicRule(r *resource, dir string, g *scenarios.SecurityGroup, vals, exprs map[string]any) {
	base, ok := b.ruleProto(r, vals, "protocol")
	if !ok {
		return
	}
	base.Description = str(vals, "description")
	if !descriptionOK(base.Description) {
		base.Description = ""
	}
	var rules []*scenarios.Rule
	for _, attr := range []string{"cidr_blocks", "ipv6_cidr_blocks"} {
		for _, c := range strList(vals, attr) {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				b.fail(r, "%s: %s %q is not a CIDR", dir, attr, c)
				continue
			}
			rule := base
			rule.CIDR = p.Masked()
			rules = append(rules, &rule)
		}
	}
	if ids := strList(vals, "prefix_list_ids"); len(ids) > 0 || unknown(r.Unknown, "prefix_list_ids") {
		b.rep.skip(r.Addr, "%s rule naming prefix lists %v: managed prefix lists are not imported", dir, ids)
	}
	named := b.many(r, exprs, vals, groupAttr(r.Type))
	if joined(exprs) {
		named = ofTypes(named, groupTypes) // the other references are other blocks'
	}
	for _, t := range named {
		if name := b.groupName(r, g, t); name != "" {
			rule := base
			rule.Group = name
			rules = append(rules, &rule)
		}
	}
	if boolean(vals, "self") {
		rule := base
		rule.Group = g.Name
		rules = append(rules, &rule)
	}
	if dir == "ingress" {
		g.Ingress = append(g.Ingress, rules...)
	} else {
		g.Egress = append(g.Egress, rules...)
	}
}

// groupAttr is the attribute that names other groups in a classic rule.
func groupAttr(typ string) string {
	if typ == "aws_security_group_rule" {
		return "source_security_group_id"
	}
	return "security_groups"
}

// groupName is the name that a rule of group g uses for the referenced group resource t.
func (b *builder) groupName(r *resource, g *scenarios.SecurityGroup, t *resource) string {
	other := b.sg[t]
	if other == nil {
		if t.Type != "aws_security_group" && t.Type != "aws_default_security_group" {
			b.problem(r, "security group reference", &refError{msg: fmt.Sprintf("refers to %s, which is not a security group", t.Addr), notInPlan: true})
		}
		return "" // a group that was not imported has its own problem reported
	}
	if other.VPC != g.VPC {
		b.rep.skip(r.Addr, "rule naming %s in another VPC (%s): references to groups of peered VPCs are not modelled", t.Addr, other.VPC)
		return ""
	}
	return other.Name
}

// ruleProto reads protocol and ports into a rule: for tcp and udp a port range, for icmp the
// type (from_port) and code (to_port), for everything else none.
func (b *builder) ruleProto(r *resource, vals map[string]any, protoAttr string) (scenarios.Rule, bool) {
	proto, err := protoNumber(str(vals, protoAttr))
	if err != nil {
		b.fail(r, "%s: %v", protoAttr, err)
		return scenarios.Rule{}, false
	}
	rule := scenarios.Rule{Proto: proto, FromPort: -1, ToPort: -1}
	from, okF := integer(vals, "from_port")
	to, okT := integer(vals, "to_port")
	switch proto {
	case scenarios.ProtoTCP, scenarios.ProtoUDP:
		if !okF || !okT {
			// aws_vpc_security_group_*_rule leaves the ports out for "all ports"
			from, to = 0, 65535
		}
		if from == -1 && to == -1 {
			from, to = 0, 65535
		}
		rule.FromPort, rule.ToPort = from, to
	case scenarios.ProtoICMP, scenarios.ProtoICMPv6:
		if okF {
			rule.FromPort = from
		}
		if okT {
			rule.ToPort = to
		}
		if rule.FromPort == -1 {
			rule.ToPort = -1
		}
	}
	return rule, true
}

// protoNumber reads a protocol as the scenario loader does; Terraform configurations also write
// names in capitals ("TCP"), which AWS accepts.
func protoNumber(s string) (int, error) { return scenarios.ParseProto(strings.ToLower(s)) }

// addGroupRule adds an aws_security_group_rule.
func (b *builder) addGroupRule(r *resource) {
	g := b.groupOf(r)
	if g == nil {
		return
	}
	dir := str(r.Values, "type")
	if dir != "ingress" && dir != "egress" {
		b.fail(r, "type %q: want ingress or egress", dir)
		return
	}
	b.classicRule(r, dir, g, r.Values, r.cfgExprs())
	b.rep.mapped(r.Addr, "%s rule of security group %s/%s", dir, g.VPC, g.Name)
}

// addVPCGroupRule adds an aws_vpc_security_group_ingress_rule or _egress_rule: one source each.
func (b *builder) addVPCGroupRule(r *resource) {
	g := b.groupOf(r)
	if g == nil {
		return
	}
	rule, ok := b.ruleProto(r, r.Values, "ip_protocol")
	if !ok {
		return
	}
	rule.Description = str(r.Values, "description")
	if !descriptionOK(rule.Description) {
		rule.Description = ""
	}
	exprs := r.cfgExprs()
	switch {
	case str(r.Values, "cidr_ipv4") != "" || str(r.Values, "cidr_ipv6") != "":
		c := str(r.Values, "cidr_ipv4") + str(r.Values, "cidr_ipv6")
		p, err := netip.ParsePrefix(c)
		if err != nil {
			b.fail(r, "cidr %q is not a CIDR", c)
			return
		}
		rule.CIDR = p.Masked()
	case r.Values["referenced_security_group_id"] != nil || unknown(r.Unknown, "referenced_security_group_id") || expression(exprs, "referenced_security_group_id") != nil:
		o := b.one(r, "referenced_security_group_id", "aws_security_group", "aws_default_security_group")
		if o == nil {
			return
		}
		if rule.Group = b.groupName(r, g, o); rule.Group == "" {
			return
		}
	case r.Values["prefix_list_id"] != nil || unknown(r.Unknown, "prefix_list_id"):
		b.rep.skip(r.Addr, "a rule naming a prefix list: managed prefix lists are not imported")
		return
	default:
		b.fail(r, "has no cidr_ipv4, cidr_ipv6, referenced_security_group_id or prefix_list_id; AWS wants one")
		return
	}
	dir := "ingress"
	if r.Type == "aws_vpc_security_group_egress_rule" {
		dir = "egress"
		g.Egress = append(g.Egress, &rule)
	} else {
		g.Ingress = append(g.Ingress, &rule)
	}
	b.rep.mapped(r.Addr, "%s rule of security group %s/%s", dir, g.VPC, g.Name)
}

// dedupeRules merges rules that allow the same traffic: Terraform accepts both, AWS keeps one
// (and the scenario loader, like AWS, refuses the second).
func (b *builder) dedupeRules() {
	for _, v := range b.sc.VPCs {
		for _, g := range v.SecurityGroups {
			g.Ingress = b.dedupe(v, g, "ingress", g.Ingress)
			g.Egress = b.dedupe(v, g, "egress", g.Egress)
		}
	}
}

func (b *builder) dedupe(v *scenarios.VPC, g *scenarios.SecurityGroup, dir string, rules []*scenarios.Rule) []*scenarios.Rule {
	seen := map[string]bool{}
	out := rules[:0]
	for _, r := range rules {
		k := fmt.Sprint(r.Proto, r.FromPort, r.ToPort, r.CIDR, r.Group, r.PrefixList)
		if seen[k] {
			b.rep.note("security group "+v.Name+"/"+g.Name, "%s rule %s %d-%d %s%s given twice; kept once, as AWS does", dir, scenarios.ProtoName(r.Proto), r.FromPort, r.ToPort, r.CIDR, r.Group)
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

// Network ACLs.

func (b *builder) addACL(r *resource) {
	var v *scenarios.VPC
	acl := &scenarios.NetworkACL{Ingress: []*scenarios.ACLEntry{}, Egress: []*scenarios.ACLEntry{}}
	if r.Type == "aws_default_network_acl" {
		t := b.one(r, "default_network_acl_id", "aws_vpc")
		if t == nil {
			return
		}
		v = b.vpc[t]
		acl.Name, acl.Default = scenarios.DefaultACL, true
	} else {
		v = b.vpcOf(r, "vpc_id")
	}
	if v == nil {
		return
	}
	acl.VPC = v.Name
	if acl.Name == "" {
		acl.Name = b.name("acl:"+v.Name, r)
	} else if v.NetworkACL(acl.Name) != nil {
		b.fail(r, "VPC %s has a second aws_default_network_acl", b.source[v])
		return
	}
	for _, dir := range []string{"ingress", "egress"} {
		if r.Unknown[dir] == true && r.cfg == nil {
			b.problem(r, dir, &refError{msg: "is known only after apply and the plan has no configuration to read"})
		}
		for _, e := range objects(r.Values, dir) {
			b.aclEntry(r, acl, dir == "egress", e, "rule_no", "action", "cidr_block", "ipv6_cidr_block")
		}
	}
	v.NetworkACLs = append(v.NetworkACLs, acl)
	b.acl[r] = acl
	b.rep.mapped(r.Addr, "network acl %s/%s", v.Name, acl.Name)
	for _, s := range b.many(r, r.cfgExprs(), r.Values, "subnet_ids") {
		b.associateACL(r, acl, s)
	}
}

func (b *builder) associateACL(r *resource, acl *scenarios.NetworkACL, t *resource) {
	s := b.subnet[t]
	if s == nil {
		return
	}
	if s.VPC != acl.VPC {
		b.fail(r, "associates subnet %s (VPC %s) with network ACL %s of VPC %s; they must be in one VPC", t.Addr, s.VPC, acl.Name, acl.VPC)
		return
	}
	if s.NetworkACL != "" && s.NetworkACL != acl.Name {
		b.fail(r, "associates %s with network ACL %s, but it is already associated with %s; a subnet has one network ACL", t.Addr, acl.Name, s.NetworkACL)
		return
	}
	if !acl.Default {
		s.NetworkACL = acl.Name
	}
}

// aclEntry adds one NACL rule given as an inline block or an aws_network_acl_rule.
func (b *builder) aclEntry(r *resource, acl *scenarios.NetworkACL, egress bool, vals map[string]any, numAttr, actionAttr, cidrAttr, cidr6Attr string) {
	n, ok := integer(vals, numAttr)
	if !ok || n < 1 || n > 32766 {
		b.fail(r, "%s %v: want a rule number 1-32766", numAttr, vals[numAttr])
		return
	}
	proto, err := protoNumber(str(vals, "protocol"))
	if err != nil {
		b.fail(r, "rule %d: %v", n, err)
		return
	}
	e := &scenarios.ACLEntry{Number: n, Proto: proto, FromPort: 0, ToPort: 65535, ICMPType: -1, ICMPCode: -1}
	switch action := strings.ToLower(str(vals, actionAttr)); action {
	case "allow":
		e.Allow = true
	case "deny":
	default:
		b.fail(r, "rule %d: %s %q: want allow or deny", n, actionAttr, action)
		return
	}
	c := str(vals, cidrAttr)
	if c == "" {
		c = str(vals, cidr6Attr)
	}
	p, err := netip.ParsePrefix(c)
	if err != nil {
		b.fail(r, "rule %d: %s %q is not a CIDR", n, cidrAttr, c)
		return
	}
	e.CIDR = p.Masked()
	switch proto {
	case scenarios.ProtoTCP, scenarios.ProtoUDP:
		from, okF := integer(vals, "from_port")
		to, okT := integer(vals, "to_port")
		if okF && okT {
			e.FromPort, e.ToPort = from, to
		}
	case scenarios.ProtoICMP, scenarios.ProtoICMPv6:
		if t, ok := integer(vals, "icmp_type"); ok {
			e.ICMPType = t
		}
		if c, ok := integer(vals, "icmp_code"); ok {
			e.ICMPCode = c
		}
	}
	list := &acl.Ingress
	if egress {
		list = &acl.Egress
	}
	for _, o := range *list {
		if o.Number == e.Number {
			b.fail(r, "rule number %d is used twice in one direction of network ACL %s (NetworkAclEntryAlreadyExists)", n, acl.Name)
			return
		}
	}
	// kept in rule-number order, the order they are evaluated in
	i := sort.Search(len(*list), func(i int) bool { return (*list)[i].Number > e.Number })
	*list = slices.Insert(*list, i, e)
}

func (b *builder) addACLRule(r *resource) {
	acl := b.aclOf(r)
	if acl == nil {
		return
	}
	b.aclEntry(r, acl, boolean(r.Values, "egress"), r.Values, "rule_number", "rule_action", "cidr_block", "ipv6_cidr_block")
	b.rep.mapped(r.Addr, "rule of network acl %s/%s", acl.VPC, acl.Name)
}

func (b *builder) addACLAssociation(r *resource) {
	acl := b.aclOf(r)
	s := b.one(r, "subnet_id", "aws_subnet")
	if acl == nil || s == nil || b.subnet[s] == nil {
		return
	}
	b.associateACL(r, acl, s)
	b.rep.mapped(r.Addr, "association of %s with network acl %s", b.subnet[s].Qualified(), acl.Name)
}

// constants gives the constant arguments of a configuration block as planned values would.
func constants(block map[string]any) map[string]any {
	out := map[string]any{}
	for k, e := range block {
		if em, ok := e.(map[string]any); ok {
			if c, ok := em["constant_value"]; ok {
				out[k] = c
			}
		}
	}
	return out
}

// groupOf resolves a rule's security_group_id: a group of the plan, or a VPC's
// default_security_group_id, which is the VPC's default group with AWS's rules.
func (b *builder) groupOf(r *resource) *scenarios.SecurityGroup {
	t := b.one(r, "security_group_id", "aws_security_group", "aws_default_security_group", "aws_vpc")
	if t == nil {
		return nil
	}
	if t.Type != "aws_vpc" {
		return b.sg[t]
	}
	v := b.vpc[t]
	if v == nil {
		return nil
	}
	if g := v.Group(scenarios.DefaultGroup); g != nil {
		return g
	}
	g := &scenarios.SecurityGroup{Name: scenarios.DefaultGroup, VPC: v.Name, Description: "default VPC security group",
		Ingress: []*scenarios.Rule{{Proto: scenarios.ProtoAll, FromPort: -1, ToPort: -1, Group: scenarios.DefaultGroup}},
		Egress:  []*scenarios.Rule{{Proto: scenarios.ProtoAll, FromPort: -1, ToPort: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}}}
	v.SecurityGroups = append([]*scenarios.SecurityGroup{g}, v.SecurityGroups...)
	return g
}

// aclOf resolves a network_acl_id: an ACL of the plan, or a VPC's default_network_acl_id, which
// is the VPC's default ACL with AWS's rules (rule 100 allows all, both ways).
func (b *builder) aclOf(r *resource) *scenarios.NetworkACL {
	t := b.one(r, "network_acl_id", "aws_network_acl", "aws_default_network_acl", "aws_vpc")
	if t == nil {
		return nil
	}
	if t.Type != "aws_vpc" {
		return b.acl[t]
	}
	v := b.vpc[t]
	if v == nil {
		return nil
	}
	if a := v.NetworkACL(scenarios.DefaultACL); a != nil {
		return a
	}
	all := func() []*scenarios.ACLEntry {
		return []*scenarios.ACLEntry{{Number: 100, Allow: true, Proto: scenarios.ProtoAll, FromPort: 0, ToPort: 65535, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}}
	}
	a := &scenarios.NetworkACL{Name: scenarios.DefaultACL, VPC: v.Name, Default: true, Ingress: all(), Egress: all()}
	v.NetworkACLs = append([]*scenarios.NetworkACL{a}, v.NetworkACLs...)
	return a
}
