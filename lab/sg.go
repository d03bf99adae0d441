package lab

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/scenarios"
	"github.com/ec2sim/ec2sim/sgengine"
)

// groupRef is one security group of the lab, by VPC and name.
type groupRef struct {
	vpc, name, id string
}

// sgModel is the lab's security-group configuration in the engine's terms, with the names the
// user knows them by. The lab changes a copy and compiles it; only a copy that compiles is kept,
// so a bad change leaves the running lab as it was.
type sgModel struct {
	cfg    sgengine.Config
	groups []groupRef         // same order as cfg.Groups
	lists  map[string]string  // prefix list name -> ID
	limits scenarios.Settings // per-group rule quota, groups per ENI
}

func (m *sgModel) clone() *sgModel {
	n := *m
	n.cfg.Groups = slices.Clone(m.cfg.Groups)
	for i := range n.cfg.Groups {
		n.cfg.Groups[i].Ingress = slices.Clone(m.cfg.Groups[i].Ingress)
		n.cfg.Groups[i].Egress = slices.Clone(m.cfg.Groups[i].Egress)
	}
	n.cfg.ENIs = slices.Clone(m.cfg.ENIs)
	for i := range n.cfg.ENIs {
		n.cfg.ENIs[i].Groups = slices.Clone(m.cfg.ENIs[i].Groups)
	}
	n.groups = slices.Clone(m.groups)
	return &n
}

// find resolves a group name ("web-sg", or "vpc/web-sg" when several VPCs have one of that name).
func (m *sgModel) find(name string) (int, error) {
	vpc, g, qualified := strings.Cut(name, "/")
	if !qualified {
		g, vpc = vpc, ""
	}
	found := -1
	var all []string
	for i, r := range m.groups {
		all = append(all, r.vpc+"/"+r.name)
		if r.name == g && (vpc == "" || r.vpc == vpc) {
			if found >= 0 {
				return 0, fmt.Errorf("security group %q exists in several VPCs; say which as VPC/%s", name, g)
			}
			found = i
		}
	}
	if found < 0 {
		return 0, fmt.Errorf("no security group %q (groups: %s)", name, strings.Join(all, ", "))
	}
	return found, nil
}

// buildSG turns the scenario's groups into the engine's configuration for the planned ENIs.
func buildSG(sc *scenarios.Scenario, labName string, st *fabric.State) (*sgModel, error) {
	m := &sgModel{lists: map[string]string{}, limits: sc.Settings}
	m.cfg.RelatedICMP = sc.Settings.Conntrack.RelatedICMP
	m.cfg.PrefixLists = map[string][]netip.Prefix{}
	for _, pl := range sc.PrefixLists {
		id := awsID("pl", labName, pl.Name)
		m.lists[pl.Name] = id
		m.cfg.PrefixLists[id] = slices.Clone(pl.Entries)
	}
	for _, v := range sc.VPCs {
		for _, g := range v.SecurityGroups {
			m.groups = append(m.groups, groupRef{vpc: v.Name, name: g.Name, id: awsID("sg", labName, v.Name+"/"+g.Name)})
		}
	}
	k := 0
	for _, v := range sc.VPCs {
		for _, g := range v.SecurityGroups {
			eg := sgengine.Group{ID: m.groups[k].id, Name: g.Name}
			for _, r := range g.Ingress {
				er, err := m.engineRule(v.Name, r)
				if err != nil {
					return nil, fmt.Errorf("%s: security group %s: %w", r.Pos, g.Name, err)
				}
				eg.Ingress = append(eg.Ingress, er)
			}
			for _, r := range g.Egress {
				er, err := m.engineRule(v.Name, r)
				if err != nil {
					return nil, fmt.Errorf("%s: security group %s: %w", r.Pos, g.Name, err)
				}
				eg.Egress = append(eg.Egress, er)
			}
			m.cfg.Groups = append(m.cfg.Groups, eg)
			k++
		}
	}
	eniIdx := 0
	for _, in := range sc.Instances {
		for _, e := range in.ENIs {
			names := e.SecurityGroups
			if len(names) == 0 {
				names = []string{scenarios.DefaultGroup}
			}
			ct := sc.Settings.Conntrack
			ec := sgengine.ENIConfig{Index: uint32(eniIdx), PrivateIPs: slices.Clone(st.ENIs[eniIdx].Identity.Addrs),
				Timeouts:  sgengine.Timeouts{TCPEstablished: ct.TCPEstablished, UDP: ct.UDP, UDPStream: ct.UDPStream},
				Allowance: typeAllowance(in, ct.Allowance)}
			if o := e.ConnTracking; o != nil {
				if o.TCPEstablished != 0 {
					ec.Timeouts.TCPEstablished = o.TCPEstablished
				}
				if o.UDP != 0 {
					ec.Timeouts.UDP = o.UDP
				}
				if o.UDPStream != 0 {
					ec.Timeouts.UDPStream = o.UDPStream
				}
			}
			for _, n := range names {
				i, err := m.find(e.VPCName() + "/" + n)
				if err != nil {
					return nil, fmt.Errorf("%s: instance %s: %w", e.Pos, in.Name, err)
				}
				ec.Groups = append(ec.Groups, m.groups[i].id)
			}
			m.cfg.ENIs = append(m.cfg.ENIs, ec)
			eniIdx++
		}
	}
	return m, nil
}

