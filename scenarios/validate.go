package scenarios

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Validate checks a scenario model against every rule that Parse applies to a file, for models
// built in code (an importer, a test). It expects the model Parse makes: defaults filled in, the
// "default" group present in every VPC, CIDRs canonical, subnets qualified.
func Validate(sc *Scenario) error {
	p := &problems{}
	validate(sc, p, func(_ any, _ string, fallback Pos) Pos { return fallback })
	return p.err()
}

// wherer finds the position of an object's field, falling back to the object's own position.
type wherer func(obj any, field string, fallback Pos) Pos

type validator struct {
	sc    *Scenario
	p     *problems
	where wherer
	// used maps each VPC's fixed addresses to their owner, to refuse an address given twice.
	used map[string]map[netip.Addr]owner
}

type owner struct {
	name string
	pos  Pos
}

func validate(sc *Scenario, p *problems, where wherer) {
	v := &validator{sc: sc, p: p, where: where, used: map[string]map[netip.Addr]owner{}}
	top := Pos{File: sc.File, Line: 1, Col: 1}
	if err := checkName(sc.Name); err != nil {
		p.errorf(where(sc, "name", top), "scenario name: %v", err)
	}
	v.settings(where(sc, "settings", top))
	v.runtime(top)
	vpcs := map[string]bool{}
	for _, vpc := range sc.VPCs {
		if vpcs[vpc.Name] {
			p.errorf(vpc.Pos, "vpc %s: defined twice", vpc.Name)
		}
		vpcs[vpc.Name] = true
		v.vpc(vpc)
		v.natGateways(vpc)
		v.vpnGateway(vpc)
	}
	v.peerings()
	v.onPrem()
	v.prefixLists()
	instances := map[string]bool{}
	for _, in := range sc.Instances {
		if instances[in.Name] {
			p.errorf(in.Pos, "instance %s: defined twice", in.Name)
		}
		instances[in.Name] = true
		v.instance(in)
	}
	v.names()
	v.room()
	v.internetChecks()
	v.flowLogChecks()
	v.steps()
	for i, pr := range sc.Expect {
		v.probe(i, pr)
	}
	for i, m := range sc.Matrices {
		v.matrix(fmt.Sprintf("matrix %d", i+1), m)
	}
	v.intents()
}

