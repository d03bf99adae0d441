package sgengine

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Protocol numbers with port or type/code semantics in rules.
const (
	ProtoAll    = -1
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// Rule is one security group rule (one IpPermission entry). Exactly one of CIDR, Group and
// PrefixList names the peer: the source of an ingress rule, the destination of an egress rule.
type Rule struct {
	// Proto is -1 for all protocols or an IP protocol number 0-255.
	Proto int
	// FromPort and ToPort are an inclusive port range for TCP and UDP (0-65535). For ICMP and
	// ICMPv6 FromPort is the type and ToPort the code, -1 meaning any. Other protocols, and
	// -1, match all ports whatever the range says.
	FromPort, ToPort int
	CIDR             netip.Prefix
	// Group is a security group ID; the rule matches the private IPs of every ENI carrying it.
	Group string
	// PrefixList is the ID of an entry of Config.PrefixLists.
	PrefixList  string
	Description string
}

// Group is a security group.
type Group struct {
	ID, Name string
	Ingress  []Rule
	Egress   []Rule
}

// ENIConfig is what the policy needs to know about one ENI.
type ENIConfig struct {
	// Index is the engine's ENI index; Egress and Ingress are called with it.
	Index uint32
	// Groups are the IDs of the security groups attached to the ENI, at most MaxGroupsPerENI.
	Groups []string
	// PrivateIPs are the addresses that rules referencing one of Groups match.
	PrivateIPs []netip.Addr
	// PublicIPs (public and Elastic IPs) are never matched by group references; they are listed
	// only so that configurations say what they mean.
	PublicIPs []netip.Addr
	// Timeouts are the idle timeouts of the ENI's tracked flows; zero fields take the defaults.
	Timeouts Timeouts
	// Allowance is the maximum number of tracked entries; 0 means DefaultAllowance.
	Allowance int
}

// Config is everything Compile needs: the groups, the prefix lists they name and the ENIs.
type Config struct {
	Groups      []Group
	PrefixLists map[string][]netip.Prefix
	ENIs        []ENIConfig
	// RelatedICMP admits ICMP errors that quote a packet of a tracked flow, as Linux conntrack
	// does. Off by default: AWS documents that PMTUD needs an inbound ICMP rule.
	RelatedICMP bool
}

// Limits of the model. The AWS quotas (60 rules per group and direction, 5 groups per ENI) are
// the scenario validator's business; these only bound the compiled representation.
const (
	// MaxGroupsPerENI is AWS's adjustable maximum of security groups per ENI.
	MaxGroupsPerENI = 16
	// MaxENIIndex bounds ENI indices, which index a dense slice in the Policy.
	MaxENIIndex = 1<<20 - 1
	// maxGroups and maxRules follow from the layout of RuleRef.
	maxGroups = 1<<15 - 1
	maxRules  = 1 << 16
	// DefaultAllowance is the tracked-entry maximum of an ENI whose Allowance is 0. AWS does not
	// publish per-instance-type figures; this is a guess in their range.
	DefaultAllowance = 1 << 19
)

// ParseProtocol reads an IpProtocol value as the EC2 API takes it: a name (tcp, udp, icmp,
// icmpv6, all, case-insensitive), -1, or a number 0-255.
func ParseProtocol(s string) (int, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "tcp":
		return ProtoTCP, nil
	case "udp":
		return ProtoUDP, nil
	case "icmp":
		return ProtoICMP, nil
	case "icmpv6", "ipv6-icmp":
		return ProtoICMPv6, nil
	case "all", "-1":
		return ProtoAll, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("protocol %q: want tcp, udp, icmp, icmpv6, all, -1 or a number 0-255", s)
	}
	return n, nil
}

// ProtocolName is the inverse of ParseProtocol, for messages and traces.
func ProtocolName(p int) string {
	switch p {
	case ProtoAll:
		return "all"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmpv6"
	}
	return strconv.Itoa(p)
}

// String renders the rule the way the console lists it, for traces.
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString(ProtocolName(r.Proto))
	switch r.Proto {
	case ProtoTCP, ProtoUDP:
		if r.FromPort == r.ToPort {
			fmt.Fprintf(&b, " %d", r.FromPort)
		} else {
			fmt.Fprintf(&b, " %d-%d", r.FromPort, r.ToPort)
		}
	case ProtoICMP, ProtoICMPv6:
		fmt.Fprintf(&b, " type %d code %d", r.FromPort, r.ToPort)
	}
	switch {
	case r.Group != "":
		b.WriteString(" " + r.Group)
	case r.PrefixList != "":
		b.WriteString(" " + r.PrefixList)
	default:
		b.WriteString(" " + r.CIDR.String())
	}
	return b.String()
}