// engineRule converts a scenario rule of a group in VPC vpc.
func (m *sgModel) engineRule(vpc string, r *scenarios.Rule) (sgengine.Rule, error) {
	er := sgengine.Rule{Proto: r.Proto, FromPort: r.FromPort, ToPort: r.ToPort, CIDR: r.CIDR, Description: r.Description}
	switch {
	case r.Group != "":
		ref := vpc + "/" + r.Group
		if strings.Contains(r.Group, "/") {
			ref = r.Group // a group of a peered VPC; the loader checked the peering
		}
		i, err := m.find(ref)
		if err != nil {
			return er, fmt.Errorf("rule names %w; a rule may reference groups of its own VPC, or VPC/GROUP of a peered VPC", err)
		}
		er.Group = m.groups[i].id
	case r.PrefixList != "":
		id, ok := m.lists[r.PrefixList]
		if !ok {
			return er, fmt.Errorf("no prefix list %q", r.PrefixList)
		}
		er.PrefixList = id
	}
	return er, nil
}

// checkQuota enforces AWS's per-group rule quota on group i, per direction and per family
// (a prefix list counts as its max entries, as AWS counts it).
func (m *sgModel) checkQuota(i int, sc *scenarios.Scenario) error {
	limit := m.limits.RulesPerSecurityGroup
	if limit == 0 {
		limit = scenarios.DefaultRulesPerSecurityGroup
	}
	g := &m.cfg.Groups[i]
	for _, d := range []struct {
		name  string
		rules []sgengine.Rule
	}{{"inbound", g.Ingress}, {"outbound", g.Egress}} {
		var v4, v6 int
		for _, r := range d.rules {
			switch {
			case r.CIDR.IsValid() && r.CIDR.Addr().Is4():
				v4++
			case r.CIDR.IsValid():
				v6++
			case r.Group != "":
				v4++
				v6++
			case r.PrefixList != "":
				n, six := m.listWeight(r.PrefixList, sc)
				if six {
					v6 += n
				} else {
					v4 += n
				}
			}
		}
		if v4 > limit || v6 > limit {
			return fmt.Errorf("RulesPerSecurityGroupLimitExceeded: security group %s would have %d IPv4 and %d IPv6 %s rule entries; the limit is %d per family", m.groups[i].name, v4, v6, d.name, limit)
		}
	}
	return nil
}

func (m *sgModel) listWeight(id string, sc *scenarios.Scenario) (int, bool) {
	for name, lid := range m.lists {
		if lid == id {
			if pl := sc.PrefixList(name); pl != nil {
				return pl.MaxEntries, pl.IPv6()
			}
		}
	}
	return 1, false
}

// compile builds the policy; it is what every change goes through before it is kept.
func (m *sgModel) compile() (*sgengine.Policy, error) {
	return sgengine.Compile(&m.cfg)
}

// changeSG applies fn to a copy of the lab's security-group model, compiles it and publishes the
// new policy; if fn or the compile fails, nothing changes. Tracked flows survive (the conntrack
// tables belong to the engine, not to the policy); untracked flows follow the new rules at once.
func (l *Lab) changeSG(fn func(m *sgModel) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.Plan.sg.clone()
	if err := fn(m); err != nil {
		return err
	}
	pol, err := m.compile()
	if err != nil {
		return err
	}
	if err := l.Engine.Publish(l.Engine.State().WithPolicy(pol)); err != nil {
		return err
	}
	l.Plan.sg = m
	return nil
}

// parseDirection reads "ingress"/"inbound" or "egress"/"outbound".
func parseDirection(d string) (bool, error) {
	switch d {
	case "ingress", "inbound", "in":
		return true, nil
	case "egress", "outbound", "out":
		return false, nil
	}
	return false, fmt.Errorf("direction %q: want ingress or egress", d)
}

// Authorize adds a rule (scenarios.ParseRule syntax, e.g. tcp:22:203.0.113.1/32) to a group.
func (l *Lab) Authorize(group, direction, spec string) error {
	ingress, err := parseDirection(direction)
	if err != nil {
		return err
	}
	r, err := scenarios.ParseRule(spec)
	if err != nil {
		return err
	}
	return l.changeSG(func(m *sgModel) error {
		i, err := m.find(group)
		if err != nil {
			return err
		}
		if err := peeredRef(l.Plan.Scenario, m.groups[i].vpc, r.Group); err != nil {
			return fmt.Errorf("security group %s: %w", m.groups[i].name, err)
		}
		er, err := m.engineRule(m.groups[i].vpc, r)
		if err != nil {
			return fmt.Errorf("security group %s: %w", m.groups[i].name, err)
		}
		g := &m.cfg.Groups[i]
		rules := &g.Egress
		if ingress {
			rules = &g.Ingress
		}
		for _, x := range *rules {
			if sameRule(x, er) {
				return fmt.Errorf("InvalidPermission.Duplicate: security group %s already has %s %s", m.groups[i].name, direction, spec)
			}
		}
		*rules = append(*rules, er)
		return m.checkQuota(i, l.Plan.Scenario)
	})
}