// nameRE is the rule for every name in a scenario: names become parts of network namespace,
// interface and file names, and a scenario's name is its lab's default name.
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,29}[a-z0-9])?$`)

const nameHelp = `want 1-31 characters of a-z, 0-9 and "-", starting and ending with a letter or digit, without "--" (names become parts of network namespace names)`

func checkName(s string) error {
	if !nameRE.MatchString(s) || strings.Contains(s, "--") {
		return fmt.Errorf("%q: %s", s, nameHelp)
	}
	return nil
}

func checkGroupName(s string) error {
	if err := checkName(s); err != nil {
		return err
	}
	if strings.HasPrefix(s, "sg-") {
		return fmt.Errorf("%q: AWS refuses group names that start with \"sg-\" (they look like group IDs)", s)
	}
	return nil
}

func (v *validator) settings(at Pos) {
	s := v.sc.Settings
	if s.SecurityGroupsPerENI < 1 || s.SecurityGroupsPerENI > MaxSecurityGroupsPerENI {
		v.p.errorf(v.where(&v.sc.Settings, "security_groups_per_eni", at), "settings: security_groups_per_eni %d: want 1-%d (AWS's default is %d)",
			s.SecurityGroupsPerENI, MaxSecurityGroupsPerENI, DefaultSecurityGroupsPerENI)
		return
	}
	if s.RulesPerSecurityGroup < 1 || s.RulesPerSecurityGroup > MaxGroupsTimesRules {
		v.p.errorf(v.where(&v.sc.Settings, "rules_per_security_group", at), "settings: rules_per_security_group %d: want 1-%d (AWS's default is %d)",
			s.RulesPerSecurityGroup, MaxGroupsTimesRules, DefaultRulesPerSecurityGroup)
		return
	}
	ct := s.Conntrack
	checkTimeouts(v, "settings: conntrack", &v.sc.Settings.Conntrack, at, ct.TCPEstablished, ct.UDP, ct.UDPStream)
	if ct.Allowance < 0 {
		v.p.errorf(v.where(&v.sc.Settings.Conntrack, "allowance", at), "settings: conntrack: allowance %d: want 0 (the default) or more", ct.Allowance)
	}
	if n := s.NetworkACLRulesPerDirection; n != 0 && (n < 1 || n > 40) {
		v.p.errorf(v.where(&v.sc.Settings, "network_acl_rules_per_direction", at), "settings: network_acl_rules_per_direction %d: want 1-40 (AWS's default is %d)", n, DefaultNACLRulesPerDirection)
	}
	if n := s.SecurityGroupsPerENI * s.RulesPerSecurityGroup; n > MaxGroupsTimesRules {
		v.p.errorf(v.where(&v.sc.Settings, "rules_per_security_group", v.where(&v.sc.Settings, "security_groups_per_eni", at)),
			"settings: security_groups_per_eni %d × rules_per_security_group %d = %d; AWS allows at most %d, so lower one of them",
			s.SecurityGroupsPerENI, s.RulesPerSecurityGroup, n, MaxGroupsTimesRules)
	}
}

// badVPCRange names the range that cannot hold a VPC which p overlaps, if any: ranges that are not
// unicast, or link-local, which AWS keeps for its own services (IMDS, DNS, time).
func badVPCRange(p netip.Prefix) (netip.Prefix, string, bool) {
	for _, r := range [...]struct{ cidr, what string }{
		{"0.0.0.0/8", `"this network"`},
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link-local"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved"},
	} {
		if rp := netip.MustParsePrefix(r.cidr); rp.Overlaps(p) {
			return rp, r.what, true
		}
	}
	return netip.Prefix{}, "", false
}

// DocumentationRanges are the only ranges the simulated internet uses (RFC 5737), so that no
// packet of a lab ever carries a real public address.
func DocumentationRanges() [3]netip.Prefix {
	return [...]netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
	}
}

// checkSubnetCIDR checks a VPC or subnet CIDR: IPv4, /16 to /28, without host bits, which AWS
// refuses for these (unlike rule CIDRs, which it canonicalises).
func checkSubnetCIDR(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return fmt.Errorf("want a CIDR such as 10.0.0.0/16")
	case !p.Addr().Is4():
		return fmt.Errorf("%s: want an IPv4 CIDR (IPv6 CIDRs are not supported yet)", p)
	case p.Bits() < 16 || p.Bits() > 28:
		return fmt.Errorf("%s: want a prefix length from /16 to /28, as AWS allows", p)
	case p.Masked() != p:
		return fmt.Errorf("%s has host bits set, which AWS refuses; did you mean %s?", p, p.Masked())
	}
	return nil
}

func (v *validator) vpc(vpc *VPC) {
	if err := checkName(vpc.Name); err != nil {
		v.p.errorf(vpc.Pos, "vpc name: %v", err)
	}
	defer v.network(vpc)
	cidrAt := v.where(vpc, "cidr", vpc.Pos)
	cidrOK := false
	if err := checkSubnetCIDR(vpc.CIDR); err != nil {
		v.p.errorf(cidrAt, "vpc %s: cidr %v", vpc.Name, err)
	} else {
		cidrOK = true
		if r, what, bad := badVPCRange(vpc.CIDR); bad {
			v.p.errorf(cidrAt, "vpc %s: cidr %s is in %s (%s); use a private range such as 10.0.0.0/16", vpc.Name, vpc.CIDR, r, what)
			cidrOK = false
		}
		for _, r := range DocumentationRanges() {
			if r.Overlaps(vpc.CIDR) {
				v.p.warnf(cidrAt, "vpc %s: cidr %s overlaps %s, which the simulated internet uses; those addresses will be reached inside the VPC", vpc.Name, vpc.CIDR, r)
			}
		}
	}
	subnets := map[string]bool{}
	var seen []*Subnet
	for _, s := range vpc.Subnets {
		if subnets[s.Name] {
			v.p.errorf(s.Pos, "subnet %s: defined twice in vpc %s", s.Name, vpc.Name)
		}
		subnets[s.Name] = true
		if s.VPC != vpc.Name {
			v.p.errorf(s.Pos, "subnet %s: its VPC field says %q but it is listed in vpc %s", s.Name, s.VPC, vpc.Name)
		}
		if err := checkName(s.Name); err != nil {
			v.p.errorf(s.Pos, "subnet name: %v", err)
		}
		at := v.where(s, "cidr", s.Pos)
		if err := checkSubnetCIDR(s.CIDR); err != nil {
			v.p.errorf(at, "subnet %s: cidr %v", s.Qualified(), err)
			continue
		}
		if cidrOK && !(vpc.CIDR.Contains(s.CIDR.Addr()) && s.CIDR.Bits() >= vpc.CIDR.Bits()) {
			v.p.errorf(at, "subnet %s: cidr %s is outside its VPC's %s", s.Qualified(), s.CIDR, vpc.CIDR)
			continue
		}
		for _, o := range seen {
			if o.CIDR.Overlaps(s.CIDR) {
				v.p.errorf(at, "subnet %s: cidr %s overlaps subnet %s (%s, line %d); subnets of a VPC may not overlap", s.Qualified(), s.CIDR, o.Qualified(), o.CIDR, o.Pos.Line)
				break
			}
		}
		seen = append(seen, s)
	}
	groups := map[string]bool{}
	for _, g := range vpc.SecurityGroups {
		if groups[g.Name] {
			v.p.errorf(g.Pos, "security group %s: defined twice in vpc %s", g.Name, vpc.Name)
		}
		groups[g.Name] = true
	}
	if !groups[DefaultGroup] {
		v.p.errorf(vpc.Pos, "vpc %s: has no %q security group; every VPC has one", vpc.Name, DefaultGroup)
	}
	for _, g := range vpc.SecurityGroups {
		v.group(vpc, g, groups)
	}
}

func (v *validator) group(vpc *VPC, g *SecurityGroup, groups map[string]bool) {
	what := "security group " + vpc.Name + "/" + g.Name
	if err := checkGroupName(g.Name); err != nil {
		v.p.errorf(g.Pos, "security group name: %v", err)
	}
	if g.VPC != vpc.Name {
		v.p.errorf(g.Pos, "%s: its VPC field says %q but it is listed in vpc %s", what, g.VPC, vpc.Name)
	}
	if err := checkAWSDescription(g.Description); err != nil {
		v.p.errorf(v.where(g, "description", g.Pos), "%s: description: %v", what, err)
	}
	v.rules(vpc, g, "ingress", g.Ingress, groups)
	v.rules(vpc, g, "egress", g.Egress, groups)
}

// rules checks one direction of a group: each rule, its references, duplicates, and AWS's quota,
// counted separately for IPv4 and IPv6 entries.
func (v *validator) rules(vpc *VPC, g *SecurityGroup, dir string, rules []*Rule, groups map[string]bool) {
	limit := v.sc.Settings.RulesPerSecurityGroup
	var v4, v6 int
	reported := false
	for i, r := range rules {
		what := fmt.Sprintf("security group %s/%s: %s rule %d", vpc.Name, g.Name, dir, i+1)
		for _, pr := range checkRule(r) {
			v.p.errorf(v.where(r, pr.field, r.Pos), "%s: %s", what, pr.msg)
		}
		switch {
		case r.Group != "":
			if peer, name, cross := strings.Cut(r.Group, "/"); cross && peer != vpc.Name {
				v.peerGroupRef(vpc, peer, name, what, v.where(r, "group", r.Pos))
			} else if !groups[strings.TrimPrefix(r.Group, vpc.Name+"/")] {
				v.p.errorf(v.where(r, "group", r.Pos), "%s: group %q is not a security group of vpc %s; groups there: %s (a group of a peered VPC is written VPC/GROUP)",
					what, r.Group, vpc.Name, groupNames(vpc))
			}
			v4++ // AWS counts a group reference as one IPv4 and one IPv6 rule
			v6++
		case r.PrefixList != "":
			pl := v.sc.PrefixList(r.PrefixList)
			if pl == nil {
				v.p.errorf(v.where(r, "prefix_list", r.Pos), "%s: no prefix list %q; prefix lists: %s", what, r.PrefixList, prefixListNames(v.sc))
				break
			}
			if pl.IPv6() {
				v6 += pl.MaxEntries
			} else {
				v4 += pl.MaxEntries
			}
		case r.CIDR.IsValid() && r.CIDR.Addr().Is6():
			v6++
		default:
			v4++
		}
		for j, o := range rules[:i] {
			if sameTraffic(r, o) {
				v.p.errorf(r.Pos, "%s: duplicates %s rule %d (line %d); AWS refuses it (InvalidPermission.Duplicate)", what, dir, j+1, o.Pos.Line)
				break
			}
		}
		if !reported && (v4 > limit || v6 > limit) {
			family, n := "IPv4", v4
			if v6 > limit {
				family, n = "IPv6", v6
			}
			v.p.errorf(r.Pos, "%s: %s/%s has %d %s %s entries here, over the limit of %d (RulesPerSecurityGroupLimitExceeded; a prefix list counts as its max_entries, a group reference as one IPv4 and one IPv6 entry)",
				what, vpc.Name, g.Name, n, family, dir, limit)
			reported = true
		}
	}
}

func groupNames(vpc *VPC) string {
	return nameList(vpc.SecurityGroups, func(g *SecurityGroup) string { return g.Name }, "")
}

func prefixListNames(sc *Scenario) string {
	return nameList(sc.PrefixLists, func(p *PrefixList) string { return p.Name }, "none (define them under prefix_lists:)")
}

func (v *validator) prefixLists() {
	names := map[string]bool{}
	for _, pl := range v.sc.PrefixLists {
		what := "prefix list " + pl.Name
		if names[pl.Name] {
			v.p.errorf(pl.Pos, "%s: defined twice", what)
		}
		names[pl.Name] = true
		if err := checkName(pl.Name); err != nil {
			v.p.errorf(pl.Pos, "prefix list name: %v", err)
		}
		seen := map[netip.Prefix]int{}
		for i, e := range pl.Entries {
			at := v.where(pl, "entries."+strconv.Itoa(i), pl.Pos)
			switch {
			case !e.IsValid():
				v.p.errorf(at, "%s: entry %d: want a CIDR", what, i+1)
				continue
			case e.Addr().Is4In6():
				v.p.errorf(at, "%s: entry %s is an IPv4-mapped IPv6 prefix; write the IPv4 CIDR", what, e)
			case e.Masked() != e:
				v.p.errorf(at, "%s: entry %s has host bits set; want %s", what, e, e.Masked())
			case e.Addr().Is6() != pl.Entries[0].Addr().Is6():
				v.p.errorf(at, "%s: entry %s is of another address family than %s; a prefix list holds IPv4 or IPv6 CIDRs, not both", what, e, pl.Entries[0])
			}
			if j, dup := seen[e]; dup {
				v.p.errorf(at, "%s: entry %s is already entry %d", what, e, j+1)
			}
			seen[e] = i
		}
		at := v.where(pl, "max_entries", pl.Pos)
		switch {
		case pl.MaxEntries < 1 || pl.MaxEntries > MaxPrefixListEntries:
			v.p.errorf(at, "%s: max_entries %d: want 1-%d", what, pl.MaxEntries, MaxPrefixListEntries)
		case len(pl.Entries) > pl.MaxEntries:
			v.p.errorf(at, "%s: %d entries but max_entries is %d; raise max_entries", what, len(pl.Entries), pl.MaxEntries)
		}
	}
}

var instanceTypeRE = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9][a-z0-9-]*$`)

