package tfimport

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ec2sim/ec2sim/scenarios"
)

// Options control an import.
type Options struct {
	// Name is the scenario's name; "" derives it from the plan file's name.
	Name string
	// Partial writes the scenario even when some values cannot be resolved; its description
	// then says it is partial. Without it such an import is an error.
	Partial bool
}

// Result is an import: the scenario, its YAML (re-parsed by scenarios.Parse, so it loads) and
// the report.
type Result struct {
	Scenario *scenarios.Scenario
	YAML     []byte
	Report   *Report
}

// modelled are the resource types the importer turns into scenario objects; the order is the
// order they are built in, each after what it refers to.
var modelled = []string{
	"aws_vpc", "aws_subnet", "aws_internet_gateway", "aws_internet_gateway_attachment", "aws_eip", "aws_nat_gateway",
	"aws_vpc_peering_connection", "aws_security_group", "aws_default_security_group",
	"aws_security_group_rule", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule",
	"aws_network_acl", "aws_default_network_acl", "aws_network_acl_rule", "aws_network_acl_association",
	"aws_instance", "aws_network_interface", "aws_network_interface_attachment",
	"aws_route_table", "aws_default_route_table", "aws_route", "aws_route_table_association",
	"aws_main_route_table_association", "aws_eip_association",
}

// Import reads a plan and builds the scenario it describes. When values cannot be resolved and
// opts.Partial is not set, it returns the report with an error and no YAML; on any other error
// nothing is returned but the error, which names the file and the resource address.
func Import(file string, data []byte, opts Options) (*Result, error) {
	if opts.Name != "" && sanitize(opts.Name) != opts.Name {
		return nil, fmt.Errorf("scenario name %q: want 1-31 characters of a-z, 0-9 and '-', starting and ending with a letter or digit, such as %q", opts.Name, sanitize(opts.Name))
	}
	p, err := Read(file, data)
	if err != nil {
		return nil, err
	}
	b := newBuilder(p, opts)
	if err := b.build(); err != nil {
		return nil, err
	}
	res := &Result{Scenario: b.sc, Report: b.rep}
	if len(b.rep.Problems) > 0 {
		if !opts.Partial {
			return res, problemsError(file, b.rep.Problems)
		}
		b.sc.Description = fmt.Sprintf("PARTIAL import of Terraform plan %s: %d unresolved values were left out (see the import report)", filepath.Base(file), len(b.rep.Problems))
	}
	y, err := scenarios.Format(b.sc)
	if err != nil {
		return nil, fmt.Errorf("%s: writing the scenario: %w", file, err)
	}
	sc, err := scenarios.Parse(b.sc.Name+".yaml", y)
	if err != nil {
		return nil, fmt.Errorf("%s: the imported scenario does not load, so nothing was written; the plan holds something AWS itself would refuse:\n%v", file, err)
	}
	res.Scenario, res.YAML = sc, y
	for _, w := range sc.Warnings {
		b.rep.Warnings = append(b.rep.Warnings, w.String())
	}
	return res, nil
}

type builder struct {
	p    *Plan
	rv   resolver
	sc   *scenarios.Scenario
	rep  *Report
	errs []error // invalid input: always fatal

	vpc    map[*resource]*scenarios.VPC
	subnet map[*resource]*scenarios.Subnet
	sg     map[*resource]*scenarios.SecurityGroup
	acl    map[*resource]*scenarios.NetworkACL
	rt     map[*resource]*scenarios.RouteTable
	nat    map[*resource]*scenarios.NATGateway
	igw    map[*resource]*scenarios.VPC
	eip    map[*resource]netip.Addr
	inst   map[*resource]*scenarios.Instance
	eni    map[*resource]eniRef
	peer   map[*resource]*scenarios.Peering
	names  map[string]map[string]bool
	source map[any]string // scenario object -> resource address, for errors naming both sides
	nextIP int
	byIdx  map[string]bool // "config address attr" already noted as resolved by index

	pending []*placed                    // ENIs waiting to be numbered
	attach  map[*resource][]attachment   // aws_network_interface -> where it is attached
	eniRes  map[*resource]*scenarios.ENI // aws_network_interface -> its ENI
	eniAt   map[*scenarios.ENI]eniRef    // placed ENIs
	eipUsed map[*resource]bool           // aws_eip given to an ENI
	eipNAT  map[*resource]bool           // aws_eip of a NAT gateway
}

