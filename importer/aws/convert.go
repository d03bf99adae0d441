package awsimport

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/ec2sim/ec2sim/scenarios"
)

// Options change how Import converts a snapshot.
type Options struct {
	// Name is the scenario's name; "" = "imported".
	Name string
	// Partial turns errors about the data (a reference to an object that is not in it,
	// overlapping CIDRs) into skips that the report lists, so that the rest is imported. The
	// report then says Partial.
	Partial bool
}

// Import converts a snapshot into a scenario that reproduces it, with the report of what it did.
// The scenario has been through scenarios.Format and scenarios.Parse, so it loads. On an error in
// the data the scenario is nil unless opts.Partial is set; the report is never nil.
func Import(s *Snapshot, opts Options) (*scenarios.Scenario, *Report, error) {
	if opts.Name == "" {
		opts.Name = "imported"
	}
	// Run one: collect every public address; run two: convert with the finished mapping.
	m := newMapper()
	first := newConverter(s, opts, m)
	first.run()
	if err := m.finish(first.docAddrs); err != nil {
		rep := first.rep
		return nil, rep, err
	}
	c := newConverter(s, opts, m)
	c.run()
	c.rep.Addresses = m.mappings()
	c.rep.sortNames()
	if len(c.errs) > 0 {
		return nil, c.rep, errors.Join(c.errs...)
	}
	out, err := scenarios.Format(c.sc)
	if err != nil {
		return nil, c.rep, fmt.Errorf("formatting the imported scenario: %w", err)
	}
	sc, err := scenarios.Parse(opts.Name+".yaml", out)
	if err != nil {
		return nil, c.rep, fmt.Errorf("the imported scenario does not load (data AWS itself would refuse, or a bug in the importer; the report maps its names to AWS ids): %w", err)
	}
	for _, w := range sc.Warnings {
		c.rep.Warnings = append(c.rep.Warnings, w.String())
	}
	return sc, c.rep, nil
}

// converter holds one conversion run's state: the AWS id of every object converted so far and
// the scenario name it got.
type converter struct {
	s    *Snapshot
	opts Options
	m    *mapper
	rep  *Report
	errs []error
	sc   *scenarios.Scenario

	vpcs      map[string]*scenarios.VPC
	subnets   map[string]*scenarios.Subnet
	groups    map[string]groupRef
	nats      map[string]*scenarios.NATGateway
	igws      map[string]string // igw id → vpc id
	vgws      map[string]string // vgw id → vpc id
	peerings  map[string]string // pcx id → name
	instances map[string]*scenarios.Instance
	enis      map[string]eniRef
	prefixes  map[string]string // pl id → name
	eip       map[string]bool   // public IPs that are Elastic IPs (Addresses)
	used      map[string]map[string]bool
	docAddrs  []netip.Addr // addresses of the documentation ranges already in the data
}

type groupRef struct{ vpcID, name string }

type eniRef struct {
	instance string
	k        int
}

func newConverter(s *Snapshot, opts Options, m *mapper) *converter {
	return &converter{s: s, opts: opts, m: m, rep: newReport(),
		sc:   &scenarios.Scenario{Name: opts.Name, Settings: scenarios.DefaultSettings(), Clock: scenarios.Clock{Speed: scenarios.DefaultClockSpeed}, Hypervisor: scenarios.DefaultHypervisor()},
		vpcs: map[string]*scenarios.VPC{}, subnets: map[string]*scenarios.Subnet{}, groups: map[string]groupRef{},
		nats: map[string]*scenarios.NATGateway{}, igws: map[string]string{}, vgws: map[string]string{},
		peerings: map[string]string{}, instances: map[string]*scenarios.Instance{}, enis: map[string]eniRef{},
		prefixes: map[string]string{}, eip: map[string]bool{}, used: map[string]map[string]bool{}}
}

// fail records an error in the data; with Options.Partial it becomes a skip.
func (c *converter) fail(src Source, object, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if c.opts.Partial {
		c.rep.Partial = true
		c.rep.skip(fmt.Sprintf("%s (%s)", object, src), "error: %s", msg)
		return
	}
	c.errs = append(c.errs, fmt.Errorf("%s: %s: %s", src, object, msg))
}