func (v *validator) instance(in *Instance) {
	what := "instance " + in.Name
	if err := checkName(in.Name); err != nil {
		v.p.errorf(in.Pos, "instance name: %v", err)
	}
	if in.Type != "" && !instanceTypeRE.MatchString(in.Type) {
		v.p.errorf(v.where(in, "type", in.Pos), "%s: type %q: want an instance type name such as t3.micro, or leave it out", what, in.Type)
	}
	if len(in.UserData) > MaxUserDataBytes {
		v.p.errorf(v.where(in, "user_data", in.Pos), "%s: user_data is %d bytes; AWS allows %d", what, len(in.UserData), MaxUserDataBytes)
	}
	switch {
	case len(in.ENIs) == 0:
		v.p.errorf(in.Pos, "%s: has no ENI; give subnet: or an enis: list", what)
	case len(in.ENIs) > MaxENIsPerInstance:
		v.p.errorf(in.ENIs[MaxENIsPerInstance].Pos, "%s: %d ENIs; an instance has at most %d", what, len(in.ENIs), MaxENIsPerInstance)
	}
	for k, e := range in.ENIs {
		v.eni(in, k, e)
	}
	v.lifecycle(in)
}

func (v *validator) eni(in *Instance, k int, e *ENI) {
	if c := e.ConnTracking; c != nil {
		checkTimeouts(v, fmt.Sprintf("instance %s: eth%d: connection_tracking", in.Name, k), c, v.where(e, "connection_tracking", e.Pos), c.TCPEstablished, c.UDP, c.UDPStream)
	}
	what := fmt.Sprintf("instance %s: eth%d", in.Name, k)
	if len(e.Description) > MaxDescriptionLen {
		v.p.errorf(v.where(e, "description", e.Pos), "%s: description is %d characters; AWS allows %d", what, len(e.Description), MaxDescriptionLen)
	}
	sn := v.sc.Subnet(e.Subnet)
	if sn == nil {
		v.p.errorf(v.where(e, "subnet", e.Pos), "%s: no subnet %q; want vpc/subnet, one of: %s", what, e.Subnet, subnetNames(v.sc))
		return
	}
	vpc := v.sc.VPC(sn.VPC)
	owner := fmt.Sprintf("%s.eth%d", in.Name, k)
	if e.IP.IsValid() {
		v.fixedIP(what+": ip", owner, v.where(e, "ip", e.Pos), sn, e.IP)
	}
	for i, a := range e.SecondaryIPs {
		at := v.where(e, "secondary_ips."+strconv.Itoa(i), e.Pos)
		if !a.IsValid() {
			v.p.errorf(at, "%s: secondary_ips: want an IP address", what)
			continue
		}
		v.fixedIP(what+": secondary_ips", owner, at, sn, a)
	}
	limit := v.sc.Settings.SecurityGroupsPerENI
	if len(e.SecurityGroups) > limit {
		v.p.errorf(v.where(e, "security_groups", e.Pos), "%s: %d security groups; an ENI has at most %d (settings: security_groups_per_eni, up to %d)",
			what, len(e.SecurityGroups), limit, MaxSecurityGroupsPerENI)
	}
	seen := map[string]bool{}
	for i, g := range e.SecurityGroups {
		at := v.where(e, "security_groups."+strconv.Itoa(i), v.where(e, "security_groups", e.Pos))
		if seen[g] {
			v.p.errorf(at, "%s: security group %q is listed twice", what, g)
		}
		seen[g] = true
		if vpc.Group(g) == nil {
			v.p.errorf(at, "%s: no security group %q in vpc %s (the ENI's subnet is %s); groups there: %s", what, g, vpc.Name, sn.Qualified(), groupNames(vpc))
		}
	}
}

