package scenarios

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// maxFileSize bounds what Load reads: a scenario is a few kilobytes of text.
const maxFileSize = 4 << 20

// Load reads and validates the scenario file at path. Errors carry path:line:col.
func Load(path string) (*Scenario, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxFileSize {
		return nil, &Error{Pos: Pos{File: path}, Msg: fmt.Sprintf("%d bytes; a scenario file is at most %d", fi.Size(), maxFileSize)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse decodes and validates a scenario held in data; file names it in positions. On any error
// it returns nil and an ErrorList with every problem found (up to a bound), in file order.
func Parse(file string, data []byte) (*Scenario, error) {
	sc, _, err := parse(file, data)
	return sc, err
}

// parse is Parse that also returns its decoder, whose records the tests inspect.
func parse(file string, data []byte) (*Scenario, *decoder, error) {
	p := &problems{}
	d := newDecoder(file, p)
	if len(data) > maxFileSize {
		p.errorf(Pos{File: file}, "%d bytes; a scenario file is at most %d", len(data), maxFileSize)
		return nil, d, p.err()
	}
	root := d.document(data)
	if root == nil {
		return nil, d, p.err()
	}
	sc := d.scenario(root)
	if err := p.err(); err != nil {
		return nil, d, err
	}
	d.normalize(sc)
	if err := p.err(); err != nil {
		return nil, d, err
	}
	validate(sc, p, d.where)
	if err := p.err(); err != nil {
		return nil, d, err
	}
	sc.Warnings = p.sortedWarnings()
	return sc, d, nil
}

// where is the position of obj's field in the file, or fallback when the file did not give it.
func (d *decoder) where(obj any, name string, fallback Pos) Pos {
	if p, ok := d.at[posKey{obj, name}]; ok {
		return p
	}
	return fallback
}

func (d *decoder) scenario(root *yaml.Node) *Scenario {
	sc := &Scenario{File: d.file, Settings: DefaultSettings(), Clock: Clock{Speed: DefaultClockSpeed}, Hypervisor: DefaultHypervisor()}
	d.object(root, kScenario, "scenario", func(name string, k, v *yaml.Node) {
		d.mark(sc, name, v)
		switch name {
		case "name":
			sc.Name, _ = d.str(v, "name")
		case "description":
			sc.Description, _ = d.str(v, "description")
		case "settings":
			d.settings(v, &sc.Settings)
		case "vpcs":
			d.namedMap(v, "vpcs", func(name string, k, v *yaml.Node) { sc.VPCs = append(sc.VPCs, d.vpc(name, k, v)) })
		case "prefix_lists":
			d.namedMap(v, "prefix_lists", func(name string, k, v *yaml.Node) {
				sc.PrefixLists = append(sc.PrefixLists, d.prefixList(name, k, v))
			})
		case "instances":
			d.namedMap(v, "instances", func(name string, k, v *yaml.Node) {
				sc.Instances = append(sc.Instances, d.instance(name, k, v))
			})
		case "expect":
			d.list(v, "expect", func(i int, v *yaml.Node) { sc.Expect = append(sc.Expect, d.probe(i, v)) })
		case "internet":
			sc.Internet = d.internet(k, v)
		case "clock":
			d.clock(v, &sc.Clock)
		case "hypervisor":
			d.hypervisor(v, &sc.Hypervisor)
		case "matrix":
			d.list(v, "matrix", func(i int, v *yaml.Node) {
				sc.Matrices = append(sc.Matrices, d.matrix(fmt.Sprintf("matrix %d", i+1), v))
			})
		case "steps":
			d.list(v, "steps", func(i int, v *yaml.Node) { sc.Steps = append(sc.Steps, d.step(i, v)) })
		case "flow_logs":
			d.namedMap(v, "flow_logs", func(name string, k, v *yaml.Node) {
				fl := &FlowLog{Name: name, Traffic: "ALL", Destination: "text", Pos: d.pos(k)}
				what := "flow log " + name
				d.object(v, kFlowLog, what, func(f string, _, v *yaml.Node) {
					d.mark(fl, f, v)
					switch f {
					case "resource":
						fl.Resource, _ = d.str(v, what+": resource")
					case "traffic":
						fl.Traffic, _ = d.str(v, what+": traffic")
					case "interval":
						fl.Interval, _ = d.interval(v, what+": interval")
					case "format":
						fl.Format, _ = d.str(v, what+": format")
					case "destination":
						fl.Destination, _ = d.str(v, what+": destination")
					}
				})
				sc.FlowLogs = append(sc.FlowLogs, fl)
			})
		case "peerings":
			d.namedMap(v, "peerings", func(name string, k, v *yaml.Node) { sc.Peerings = append(sc.Peerings, d.peering(name, k, v)) })
		case "intents":
			d.list(v, "intents", func(i int, v *yaml.Node) { sc.Intents = append(sc.Intents, d.intent(i, v)) })
		case "on_prem":
			d.namedMap(v, "on_prem", func(name string, k, v *yaml.Node) { sc.OnPrem = append(sc.OnPrem, d.onPrem(name, k, v)) })
		}
	})
	return sc
}

func (d *decoder) settings(n *yaml.Node, s *Settings) {
	d.object(n, kSettings, "settings", func(name string, k, v *yaml.Node) {
		d.mark(s, name, v)
		switch name {
		case "security_groups_per_eni":
			s.SecurityGroupsPerENI, _ = d.integer(v, "settings: "+name)
		case "rules_per_security_group":
			s.RulesPerSecurityGroup, _ = d.integer(v, "settings: "+name)
		case "network_acl_rules_per_direction":
			s.NetworkACLRulesPerDirection, _ = d.integer(v, "settings: "+name)
		case "conntrack":
			c := &s.Conntrack
			d.object(v, kConntrack, "settings: conntrack", func(f string, _, v *yaml.Node) {
				d.mark(c, f, v)
				what := "settings: conntrack: " + f
				switch f {
				case "tcp_established_timeout":
					c.TCPEstablished = d.seconds(v, what)
				case "udp_timeout":
					c.UDP = d.seconds(v, what)
				case "udp_stream_timeout":
					c.UDPStream = d.seconds(v, what)
				case "related_icmp":
					c.RelatedICMP, _ = d.boolean(v, what)
				case "allowance":
					c.Allowance, _ = d.integer(v, what)
				}
			})
		}
	})
}

func (d *decoder) vpc(name string, k, n *yaml.Node) *VPC {
	v := &VPC{Name: name, Pos: d.pos(k)}
	what := "vpc " + name
	var groupsNode *yaml.Node
	d.object(n, kVPC, what, func(field string, _, val *yaml.Node) {
		d.mark(v, field, val)
		switch field {
		case "cidr":
			v.CIDR, _ = d.prefix(val, what+": cidr")
		case "subnets":
			d.namedMap(val, what+": subnets", func(sn string, k, val *yaml.Node) {
				v.Subnets = append(v.Subnets, d.subnet(name, sn, k, val))
			})
		case "security_groups":
			groupsNode = val
		case "internet_gateway":
			v.InternetGateway, _ = d.boolean(val, what+": internet_gateway")
		case "vpn_gateway":
			v.VPNGateway, _ = d.str(val, what+": vpn_gateway")
		case "nat_gateways":
			d.namedMap(val, what+": nat_gateways", func(gn string, k, val *yaml.Node) {
				v.NATGateways = append(v.NATGateways, d.natGateway(name, gn, k, val))
			})
		case "route_tables":
			d.namedMap(val, what+": route_tables", func(tn string, k, val *yaml.Node) {
				v.RouteTables = append(v.RouteTables, d.routeTable(name, tn, k, val))
			})
		case "network_acls":
			d.namedMap(val, what+": network_acls", func(an string, k, val *yaml.Node) {
				v.NetworkACLs = append(v.NetworkACLs, d.networkACL(name, an, k, val))
			})
		}
	})
	// Groups are decoded after the loop so that their rules know the VPC whatever the key order.
	if groupsNode != nil {
		d.namedMap(groupsNode, what+": security_groups", func(gn string, k, val *yaml.Node) {
			v.SecurityGroups = append(v.SecurityGroups, d.group(name, gn, k, val))
		})
	}
	return v
}

func (d *decoder) subnet(vpc, name string, k, n *yaml.Node) *Subnet {
	s := &Subnet{Name: name, VPC: vpc, Pos: d.pos(k)}
	what := "subnet " + s.Qualified()
	d.object(n, kSubnet, what, func(field string, _, v *yaml.Node) {
		d.mark(s, field, v)
		switch field {
		case "cidr":
			s.CIDR, _ = d.prefix(v, what+": cidr")
		case "route_table":
			s.RouteTable, _ = d.str(v, what+": route_table")
		case "network_acl":
			s.NetworkACL, _ = d.str(v, what+": network_acl")
		case "map_public_ip_on_launch":
			s.MapPublicIP, _ = d.boolean(v, what+": map_public_ip_on_launch")
		}
	})
	return s
}

func (d *decoder) group(vpc, name string, k, n *yaml.Node) *SecurityGroup {
	g := &SecurityGroup{Name: name, VPC: vpc, Pos: d.pos(k)}
	what := "security group " + vpc + "/" + name
	d.object(n, kGroup, what, func(field string, _, v *yaml.Node) {
		d.mark(g, field, v)
		switch field {
		case "description":
			g.Description, _ = d.str(v, what+": description")
		case "ingress":
			g.Ingress = []*Rule{}
			d.list(v, what+": ingress", func(i int, v *yaml.Node) {
				g.Ingress = append(g.Ingress, d.rule(v, fmt.Sprintf("%s: ingress rule %d", what, i+1)))
			})
		case "egress":
			g.Egress = []*Rule{}
			d.list(v, what+": egress", func(i int, v *yaml.Node) {
				g.Egress = append(g.Egress, d.rule(v, fmt.Sprintf("%s: egress rule %d", what, i+1)))
			})
		}
	})
	return g
}

// rule decodes one security group rule and applies AWS's port semantics for its protocol.
func (d *decoder) rule(n *yaml.Node, what string) *Rule {
	r := &Rule{FromPort: -1, ToPort: -1, Pos: d.pos(d.resolve(n))}
	var ports, icmpType, icmpCode, proto *yaml.Node
	var targets []string
	unknown := d.unknown
	ok := d.object(n, kRule, what, func(field string, _, v *yaml.Node) {
		d.mark(r, field, v)
		switch field {
		case "proto":
			proto = v
		case "ports":
			ports = v
		case "icmp_type":
			icmpType = v
		case "icmp_code":
			icmpCode = v
		case "cidr":
			targets = append(targets, field)
			r.CIDR, _ = d.prefix(v, what+": cidr")
		case "group":
			targets = append(targets, field)
			r.Group, _ = d.str(v, what+": group")
		case "prefix_list":
			targets = append(targets, field)
			r.PrefixList, _ = d.str(v, what+": prefix_list")
		case "description":
			r.Description, _ = d.str(v, what+": description")
		}
	})
	if !ok || d.unknown > unknown {
		return r
	}
	switch len(targets) {
	case 0:
		d.p.errorf(r.Pos, "%s: want one of cidr, group or prefix_list to say whom the rule allows", what)
	case 1:
	default:
		d.p.errorf(d.where(r, targets[1], r.Pos), "%s: give only one of cidr, group and prefix_list, not both %s and %s (write two rules)", what, targets[0], targets[1])
	}
	if proto == nil {
		return r
	}
	s, okProto := d.scalar(proto, what+": proto", protoHelp, "!!str", "!!int")
	if !okProto {
		return r
	}
	var err error
	if r.Proto, err = parseProto(s.Value); err != nil {
		d.p.errorf(d.pos(s), "%s: %v", what, err)
		return r
	}
	name := ProtoName(r.Proto)
	switch portKind(r.Proto) {
	case portsRange:
		if icmpType != nil || icmpCode != nil {
			f := pick(icmpType, icmpCode, "icmp_type", "icmp_code")
			d.p.errorf(d.where(r, f, r.Pos), "%s: %s applies to icmp and icmpv6 only; %s rules take ports", what, f, name)
		}
		if ports == nil {
			d.p.errorf(r.Pos, "%s: %s rules need ports: %s", what, name, portsHelp)
			return r
		}
		d.ports(ports, r, what)
	case portsICMP:
		if ports != nil {
			d.p.errorf(d.where(r, "ports", r.Pos), "%s: %s rules take icmp_type and icmp_code, not ports", what, name)
		}
		switch {
		case icmpType != nil:
			r.FromPort, _ = d.icmp(icmpType, what+": icmp_type")
			if icmpCode != nil {
				r.ToPort, _ = d.icmp(icmpCode, what+": icmp_code")
			}
		case icmpCode != nil:
			d.p.errorf(d.where(r, "icmp_code", r.Pos), "%s: icmp_code needs icmp_type; give the type too (8 for echo request), or -1 for all", what)
		case r.Proto == ProtoICMP:
			d.p.errorf(r.Pos, "%s: icmp rules need icmp_type: a type 0-255 (8 is echo request) or -1 for all types", what)
		}
	default:
		// The values are ignored, as AWS ignores them, but a malformed one is still a typo.
		if ports != nil {
			d.ports(ports, &Rule{}, what)
		}
		for _, n := range [...]*yaml.Node{icmpType, icmpCode} {
			if n != nil {
				d.icmp(n, what+": icmp")
			}
		}
		if ports != nil || icmpType != nil || icmpCode != nil {
			f := pick(ports, pick2(icmpType, icmpCode), "ports", "icmp_type or icmp_code")
			d.p.warnf(d.where(r, fieldOf(ports, icmpType), r.Pos), "%s: %s is ignored for protocol %s: AWS allows all ports there", what, f, name)
		}
	}
	return r
}

// pick names the first of two optional fields that is present.
func pick(a, b *yaml.Node, an, bn string) string {
	if a != nil {
		return an
	}
	return bn
}

func pick2(a, b *yaml.Node) *yaml.Node {
	if a != nil {
		return a
	}
	return b
}

// fieldOf names the field whose position a warning about ignored ports should carry.
func fieldOf(ports, icmpType *yaml.Node) string {
	switch {
	case ports != nil:
		return "ports"
	case icmpType != nil:
		return "icmp_type"
	}
	return "icmp_code"
}

// ports reads a tcp/udp port range: a number, or a string "80", "1024-65535" or "all".
func (d *decoder) ports(n *yaml.Node, r *Rule, what string) {
	s, ok := d.scalar(n, what+": ports", portsHelp, "!!int", "!!str")
	if !ok {
		return
	}
	from, to, err := parsePortRange(s.Value)
	if err != nil {
		d.p.errorf(d.pos(s), "%s: %v", what, err)
		return
	}
	r.FromPort, r.ToPort = from, to
}

// icmp reads an ICMP type or code: a number, -1, or "all" (which is -1).
func (d *decoder) icmp(n *yaml.Node, what string) (int, bool) {
	s, ok := d.scalar(n, what, "a number 0-255, or -1 (or all) for any", "!!int", "!!str")
	if !ok {
		return -1, false
	}
	if s.ShortTag() == "!!str" && s.Value == "all" {
		return -1, true
	}
	v, err := strconv.Atoi(s.Value)
	if err != nil || s.ShortTag() != "!!int" {
		d.p.errorf(d.pos(s), "%s: want a number 0-255, or -1 (or all) for any, not %s", what, describe(s))
		return -1, false
	}
	return v, true
}

func (d *decoder) prefixList(name string, k, n *yaml.Node) *PrefixList {
	pl := &PrefixList{Name: name, Pos: d.pos(k)}
	what := "prefix list " + name
	d.object(n, kPrefixList, what, func(field string, _, v *yaml.Node) {
		d.mark(pl, field, v)
		switch field {
		case "entries":
			pl.Entries = []netip.Prefix{}
			d.list(v, what+": entries", func(i int, v *yaml.Node) {
				p, _ := d.prefix(v, fmt.Sprintf("%s: entry %d", what, i+1))
				d.mark(pl, "entries."+strconv.Itoa(len(pl.Entries)), v)
				pl.Entries = append(pl.Entries, p)
			})
		case "max_entries":
			pl.MaxEntries, _ = d.integer(v, what+": max_entries")
		}
	})
	return pl
}

func (d *decoder) instance(name string, k, n *yaml.Node) *Instance {
	in := &Instance{Name: name, Pos: d.pos(k)}
	what := "instance " + name
	eth0 := &ENI{SourceDestCheck: true, Pos: in.Pos}
	var shorthand []string // shorthand fields given, in file order
	var enisKey *yaml.Node
	ok := d.object(n, kInstance, what, func(field string, k, v *yaml.Node) {
		d.mark(in, field, v)
		switch {
		case field == "type":
			in.Type, _ = d.str(v, what+": type")
		case field == "user_data":
			in.UserData, _ = d.str(v, what+": user_data")
		case field == "state":
			d.instanceState(in, v, what)
		case field == "volumes":
			d.volumes(in, v, what)
		case field == "enis":
			enisKey = k
			in.ENIs = []*ENI{}
			d.list(v, what+": enis", func(i int, v *yaml.Node) {
				in.ENIs = append(in.ENIs, d.eni(v, fmt.Sprintf("%s: eth%d", what, i)))
			})
		case isENIShorthand(field):
			shorthand = append(shorthand, field)
			d.eniField(eth0, field, v, what)
		}
	})
	if !ok {
		return in
	}
	switch {
	case enisKey != nil && len(shorthand) > 0:
		f := shorthand[0]
		d.p.errorf(d.where(in, f, in.Pos), "%s: %s cannot be used together with enis: (line %d); with enis, give %s in the eth0 entry", what, f, enisKey.Line, f)
	case enisKey == nil && len(shorthand) == 0:
		d.p.errorf(in.Pos, "%s: want subnet: (for one ENI) or an enis: list", what)
	case enisKey == nil:
		if !d.has(eth0, "subnet") {
			d.p.errorf(d.where(in, shorthand[0], in.Pos), "%s: %s needs subnet: too (or use an enis: list)", what, shorthand[0])
		}
		in.ENIs = []*ENI{eth0}
	}
	return in
}

func (d *decoder) eni(n *yaml.Node, what string) *ENI {
	e := &ENI{SourceDestCheck: true, Pos: d.pos(d.resolve(n))}
	d.object(n, kENI, what, func(field string, _, v *yaml.Node) { d.eniField(e, field, v, what) })
	return e
}

// eniField decodes one field of an ENI, from an enis: entry or from the instance shorthand.
func (d *decoder) eniField(e *ENI, field string, v *yaml.Node, what string) {
	d.mark(e, field, v)
	switch field {
	case "subnet":
		e.Subnet, _ = d.str(v, what+": subnet")
	case "ip":
		e.IP, _ = d.addr(v, what+": ip")
	case "secondary_ips":
		e.SecondaryIPs = []netip.Addr{}
		d.list(v, what+": secondary_ips", func(i int, v *yaml.Node) {
			a, _ := d.addr(v, what+": secondary_ips")
			d.mark(e, "secondary_ips."+strconv.Itoa(len(e.SecondaryIPs)), v)
			e.SecondaryIPs = append(e.SecondaryIPs, a)
		})
	case "source_dest_check":
		e.SourceDestCheck, _ = d.boolean(v, what+": source_dest_check")
	case "security_groups":
		e.SecurityGroups = []string{}
		d.list(v, what+": security_groups", func(i int, v *yaml.Node) {
			g, _ := d.str(v, what+": security_groups")
			d.mark(e, "security_groups."+strconv.Itoa(len(e.SecurityGroups)), v)
			e.SecurityGroups = append(e.SecurityGroups, g)
		})
	case "description":
		e.Description, _ = d.str(v, what+": description")
	case "public_ip":
		e.PublicIP, _ = d.boolean(v, what+": public_ip")
	case "elastic_ip":
		e.ElasticIP, _ = d.addr(v, what+": elastic_ip")
	case "connection_tracking":
		c := &ConnTracking{}
		e.ConnTracking = c
		d.object(v, kConnTrack, what+": connection_tracking", func(f string, _, v *yaml.Node) {
			d.mark(c, f, v)
			w := what + ": connection_tracking: " + f
			switch f {
			case "tcp_established_timeout":
				c.TCPEstablished = d.seconds(v, w)
			case "udp_timeout":
				c.UDP = d.seconds(v, w)
			case "udp_stream_timeout":
				c.UDPStream = d.seconds(v, w)
			}
		})
	}
}

// seconds reads a whole number of seconds, as AWS's ConnectionTrackingSpecification takes them.
func (d *decoder) seconds(n *yaml.Node, what string) time.Duration {
	v, ok := d.integer(n, what+" (seconds)")
	if ok && (v < -maxSeconds || v > maxSeconds) {
		// Validation names the field's range; here only what a Duration cannot hold is refused.
		d.p.errorf(d.pos(d.resolve(n)), "%s: %d seconds: want a number of seconds from 0 to %d", what, v, maxSeconds)
		return 0
	}
	return time.Duration(v) * time.Second
}

// maxSeconds bounds every number of seconds in the file (about 68 years), far beyond any
// setting's range and far within what a time.Duration holds.
const maxSeconds = 1<<31 - 1

func (d *decoder) probe(i int, n *yaml.Node) *Probe {
	pr := &Probe{Pos: d.pos(d.resolve(n))}
	what := fmt.Sprintf("expect %d", i+1)
	d.object(n, kProbe, what, func(field string, _, v *yaml.Node) {
		d.mark(pr, field, v)
		switch field {
		case "from":
			pr.From, _ = d.str(v, what+": from")
		case "to":
			pr.To, _ = d.str(v, what+": to")
		case "proto":
			pr.Proto, _ = d.str(v, what+": proto")
		case "port":
			pr.Port, _ = d.integer(v, what+": port")
		case "result":
			pr.Result, _ = d.str(v, what+": result")
		case "timeout":
			pr.Timeout, _ = d.duration(v, what+": timeout")
		case "description":
			pr.Description, _ = d.str(v, what+": description")
		}
	})
	return pr
}
