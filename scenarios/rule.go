package scenarios

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// How a protocol uses a rule's port fields.
const (
	portsNone  = iota // AWS ignores ports: all, and numbers other than tcp/udp/icmp/icmpv6
	portsRange        // tcp, udp: a port range
	portsICMP         // icmp, icmpv6: type and code
)

func portKind(proto int) int {
	switch proto {
	case ProtoTCP, ProtoUDP:
		return portsRange
	case ProtoICMP, ProtoICMPv6:
		return portsICMP
	}
	return portsNone
}

const protoHelp = "tcp, udp, icmp, icmpv6, all (or -1), or a protocol number 0-255"

// ParseProto reads a protocol as AWS's IpProtocol does: a name, -1 for all, or a number 0-255.
// Importers of AWS data use it so that they read protocols exactly as the loader does.
func ParseProto(s string) (int, error) { return parseProto(s) }

func parseProto(s string) (int, error) {
	switch s {
	case "tcp":
		return ProtoTCP, nil
	case "udp":
		return ProtoUDP, nil
	case "icmp":
		return ProtoICMP, nil
	case "icmpv6":
		return ProtoICMPv6, nil
	case "all", "-1":
		return ProtoAll, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 || s != strconv.Itoa(n) {
		return 0, fmt.Errorf("protocol %q: want %s", s, protoHelp)
	}
	return n, nil
}

// ProtoName is the name the format uses for a protocol number: tcp, udp, icmp, icmpv6, all, or
// the number.
func ProtoName(proto int) string {
	switch proto {
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
	return strconv.Itoa(proto)
}

const portsHelp = "a port (80), a range (1024-65535) or all"

// parsePortRange reads "80", "1024-65535" or "all". Whether the numbers are in range is for
// validation to say, so that a reversed range gets its own message.
func parsePortRange(s string) (from, to int, err error) {
	if s == "all" {
		return 0, 65535, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	from, err1 := strconv.Atoi(a)
	to, err2 := from, error(nil)
	if isRange {
		to, err2 = strconv.Atoi(b)
	}
	if err1 != nil || err2 != nil || strings.HasPrefix(a, "+") || strings.HasPrefix(b, "+") {
		return 0, 0, fmt.Errorf("ports %q: want %s", s, portsHelp)
	}
	return from, to, nil
}

// ruleProblem is a problem with one field of a rule; the caller knows where that field is.
type ruleProblem struct {
	field string
	msg   string
}

// checkRule checks what can be checked of a rule on its own: protocol, ports, one target,
// canonical CIDR, names and description. References are checked against the scenario elsewhere.
func checkRule(r *Rule) []ruleProblem {
	var out []ruleProblem
	bad := func(field, format string, args ...any) {
		out = append(out, ruleProblem{field, fmt.Sprintf(format, args...)})
	}
	if r.Proto < -1 || r.Proto > 255 {
		bad("proto", "protocol %d: want %s", r.Proto, protoHelp)
	}
	switch portKind(r.Proto) {
	case portsRange:
		switch {
		case r.FromPort < 0 || r.FromPort > 65535 || r.ToPort < 0 || r.ToPort > 65535:
			bad("ports", "port range %d-%d: ports are 0-65535", r.FromPort, r.ToPort)
		case r.FromPort > r.ToPort:
			bad("ports", "port range %d-%d is reversed; want FROM-TO with FROM <= TO, e.g. %d-%d", r.FromPort, r.ToPort, r.ToPort, r.FromPort)
		}
	case portsICMP:
		if r.FromPort < -1 || r.FromPort > 255 {
			bad("icmp_type", "icmp_type %d: want a type 0-255, or -1 for all types", r.FromPort)
		}
		if r.ToPort < -1 || r.ToPort > 255 {
			bad("icmp_code", "icmp_code %d: want a code 0-255, or -1 for all codes", r.ToPort)
		}
		if r.FromPort == -1 && r.ToPort != -1 {
			bad("icmp_code", "icmp_code %d with icmp_type -1 (all types): AWS wants the code -1 too when the type is -1", r.ToPort)
		}
	default:
		if r.FromPort != -1 || r.ToPort != -1 {
			bad("ports", "protocol %s has no ports (AWS allows all of them); want FromPort and ToPort -1", ProtoName(r.Proto))
		}
	}
	targets := 0
	if r.CIDR.IsValid() {
		targets++
		switch {
		case r.CIDR.Addr().Is4In6():
			bad("cidr", "cidr %s is an IPv4-mapped IPv6 prefix; write the IPv4 CIDR instead", r.CIDR)
		case r.CIDR.Masked() != r.CIDR:
			bad("cidr", "cidr %s has host bits set; want %s", r.CIDR, r.CIDR.Masked())
		}
	}
	if r.Group != "" {
		targets++
		// A group of a peered VPC is written VPC/GROUP; the validator checks the peering.
		name := r.Group
		if vpc, g, cross := strings.Cut(r.Group, "/"); cross {
			if err := checkName(vpc); err != nil {
				bad("group", "group %q: vpc: %v", r.Group, err)
			}
			name = g
		}
		if err := checkGroupName(name); err != nil {
			bad("group", "group: %v", err)
		}
	}
	if r.PrefixList != "" {
		targets++
		if err := checkName(r.PrefixList); err != nil {
			bad("prefix_list", "prefix_list: %v", err)
		}
	}
	if targets != 1 {
		bad("", "a rule names exactly one of cidr, group and prefix_list (it names %d)", targets)
	}
	if err := checkAWSDescription(r.Description); err != nil {
		bad("description", "description: %v", err)
	}
	return out
}

// checkAWSDescription applies AWS's limits on security group and rule descriptions.
func checkAWSDescription(s string) error {
	if len(s) > MaxDescriptionLen {
		return fmt.Errorf("%d characters; AWS allows at most %d", len(s), MaxDescriptionLen)
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(" ._-:/()#,@[]+=&;{}!$*", c)
		if !ok {
			return fmt.Errorf("character %q is not allowed; AWS allows a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*", c)
		}
	}
	return nil
}

const ruleSyntax = "PROTO:PORTS:TARGET, e.g. tcp:22:203.0.113.1/32, tcp:1024-65535:sg=web-sg, icmp:8/-1:0.0.0.0/0, all::pl=corp"

// ParseRule reads the one-line form of a rule that the CLI takes:
//
//	PROTO:PORTS:TARGET
//
// PROTO is tcp, udp, icmp, icmpv6, all (or -1) or a number 0-255. PORTS is, for tcp and udp, a
// port (80), a range (1024-65535) or all; for icmp and icmpv6 TYPE or TYPE/CODE (a code left out
// or -1 is any code) or all; for icmpv6 it may be empty (all types); for every other protocol it
// is empty. TARGET is a CIDR (203.0.113.0/24, 2001:db8::/32), sg=GROUP or pl=PREFIXLIST.
//
// Unlike a scenario file, which canonicalises a CIDR with host bits set and warns, ParseRule
// refuses one: a one-line command has nowhere to show a warning. Whether a named group or prefix
// list exists is for the caller to check.
func ParseRule(spec string) (*Rule, error) {
	parts := strings.SplitN(spec, ":", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("rule %q: want %s", spec, ruleSyntax)
	}
	proto, err := parseProto(parts[0])
	if err != nil {
		return nil, fmt.Errorf("rule %q: %v", spec, err)
	}
	r := &Rule{Proto: proto, FromPort: -1, ToPort: -1}
	ports := parts[1]
	switch portKind(proto) {
	case portsRange:
		if ports == "" {
			return nil, fmt.Errorf("rule %q: %s needs ports: %s", spec, ProtoName(proto), portsHelp)
		}
		if r.FromPort, r.ToPort, err = parsePortRange(ports); err != nil {
			return nil, fmt.Errorf("rule %q: %v", spec, err)
		}
	case portsICMP:
		if ports == "" && proto == ProtoICMP {
			return nil, fmt.Errorf("rule %q: icmp needs a type: TYPE, TYPE/CODE or all, e.g. icmp:8:0.0.0.0/0 for ping", spec)
		}
		if ports != "" && ports != "all" {
			t, c, hasCode := strings.Cut(ports, "/")
			if r.FromPort, err = strconv.Atoi(t); err == nil && hasCode {
				r.ToPort, err = strconv.Atoi(c)
			}
			if err != nil {
				return nil, fmt.Errorf("rule %q: ICMP %q: want TYPE, TYPE/CODE or all, with numbers 0-255 or -1 for any", spec, ports)
			}
		}
	default:
		if ports != "" {
			return nil, fmt.Errorf("rule %q: protocol %s has no ports (AWS allows all of them); leave PORTS empty, as in %s::0.0.0.0/0", spec, parts[0], parts[0])
		}
	}
	target := parts[2]
	switch {
	case strings.HasPrefix(target, "sg="):
		r.Group = target[len("sg="):]
		if r.Group == "" {
			return nil, fmt.Errorf("rule %q: sg= needs a security group name", spec)
		}
	case strings.HasPrefix(target, "pl="):
		r.PrefixList = target[len("pl="):]
		if r.PrefixList == "" {
			return nil, fmt.Errorf("rule %q: pl= needs a prefix list name", spec)
		}
	default:
		p, err := parseCIDR(target)
		if err != nil {
			return nil, fmt.Errorf("rule %q: target: %v, sg=GROUP or pl=PREFIXLIST", spec, err)
		}
		if p.Masked() != p {
			return nil, fmt.Errorf("rule %q: CIDR %s has host bits set; write %s for the network or %s/%d for the one address",
				spec, p, p.Masked(), p.Addr(), p.Addr().BitLen())
		}
		r.CIDR = p
	}
	if probs := checkRule(r); len(probs) > 0 {
		return nil, fmt.Errorf("rule %q: %s", spec, probs[0].msg)
	}
	return r, nil
}

// String gives the rule in the one-line form that ParseRule reads (without its description).
func (r *Rule) String() string {
	var ports string
	switch portKind(r.Proto) {
	case portsRange:
		switch {
		case r.FromPort == 0 && r.ToPort == 65535:
			ports = "all"
		case r.FromPort == r.ToPort:
			ports = strconv.Itoa(r.FromPort)
		default:
			ports = strconv.Itoa(r.FromPort) + "-" + strconv.Itoa(r.ToPort)
		}
	case portsICMP:
		switch {
		case r.FromPort == -1 && r.ToPort == -1:
			ports = "all"
		case r.ToPort == -1:
			ports = strconv.Itoa(r.FromPort)
		default:
			ports = strconv.Itoa(r.FromPort) + "/" + strconv.Itoa(r.ToPort)
		}
	}
	return ProtoName(r.Proto) + ":" + ports + ":" + r.target()
}

// target is the rule's source or destination as the one-line form writes it.
func (r *Rule) target() string {
	switch {
	case r.Group != "":
		return "sg=" + r.Group
	case r.PrefixList != "":
		return "pl=" + r.PrefixList
	}
	return r.CIDR.String()
}

// sameTraffic reports whether two rules allow the same traffic to the same target: AWS refuses
// the second as a duplicate (InvalidPermission.Duplicate).
func sameTraffic(a, b *Rule) bool {
	return a.Proto == b.Proto && a.FromPort == b.FromPort && a.ToPort == b.ToPort &&
		a.CIDR == b.CIDR && a.Group == b.Group && a.PrefixList == b.PrefixList
}

// allowAllIPv4 is AWS's default egress rule of a new group.
func allowAllIPv4(at Pos) *Rule {
	return &Rule{Proto: ProtoAll, FromPort: -1, ToPort: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0"), Pos: at}
}