// eniRef is an ENI of an instance: index k of instance in.
type eniRef struct {
	in *scenarios.Instance
	k  int
}

func newBuilder(p *Plan, opts Options) *builder {
	name := opts.Name
	if name == "" {
		name = sanitize(strings.TrimSuffix(filepath.Base(p.File), filepath.Ext(p.File)))
	}
	return &builder{
		p: p, rv: resolver{p: p},
		sc: &scenarios.Scenario{Name: name, Settings: scenarios.DefaultSettings(), Description: "Imported from Terraform plan " + filepath.Base(p.File),
			Clock: scenarios.Clock{Speed: scenarios.DefaultClockSpeed}, Hypervisor: scenarios.DefaultHypervisor()},
		// empty lists rather than nulls in the JSON report
		rep: &Report{File: p.File, Unmodelled: map[string]int{}, Mapped: []Mapping{}, Skipped: []Note{},
			PublicIPs: []PublicIP{}, Problems: []Problem{}, Notes: []Note{}, Warnings: []string{}},
		vpc:    map[*resource]*scenarios.VPC{},
		subnet: map[*resource]*scenarios.Subnet{},
		sg:     map[*resource]*scenarios.SecurityGroup{},
		acl:    map[*resource]*scenarios.NetworkACL{},
		rt:     map[*resource]*scenarios.RouteTable{},
		nat:    map[*resource]*scenarios.NATGateway{},
		igw:    map[*resource]*scenarios.VPC{},
		eip:    map[*resource]netip.Addr{},
		inst:   map[*resource]*scenarios.Instance{},
		eni:    map[*resource]eniRef{},
		peer:   map[*resource]*scenarios.Peering{},
		names:  map[string]map[string]bool{},
		source: map[any]string{}, byIdx: map[string]bool{},
		attach: map[*resource][]attachment{}, eniRes: map[*resource]*scenarios.ENI{},
		eniAt: map[*scenarios.ENI]eniRef{}, eipUsed: map[*resource]bool{}, eipNAT: map[*resource]bool{},
	}
}

func (b *builder) build() error {
	byType := map[string][]*resource{}
	known := map[string]bool{}
	for _, t := range modelled {
		known[t] = true
	}
	for _, r := range b.p.resources {
		if known[r.Type] {
			byType[r.Type] = append(byType[r.Type], r)
		} else {
			b.rep.Unmodelled[r.Type]++
		}
	}
	steps := map[string]func(*resource){
		"aws_vpc":                             b.addVPC,
		"aws_subnet":                          b.addSubnet,
		"aws_internet_gateway":                b.addIGW,
		"aws_internet_gateway_attachment":     b.addIGWAttachment,
		"aws_eip":                             b.addEIP,
		"aws_nat_gateway":                     b.addNAT,
		"aws_vpc_peering_connection":          b.addPeering,
		"aws_security_group":                  b.addGroup,
		"aws_default_security_group":          b.addGroup,
		"aws_security_group_rule":             b.addGroupRule,
		"aws_vpc_security_group_ingress_rule": b.addVPCGroupRule,
		"aws_vpc_security_group_egress_rule":  b.addVPCGroupRule,
		"aws_network_acl":                     b.addACL,
		"aws_default_network_acl":             b.addACL,
		"aws_network_acl_rule":                b.addACLRule,
		"aws_network_acl_association":         b.addACLAssociation,
		"aws_instance":                        b.addInstance,
		"aws_network_interface":               b.addENI,
		"aws_network_interface_attachment":    b.addENIAttachment,
		"aws_route_table":                     b.addRouteTable,
		"aws_default_route_table":             b.addRouteTable,
		"aws_route":                           b.addRoute,
		"aws_route_table_association":         b.addRTAssociation,
		"aws_main_route_table_association":    b.addMainAssociation,
		"aws_eip_association":                 b.addEIPAssociation,
	}
	for _, t := range modelled {
		for _, r := range byType[t] {
			steps[t](r)
		}
		if t == "aws_default_security_group" {
			// inline rules come once every group exists, since rules name each other
			for _, typ := range []string{"aws_security_group", "aws_default_security_group"} {
				for _, r := range byType[typ] {
					b.addInlineRules(r)
				}
			}
		}
		if t == "aws_network_interface_attachment" {
			b.placeEIPs(byType["aws_eip"])
		}
	}
	b.unusedEIPs(byType["aws_eip"])
	b.reportLeftOut(byType)
	b.checkOverlaps()
	b.dedupeRules()
	b.raiseQuotas()
	if len(b.errs) > 0 {
		return errors.Join(b.errs...)
	}
	return nil
}

