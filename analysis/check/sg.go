package check

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ec2sim/ec2sim/scenarios"
)

// sgRule is what one security group rule admits: a protocol, its ports or ICMP type and code,
// and a set of peers (addresses, or the members of a group).
type sgRule struct {
	proto int // -1 all
	// lo and hi bound the port for tcp and udp.
	lo, hi int
	// typ and code restrict icmp and icmpv6; -1 is any.
	typ, code int
	group     string       // the peers are the members of this group, "vpc/group"
	groupCIDR netip.Prefix // the CIDR of the group's VPC, which holds every member
	peers     addrSet      // otherwise these addresses
}

// groupKey names the group a rule of vpc references as "vpc/group": a reference is the name of
// a group of the rule's own VPC, or VPC/NAME for a group of a peered VPC.
func groupKey(vpc, ref string) string {
	if strings.Contains(ref, "/") {
		return ref
	}
	return vpc + "/" + ref
}

func portRange(proto int) bool { return proto == scenarios.ProtoTCP || proto == scenarios.ProtoUDP }
func icmpLike(proto int) bool  { return proto == scenarios.ProtoICMP || proto == scenarios.ProtoICMPv6 }

// compileRule resolves a rule of vpc: its peers through the scenario's prefix lists, a group
// reference to the group's VPC.
func compileRule(sc *scenarios.Scenario, vpc string, r *scenarios.Rule) sgRule {
	c := sgRule{proto: r.Proto, lo: r.FromPort, hi: r.ToPort, typ: r.FromPort, code: r.ToPort}
	switch {
	case r.Group != "":
		c.group = groupKey(vpc, r.Group)
		if v := sc.VPC(strings.SplitN(c.group, "/", 2)[0]); v != nil {
			c.groupCIDR = v.CIDR
		}
	case r.CIDR.IsValid():
		c.peers = setOf(r.CIDR)
	case r.PrefixList != "":
		if pl := sc.PrefixList(r.PrefixList); pl != nil {
			c.peers = setOf(pl.Entries...)
		}
	}
	return c
}

// empty reports whether the rule can match no peer at all.
func (r *sgRule) empty() bool { return r.group == "" && len(r.peers) == 0 }

// admits reports whether the rule admits a packet of proto to port (tcp, udp) from some peer.
func (r *sgRule) admits(proto, port int) bool {
	switch {
	case r.proto == scenarios.ProtoAll:
		return true
	case r.proto != proto:
		return false
	case portRange(proto):
		return r.lo <= port && port <= r.hi
	}
	return true
}

// contains reports whether a admits everything b admits. The CIDR of a group's VPC holds every
// member, so a group reference is contained in a CIDR rule that covers that VPC.
func (a *sgRule) contains(b *sgRule) bool {
	if a.proto != scenarios.ProtoAll {
		if a.proto != b.proto {
			return false
		}
		switch {
		case portRange(a.proto):
			if a.lo > b.lo || b.hi > a.hi {
				return false
			}
		case icmpLike(a.proto):
			if a.typ != -1 && (a.typ != b.typ || a.code != -1 && a.code != b.code) {
				return false
			}
		}
	}
	switch {
	case b.group != "":
		return a.group == b.group || a.group == "" && b.groupCIDR.IsValid() && a.peers.covers(setOf(b.groupCIDR))
	case a.group != "":
		return false
	}
	return a.peers.covers(b.peers)
}

