package scenarios

import (
	"fmt"
	"net/netip"
	"strings"

	"gopkg.in/yaml.v3"
)

// Route tables and network ACLs (aws-semantics.md §1.3, §1.5).

const targetHelp = "igw, nat/NAME, instance/NAME, eni/INSTANCE.ethN, vgw, peering/NAME or blackhole"

func (d *decoder) routeTable(vpc, name string, k, n *yaml.Node) *RouteTable {
	t := &RouteTable{Name: name, VPC: vpc, Pos: d.pos(k)}
	what := "route table " + vpc + "/" + name
	d.object(n, kRouteTable, what, func(field string, _, v *yaml.Node) {
		d.mark(t, field, v)
		switch field {
		case "main":
			t.Main, _ = d.boolean(v, what+": main")
		case "routes":
			d.list(v, what+": routes", func(i int, v *yaml.Node) {
				t.Routes = append(t.Routes, d.route(v, fmt.Sprintf("%s: route %d", what, i+1)))
			})
		}
	})
	return t
}

func (d *decoder) route(n *yaml.Node, what string) *Route {
	r := &Route{Pos: d.pos(d.resolve(n))}
	d.object(n, kRoute, what, func(field string, _, v *yaml.Node) {
		d.mark(r, field, v)
		switch field {
		case "destination":
			r.Destination, _ = d.prefix(v, what+": destination")
		case "target":
			s, _ := d.str(v, what+": target")
			r.Target = RouteTarget{Pos: d.pos(v)}
			r.Target.Kind, r.Target.Name, _ = strings.Cut(s, "/")
		}
	})
	return r
}

func (d *decoder) networkACL(vpc, name string, k, n *yaml.Node) *NetworkACL {
	a := &NetworkACL{Name: name, VPC: vpc, Default: name == DefaultACL, Pos: d.pos(k)}
	what := "network ACL " + vpc + "/" + name
	d.object(n, kNACL, what, func(field string, _, v *yaml.Node) {
		d.mark(a, field, v)
		switch field {
		case "ingress":
			a.Ingress = []*ACLEntry{}
			d.list(v, what+": ingress", func(i int, v *yaml.Node) {
				a.Ingress = append(a.Ingress, d.aclEntry(v, fmt.Sprintf("%s: ingress entry %d", what, i+1)))
			})
		case "egress":
			a.Egress = []*ACLEntry{}
			d.list(v, what+": egress", func(i int, v *yaml.Node) {
				a.Egress = append(a.Egress, d.aclEntry(v, fmt.Sprintf("%s: egress entry %d", what, i+1)))
			})
		}
	})
	return a
}

// aclEntry decodes one NACL rule. Protocol semantics as AWS's API has them: -1 and protocols
// other than tcp, udp and icmp match every port; tcp and udp need a port range; icmp takes a
// type and a code (-1 for any).
func (d *decoder) aclEntry(n *yaml.Node, what string) *ACLEntry {
	e := &ACLEntry{FromPort: 0, ToPort: 65535, ICMPType: -1, ICMPCode: -1, Pos: d.pos(d.resolve(n))}
	var ports, icmpType, icmpCode, proto *yaml.Node
	ok := d.object(n, kACLEntry, what, func(field string, _, v *yaml.Node) {
		d.mark(e, field, v)
		switch field {
		case "rule":
			e.Number, _ = d.integer(v, what+": rule")
		case "action":
			s, _ := d.str(v, what+": action")
			switch s {
			case "allow":
				e.Allow = true
			case "deny":
			default:
				d.p.errorf(d.pos(v), "%s: action %q: want allow or deny", what, s)
			}
		case "proto":
			proto = v
		case "ports":
			ports = v
		case "icmp_type":
			icmpType = v
		case "icmp_code":
			icmpCode = v
		case "cidr":
			e.CIDR, _ = d.prefix(v, what+": cidr")
		}
	})
	if !ok || proto == nil {
		return e
	}
	s, okProto := d.scalar(proto, what+": proto", protoHelp, "!!str", "!!int")
	if !okProto {
		return e
	}
	var err error
	if e.Proto, err = parseProto(s.Value); err != nil {
		d.p.errorf(d.pos(s), "%s: %v", what, err)
		return e
	}
	switch portKind(e.Proto) {
	case portsRange:
		if icmpType != nil || icmpCode != nil {
			d.p.errorf(e.Pos, "%s: icmp_type and icmp_code apply to icmp only; %s entries take ports", what, ProtoName(e.Proto))
		}
		if ports == nil {
			d.p.errorf(e.Pos, "%s: %s entries need ports: %s", what, ProtoName(e.Proto), portsHelp)
			return e
		}
		r := &Rule{}
		d.ports(ports, r, what)
		e.FromPort, e.ToPort = r.FromPort, r.ToPort
	case portsICMP:
		if ports != nil {
			d.p.errorf(e.Pos, "%s: icmp entries take icmp_type and icmp_code, not ports", what)
		}
		if icmpType != nil {
			e.ICMPType, _ = d.icmp(icmpType, what+": icmp_type")
		}
		if icmpCode != nil {
			if icmpType == nil {
				d.p.errorf(d.where(e, "icmp_code", e.Pos), "%s: icmp_code needs icmp_type; give the type too, or -1 for all", what)
			}
			e.ICMPCode, _ = d.icmp(icmpCode, what+": icmp_code")
		}
	default:
		if ports != nil || icmpType != nil || icmpCode != nil {
			d.p.warnf(e.Pos, "%s: ports and ICMP fields are ignored for protocol %s: AWS matches all of them", what, ProtoName(e.Proto))
		}
	}
	return e
}