// reportLeftOut names every modelled resource that neither became part of the scenario nor has
// a report entry of its own: it depends on something that was not imported.
func (b *builder) reportLeftOut(byType map[string][]*resource) {
	said := map[string]bool{}
	for _, m := range b.rep.Mapped {
		said[m.Address] = true
	}
	for _, n := range b.rep.Skipped {
		said[n.Address] = true
	}
	for _, p := range b.rep.Problems {
		said[p.Address] = true
	}
	for _, t := range modelled {
		for _, r := range byType[t] {
			if !said[r.Addr] {
				b.rep.skip(r.Addr, "left out: it depends on a resource that was not imported (see the unresolved values)")
			}
		}
	}
}

// fail records invalid input: an error naming the file and the resource address.
func (b *builder) fail(r *resource, format string, args ...any) {
	addr := "(plan)"
	if r != nil {
		addr = r.Addr
	}
	b.errs = append(b.errs, fmt.Errorf("%s: %s: %s", b.p.File, addr, fmt.Sprintf(format, args...)))
}

// problem records an attribute that could not be resolved.
func (b *builder) problem(r *resource, attr string, err error) {
	var re *refError
	p := Problem{Address: r.Addr, Attribute: attr, Message: err.Error()}
	if errors.As(err, &re) {
		p.NotInPlan = re.notInPlan
	}
	b.rep.Problems = append(b.rep.Problems, p)
}

// one resolves an attribute that names exactly one resource of one of the given types.
func (b *builder) one(r *resource, attr string, types ...string) *resource {
	return b.oneIn(r, r.cfgExprs(), r.Values, attr, types...)
}

// oneIn is one for an attribute of a nested block: exprs and values are the block's.
func (b *builder) oneIn(r *resource, exprs map[string]any, values map[string]any, attr string, types ...string) *resource {
	got, err := b.lookup(r, expressionFor(exprs, values, attr), values[attr], false, attr)
	var re *refError
	if err != nil && errors.As(err, &re) && re.soft {
		// a local (the plan has no expressions of locals) or a choice made at apply: when
		// the module, or else the plan, has exactly one resource that fits, it is that one
		if t, where := b.unique(r, types); t != nil {
			b.rep.note(r.Addr, "%s %s; taken to be %s, the only %s in %s", attr, err, t.Addr, strings.Join(types, " or "), where)
			return t
		}
	}
	if err != nil {
		b.problem(r, attr, err)
		return nil
	}
	fit := ofTypes(got, types)
	switch {
	case len(fit) == 1:
		return fit[0]
	case len(fit) > 1:
		var addrs []string
		for _, t := range fit {
			addrs = append(addrs, t.Addr)
		}
		b.problem(r, attr, &refError{msg: fmt.Sprintf("may be any of %s: which one is chosen is not in the plan", strings.Join(addrs, ", "))})
		return nil
	}
	b.problem(r, attr, &refError{msg: fmt.Sprintf("refers to %s, not to a resource of type %s", got[0].Addr, strings.Join(types, " or ")), notInPlan: true})
	return nil
}