// validate checks one rule; where says which group, direction and index it is.
func (r *Rule) validate(where string, groups map[string]int, lists map[string][]netip.Prefix) error {
	peers := 0
	if r.CIDR.IsValid() {
		peers++
		if r.CIDR != r.CIDR.Masked() {
			return fmt.Errorf("%s: CIDR %s has host bits set; did you mean %s?", where, r.CIDR, r.CIDR.Masked())
		}
	}
	if r.Group != "" {
		peers++
		if _, ok := groups[r.Group]; !ok {
			return fmt.Errorf("%s: references security group %q, which is not defined in the configuration", where, r.Group)
		}
	}
	if r.PrefixList != "" {
		peers++
		if _, ok := lists[r.PrefixList]; !ok {
			return fmt.Errorf("%s: references prefix list %q, which is not defined in the configuration", where, r.PrefixList)
		}
	}
	if peers != 1 {
		return fmt.Errorf("%s: names %d peers; a rule names exactly one of a CIDR, a security group or a prefix list", where, peers)
	}
	switch r.Proto {
	case ProtoTCP, ProtoUDP:
		if r.FromPort < 0 || r.ToPort > 65535 || r.FromPort > r.ToPort {
			return fmt.Errorf("%s: %s port range %d-%d is invalid; want 0 <= from <= to <= 65535",
				where, ProtocolName(r.Proto), r.FromPort, r.ToPort)
		}
	case ProtoICMP, ProtoICMPv6:
		if r.FromPort < -1 || r.FromPort > 255 || r.ToPort < -1 || r.ToPort > 255 {
			return fmt.Errorf("%s: %s type %d code %d is invalid; want -1 (any) or 0-255 for each",
				where, ProtocolName(r.Proto), r.FromPort, r.ToPort)
		}
		if r.FromPort == -1 && r.ToPort != -1 {
			return fmt.Errorf("%s: %s code %d with type -1; with any type the code must be -1 too",
				where, ProtocolName(r.Proto), r.ToPort)
		}
	default:
		if r.Proto < -1 || r.Proto > 255 {
			return fmt.Errorf("%s: protocol %d is invalid; want -1 (all) or 0-255", where, r.Proto)
		}
	}
	return nil
}

// validate checks the configuration as a whole and returns the group index by ID.
func (c *Config) validate() (map[string]int, error) {
	if len(c.Groups) > maxGroups {
		return nil, fmt.Errorf("%d security groups; at most %d fit in one policy", len(c.Groups), maxGroups)
	}
	for id, pl := range c.PrefixLists {
		for _, p := range pl {
			if !p.IsValid() || p != p.Masked() {
				return nil, fmt.Errorf("prefix list %q: entry %s is not a valid CIDR without host bits", id, p)
			}
		}
	}
	groups := make(map[string]int, len(c.Groups))
	for i := range c.Groups {
		g := &c.Groups[i]
		if g.ID == "" {
			return nil, fmt.Errorf("security group %d (%q) has no ID", i, g.Name)
		}
		if _, dup := groups[g.ID]; dup {
			return nil, fmt.Errorf("security group %q is defined twice", g.ID)
		}
		groups[g.ID] = i
	}
	for i := range c.Groups {
		g := &c.Groups[i]
		for dir, rules := range [2][]Rule{g.Egress, g.Ingress} {
			if len(rules) > maxRules {
				return nil, fmt.Errorf("security group %q: %d %s rules; at most %d fit", g.ID, len(rules), dirName[dir], maxRules)
			}
			for j := range rules {
				where := fmt.Sprintf("security group %q %s rule %d", g.ID, dirName[dir], j)
				if err := rules[j].validate(where, groups, c.PrefixLists); err != nil {
					return nil, err
				}
			}
		}
	}
	seen := make(map[uint32]bool, len(c.ENIs))
	for i := range c.ENIs {
		e := &c.ENIs[i]
		if e.Index > MaxENIIndex {
			return nil, fmt.Errorf("ENI index %d is too large; want at most %d", e.Index, MaxENIIndex)
		}
		if seen[e.Index] {
			return nil, fmt.Errorf("ENI index %d is configured twice", e.Index)
		}
		seen[e.Index] = true
		if len(e.Groups) > MaxGroupsPerENI {
			return nil, fmt.Errorf("ENI %d has %d security groups; at most %d are allowed", e.Index, len(e.Groups), MaxGroupsPerENI)
		}
		for _, id := range e.Groups {
			if _, ok := groups[id]; !ok {
				return nil, fmt.Errorf("ENI %d: security group %q is not defined in the configuration", e.Index, id)
			}
		}
		for _, a := range e.PrivateIPs {
			if !a.IsValid() || a.Zone() != "" {
				return nil, fmt.Errorf("ENI %d: private IP %v is not a valid address without zone", e.Index, a)
			}
		}
		if e.Allowance < 0 {
			return nil, fmt.Errorf("ENI %d: allowance %d is negative; want 0 (default %d) or a positive maximum", e.Index, e.Allowance, DefaultAllowance)
		}
		if err := e.Timeouts.Validate(); err != nil {
			return nil, fmt.Errorf("ENI %d: %w", e.Index, err)
		}
	}
	return groups, nil
}