// fixedIP checks an address given in the file: inside the subnet, not reserved, not taken.
func (v *validator) fixedIP(what, by string, at Pos, sn *Subnet, a netip.Addr) {
	switch {
	case !a.Is4():
		v.p.errorf(at, "%s: %s: want an IPv4 address (IPv6 ENI addresses are not supported yet)", what, a)
		return
	case !sn.CIDR.Contains(a):
		v.p.errorf(at, "%s: %s is outside subnet %s (%s)", what, a, sn.Qualified(), sn.CIDR)
		return
	case isReserved(sn.CIDR, a):
		first := sn.CIDR.Addr().Next().Next().Next().Next()
		v.p.errorf(at, "%s: %s is reserved by AWS in subnet %s (%s): the first four addresses (network, VPC router, DNS, future use) and the last (broadcast) are; use %s to %s",
			what, a, sn.Qualified(), sn.CIDR, first, lastAddr(sn.CIDR).Prev())
		return
	}
	used := v.used[sn.VPC]
	if used == nil {
		used = map[netip.Addr]owner{}
		v.used[sn.VPC] = used
	}
	if o, taken := used[a]; taken {
		v.p.errorf(at, "%s: %s is already used by %s (line %d); an address is used once in a VPC", what, a, o.name, o.pos.Line)
		return
	}
	used[a] = owner{by, at}
}

