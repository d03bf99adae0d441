package nacl

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Action is what a rule does with the packets it matches. The zero value is invalid, so a rule
// built without one fails validation instead of silently denying.
type Action uint8

const (
	Allow Action = iota + 1
	Deny
)

func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// Protocol numbers with a meaning of their own in a rule.
const (
	ProtoAll    = -1
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// Rule numbers.
const (
	MinRule = 1
	MaxRule = 32766
	// DenyIPv4 and DenyIPv6 are the numbers AWS's API gives the implicit `*` rule.
	DenyIPv4 = 32767
	DenyIPv6 = 32768
)

// Entry is one numbered rule (AWS's NetworkAclEntry).
type Entry struct {
	Number int // 1-32766
	Egress bool
	Action Action
	// Proto is -1 for every protocol or an IANA number 0-255.
	Proto int
	// FromPort and ToPort bound the destination port for TCP and UDP; other protocols ignore
	// them.
	FromPort, ToPort int
	// ICMPType and ICMPCode restrict ICMP (and ICMPv6 with an IPv6 CIDR); -1 means any.
	ICMPType, ICMPCode int
	CIDR               netip.Prefix
}

// IPv6 says which rule set the entry belongs to.
func (e *Entry) IPv6() bool { return e.CIDR.Addr().Is6() }

// hasPortCond and hasICMPCond say whether the rule looks at the packet's layer-4 fields at
// all; every other rule matches regardless of them (§1.3).
func (e *Entry) hasPortCond() bool { return e.Proto == ProtoTCP || e.Proto == ProtoUDP }

func (e *Entry) hasICMPCond() bool {
	return e.Proto == ProtoICMP || e.Proto == ProtoICMPv6 && e.IPv6()
}

// ACL is a network ACL: its rules in both directions and families, without the implicit `*`
// rules.
type ACL struct {
	ID, Name string
	// Default marks the VPC's default ACL, used by every subnet without an association.
	Default bool
	Entries []Entry
}

// label names the ACL in errors, as precisely as it can.
func (a *ACL) label() string {
	switch {
	case a.Name != "" && a.ID != "" && a.Name != a.ID:
		return fmt.Sprintf("network ACL %q (%s)", a.Name, a.ID)
	case a.Name != "":
		return fmt.Sprintf("network ACL %q", a.Name)
	default:
		return fmt.Sprintf("network ACL %q", a.ID)
	}
}

func direction(egress bool) string {
	if egress {
		return "outbound"
	}
	return "inbound"
}

func allTraffic(number int, egress bool, cidr string) Entry {
	return Entry{Number: number, Egress: egress, Action: Allow, Proto: ProtoAll,
		ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix(cidr)}
}

// DefaultACL is the ACL a VPC comes with: rule 100 allows all IPv4 traffic in and out, and,
// when the VPC has an IPv6 CIDR, rule 101 allows all IPv6 traffic. (AWS adds rule 101 when an
// IPv6 CIDR is associated only if the rules of that direction were never modified; a caller
// that models that history adds the rule itself.)
func DefaultACL(id, name string, ipv6 bool) ACL {
	a := ACL{ID: id, Name: name, Default: true, Entries: []Entry{
		allTraffic(100, false, "0.0.0.0/0"),
		allTraffic(100, true, "0.0.0.0/0"),
	}}
	if ipv6 {
		a.Entries = append(a.Entries, allTraffic(101, false, "::/0"), allTraffic(101, true, "::/0"))
	}
	return a
}

// NewCustom is a newly created ACL: no rules, so the `*` rules deny everything until rules are
// added.
func NewCustom(id, name string) ACL {
	return ACL{ID: id, Name: name}
}

// Limits are the quotas that [Check] enforces.
type Limits struct {
	// RulesPerDirection is AWS's "rules per network ACL" quota: the rules of one direction and
	// one family, counting the `*` rule. 0 means AWS's default, 20; AWS raises it to 40 at most.
	RulesPerDirection int
}

const (
	defaultRuleLimit = 20
	maxRuleLimit     = 40
	// maxSetRules is what one uint64 rule set holds; Compile refuses more even without limits.
	maxSetRules = 64
)

func (l Limits) rules() (int, error) {
	switch n := l.RulesPerDirection; {
	case n == 0:
		return defaultRuleLimit, nil
	case n < 1 || n > maxRuleLimit:
		return 0, fmt.Errorf("network ACL rule limit %d: want 1-%d (AWS's default is %d, adjustable to %d)",
			n, maxRuleLimit, defaultRuleLimit, maxRuleLimit)
	default:
		return n, nil
	}
}

// Check validates an ACL as AWS's API would and returns a copy with every CIDR canonicalised,
// a warning for each rule that was changed or that matches more than it may seem to, and all
// errors joined, each naming the ACL and the rule.
func Check(a ACL, lim Limits) (ACL, []string, error) {
	limit, err := lim.rules()
	if err != nil {
		return a, nil, err
	}
	return check(a, limit)
}

func check(a ACL, limit int) (ACL, []string, error) {
	var errs []error
	var warns []string
	out := a
	out.Entries = slices.Clone(a.Entries)
	seen := map[[2]int]bool{}
	var count [2][2]int // [egress][ipv6]
	for i := range out.Entries {
		e := &out.Entries[i]
		where := fmt.Sprintf("%s: %s rule %d", a.label(), direction(e.Egress), e.Number)
		bad := func(format string, args ...any) {
			errs = append(errs, errors.New(where+": "+fmt.Sprintf(format, args...)))
		}
		if e.Number < MinRule || e.Number > MaxRule {
			bad("number %d is outside %d-%d (%d and %d are the implicit * rules)",
				e.Number, MinRule, MaxRule, DenyIPv4, DenyIPv6)
		}
		k := [2]int{e.Number, b2i(e.Egress)}
		if seen[k] {
			bad("duplicate rule number %d; numbers are unique per direction", e.Number)
		}
		seen[k] = true
		if e.Action != Allow && e.Action != Deny {
			bad("action %v: want allow or deny", e.Action)
		}
		if e.Proto < ProtoAll || e.Proto > 255 {
			bad("protocol %d: want -1 (all) or 0-255", e.Proto)
		}
		if !e.CIDR.IsValid() {
			bad("no CIDR: want an IPv4 or IPv6 CIDR such as 0.0.0.0/0 or ::/0")
			continue
		}
		if m := e.CIDR.Masked(); m != e.CIDR {
			warns = append(warns, fmt.Sprintf("%s: CIDR %s has host bits set; using %s as AWS does", where, e.CIDR, m))
			e.CIDR = m
		}
		count[b2i(e.Egress)][b2i(e.IPv6())]++
		switch {
		case e.hasPortCond():
			if e.FromPort < 0 || e.FromPort > 65535 || e.ToPort < 0 || e.ToPort > 65535 {
				bad("port range %d-%d: want ports 0-65535", e.FromPort, e.ToPort)
			} else if e.FromPort > e.ToPort {
				bad("port range %d-%d is reversed: want from <= to", e.FromPort, e.ToPort)
			}
		case e.hasICMPCond():
			if e.ICMPType < -1 || e.ICMPType > 255 || e.ICMPCode < -1 || e.ICMPCode > 255 {
				bad("ICMP type %d code %d: want -1 (any) or 0-255 for each", e.ICMPType, e.ICMPCode)
			} else if e.ICMPType == -1 && e.ICMPCode != -1 {
				bad("ICMP code %d without a type: give a type, or -1 for both", e.ICMPCode)
			}
		case e.Proto == ProtoICMPv6:
			warns = append(warns, fmt.Sprintf("%s: ICMPv6 with the IPv4 CIDR %s matches every type and code", where, e.CIDR))
		}
	}
	for eg := range 2 {
		for v6 := range 2 {
			if n := count[eg][v6] + 1; n > limit {
				fam := "IPv4"
				if v6 == 1 {
					fam = "IPv6"
				}
				errs = append(errs, fmt.Errorf("%s: %d %s %s rules with the * rule, over the limit of %d (AWS's quota counts the * rule; raise Limits.RulesPerDirection up to %d)",
					a.label(), n, direction(eg == 1), fam, limit, maxRuleLimit))
			}
		}
	}
	return out, warns, errors.Join(errs...)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