// networkDefaults completes a VPC's route tables and network ACLs the way AWS has them: the main
// table first (the one that says main: true, else the one named main, else an Implicit one with
// the local route only), the default ACL first (the file's, else an Implicit one allowing all
// IPv4 in and out; a direction the file's default ACL leaves out keeps AWS's rule 100), and NACL
// CIDRs canonicalised with a warning, as AWS does.
func (d *decoder) networkDefaults(v *VPC) {
	var main *RouteTable
	for _, t := range v.RouteTables {
		if t.Main && main == nil {
			main = t
		}
	}
	if main == nil {
		for _, t := range v.RouteTables {
			if t.Name != MainRouteTable {
				continue
			}
			if d.has(t, "main") {
				d.p.errorf(d.where(t, "main", t.Pos), "route table %s/%s: main: false, but no other table of the VPC says main: true; the table named main is the main table unless another one is (remove main: false, or set main: true on another table)", v.Name, t.Name)
			}
			t.Main, main = true, t
		}
	}
	if main == nil {
		main = &RouteTable{Name: MainRouteTable, VPC: v.Name, Main: true, Routes: []*Route{}, Implicit: true, Pos: v.Pos}
		v.RouteTables = append(v.RouteTables, main)
	}
	v.RouteTables = firstOf(v.RouteTables, main)
	for _, t := range v.RouteTables {
		if t.Routes == nil {
			t.Routes = []*Route{}
		}
	}
	var def *NetworkACL
	for _, a := range v.NetworkACLs {
		if a.Name == DefaultACL && def == nil {
			def = a
		}
	}
	if def == nil {
		def = &NetworkACL{Name: DefaultACL, VPC: v.Name, Implicit: true, Pos: v.Pos}
		v.NetworkACLs = append(v.NetworkACLs, def)
	}
	def.Default = true
	if def.Ingress == nil {
		def.Ingress = []*ACLEntry{allowAllACLEntry(def.Pos)}
	}
	if def.Egress == nil {
		def.Egress = []*ACLEntry{allowAllACLEntry(def.Pos)}
	}
	v.NetworkACLs = firstOf(v.NetworkACLs, def)
	for _, a := range v.NetworkACLs {
		for _, list := range [][]*ACLEntry{a.Ingress, a.Egress} {
			for _, e := range list {
				if e.CIDR.IsValid() && e.CIDR.Masked() != e.CIDR {
					d.p.warnf(d.where(e, "cidr", e.Pos), "network ACL %s/%s: rule %d: cidr %s has host bits set; canonicalised to %s, as AWS does", a.VPC, a.Name, e.Number, e.CIDR, e.CIDR.Masked())
					e.CIDR = e.CIDR.Masked()
				}
			}
		}
	}
}