// isReserved reports whether a is one of the five addresses AWS reserves in an IPv4 subnet: the
// first four (network, VPC router, DNS, future use) and the last (broadcast).
func isReserved(subnet netip.Prefix, a netip.Addr) bool {
	first := subnet.Addr()
	for i := 0; i < 4; i++ {
		if a == first {
			return true
		}
		first = first.Next()
	}
	return a == lastAddr(subnet)
}

func subnetNames(sc *Scenario) string {
	var out []string
	for _, v := range sc.VPCs {
		for _, s := range v.Subnets {
			out = append(out, s.Qualified())
		}
	}
	if len(out) == 0 {
		return "none (define them under vpcs: NAME: subnets:)"
	}
	return strings.Join(out, ", ")
}

// room checks that every subnet has addresses for the ENIs that want an automatic one, after the
// fixed addresses.
func (v *validator) room() {
	type need struct {
		fixed int
		auto  []Pos // where each ENI or NAT gateway that needs an automatic address names the subnet
		names []string
	}
	needs := map[string]*need{}
	for _, in := range v.sc.Instances {
		for k, e := range in.ENIs {
			sn := v.sc.Subnet(e.Subnet)
			if sn == nil || checkSubnetCIDR(sn.CIDR) != nil {
				continue
			}
			n := needs[e.Subnet]
			if n == nil {
				n = &need{}
				needs[e.Subnet] = n
			}
			if !e.IP.IsValid() {
				n.auto = append(n.auto, v.where(e, "subnet", e.Pos))
				n.names = append(n.names, fmt.Sprintf("%s.eth%d", in.Name, k))
			}
		}
	}
	for _, vpc := range v.sc.VPCs {
		for _, g := range vpc.NATGateways {
			sn := v.sc.Subnet(g.Subnet)
			if sn == nil || sn.VPC != vpc.Name || checkSubnetCIDR(sn.CIDR) != nil {
				continue
			}
			n := needs[g.Subnet]
			if n == nil {
				n = &need{}
				needs[g.Subnet] = n
			}
			n.auto = append(n.auto, v.where(g, "subnet", g.Pos))
			n.names = append(n.names, "NAT gateway "+g.Qualified())
		}
	}
	for vpcName, used := range v.used {
		for a := range used {
			for q, n := range needs {
				if sn := v.sc.Subnet(q); sn != nil && sn.VPC == vpcName && sn.CIDR.Contains(a) {
					n.fixed++
				}
			}
		}
	}
	for _, vpc := range v.sc.VPCs {
		for _, sn := range vpc.Subnets {
			n := needs[sn.Qualified()]
			if n == nil || len(n.auto) == 0 {
				continue
			}
			usable := 1<<(32-sn.CIDR.Bits()) - 5
			if free := usable - n.fixed; len(n.auto) > free {
				if free < 0 {
					free = 0
				}
				v.p.errorf(n.auto[free], "subnet %s (%s) is full: it has %d usable addresses, %d of them fixed, and %s is ENI %d of %d that need an automatic address; use a larger subnet",
					sn.Qualified(), sn.CIDR, usable, n.fixed, n.names[free], free+1, len(n.auto))
			}
		}
	}
}