func (c *converter) run() {
	c.rep.Files, c.rep.Ignored = c.s.Files, c.s.Ignored
	for k, n := range c.s.unhandled {
		if n > 0 {
			c.rep.Unmodelled[k+" (whole object type)"] += n
		}
	}
	if n := c.s.duplicates; n > 0 {
		c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf("%d objects were described more than once, identically (the same call saved twice?); each was read once", n))
	}
	for _, f := range c.s.truncated {
		c.rep.Warnings = append(c.rep.Warnings, f+": has a NextToken: the describe call was paginated and only this page was saved; objects on other pages are missing (use the CLI's default auto-pagination)")
	}
	for _, a := range c.s.addresses {
		if ip, err := netip.ParseAddr(a.v.PublicIP); err == nil {
			c.eip[ip.String()] = true
		}
	}
	c.vpcsFrom()
	c.gateways()
	c.subnetsFrom()
	c.prefixLists()
	c.securityGroups()
	c.networkACLs()
	c.natGateways()
	c.instancesFrom()
	c.addressesFrom()
	c.peeringsFrom()
	c.routeTables()
	c.otherENIs()
	c.settings()
}

// nameRE is the scenario format's rule for names (scenarios/validate.go).
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,29}[a-z0-9])?$`)

// sanitize turns an AWS name or id into a scenario name: lower case, a-z 0-9 and "-" only, at
// most 31 characters; "" when nothing is left.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 31 {
		out = strings.TrimRight(out[:31], "-")
	}
	return out
}

// name gives an object a unique name in scope: its Name tag (or AWS name) made valid, else its id;
// on a clash, the name with the end of the id.
func (c *converter) name(scope, kind, preferred, id string, src Source) string {
	used := c.used[scope]
	if used == nil {
		used = map[string]bool{}
		c.used[scope] = used
	}
	base := sanitize(preferred)
	if base == "" {
		base = sanitize(id)
	}
	if kind == "security group" && strings.HasPrefix(base, "sg-") {
		base = "group-" + strings.TrimPrefix(base, "sg-") // AWS refuses group names that look like ids
		base = sanitize(base)
	}
	n := base
	suffix := sanitize(id)
	if i := strings.LastIndexByte(suffix, '-'); i >= 0 {
		suffix = suffix[i+1:]
	}
	suffix = suffix[max(0, len(suffix)-6):]
	for i := 2; used[n] || !nameRE.MatchString(n); i++ {
		tail := "-" + suffix
		if i > 2 || suffix == "" {
			tail = fmt.Sprintf("-%s%d", suffix, i)
		}
		n = strings.TrimRight(base[:min(len(base), 31-len(tail))], "-") + tail
		n = strings.TrimLeft(n, "-")
	}
	used[n] = true
	region := src.Region
	if src.Account != "" {
		region = src.Account + "/" + region
	}
	c.rep.Names = append(c.rep.Names, Name{Kind: kind, ID: id, Name: n, Region: region})
	return n
}

func (c *converter) reserve(scope string, names ...string) {
	if c.used[scope] == nil {
		c.used[scope] = map[string]bool{}
	}
	for _, n := range names {
		c.used[scope][n] = true
	}
}

// prefix parses a CIDR from the data and maps it.
func (c *converter) prefix(s, use string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, fmt.Errorf("CIDR %q: want a CIDR such as 10.0.0.0/16", s)
	}
	if m := p.Masked(); m.Addr().Is4() && scenarios.InDocumentationRange(m.Addr()) && m.Bits() == 32 {
		c.docAddrs = append(c.docAddrs, m.Addr())
	}
	return c.m.prefix(p, use), nil
}

// publicAddr parses a public address from the data and maps it.
func (c *converter) publicAddr(s, use string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, fmt.Errorf("address %q: want an IPv4 address", s)
	}
	if scenarios.InDocumentationRange(a) {
		c.docAddrs = append(c.docAddrs, a)
	}
	return c.m.addr(a, use), nil
}

func obj(kind, id string) string { return kind + " " + id }

func (c *converter) vpcsFrom() {
	for _, it := range c.s.vpcs {
		v := it.v
		c.fields("Vpcs", it.raw)
		if c.vpcs[v.VpcID] != nil {
			c.fail(it.src, obj("VPC", v.VpcID), "described twice")
			continue
		}
		cidr, err := netip.ParsePrefix(v.CidrBlock)
		if err != nil {
			c.fail(it.src, obj("VPC", v.VpcID), "CidrBlock %q: want an IPv4 CIDR such as 10.0.0.0/16", v.CidrBlock)
			continue
		}
		if isPublic(cidr) {
			// Its instances' own addresses would be real public ones on the lab's wires, and a
			// VPC's addresses cannot be squeezed into the documentation ranges.
			c.fail(it.src, obj("VPC", v.VpcID), "CIDR %s is public address space; ec2sim never puts real public addresses on its wires and cannot map a whole VPC, so it is not imported", cidr)
			continue
		}
		for _, a := range v.CidrBlockAssociationSet {
			switch {
			case a.CidrBlock == v.CidrBlock:
			case a.CidrBlockState == nil || a.CidrBlockState.State == "associated":
				c.rep.Unmodelled["Vpcs: secondary IPv4 CIDR (only the primary is modelled)"]++
			default:
				c.rep.skip(obj("VPC", v.VpcID)+" CIDR "+a.CidrBlock, "state %s, not associated", a.CidrBlockState.State)
			}
		}
		vpc := &scenarios.VPC{Name: c.name("vpcs", "VPC", nameTag(v.Tags), v.VpcID, it.src), CIDR: cidr}
		c.vpcs[v.VpcID] = vpc
		c.reserve("acl/"+vpc.Name, scenarios.DefaultACL)
		c.reserve("sg/"+vpc.Name, scenarios.DefaultGroup)
		c.sc.VPCs = append(c.sc.VPCs, vpc)
		c.rep.Imported["vpcs"]++
	}
}

// attachedVPC returns the VPC a gateway is attached to, failing on one not in the data.
func (c *converter) attachedVPC(src Source, what string, atts []awsAttachment) (string, bool) {
	for _, a := range atts {
		if a.State != "available" && a.State != "attached" {
			continue
		}
		if c.vpcs[a.VpcID] == nil {
			c.fail(src, what, "attached to VPC %s, which is not in the data (no Vpcs object has that VpcId)", a.VpcID)
			return "", false
		}
		return a.VpcID, true
	}
	c.rep.skip(what+" ("+src.String()+")", "not attached to a VPC")
	return "", false
}

func (c *converter) gateways() {
	for _, it := range c.s.igws {
		c.fields("InternetGateways", it.raw)
		what := obj("internet gateway", it.v.InternetGatewayID)
		if id, ok := c.attachedVPC(it.src, what, it.v.Attachments); ok {
			c.vpcs[id].InternetGateway = true
			c.igws[it.v.InternetGatewayID] = id
			c.rep.Imported["internet gateways"]++
		}
	}
	for _, it := range c.s.vpns {
		c.fields("VpnConnections", it.raw)
	}
	for _, it := range c.s.vgws {
		c.fields("VpnGateways", it.raw)
		what := obj("VPN gateway", it.v.VpnGatewayID)
		if it.v.State != "" && it.v.State != "available" {
			c.rep.skip(what, "state %s, not available", it.v.State)
			continue
		}
		id, ok := c.attachedVPC(it.src, what, it.v.VpcAttachments)
		if !ok {
			continue
		}
		c.vgws[it.v.VpnGatewayID] = id
		vpc := c.vpcs[id]
		op := &scenarios.OnPrem{Name: c.name("onprem", "VPN gateway", nameTag(it.v.Tags), it.v.VpnGatewayID, it.src)}
		// The on-premises network is what the VPN's static routes lead to; the format has one
		// CIDR per network, so further routes are reported.
		for _, vpn := range c.s.vpns {
			if vpn.v.VpnGatewayID != it.v.VpnGatewayID || vpn.v.State == "deleted" {
				continue
			}
			for _, r := range vpn.v.Routes {
				p, err := netip.ParsePrefix(r.DestinationCidrBlock)
				if err != nil {
					c.fail(vpn.src, obj("VPN connection", vpn.v.VpnConnectionID), "route DestinationCidrBlock %q: want a CIDR", r.DestinationCidrBlock)
					continue
				}
				if op.CIDR.IsValid() {
					c.rep.Unmodelled["VpnConnections: static routes beyond the first (one on-prem CIDR per VPN gateway)"]++
					continue
				}
				op.CIDR = c.m.onPremCIDR(p, "VPN "+vpn.v.VpnConnectionID+" static route")
			}
		}
		if !op.CIDR.IsValid() {
			op.CIDR = c.placeholderOnPrem()
			c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf("%s: no VPN connection with a static route says what is on premises; on-prem network %s gets the placeholder CIDR %s", what, op.Name, op.CIDR))
		}
		vpc.VPNGateway = op.Name
		c.sc.OnPrem = append(c.sc.OnPrem, op)
		c.rep.Imported["VPN gateways"]++
	}
}

// placeholderOnPrem picks a private /16 that overlaps no VPC and no on-premises network.
func (c *converter) placeholderOnPrem() netip.Prefix {
	for _, s := range []string{"192.168.0.0/16", "172.16.0.0/16", "172.17.0.0/16", "172.18.0.0/16", "172.19.0.0/16", "172.20.0.0/16"} {
		p := netip.MustParsePrefix(s)
		free := true
		for _, v := range c.sc.VPCs {
			free = free && !v.CIDR.Overlaps(p)
		}
		for _, o := range c.sc.OnPrem {
			free = free && !o.CIDR.Overlaps(p)
		}
		if free {
			return p
		}
	}
	return netip.MustParsePrefix("172.31.0.0/16")
}

func (c *converter) subnetsFrom() {
	for _, it := range c.s.subnets {
		v := it.v
		c.fields("Subnets", it.raw)
		what := obj("subnet", v.SubnetID)
		vpc := c.vpcs[v.VpcID]
		if vpc == nil {
			c.fail(it.src, what, "VpcId %s is not in the data (no Vpcs object has it)", v.VpcID)
			continue
		}
		if v.CidrBlock == "" {
			c.rep.Unmodelled["Subnets: IPv6-only"]++
			c.rep.skip(what+" ("+it.src.String()+")", "IPv6-only (no CidrBlock); the format's subnets are IPv4")
			continue
		}
		cidr, err := netip.ParsePrefix(v.CidrBlock)
		if err != nil {
			c.fail(it.src, what, "CidrBlock %q: want an IPv4 CIDR such as 10.0.1.0/24", v.CidrBlock)
			continue
		}
		if !vpc.CIDR.Contains(cidr.Addr()) || cidr.Bits() < vpc.CIDR.Bits() {
			c.rep.skip(what+" ("+it.src.String()+")", "CIDR %s is in a secondary CIDR of VPC %s (%s); only the primary is modelled", cidr, v.VpcID, vpc.CIDR)
			c.rep.Unmodelled["Subnets: in a secondary VPC CIDR"]++
			continue
		}
		clash := false
		for id, o := range c.subnets {
			if o.VPC == vpc.Name && o.CIDR.Overlaps(cidr) {
				c.fail(it.src, what, "CIDR %s overlaps subnet %s (%s) in VPC %s; AWS refuses overlapping subnets", cidr, id, o.CIDR, v.VpcID)
				clash = true
				break
			}
		}
		if clash {
			continue
		}
		sn := &scenarios.Subnet{Name: c.name("subnet/"+vpc.Name, "subnet", nameTag(v.Tags), v.SubnetID, it.src), VPC: vpc.Name, CIDR: cidr, MapPublicIP: v.MapPublicIPOnLaunch}
		vpc.Subnets = append(vpc.Subnets, sn)
		c.subnets[v.SubnetID] = sn
		c.rep.Imported["subnets"]++
	}
}

func (c *converter) prefixLists() {
	for _, it := range c.s.prefixes {
		v := it.v
		c.fields("PrefixLists", it.raw)
		what := obj("prefix list", v.PrefixListID)
		if _, dup := c.prefixes[v.PrefixListID]; dup {
			continue // the same list from describe-prefix-lists and describe-managed-prefix-lists
		}
		if v.State != "" && !strings.HasSuffix(v.State, "complete") {
			c.rep.skip(what, "state %s", v.State)
			continue
		}
		cidrs := v.Cidrs
		for _, e := range v.Entries {
			cidrs = append(cidrs, e.Cidr)
		}
		pl := &scenarios.PrefixList{Name: c.name("prefix-lists", "prefix list", v.PrefixListName, v.PrefixListID, it.src), MaxEntries: v.MaxEntries}
		for _, s := range cidrs {
			p, err := c.prefix(s, "prefix list "+v.PrefixListID)
			if err != nil {
				c.fail(it.src, what, "%v", err)
				continue
			}
			if !slices.Contains(pl.Entries, p) {
				pl.Entries = append(pl.Entries, p)
			}
		}
		if len(cidrs) == 0 && v.MaxEntries > 0 {
			c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf("%s: no entries in the data (add them inline as Entries, from get-managed-prefix-list-entries); imported empty", what))
		}
		pl.MaxEntries = max(pl.MaxEntries, len(pl.Entries), 1)
		c.prefixes[v.PrefixListID] = pl.Name
		c.sc.PrefixLists = append(c.sc.PrefixLists, pl)
		c.rep.Imported["prefix lists"]++
	}
}

// fields counts an object's unmodelled fields in the report. The collecting run's report is
// thrown away, so it skips the work.
func (c *converter) fields(kind string, raw []byte) {
	if !c.m.collecting {
		unmodelledFields(c.rep.Unmodelled, kind, raw)
	}
}

// nested counts the unmodelled fields of the objects in raw's list under key.
func (c *converter) nested(kind, key string, raw []byte) {
	if !c.m.collecting {
		nestedFields(c.rep.Unmodelled, kind, key, raw)
	}
}