// firstOf moves x to the front of list, keeping the others' order.
func firstOf[T comparable](list []T, x T) []T {
	out := make([]T, 0, len(list))
	out = append(out, x)
	for _, y := range list {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

// allowAllACLEntry is rule 100 of AWS's default network ACL, in either direction: allow all IPv4.
func allowAllACLEntry(at Pos) *ACLEntry {
	return &ACLEntry{Number: 100, Allow: true, Proto: ProtoAll, FromPort: 0, ToPort: 65535, ICMPType: -1, ICMPCode: -1,
		CIDR: netip.MustParsePrefix("0.0.0.0/0"), Pos: at}
}

// Limits of network ACLs and route tables.
const (
	// DefaultNACLRulesPerDirection is AWS's quota per ACL, direction and IP family (adjustable
	// to 40); the final * rule is not counted here.
	DefaultNACLRulesPerDirection = 20
	maxNACLRuleNumber            = 32766
)

var linkLocalReserved = []netip.Prefix{netip.MustParsePrefix("169.254.168.0/22"), netip.MustParsePrefix("fd00:ec2::/32")}

// network validates a VPC's route tables, ACLs and subnet associations.
func (v *validator) network(vpc *VPC) {
	tables := map[string]bool{}
	mainName := ""
	if len(vpc.RouteTables) == 0 || !vpc.RouteTables[0].Main {
		v.p.errorf(vpc.Pos, "vpc %s: the first of its route tables must be its main table (every VPC has exactly one; Parse adds AWS's when the file declares none)", vpc.Name)
	}
	if len(vpc.NetworkACLs) == 0 || vpc.NetworkACLs[0].Name != DefaultACL {
		v.p.errorf(vpc.Pos, "vpc %s: the first of its network ACLs must be its %q ACL (every VPC has one; Parse adds AWS's when the file declares none)", vpc.Name, DefaultACL)
	}
	for _, t := range vpc.RouteTables {
		what := "route table " + vpc.Name + "/" + t.Name
		if tables[t.Name] {
			v.p.errorf(t.Pos, "%s: defined twice", what)
		}
		tables[t.Name] = true
		if err := checkName(t.Name); err != nil {
			v.p.errorf(t.Pos, "%s: %v", what, err)
		}
		if t.Main {
			if mainName != "" {
				v.p.errorf(v.where(t, "main", t.Pos), "%s: the VPC already has a main route table (%s); a VPC has exactly one", what, mainName)
			}
			mainName = t.Name
		}
		dests := map[netip.Prefix]bool{}
		for i, r := range t.Routes {
			rw := fmt.Sprintf("%s: route %d", what, i+1)
			at := v.where(r, "destination", r.Pos)
			if !r.Destination.IsValid() {
				continue
			}
			if r.Destination.Masked() != r.Destination {
				v.p.errorf(at, "%s: destination %s has host bits set; write %s", rw, r.Destination, r.Destination.Masked())
				continue
			}
			if dests[r.Destination] {
				v.p.errorf(at, "%s: a route to %s is already in the table (RouteAlreadyExists)", rw, r.Destination)
			}
			dests[r.Destination] = true
			for _, ll := range linkLocalReserved {
				if ll.Overlaps(r.Destination) && r.Destination.Bits() >= ll.Bits() {
					v.p.errorf(at, "%s: destination %s is inside %s, which AWS reserves; routes there cannot be added", rw, r.Destination, ll)
				}
			}
			v.routeTarget(vpc, r, rw)
			// A route inside the VPC's CIDR is more specific than the local route: AWS allows it
			// only for a whole subnet's CIDR, to a middlebox (an instance or ENI) or a NAT gateway.
			if r.Destination == vpc.CIDR {
				v.p.errorf(at, "%s: %s is the VPC's CIDR, which the local route already covers; AWS refuses a second route to it", rw, r.Destination)
			} else if vpc.CIDR.Overlaps(r.Destination) && r.Destination.Bits() > vpc.CIDR.Bits() {
				isSubnet := false
				for _, s := range vpc.Subnets {
					if s.CIDR == r.Destination {
						isSubnet = true
					}
				}
				switch k := r.Target.Kind; {
				case !isSubnet:
					v.p.errorf(at, "%s: %s is inside the VPC's %s, more specific than the local route, and not a subnet's CIDR; AWS refuses it (such a route must cover exactly one subnet: %s)", rw, r.Destination, vpc.CIDR, subnetCIDRs(vpc))
				case k != "instance" && k != "eni" && k != "nat":
					v.p.errorf(at, "%s: %s is a subnet's CIDR, more specific than the local route; AWS refuses it with target %s (only an instance, an ENI or a NAT gateway may take such a route)", rw, r.Destination, r.Target)
				}
			}
		}
	}
	acls := map[string]bool{}
	limit := v.sc.Settings.NetworkACLRulesPerDirection
	if limit == 0 {
		limit = DefaultNACLRulesPerDirection
	}
	for _, a := range vpc.NetworkACLs {
		what := "network ACL " + vpc.Name + "/" + a.Name
		if acls[a.Name] {
			v.p.errorf(a.Pos, "%s: defined twice", what)
		}
		acls[a.Name] = true
		if err := checkName(a.Name); err != nil {
			v.p.errorf(a.Pos, "%s: %v", what, err)
		}
		if a.Default != (a.Name == DefaultACL) {
			v.p.errorf(a.Pos, "%s: Default is %v, but the VPC's default ACL is the one named %s", what, a.Default, DefaultACL)
		}
		if a.VPC != vpc.Name {
			v.p.errorf(a.Pos, "%s: its VPC field says %q but it is listed in vpc %s", what, a.VPC, vpc.Name)
		}
		for _, dir := range []struct {
			name    string
			entries []*ACLEntry
		}{{"ingress", a.Ingress}, {"egress", a.Egress}} {
			nums := map[int]bool{}
			var v4, v6 int
			for _, e := range dir.entries {
				at := v.where(e, "rule", e.Pos)
				if e.Number < 1 || e.Number > maxNACLRuleNumber {
					v.p.errorf(at, "%s: %s rule %d: rule numbers are 1 to %d (32767 and 32768 are the final * rules)", what, dir.name, e.Number, maxNACLRuleNumber)
				}
				if nums[e.Number] {
					v.p.errorf(at, "%s: %s rule %d is given twice (NetworkAclEntryAlreadyExists)", what, dir.name, e.Number)
				}
				nums[e.Number] = true
				for _, pr := range checkACLEntry(e) {
					v.p.errorf(v.where(e, pr.field, e.Pos), "%s: %s rule %d: %s", what, dir.name, e.Number, pr.msg)
				}
				if portKind(e.Proto) == portsRange && (e.FromPort > e.ToPort || e.FromPort < 0 || e.ToPort > 65535) {
					if e.FromPort > e.ToPort {
						v.p.errorf(v.where(e, "ports", e.Pos), "%s: %s rule %d: port range %d-%d is reversed; write %d-%d", what, dir.name, e.Number, e.FromPort, e.ToPort, e.ToPort, e.FromPort)
					} else {
						v.p.errorf(v.where(e, "ports", e.Pos), "%s: %s rule %d: ports %d-%d: want 0-65535", what, dir.name, e.Number, e.FromPort, e.ToPort)
					}
				}
				if e.CIDR.IsValid() && e.CIDR.Addr().Is4() {
					v4++
				} else {
					v6++
				}
				if e.Proto == ProtoICMPv6 && e.CIDR.IsValid() && e.CIDR.Addr().Is6() && (e.ICMPType == -1 && e.ICMPCode == -1 && !v.hasICMP(e)) {
					v.p.errorf(at, "%s: %s rule %d: icmpv6 with an IPv6 CIDR needs icmp_type and icmp_code", what, dir.name, e.Number)
				}
			}
			if v4 > limit || v6 > limit {
				v.p.errorf(a.Pos, "%s: %d IPv4 and %d IPv6 %s rules; the limit is %d per direction and family (settings: network_acl_rules_per_direction, up to 40)", what, v4, v6, dir.name, limit)
			}
		}
	}
	for _, s := range vpc.Subnets {
		if s.RouteTable != "" && !tables[s.RouteTable] {
			v.p.errorf(v.where(s, "route_table", s.Pos), "subnet %s: route_table %q: no such route table in VPC %s (tables: %s)", s.Qualified(), s.RouteTable, vpc.Name, strings.Join(tableNames(vpc), ", "))
		}
		if s.NetworkACL != "" && !acls[s.NetworkACL] {
			v.p.errorf(v.where(s, "network_acl", s.Pos), "subnet %s: network_acl %q: no such network ACL in VPC %s (ACLs: %s)", s.Qualified(), s.NetworkACL, vpc.Name, strings.Join(aclNames(vpc), ", "))
		}
	}
}

func (v *validator) hasICMP(e *ACLEntry) bool {
	_, t := v.whereOK(e, "icmp_type")
	return t
}

// whereOK reports whether the file gave obj's field.
func (v *validator) whereOK(obj any, name string) (Pos, bool) {
	none := Pos{Line: -1}
	p := v.where(obj, name, none)
	return p, p != none
}

func tableNames(vpc *VPC) []string {
	var n []string
	for _, t := range vpc.RouteTables {
		n = append(n, t.Name)
	}
	return n
}

func aclNames(vpc *VPC) []string {
	var n []string
	for _, a := range vpc.NetworkACLs {
		n = append(n, a.Name)
	}
	return n
}

// routeTarget checks that a route's target exists in the route's VPC.
func (v *validator) routeTarget(vpc *VPC, r *Route, what string) {
	t := r.Target
	at := t.Pos
	if at.Line == 0 {
		at = r.Pos
	}
	switch t.Kind {
	case "blackhole":
		if t.Name != "" {
			v.p.errorf(at, "%s: target blackhole takes no name", what)
		}
	case "instance", "eni":
		inst, eth := t.Name, 0
		if t.Kind == "eni" {
			var err error
			if inst, eth, err = splitTarget(t.Name); err != nil || !strings.Contains(t.Name, ".") {
				v.p.errorf(at, "%s: target eni/%s: want eni/INSTANCE.ethN, e.g. eni/fw.eth1", what, t.Name)
				return
			}
		}
		in := v.sc.Instance(inst)
		if in == nil {
			v.p.errorf(at, "%s: target %s: no instance %q", what, t, inst)
			return
		}
		if eth >= len(in.ENIs) {
			v.p.errorf(at, "%s: target %s: instance %s has %d ENIs", what, t, inst, len(in.ENIs))
			return
		}
		if t.Kind == "instance" && len(in.ENIs) > 1 {
			v.p.errorf(at, "%s: target %s: instance %s has %d ENIs, and AWS takes an instance as a route target only when it has one (InvalidInstanceID: multiple interfaces attached); name the ENI: eni/%s.ethN", what, t, inst, len(in.ENIs), inst)
			return
		}
		if sub := in.ENIs[eth].Subnet; !strings.HasPrefix(sub, vpc.Name+"/") && strings.Contains(sub, "/") {
			v.p.errorf(at, "%s: target %s is in another VPC (%s)", what, t, sub)
		}
	case "igw":
		if t.Name != "" {
			v.p.errorf(at, "%s: target igw takes no name (a VPC has one internet gateway)", what)
		}
		if !vpc.InternetGateway {
			v.p.errorf(at, "%s: target igw: VPC %s has no internet gateway (set internet_gateway: true)", what, vpc.Name)
		}
	case "nat":
		v.natRoute(vpc, r, what, at)
	case "vgw":
		v.vgwRoute(vpc, r, what, at)
	case "peering":
		v.peeringRoute(vpc, r, what, at)
	default:
		v.p.errorf(at, "%s: target %q: want %s", what, t, targetHelp)
	}
}

// subnetCIDRs lists a VPC's subnets with their CIDRs, for messages.
func subnetCIDRs(vpc *VPC) string {
	if len(vpc.Subnets) == 0 {
		return "the VPC has none"
	}
	var out []string
	for _, sn := range vpc.Subnets {
		out = append(out, sn.Name+" "+sn.CIDR.String())
	}
	return strings.Join(out, ", ")
}

// checkACLEntry checks what Parse guarantees of a NACL rule and a model built in code might not:
// the protocol, a canonical CIDR, and the unused port and ICMP fields in their neutral values.
func checkACLEntry(e *ACLEntry) []ruleProblem {
	var out []ruleProblem
	bad := func(field, format string, args ...any) {
		out = append(out, ruleProblem{field, fmt.Sprintf(format, args...)})
	}
	if e.Proto < -1 || e.Proto > 255 {
		bad("proto", "protocol %d: want %s", e.Proto, protoHelp)
	}
	switch {
	case !e.CIDR.IsValid():
		bad("cidr", "want a cidr: the source of inbound traffic, the destination of outbound")
	case e.CIDR.Masked() != e.CIDR:
		bad("cidr", "cidr %s has host bits set; want %s", e.CIDR, e.CIDR.Masked())
	}
	if portKind(e.Proto) != portsRange && (e.FromPort != 0 || e.ToPort != 65535) {
		bad("ports", "ports %d-%d: protocol %s has no ports; want 0-65535", e.FromPort, e.ToPort, ProtoName(e.Proto))
	}
	if portKind(e.Proto) == portsICMP {
		if e.ICMPType < -1 || e.ICMPType > 255 || e.ICMPCode < -1 || e.ICMPCode > 255 {
			bad("icmp_type", "icmp type %d, code %d: want 0-255, or -1 for any", e.ICMPType, e.ICMPCode)
		}
	} else if e.ICMPType != -1 || e.ICMPCode != -1 {
		bad("icmp_type", "icmp type %d, code %d on protocol %s: want -1 for both", e.ICMPType, e.ICMPCode, ProtoName(e.Proto))
	}
	return out
}