// splitTarget splits "instance" or "instance.ethN".
func splitTarget(s string) (inst string, eth int, err error) {
	inst, dev, hasDev := strings.Cut(s, ".")
	if !hasDev {
		return inst, -1, nil
	}
	n, aerr := strconv.Atoi(strings.TrimPrefix(dev, "eth"))
	if !strings.HasPrefix(dev, "eth") || aerr != nil || n < 0 || "eth"+strconv.Itoa(n) != dev {
		return "", 0, fmt.Errorf("%q: want an instance name or instance.ethN, e.g. web-1.eth0", s)
	}
	return inst, n, nil
}

// endpoint checks a probe's from or to: an instance, instance.ethN, or (for to) an IP address.
func (v *validator) endpoint(what, field, s string, at Pos, ipOK bool) {
	if ipOK {
		if _, err := netip.ParseAddr(s); err == nil {
			return
		}
	}
	if v.sc.Host(s) != nil {
		return
	}
	if _, h := v.sc.OnPremHost(s); h != nil {
		return
	}
	if name, public := splitPublic(s); public && ipOK {
		in := v.sc.Instance(name)
		switch {
		case in == nil:
			v.p.errorf(at, "%s: %s %q: no instance %q", what, field, s, name)
		case !v.sc.HasPublicAddress(in, 0):
			v.p.errorf(at, "%s: %s %q: instance %s has no public address (give it public_ip: true or an elastic_ip)", what, field, s, name)
		}
		return
	}
	inst, eth, err := splitTarget(s)
	if err != nil {
		v.p.errorf(at, "%s: %s %v", what, field, err)
		return
	}
	in := v.sc.Instance(inst)
	want := "an instance name or instance.ethN, or an internet or on-prem host"
	if ipOK {
		want = "an instance name, instance.ethN, INSTANCE@public, an internet or on-prem host, or an IP address"
	}
	switch {
	case s == "":
		v.p.errorf(at, "%s: %s is empty; want %s", what, field, want)
	case in == nil:
		v.p.errorf(at, "%s: %s %q: no instance %q; want %s", what, field, s, inst, want)
	case eth >= len(in.ENIs):
		v.p.errorf(at, "%s: %s %q: instance %s has %d ENIs (eth0 to eth%d)", what, field, s, inst, len(in.ENIs), len(in.ENIs)-1)
	}
}