// ofTypes keeps the resources of the given types.
func ofTypes(rs []*resource, types []string) []*resource {
	var out []*resource
	for _, t := range rs {
		for _, ty := range types {
			if t.Type == ty {
				out = append(out, t)
			}
		}
	}
	return out
}

// lookup resolves through the resolver and notes, once per configuration block and attribute,
// a reference resolved by the resource's own index.
func (b *builder) lookup(r *resource, expr map[string]any, value any, many bool, attr string) ([]*resource, error) {
	var byIndex []string
	rv := b.rv
	rv.byIndex = &byIndex
	got, err := rv.lookup(r, expr, value, many)
	if len(byIndex) > 0 && err == nil {
		addr := join(configPath(r.Module), r.Type+"."+r.Name)
		if key := addr + " " + attr; !b.byIdx[key] {
			b.byIdx[key] = true
			b.rep.note(addr, "%s refers to %s by count.index: taken to be the instance with this resource's own index (right for [count.index] and element(...[*].id, count.index), wrong for arithmetic such as [count.index + 1])", attr, strings.Join(byIndex, ", "))
		}
	}
	return got, err
}

// configPath is a module instance address without its instance keys: module.a.module.b.
func configPath(module string) string {
	var parts []string
	for _, s := range moduleSegments(module) {
		parts = append(parts, "module."+s.name)
	}
	return strings.Join(parts, ".")
}

// unique is the one resource of the given types in r's module, or else in the plan.
func (b *builder) unique(r *resource, types []string) (*resource, string) {
	var inModule, inPlan []*resource
	for _, t := range b.p.resources {
		for _, ty := range types {
			if t.Type == ty {
				inPlan = append(inPlan, t)
				if t.Module == r.Module {
					inModule = append(inModule, t)
				}
			}
		}
	}
	switch {
	case len(inModule) == 1 && r.Module != "":
		return inModule[0], r.Module
	case len(inModule) == 0 && len(inPlan) == 1, r.Module == "" && len(inPlan) == 1:
		return inPlan[0], "the plan"
	}
	return nil, ""
}

// many resolves a list attribute that names resources (security groups, subnet ids).
func (b *builder) many(r *resource, exprs, values map[string]any, attr string) []*resource {
	// Such attributes are optional and computed: unknown in the plan whenever the configuration
	// leaves them out. Without a reference and without a value, there is nothing to resolve,
	// unless the plan has no configuration to tell.
	if len(references(expressionFor(exprs, values, attr))) == 0 && len(idStrings(values[attr])) == 0 {
		if unknown(r.Unknown, attr) && r.cfg == nil {
			b.problem(r, attr, &refError{msg: "is known only after apply, and the plan has no configuration to follow"})
		}
		return nil
	}
	got, err := b.lookup(r, expressionFor(exprs, values, attr), values[attr], true, attr)
	if err != nil {
		b.problem(r, attr, err)
	}
	return got
}

func (r *resource) cfgExprs() map[string]any {
	if r.cfg == nil {
		return nil
	}
	return r.cfg.Expressions
}

// unknown reports whether after_unknown marks attr (or part of it) as known only after apply.
func unknown(u map[string]any, attr string) bool {
	switch v := u[attr].(type) {
	case bool:
		return v
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return false
}

// prefix parses a CIDR of the plan; errors name the attribute and the bad value.
func (b *builder) prefix(r *resource, attr, s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		b.fail(r, "%s %q is not a CIDR; want an address and prefix length such as 10.0.0.0/16", attr, s)
		return netip.Prefix{}, false
	}
	if p.Masked() != p {
		b.fail(r, "%s %s has host bits set; AWS wants %s", attr, s, p.Masked())
		return netip.Prefix{}, false
	}
	return p, true
}

