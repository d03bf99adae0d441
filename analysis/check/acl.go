package check

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ec2sim/ec2sim/nacl"
	"github.com/ec2sim/ec2sim/scenarios"
)

// aclRules converts a scenario ACL to the nacl package's form, keeping each entry's position.
func aclRules(a *scenarios.NetworkACL) (nacl.ACL, map[[2]int]scenarios.Pos) {
	acl := nacl.ACL{ID: a.VPC + "/" + a.Name, Name: a.VPC + "/" + a.Name, Default: a.Default}
	pos := map[[2]int]scenarios.Pos{}
	for k, list := range [][]*scenarios.ACLEntry{a.Ingress, a.Egress} {
		for _, e := range list {
			action := nacl.Deny
			if e.Allow {
				action = nacl.Allow
			}
			acl.Entries = append(acl.Entries, nacl.Entry{Number: e.Number, Egress: k == 1, Action: action, Proto: e.Proto,
				FromPort: e.FromPort, ToPort: e.ToPort, ICMPType: e.ICMPType, ICMPCode: e.ICMPCode, CIDR: e.CIDR})
			pos[[2]int{k, e.Number}] = e.Pos
		}
	}
	return acl, pos
}

// ruleSet is the rules of one direction and family, lowest number first.
func ruleSet(acl nacl.ACL, egress, v6 bool) []nacl.Entry {
	var out []nacl.Entry
	for _, e := range acl.Entries {
		if e.Egress == egress && e.IPv6() == v6 {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b nacl.Entry) int { return a.Number - b.Number })
	return out
}

func hasPortCond(e *nacl.Entry) bool {
	return e.Proto == nacl.ProtoTCP || e.Proto == nacl.ProtoUDP
}

func hasICMPCond(e *nacl.Entry) bool {
	return e.Proto == nacl.ProtoICMP || e.Proto == nacl.ProtoICMPv6 && e.IPv6()
}

// entryContains reports whether every packet b matches is matched by a (rules of one family).
func entryContains(a, b *nacl.Entry) bool {
	if a.CIDR.Bits() > b.CIDR.Bits() || !a.CIDR.Contains(b.CIDR.Addr()) {
		return false
	}
	if a.Proto == nacl.ProtoAll {
		return true
	}
	if a.Proto != b.Proto {
		return false
	}
	switch {
	case hasPortCond(a):
		return a.FromPort <= b.FromPort && b.ToPort <= a.ToPort
	case hasICMPCond(a):
		return a.ICMPType == -1 || a.ICMPType == b.ICMPType && (a.ICMPCode == -1 || a.ICMPCode == b.ICMPCode)
	}
	return true
}

// witnesses are packets that stand for every packet a set of rules can tell apart: in each
// dimension, the starts of the elementary intervals the rules' bounds cut it into.
type witnesses struct {
	addrs  []netip.Addr
	protos []int
	ports  []int // tcp and udp destination ports
	types  []int // ICMP types
	codes  []int // ICMP codes
}

// boundaries adds lo and hi+1 (when it is at most max) to set.
func boundaries(set map[int]bool, lo, hi, max int) {
	set[lo] = true
	if hi < max {
		set[hi+1] = true
	}
}

func sortedKeys[K netip.Addr | int](m map[K]bool, cmp func(a, b K) int) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, cmp)
	return out
}

func intCmp(a, b int) int { return a - b }

