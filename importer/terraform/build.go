package tfimport

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
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
			PublicIPs: []PublicIP{}, Problems: []Problem{}, Notes: []Note{}},
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

// name gives a scenario name for a resource that is unique in its namespace: the resource's
// name (with its module's and its index), cleaned up to the scenario's name syntax.
func (b *builder) name(ns string, r *resource) string {
	base := r.Name
	if k := keyString(r.Index); k != "" {
		base += "-" + strings.Trim(k, `"`)
	}
	if segs := moduleSegments(r.Module); len(segs) > 0 {
		last := segs[len(segs)-1]
		base = last.name + "-" + strings.Trim(last.key, `"`) + "-" + base
	}
	base = sanitize(base)
	if strings.HasPrefix(ns, "sg:") && strings.HasPrefix(base, "sg-") {
		base = sanitize(strings.TrimPrefix(base, "sg-") + "-sg") // AWS refuses group names starting sg-
	}
	return b.claim(ns, base)
}

// claim takes name in namespace ns, or name-2, name-3, ... when it is taken.
func (b *builder) claim(ns, name string) string {
	used := b.names[ns]
	if used == nil {
		used = map[string]bool{}
		b.names[ns] = used
	}
	cand := name
	for i := 2; used[cand] || reserved(ns, cand); i++ {
		suf := "-" + strconv.Itoa(i)
		cand = strings.TrimRight(truncate(name, 31-len(suf)), "-") + suf
	}
	used[cand] = true
	return cand
}

func reserved(ns, name string) bool {
	switch {
	case strings.HasPrefix(ns, "sg:"):
		return name == scenarios.DefaultGroup
	case strings.HasPrefix(ns, "acl:"):
		return name == scenarios.DefaultACL
	case strings.HasPrefix(ns, "rt:"):
		return name == scenarios.MainRouteTable
	case ns == "instance":
		return name == scenarios.InternetName
	}
	return false
}

// sanitize turns a Terraform name into the scenario's name syntax: 1-31 of a-z, 0-9 and '-',
// starting and ending with a letter or digit, without "--".
func sanitize(s string) string {
	var out []byte
	for _, c := range []byte(strings.ToLower(s)) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			out = append(out, c)
		case len(out) > 0 && out[len(out)-1] != '-':
			out = append(out, '-')
		}
	}
	n := strings.Trim(truncate(string(out), 31), "-")
	if n == "" {
		return "x"
	}
	return n
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Value helpers: planned values are JSON, numbers are float64 and may come as strings.

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func boolean(m map[string]any, k string) bool {
	v, _ := m[k].(bool)
	return v
}

func integer(m map[string]any, k string) (int, bool) {
	switch v := m[k].(type) {
	case float64:
		return int(v), v == float64(int(v))
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	return 0, false
}

func strList(m map[string]any, k string) []string {
	var out []string
	list, _ := m[k].([]any)
	for _, e := range list {
		if s, ok := e.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func objects(m map[string]any, k string) []map[string]any {
	var out []map[string]any
	list, _ := m[k].([]any)
	for _, e := range list {
		if o, ok := e.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
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