// Revoke removes the rule that matches spec exactly, as RevokeSecurityGroupIngress/Egress do.
func (l *Lab) Revoke(group, direction, spec string) error {
	ingress, err := parseDirection(direction)
	if err != nil {
		return err
	}
	r, err := scenarios.ParseRule(spec)
	if err != nil {
		return err
	}
	return l.changeSG(func(m *sgModel) error {
		i, err := m.find(group)
		if err != nil {
			return err
		}
		er, err := m.engineRule(m.groups[i].vpc, r)
		if err != nil {
			return err
		}
		g := &m.cfg.Groups[i]
		rules := &g.Egress
		if ingress {
			rules = &g.Ingress
		}
		for k, x := range *rules {
			if sameRule(x, er) {
				*rules = slices.Delete(*rules, k, k+1)
				return nil
			}
		}
		var have []string
		for _, x := range *rules {
			have = append(have, m.describe(x))
		}
		return fmt.Errorf("InvalidPermission.NotFound: security group %s has no %s rule %s (it has: %s)", m.groups[i].name, direction, spec, strings.Join(have, "; "))
	})
}

// sameRule compares what a rule matches, not its description, as AWS does when revoking.
func sameRule(a, b sgengine.Rule) bool {
	a.Description, b.Description = "", ""
	norm := func(r *sgengine.Rule) {
		if r.Proto == -1 || (r.Proto != 6 && r.Proto != 17 && r.Proto != 1 && r.Proto != 58) {
			r.FromPort, r.ToPort = 0, 0
		}
	}
	norm(&a)
	norm(&b)
	return a == b
}

// AttachGroup adds a group to an ENI ("web-1" or "router.eth1"); DetachGroup removes it. An ENI
// keeps at least one group, as in EC2.
func (l *Lab) AttachGroup(target, group string) error { return l.setGroups(target, group, true) }

// DetachGroup removes a group from an ENI.
func (l *Lab) DetachGroup(target, group string) error { return l.setGroups(target, group, false) }

func (l *Lab) setGroups(target, group string, attach bool) error {
	idx, err := l.findENILocked(target)
	if err != nil {
		return err
	}
	st := l.Engine.State()
	vpc := st.VPCs[st.ENIs[idx].VPC].Name
	return l.changeSG(func(m *sgModel) error {
		i, err := m.find(vpc + "/" + group)
		if err != nil {
			return err
		}
		id := m.groups[i].id
		e := &m.cfg.ENIs[idx]
		has := slices.Contains(e.Groups, id)
		switch {
		case attach && has:
			return fmt.Errorf("%s already has security group %s", target, group)
		case attach:
			limit := m.limits.SecurityGroupsPerENI
			if limit == 0 {
				limit = scenarios.DefaultSecurityGroupsPerENI
			}
			if len(e.Groups) >= limit {
				return fmt.Errorf("SecurityGroupsPerInterfaceLimitExceeded: %s has %d groups, the limit is %d", target, len(e.Groups), limit)
			}
			e.Groups = append(e.Groups, id)
		case !has:
			return fmt.Errorf("%s does not have security group %s", target, group)
		case len(e.Groups) == 1:
			return fmt.Errorf("%s would be left with no security group; attach another first (an ENI always has at least one)", target)
		default:
			e.Groups = slices.DeleteFunc(e.Groups, func(g string) bool { return g == id })
		}
		return nil
	})
}

// GroupStatus is one security group as status shows it.
type GroupStatus struct {
	Name    string   `json:"name"`
	VPC     string   `json:"vpc"`
	ID      string   `json:"id"`
	Ingress []string `json:"ingress"`
	Egress  []string `json:"egress"`
}

func (l *Lab) groupStatus() []GroupStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.Plan.sg
	var out []GroupStatus
	for i, g := range m.cfg.Groups {
		gs := GroupStatus{Name: m.groups[i].name, VPC: m.groups[i].vpc, ID: g.ID, Ingress: []string{}, Egress: []string{}}
		for _, r := range g.Ingress {
			gs.Ingress = append(gs.Ingress, m.describe(r))
		}
		for _, r := range g.Egress {
			gs.Egress = append(gs.Egress, m.describe(r))
		}
		out = append(out, gs)
	}
	return out
}

// describe renders a rule with group and prefix-list names instead of IDs.
func (m *sgModel) describe(r sgengine.Rule) string {
	if r.Group != "" {
		for _, g := range m.groups {
			if g.id == r.Group {
				r.Group = g.name
			}
		}
	}
	for name, id := range m.lists {
		if id == r.PrefixList {
			r.PrefixList = name
		}
	}
	return r.String()
}

// eniGroupNames lists the names of ENI idx's groups.
func (l *Lab) eniGroupNames(idx uint32) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.Plan.sg
	var names []string
	for _, id := range m.cfg.ENIs[idx].Groups {
		for _, g := range m.groups {
			if g.id == id {
				names = append(names, g.name)
			}
		}
	}
	return names
}