// witnessesOf computes the witnesses of rules (of one family, any direction).
func witnessesOf(v6 bool, rules ...[]nacl.Entry) witnesses {
	zero := netip.IPv4Unspecified()
	if v6 {
		zero = netip.IPv6Unspecified()
	}
	addrs := map[netip.Addr]bool{zero: true}
	protos := map[int]bool{}
	ports := map[int]bool{0: true}
	types := map[int]bool{0: true}
	codes := map[int]bool{0: true}
	for _, list := range rules {
		for i := range list {
			e := &list[i]
			s := prefixSpan(e.CIDR)
			addrs[s.lo] = true
			if n := s.hi.Next(); n.IsValid() {
				addrs[n] = true
			}
			if e.Proto >= 0 {
				protos[e.Proto] = true
			}
			switch {
			case hasPortCond(e):
				boundaries(ports, e.FromPort, e.ToPort, 65535)
			case hasICMPCond(e):
				if e.ICMPType >= 0 {
					boundaries(types, e.ICMPType, e.ICMPType, 255)
				}
				if e.ICMPCode >= 0 {
					boundaries(codes, e.ICMPCode, e.ICMPCode, 255)
				}
			}
		}
	}
	// One protocol no rule names stands for all of them (only -1 rules match it).
	for p := 255; p >= 0; p-- {
		if !protos[p] {
			protos[p] = true
			break
		}
	}
	return witnesses{addrs: sortedKeys(addrs, netip.Addr.Compare), protos: sortedKeys(protos, intCmp),
		ports: sortedKeys(ports, intCmp), types: sortedKeys(types, intCmp), codes: sortedKeys(codes, intCmp)}
}

// each calls f with one packet per witness combination, the peer address in the place the
// direction looks at.
func (w *witnesses) each(egress bool, f func(p *nacl.Packet)) {
	var p nacl.Packet
	p.HasPorts = true
	for _, a := range w.addrs {
		if egress {
			p.Src, p.Dst = netip.Addr{}, a
		} else {
			p.Src, p.Dst = a, netip.Addr{}
		}
		for _, proto := range w.protos {
			p.Proto = uint8(proto)
			p.DstPort, p.ICMPType, p.ICMPCode = 0, 0, 0
			switch proto {
			case nacl.ProtoTCP, nacl.ProtoUDP:
				for _, port := range w.ports {
					p.DstPort = uint16(port)
					f(&p)
				}
			case nacl.ProtoICMP, nacl.ProtoICMPv6:
				for _, t := range w.types {
					for _, c := range w.codes {
						p.ICMPType, p.ICMPCode = uint8(t), uint8(c)
						f(&p)
					}
				}
			default:
				f(&p)
			}
		}
	}
}

// liveRules returns the numbers of the rules of one direction and family that are the first
// match of some packet, as the compiled evaluator decides.
func liveRules(c *nacl.Compiled, egress bool, w *witnesses) map[int]bool {
	live := map[int]bool{}
	w.each(egress, func(p *nacl.Packet) {
		if r := c.Evaluate(egress, p); !r.Implicit {
			live[r.Rule] = true
		}
	})
	return live
}

// aclCheck holds one ACL under examination.
type aclCheck struct {
	r    *report
	v    *scenarios.VPC
	a    *scenarios.NetworkACL
	c    *nacl.Compiled
	pos  map[[2]int]scenarios.Pos
	name string
}

func (k *aclCheck) object(e *nacl.Entry) string {
	dir := "ingress"
	if e.Egress {
		dir = "egress"
	}
	return fmt.Sprintf("%s %s rule %d", k.name, dir, e.Number)
}