// checkOverlaps refuses what AWS refuses: subnets of a VPC that overlap or lie outside it, and
// peered VPCs whose CIDRs overlap. The errors name both resources.
func (b *builder) checkOverlaps() {
	for vr, v := range b.vpc {
		var subs []*resource
		for sr, s := range b.subnet {
			if s.VPC == v.Name {
				subs = append(subs, sr)
			}
		}
		sort.Slice(subs, func(i, j int) bool { return subs[i].Addr < subs[j].Addr })
		for i, sr := range subs {
			s := b.subnet[sr]
			if !v.CIDR.Contains(s.CIDR.Addr()) || s.CIDR.Bits() < v.CIDR.Bits() {
				hint := ""
				if b.rep.Unmodelled["aws_vpc_ipv4_cidr_block_association"] > 0 {
					hint = " (secondary VPC CIDR blocks, aws_vpc_ipv4_cidr_block_association, are not modelled)"
				}
				b.fail(sr, "cidr_block %s is not inside the CIDR %s of its VPC %s%s", s.CIDR, v.CIDR, vr.Addr, hint)
			}
			for _, or := range subs[:i] {
				if o := b.subnet[or]; o.CIDR.Overlaps(s.CIDR) {
					b.fail(sr, "cidr_block %s overlaps %s (%s) in VPC %s; subnets of a VPC may not overlap", s.CIDR, o.CIDR, or.Addr, vr.Addr)
				}
			}
		}
	}
	for pr, p := range b.peer {
		a, c := b.sc.VPC(p.Requester), b.sc.VPC(p.Accepter)
		if a != nil && c != nil && a.CIDR.Overlaps(c.CIDR) {
			b.fail(pr, "peers VPCs %s (%s, %s) and %s (%s, %s), whose CIDRs overlap; AWS refuses to peer overlapping VPCs", a.Name, a.CIDR, b.source[a], c.Name, c.CIDR, b.source[c])
		}
	}
}

// raiseQuotas sets the scenario's adjustable quotas high enough for the plan: a plan with more
// rules or groups than AWS's defaults was written for an account whose quotas were raised. What
// AWS cannot raise (16 groups per ENI, 1000 rules across them, 40 NACL rules) still fails when
// the scenario is read back.
func (b *builder) raiseQuotas() {
	rules, groups, acl := 0, 0, 0
	for _, v := range b.sc.VPCs {
		for _, g := range v.SecurityGroups {
			for _, list := range [][]*scenarios.Rule{g.Ingress, g.Egress} {
				v4, v6 := 0, 0
				for _, r := range list {
					switch {
					case r.Group != "":
						v4, v6 = v4+1, v6+1
					case r.CIDR.Addr().Is6():
						v6++
					default:
						v4++
					}
				}
				rules = max(rules, v4, v6)
			}
		}
		for _, a := range v.NetworkACLs {
			for _, list := range [][]*scenarios.ACLEntry{a.Ingress, a.Egress} {
				v4 := 0
				for _, e := range list {
					if e.CIDR.Addr().Is4() {
						v4++
					}
				}
				acl = max(acl, v4, len(list)-v4)
			}
		}
	}
	for _, in := range b.sc.Instances {
		for _, e := range in.ENIs {
			groups = max(groups, len(e.SecurityGroups))
		}
	}
	st := &b.sc.Settings
	if groups > st.SecurityGroupsPerENI {
		st.SecurityGroupsPerENI = min(groups, scenarios.MaxSecurityGroupsPerENI)
		st.RulesPerSecurityGroup = min(st.RulesPerSecurityGroup, scenarios.MaxGroupsTimesRules/st.SecurityGroupsPerENI)
		b.rep.note("settings", "security_groups_per_eni raised to %d: an interface of the plan has %d groups (AWS's default quota is 5)", st.SecurityGroupsPerENI, groups)
	}
	if rules > st.RulesPerSecurityGroup {
		st.RulesPerSecurityGroup = rules
		b.rep.note("settings", "rules_per_security_group raised to %d: a group of the plan has that many rules in one direction (AWS's default quota is 60)", rules)
	}
	if acl > 20 {
		st.NetworkACLRulesPerDirection = acl
		b.rep.note("settings", "network_acl_rules_per_direction raised to %d: a network ACL of the plan has that many rules in one direction (AWS's default quota is 20)", acl)
	}
}