// securityGroup reports the findings about one group and its rules.
func (r *report) securityGroup(v *scenarios.VPC, g *scenarios.SecurityGroup) {
	name := "security group " + v.Name + "/" + g.Name
	attached := r.members[v.Name+"/"+g.Name] > 0
	if g.Name == scenarios.DefaultGroup {
		if n := len(g.Ingress) + len(g.Egress); n > 0 {
			how := fmt.Sprintf("it has %d ingress and %d egress rules", len(g.Ingress), len(g.Egress))
			if g.IngressDefaulted || g.Implicit {
				how = "it has AWS's default rules (all traffic from its own members, all IPv4 out)"
			}
			r.addf("EC2SIM-SG-002", g.Pos, name, "declare it with no rules (security_groups: {default: {ingress: [], egress: []}}) and give every ENI a group of its own",
				"the default security group of vpc %s allows traffic: %s", v.Name, how)
		}
	} else if !attached && !referenced(r.sc, v.Name, g.Name) {
		// A group that rules reference but no ENI uses is reported at the references
		// (EC2SIM-SG-005), where the effect is.
		r.addf("EC2SIM-SG-004", g.Pos, name, "delete the group, or list it in the security_groups of the ENIs it was meant for",
			"security group %s/%s is attached to no ENI and referenced by no rule", v.Name, g.Name)
	}
	for _, dir := range []struct {
		name  string
		rules []*scenarios.Rule
	}{{"ingress", g.Ingress}, {"egress", g.Egress}} {
		compiled := make([]sgRule, len(dir.rules))
		for i, rl := range dir.rules {
			compiled[i] = compileRule(r.sc, v.Name, rl)
		}
		for i := range dir.rules {
			obj := fmt.Sprintf("%s %s rule %d", name, dir.name, i+1)
			r.sgRule(v, attached, dir.name, obj, dir.rules, compiled, i)
		}
	}
}

// sgRule reports the findings about rule i of one direction of a group.
func (r *report) sgRule(v *scenarios.VPC, attached bool, dir, obj string, list []*scenarios.Rule, rules []sgRule, i int) {
	rl, c := list[i], &rules[i]
	text := rl.String()
	if pl := r.sc.PrefixList(rl.PrefixList); pl != nil && len(pl.Entries) == 0 {
		r.addf("EC2SIM-PL-001", rl.Pos, obj, "add entries to prefix list "+pl.Name+", or delete the rule",
			"%s references prefix list %s, which has no entries: the rule matches nothing", text, pl.Name)
	}
	if rl.Group != "" && attached && r.members[c.group] == 0 {
		r.addf("EC2SIM-SG-005", rl.Pos, obj, "attach group "+rl.Group+" to the ENIs it stands for, or delete the rule",
			"%s references group %s, which no ENI uses: the rule matches nothing", text, rl.Group)
	}
	if dir == "ingress" && c.peers.world() {
		var admin []string
		for _, p := range adminServices() {
			if c.admits(int(p.proto), int(p.port)) {
				admin = append(admin, p.String())
			}
		}
		switch {
		case len(admin) > 0:
			r.addf("EC2SIM-SG-001", rl.Pos, obj, "admit SSH and RDP from known CIDRs or a group only (or use Session Manager / EC2 Instance Connect endpoints)",
				"%s admits %s from the whole internet", text, strings.Join(admin, " and "))
		case !icmpLike(rl.Proto) && !(portRange(rl.Proto) && rl.FromPort == rl.ToPort && (rl.FromPort == 80 || rl.FromPort == 443)):
			r.addf("EC2SIM-SG-006", rl.Pos, obj, "narrow the source to the clients that need the service, or reference their group",
				"%s admits the whole internet to more than HTTP and HTTPS", text)
		}
	}
	if c.empty() {
		return
	}
	for j := range rules {
		o := &rules[j]
		if j == i || o.empty() || !o.contains(c) {
			continue
		}
		if c.contains(o) && j > i {
			continue // equivalent rules: report the later one only
		}
		r.addf("EC2SIM-SG-003", rl.Pos, obj, "delete the rule, or narrow the broader one if this one says what was meant",
			"%s admits nothing that %s rule %d (%s) does not already admit", text, dir, j+1, list[j])
		return
	}
}

// referenced reports whether a rule of another group, in any VPC, names vpc's group.
func referenced(sc *scenarios.Scenario, vpc, group string) bool {
	key := vpc + "/" + group
	for _, v := range sc.VPCs {
		for _, g := range v.SecurityGroups {
			if v.Name == vpc && g.Name == group {
				continue
			}
			for _, rl := range append(append([]*scenarios.Rule{}, g.Ingress...), g.Egress...) {
				if rl.Group != "" && groupKey(v.Name, rl.Group) == key {
					return true
				}
			}
		}
	}
	return false
}