func (k *aclCheck) at(e *nacl.Entry) scenarios.Pos { return k.pos[[2]int{b2i(e.Egress), e.Number}] }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// networkACL reports the findings about one ACL.
func (r *report) networkACL(v *scenarios.VPC, a *scenarios.NetworkACL, used bool) error {
	acl, pos := aclRules(a)
	c, _, err := nacl.Compile(acl, nacl.Limits{RulesPerDirection: 40})
	if err != nil {
		return fmt.Errorf("network ACL %s/%s at %s: %w", v.Name, a.Name, a.Pos, err)
	}
	k := &aclCheck{r: r, v: v, a: a, c: c, pos: pos, name: "network ACL " + v.Name + "/" + a.Name}
	if !used && !a.Default {
		r.addf("EC2SIM-NACL-007", a.Pos, k.name, "associate it with the subnets it was written for (network_acl: "+a.Name+"), or delete it",
			"network ACL %s/%s is associated with no subnet", v.Name, a.Name)
	}
	for _, v6 := range []bool{false, true} {
		in, out := ruleSet(acl, false, v6), ruleSet(acl, true, v6)
		if len(in)+len(out) == 0 {
			continue
		}
		w := witnessesOf(v6, in, out)
		for _, rules := range [][]nacl.Entry{in, out} {
			for i := range rules {
				if proto, fam := familyMismatch(&rules[i]); proto != "" {
					r.addf("EC2SIM-NACL-008", k.at(&rules[i]), k.object(&rules[i]), "use icmp with IPv4 CIDRs and icmpv6 with IPv6 CIDRs",
						"%s pairs protocol %s with an IPv%d CIDR: it matches no real traffic", rules[i], proto, fam)
				}
			}
		}
		k.deadRules(in, false, &w)
		k.deadRules(out, true, &w)
		k.adminFromWorld(in, &w)
		k.replies(in, out, false, &w)
		k.replies(out, in, true, &w)
		k.pmtud(in, out, &w)
	}
	return nil
}

// familyMismatch names the protocol of an ICMP rule whose CIDR is of the other family.
func familyMismatch(e *nacl.Entry) (string, int) {
	switch {
	case e.Proto == nacl.ProtoICMP && e.IPv6():
		return "icmp", 6
	case e.Proto == nacl.ProtoICMPv6 && !e.IPv6():
		return "icmpv6", 4
	}
	return "", 0
}

// deadRules reports the rules of one direction and family that are never the first match.
func (k *aclCheck) deadRules(rules []nacl.Entry, egress bool, w *witnesses) {
	live := liveRules(k.c, egress, w)
	for i := range rules {
		e := &rules[i]
		if live[e.Number] {
			continue
		}
		j := slices.IndexFunc(rules[:i], func(o nacl.Entry) bool { return entryContains(&o, e) })
		switch {
		case j >= 0 && rules[j].Action != e.Action:
			k.r.addf("EC2SIM-NACL-002", k.at(e), k.object(e), fmt.Sprintf("renumber rule %d below %d if it is meant to win, or delete it", e.Number, rules[j].Number),
				"rule %d (%s) never takes effect: rule %d (%s) matches every packet it matches and does the opposite", e.Number, e, rules[j].Number, &rules[j])
		case j >= 0:
			k.r.addf("EC2SIM-NACL-003", k.at(e), k.object(e), "delete the rule",
				"rule %d (%s) is redundant: rule %d (%s) matches every packet it matches and %s them too", e.Number, e, rules[j].Number, &rules[j], verb(e.Action))
		default:
			var by []string
			for _, o := range rules[:i] {
				if overlaps(&o, e) {
					by = append(by, fmt.Sprint(o.Number))
				}
			}
			k.r.addf("EC2SIM-NACL-004", k.at(e), k.object(e), "delete the rule, or renumber it below the rules that take its packets",
				"rule %d (%s) can never match: every packet it matches is taken first by one of rules %s", e.Number, e, strings.Join(by, ", "))
		}
	}
}

// overlaps reports whether some packet matches both a and b (of one family).
func overlaps(a, b *nacl.Entry) bool {
	if !a.CIDR.Overlaps(b.CIDR) {
		return false
	}
	if a.Proto == nacl.ProtoAll || b.Proto == nacl.ProtoAll {
		return true
	}
	if a.Proto != b.Proto {
		return false
	}
	switch {
	case hasPortCond(a):
		return a.FromPort <= b.ToPort && b.FromPort <= a.ToPort
	case hasICMPCond(a):
		return (a.ICMPType == -1 || b.ICMPType == -1 || a.ICMPType == b.ICMPType) &&
			(a.ICMPCode == -1 || b.ICMPCode == -1 || a.ICMPCode == b.ICMPCode)
	}
	return true
}

// verb is the action as a verb of the third person: allows, denies.
func verb(a nacl.Action) string {
	if a == nacl.Deny {
		return "denies"
	}
	return "allows"
}