// maxProbeTimeout bounds one probe: a scenario suite should not hang for long on one.
const maxProbeTimeout = 10 * time.Minute

func (v *validator) probe(i int, pr *Probe) {
	what := fmt.Sprintf("expect %d", i+1)
	v.endpoint(what, "from", pr.From, v.where(pr, "from", pr.Pos), false)
	v.endpoint(what, "to", pr.To, v.where(pr, "to", pr.Pos), true)
	portAt := v.where(pr, "port", pr.Pos)
	switch pr.Proto {
	case "tcp", "udp":
		if pr.Port < 1 || pr.Port > 65535 {
			if pr.Port == 0 {
				v.p.errorf(portAt, "%s: %s probes need port: 1-65535", what, pr.Proto)
			} else {
				v.p.errorf(portAt, "%s: port %d: want 1-65535", what, pr.Port)
			}
		}
	case "icmp":
		if pr.Port != 0 {
			v.p.errorf(portAt, "%s: icmp probes take no port (they send an echo request)", what)
		}
	default:
		v.p.errorf(v.where(pr, "proto", pr.Pos), "%s: proto %q: want tcp, udp or icmp", what, pr.Proto)
	}
	if pr.Result != "allow" && pr.Result != "deny" {
		v.p.errorf(v.where(pr, "result", pr.Pos), "%s: result %q: want allow or deny", what, pr.Result)
	}
	if pr.Timeout < 0 || pr.Timeout > maxProbeTimeout {
		v.p.errorf(v.where(pr, "timeout", pr.Pos), "%s: timeout %s: want a positive duration up to %s, or leave it out for the runner's default", what, pr.Timeout, maxProbeTimeout)
	}
	if len(pr.Description) > MaxDescriptionLen {
		v.p.errorf(v.where(pr, "description", pr.Pos), "%s: description is %d characters; at most %d", what, len(pr.Description), MaxDescriptionLen)
	}
}

// checkTimeouts checks conntrack idle timeouts against AWS's ConnectionTrackingSpecification
// ranges; zero means "the default".
func checkTimeouts(v *validator, what string, obj any, at Pos, tcp, udp, stream time.Duration) {
	for _, c := range []struct {
		field    string
		d        time.Duration
		min, max int
		def      int
	}{
		{"tcp_established_timeout", tcp, 60, 432000, 432000},
		{"udp_timeout", udp, 30, 60, 30},
		{"udp_stream_timeout", stream, 60, 180, 180},
	} {
		if c.d == 0 {
			continue
		}
		if s := int(c.d / time.Second); s < c.min || s > c.max {
			v.p.errorf(v.where(obj, c.field, at), "%s: %s %d: want %d-%d seconds (AWS's default is %d)", what, c.field, s, c.min, c.max, c.def)
		}
	}
}
