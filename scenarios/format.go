package scenarios

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Format writes a scenario in the file format, so that Parse reads back the same model (positions
// and warnings aside). What Parse would fill in — the implicit default group, a group's default
// egress, the default group of an ENI, source/destination check on — is left out, and single-ENI
// instances use the shorthand, so the output reads like a hand-written file.
func Format(sc *Scenario) ([]byte, error) {
	root := mapping(false)
	addStr(root, "name", sc.Name)
	if sc.Description != "" {
		addStr(root, "description", sc.Description)
	}
	if sc.Settings != DefaultSettings() {
		s := mapping(true)
		addInt(s, "security_groups_per_eni", sc.Settings.SecurityGroupsPerENI)
		addInt(s, "rules_per_security_group", sc.Settings.RulesPerSecurityGroup)
		if n := sc.Settings.NetworkACLRulesPerDirection; n != 0 {
			addInt(s, "network_acl_rules_per_direction", n)
		}
		if c := sc.Settings.Conntrack; c != (ConntrackSettings{}) {
			cm := mapping(true)
			addTimeouts(cm, c.TCPEstablished, c.UDP, c.UDPStream)
			if c.RelatedICMP {
				add(cm, "related_icmp", boolean(true))
			}
			if c.Allowance != 0 {
				addInt(cm, "allowance", c.Allowance)
			}
			add(s, "conntrack", cm)
		}
		add(root, "settings", s)
	}
	if len(sc.VPCs) > 0 {
		vpcs := mapping(false)
		for _, v := range sc.VPCs {
			add(vpcs, v.Name, formatVPC(v))
		}
		add(root, "vpcs", vpcs)
	}
	if len(sc.Peerings) > 0 {
		ps := mapping(false)
		for _, p := range sc.Peerings {
			pm := mapping(true)
			addStr(pm, "requester", p.Requester)
			addStr(pm, "accepter", p.Accepter)
			add(ps, p.Name, pm)
		}
		add(root, "peerings", ps)
	}
	if len(sc.OnPrem) > 0 {
		os := mapping(false)
		for _, o := range sc.OnPrem {
			om := mapping(false)
			addStr(om, "cidr", o.CIDR.String())
			if o.Hosts != nil {
				add(om, "hosts", formatHosts(o.Hosts))
			}
			add(os, o.Name, om)
		}
		add(root, "on_prem", os)
	}
	if len(sc.PrefixLists) > 0 {
		pls := mapping(false)
		for _, pl := range sc.PrefixLists {
			m := mapping(true)
			entries := sequence(true)
			for _, e := range pl.Entries {
				entries.Content = append(entries.Content, str(e.String()))
			}
			add(m, "entries", entries)
			addInt(m, "max_entries", pl.MaxEntries)
			add(pls, pl.Name, m)
		}
		add(root, "prefix_lists", pls)
	}
	if len(sc.Instances) > 0 {
		ins := mapping(false)
		for _, in := range sc.Instances {
			add(ins, in.Name, formatInstance(sc, in))
		}
		add(root, "instances", ins)
	}
	if sc.Internet != nil {
		im := mapping(false)
		if len(sc.Internet.Hosts) > 0 {
			add(im, "hosts", formatHosts(sc.Internet.Hosts))
		} else {
			im.Style = yaml.FlowStyle
		}
		add(root, "internet", im)
	}
	if len(sc.FlowLogs) > 0 {
		fls := mapping(false)
		for _, fl := range sc.FlowLogs {
			m := mapping(true)
			addStr(m, "resource", fl.Resource)
			if fl.Traffic != "ALL" {
				addStr(m, "traffic", fl.Traffic)
			}
			if i := fl.Interval; i%time.Second == 0 && i != 0 {
				addInt(m, "interval", int(i/time.Second))
			} else if i != 0 {
				addStr(m, "interval", i.String())
			}
			if fl.Format != "" {
				addStr(m, "format", fl.Format)
			}
			if fl.Destination != "text" {
				addStr(m, "destination", fl.Destination)
			}
			add(fls, fl.Name, m)
		}
		add(root, "flow_logs", fls)
	}
	if sc.Clock.Speed != DefaultClockSpeed {
		cm := mapping(true)
		v := strconv.FormatFloat(sc.Clock.Speed, 'g', -1, 64)
		tag := "!!float"
		if _, err := strconv.Atoi(v); err == nil {
			tag = "!!int" // 10, not 10.0: the encoder would tag "10" as a float explicitly
		}
		add(cm, "speed", &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v})
		add(root, "clock", cm)
	}
	if h := sc.Hypervisor; h != DefaultHypervisor() {
		hm := mapping(true)
		if !h.Scrub {
			add(hm, "scrub", boolean(false))
		}
		if h.MemoryPool != 0 {
			addStr(hm, "memory_pool", formatSize(h.MemoryPool))
		}
		if h.DiskPool != 0 {
			addStr(hm, "disk_pool", formatSize(h.DiskPool))
		}
		add(root, "hypervisor", hm)
	}
	if len(sc.Expect) > 0 {
		probes := sequence(false)
		for _, pr := range sc.Expect {
			probes.Content = append(probes.Content, formatProbe(pr))
		}
		add(root, "expect", probes)
	}
	if len(sc.Matrices) > 0 {
		ms := sequence(false)
		for _, m := range sc.Matrices {
			ms.Content = append(ms.Content, formatMatrix(m, false))
		}
		add(root, "matrix", ms)
	}
	if len(sc.Steps) > 0 {
		steps := sequence(false)
		for _, st := range sc.Steps {
			m := mapping(true)
			switch st.Kind {
			case "probe":
				add(m, "probe", formatProbe(st.Probe))
			case "matrix":
				add(m, "matrix", formatMatrix(st.Matrix, true))
			case "send":
				add(m, "send", formatSend(st.Send))
			case "hold":
				h := mapping(true)
				addStr(h, "name", st.Hold.Name)
				addStr(h, "from", st.Hold.From)
				addStr(h, "to", st.Hold.To)
				addInt(h, "port", st.Hold.Port)
				add(m, "hold", h)
			case "held":
				h := mapping(true)
				addStr(h, "name", st.Held.Name)
				addStr(h, "result", st.Held.Result)
				add(m, "held", h)
			case "sg", "nacl", "route", "set", "instance":
				addStr(m, st.Kind, st.Command)
			case "audit":
				formatAudit(m, st.Audit)
			case "exec":
				e := mapping(true)
				addStr(e, "instance", st.Exec.Instance)
				addStr(e, "command", st.Exec.Command)
				if st.Exec.ExitCode != 0 {
					addInt(e, "exit_code", st.Exec.ExitCode)
				}
				if st.Exec.Output != "" {
					addStr(e, "output", st.Exec.Output)
				}
				add(m, "exec", e)
			case "flows":
				f := mapping(true)
				addStr(f, "log", st.Flows.Log)
				addStr(f, "contains", st.Flows.Contains)
				if st.Flows.Absent {
					add(f, "absent", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
				}
				if st.Flows.Within != 0 {
					addStr(f, "within", st.Flows.Within.String())
				}
				add(m, "flows", f)
			case "wait":
				addStr(m, "wait", st.Wait.String())
			}
			if st.Description != "" {
				addStr(m, "description", st.Description)
			}
			steps.Content = append(steps.Content, m)
		}
		add(root, "steps", steps)
	}
	if len(sc.Intents) > 0 {
		list := sequence(false)
		for _, in := range sc.Intents {
			list.Content = append(list.Content, formatIntent(in))
		}
		add(root, "intents", list)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func formatVPC(v *VPC) *yaml.Node {
	m := mapping(false)
	addStr(m, "cidr", v.CIDR.String())
	if v.InternetGateway {
		add(m, "internet_gateway", boolean(true))
	}
	if v.VPNGateway != "" {
		addStr(m, "vpn_gateway", v.VPNGateway)
	}
	if len(v.Subnets) > 0 {
		subnets := mapping(false)
		for _, s := range v.Subnets {
			sm := mapping(true)
			addStr(sm, "cidr", s.CIDR.String())
			if s.RouteTable != "" {
				addStr(sm, "route_table", s.RouteTable)
			}
			if s.NetworkACL != "" {
				addStr(sm, "network_acl", s.NetworkACL)
			}
			if s.MapPublicIP {
				add(sm, "map_public_ip_on_launch", boolean(true))
			}
			add(subnets, s.Name, sm)
		}
		add(m, "subnets", subnets)
	}
	groups := mapping(false)
	for _, g := range v.SecurityGroups {
		if g.Implicit {
			continue
		}
		gm := mapping(false)
		if g.Description != "" {
			addStr(gm, "description", g.Description)
		}
		// For any group but default, no ingress key and an empty list mean the same: no rules.
		if !g.IngressDefaulted && (len(g.Ingress) > 0 || g.Name == DefaultGroup) {
			add(gm, "ingress", formatRules(g.Ingress))
		}
		if !g.EgressDefaulted {
			add(gm, "egress", formatRules(g.Egress))
		}
		if len(gm.Content) == 0 {
			gm.Style = yaml.FlowStyle
		}
		add(groups, g.Name, gm)
	}
	if len(groups.Content) > 0 {
		add(m, "security_groups", groups)
	}
	if len(v.NATGateways) > 0 {
		nats := mapping(false)
		for _, g := range v.NATGateways {
			gm := mapping(true)
			addStr(gm, "subnet", strings.TrimPrefix(g.Subnet, v.Name+"/"))
			if g.ElasticIP.IsValid() {
				addStr(gm, "elastic_ip", g.ElasticIP.String())
			}
			if g.Private {
				add(gm, "private", boolean(true))
			}
			add(nats, g.Name, gm)
		}
		add(m, "nat_gateways", nats)
	}
	// AWS's main table and default ACL, which Parse adds when the file has none, are left out.
	tables := mapping(false)
	for _, t := range v.RouteTables {
		if t.Implicit {
			continue
		}
		tm := mapping(false)
		if t.Main {
			add(tm, "main", boolean(true))
		}
		routes := sequence(len(t.Routes) == 0)
		for _, r := range t.Routes {
			rm := mapping(true)
			addStr(rm, "destination", r.Destination.String())
			addStr(rm, "target", r.Target.String())
			routes.Content = append(routes.Content, rm)
		}
		add(tm, "routes", routes)
		add(tables, t.Name, tm)
	}
	if len(tables.Content) > 0 {
		add(m, "route_tables", tables)
	}
	acls := mapping(false)
	for _, a := range v.NetworkACLs {
		if a.Implicit {
			continue
		}
		am := mapping(false)
		if a.Ingress != nil {
			add(am, "ingress", formatACLEntries(a.Ingress))
		}
		if a.Egress != nil {
			add(am, "egress", formatACLEntries(a.Egress))
		}
		if len(am.Content) == 0 {
			am.Style = yaml.FlowStyle
		}
		add(acls, a.Name, am)
	}
	if len(acls.Content) > 0 {
		add(m, "network_acls", acls)
	}
	return m
}

// formatHosts writes hosts in their short form, name: address.
func formatHosts(hosts []*Host) *yaml.Node {
	m := mapping(false)
	for _, h := range hosts {
		addStr(m, h.Name, h.IP.String())
	}
	if len(hosts) == 0 {
		m.Style = yaml.FlowStyle
	}
	return m
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func formatACLEntries(es []*ACLEntry) *yaml.Node {
	s := sequence(len(es) == 0)
	for _, e := range es {
		m := mapping(true)
		addInt(m, "rule", e.Number)
		action := "deny"
		if e.Allow {
			action = "allow"
		}
		addStr(m, "action", action)
		addStr(m, "proto", ProtoName(e.Proto))
		switch portKind(e.Proto) {
		case portsRange:
			switch {
			case e.FromPort == 0 && e.ToPort == 65535:
				addStr(m, "ports", "all")
			case e.FromPort == e.ToPort:
				addInt(m, "ports", e.FromPort)
			default:
				addStr(m, "ports", strconv.Itoa(e.FromPort)+"-"+strconv.Itoa(e.ToPort))
			}
		case portsICMP:
			if e.ICMPType != -1 || e.ICMPCode != -1 {
				addInt(m, "icmp_type", e.ICMPType)
				if e.ICMPCode != -1 {
					addInt(m, "icmp_code", e.ICMPCode)
				}
			}
		}
		addStr(m, "cidr", e.CIDR.String())
		s.Content = append(s.Content, m)
	}
	return s
}

func formatRules(rules []*Rule) *yaml.Node {
	s := sequence(len(rules) == 0)
	for _, r := range rules {
		m := mapping(true)
		addStr(m, "proto", ProtoName(r.Proto))
		switch portKind(r.Proto) {
		case portsRange:
			switch {
			case r.FromPort == 0 && r.ToPort == 65535:
				addStr(m, "ports", "all")
			case r.FromPort == r.ToPort:
				addInt(m, "ports", r.FromPort)
			default:
				addStr(m, "ports", strconv.Itoa(r.FromPort)+"-"+strconv.Itoa(r.ToPort))
			}
		case portsICMP:
			if r.Proto == ProtoICMP || r.FromPort != -1 || r.ToPort != -1 {
				addInt(m, "icmp_type", r.FromPort)
				if r.ToPort != -1 {
					addInt(m, "icmp_code", r.ToPort)
				}
			}
		}
		switch {
		case r.Group != "":
			addStr(m, "group", r.Group)
		case r.PrefixList != "":
			addStr(m, "prefix_list", r.PrefixList)
		default:
			addStr(m, "cidr", r.CIDR.String())
		}
		if r.Description != "" {
			addStr(m, "description", r.Description)
		}
		s.Content = append(s.Content, m)
	}
	return s
}

func formatInstance(sc *Scenario, in *Instance) *yaml.Node {
	shorthand := len(in.ENIs) == 1 && in.ENIs[0].Description == ""
	m := mapping(shorthand && in.UserData == "" && len(in.Volumes) == 0)
	if in.Type != "" {
		addStr(m, "type", in.Type)
	}
	// Parse gives eth0 of a single-ENI instance the public IP its subnet maps; to keep or refuse
	// it, the file says nothing or public_ip: false.
	mapped := false
	if sn := sc.Subnet(in.ENIs[0].Subnet); sn != nil && len(in.ENIs) == 1 && !in.ENIs[0].ElasticIP.IsValid() {
		mapped = sn.MapPublicIP
	}
	if shorthand {
		formatENI(m, in.ENIs[0], mapped)
	} else {
		enis := sequence(false)
		for k, e := range in.ENIs {
			em := mapping(true)
			formatENI(em, e, k == 0 && mapped)
			enis.Content = append(enis.Content, em)
		}
		add(m, "enis", enis)
	}
	formatVolumes(m, in)
	if in.UserData != "" {
		add(m, "user_data", script(in.UserData))
	}
	return m
}

// formatENI adds an ENI's fields to m: an enis: entry, or the instance itself for the shorthand.
// mapped says whether the ENI's subnet gives it a public IP unless the file says otherwise.
func formatENI(m *yaml.Node, e *ENI, mapped bool) {
	addStr(m, "subnet", e.Subnet)
	if e.IP.IsValid() {
		addStr(m, "ip", e.IP.String())
	}
	if e.SecondaryIPs != nil {
		s := sequence(true)
		for _, a := range e.SecondaryIPs {
			s.Content = append(s.Content, str(a.String()))
		}
		add(m, "secondary_ips", s)
	}
	if !e.SourceDestCheck {
		add(m, "source_dest_check", boolean(false))
	}
	if !(len(e.SecurityGroups) == 1 && e.SecurityGroups[0] == DefaultGroup) && len(e.SecurityGroups) > 0 {
		s := sequence(true)
		for _, g := range e.SecurityGroups {
			s.Content = append(s.Content, str(g))
		}
		add(m, "security_groups", s)
	}
	if e.PublicIP != mapped {
		add(m, "public_ip", boolean(e.PublicIP))
	}
	if e.ElasticIP.IsValid() {
		addStr(m, "elastic_ip", e.ElasticIP.String())
	}
	if c := e.ConnTracking; c != nil {
		cm := mapping(true)
		addTimeouts(cm, c.TCPEstablished, c.UDP, c.UDPStream)
		add(m, "connection_tracking", cm)
	}
	if e.Description != "" {
		addStr(m, "description", e.Description)
	}
}

func formatProbe(pr *Probe) *yaml.Node {
	m := mapping(true)
	addStr(m, "from", pr.From)
	addStr(m, "to", pr.To)
	addStr(m, "proto", pr.Proto)
	if pr.Port != 0 {
		addInt(m, "port", pr.Port)
	}
	addStr(m, "result", pr.Result)
	if pr.Timeout != 0 {
		addStr(m, "timeout", pr.Timeout.String())
	}
	if pr.Description != "" {
		addStr(m, "description", pr.Description)
	}
	return m
}

// script is a multi-line string as a literal block (|), which reads like the script it is, when
// that block reads back as the same string; yaml.v3 writes some (a leading newline or tab) wrongly,
// and those are quoted instead.
func script(s string) *yaml.Node {
	n := str(s)
	if !strings.Contains(s, "\n") {
		return n
	}
	n.Style = yaml.LiteralStyle
	out, err := yaml.Marshal(n)
	var back string
	if err != nil || yaml.Unmarshal(out, &back) != nil || back != s {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func mapping(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func sequence(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

// str is a string scalar. Multi-line strings are double-quoted: yaml.v3 would write them as
// literal blocks, which lose some of them (see script).
func str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.Contains(s, "\n") {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func add(m *yaml.Node, key string, v *yaml.Node) { m.Content = append(m.Content, str(key), v) }

func addStr(m *yaml.Node, key, v string) { add(m, key, str(v)) }

func addInt(m *yaml.Node, key string, v int) {
	add(m, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(v)})
}

func addTimeouts(m *yaml.Node, tcp, udp, stream time.Duration) {
	for _, t := range []struct {
		k string
		d time.Duration
	}{{"tcp_established_timeout", tcp}, {"udp_timeout", udp}, {"udp_stream_timeout", stream}} {
		if t.d != 0 {
			addInt(m, t.k, int(t.d/time.Second))
		}
	}
}

func formatSend(s *SendStep) *yaml.Node {
	m := mapping(true)
	addStr(m, "from", s.From)
	addStr(m, "to", s.To)
	addStr(m, "packet", s.Packet)
	if s.Port != 0 {
		addInt(m, "port", s.Port)
	}
	if s.SrcIP.IsValid() {
		addStr(m, "src_ip", s.SrcIP.String())
	}
	if s.SrcMAC != "" {
		addStr(m, "src_mac", s.SrcMAC)
	}
	add(m, "arrives", boolean(s.Arrives))
	if s.SeenSrc.IsValid() {
		addStr(m, "seen_src", s.SeenSrc.String())
	}
	if s.Timeout != 0 {
		addStr(m, "timeout", s.Timeout.String())
	}
	return m
}
