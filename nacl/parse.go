package nacl

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// protoNames are the names ParseProtocol accepts besides numbers, and the names String
// writes. IANA keywords, lower case.
var protoNames = [...]struct {
	name  string
	proto int
}{
	{"all", ProtoAll}, {"icmp", ProtoICMP}, {"igmp", 2}, {"ipip", 4}, {"tcp", ProtoTCP},
	{"udp", ProtoUDP}, {"ipv6", 41}, {"gre", 47}, {"esp", 50}, {"ah", 51},
	{"icmpv6", ProtoICMPv6}, {"ospf", 89}, {"pim", 103}, {"vrrp", 112}, {"sctp", 132},
}

// ParseProtocol reads a protocol: all or -1, a name (tcp, udp, icmp, icmpv6, gre, esp, ah,
// sctp, igmp, ipip, ipv6, ospf, pim, vrrp) or a number 0-255.
func ParseProtocol(s string) (int, error) {
	ls := strings.ToLower(s)
	for _, p := range protoNames {
		if ls == p.name {
			return p.proto, nil
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= ProtoAll && n <= 255 {
		return n, nil
	}
	return 0, fmt.Errorf("unknown protocol %q: want all (or -1), tcp, udp, icmp, icmpv6, another IANA name such as gre or esp, or a number 0-255", s)
}

// ProtocolName is the name ParseProtocol reads back: a keyword where there is one, else the
// number.
func ProtocolName(proto int) string {
	for _, p := range protoNames {
		if proto == p.proto {
			return p.name
		}
	}
	return strconv.Itoa(proto)
}

// ParseEntry reads one rule in the one-line syntax described in the package documentation,
// for example "100 allow tcp 443 0.0.0.0/0 in". It checks the syntax and what each word can
// hold; [Check] then judges the rule within its ACL (duplicates, limits, host bits).
func ParseEntry(s string) (Entry, error) {
	f := strings.Fields(s)
	fail := func(format string, args ...any) (Entry, error) {
		return Entry{}, errors.New("network ACL rule " + strconv.Quote(s) + ": " + fmt.Sprintf(format, args...))
	}
	if len(f) != 5 && len(f) != 6 {
		return fail("want NUMBER ACTION PROTOCOL [PORTS|ICMP] CIDR DIRECTION, as in \"100 allow tcp 443 0.0.0.0/0 in\"")
	}
	e := Entry{ICMPType: -1, ICMPCode: -1}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < MinRule || n > MaxRule {
		return fail("rule number %q: want %d-%d", f[0], MinRule, MaxRule)
	}
	e.Number = n
	switch strings.ToLower(f[1]) {
	case "allow":
		e.Action = Allow
	case "deny":
		e.Action = Deny
	default:
		return fail("action %q: want allow or deny", f[1])
	}
	if e.Proto, err = ParseProtocol(f[2]); err != nil {
		return fail("%v", err)
	}
	cidrWord, dirWord := f[len(f)-2], f[len(f)-1]
	if e.CIDR, err = netip.ParsePrefix(cidrWord); err != nil {
		return fail("CIDR %q: want an IPv4 or IPv6 CIDR such as 10.0.0.0/16 or ::/0", cidrWord)
	}
	switch strings.ToLower(dirWord) {
	case "in", "inbound", "ingress":
	case "out", "outbound", "egress":
		e.Egress = true
	default:
		return fail("direction %q: want in or out", dirWord)
	}
	spec, hasSpec := "", len(f) == 6
	if hasSpec {
		spec = f[3]
	}
	switch {
	case e.hasPortCond():
		if !hasSpec {
			return fail("%s needs a port, a range such as 1024-65535, or all", ProtocolName(e.Proto))
		}
		if e.FromPort, e.ToPort, err = parsePorts(spec); err != nil {
			return fail("%v", err)
		}
	case e.hasICMPCond():
		if !hasSpec {
			return fail("%s with %s needs an ICMP type, type:code, or all", ProtocolName(e.Proto), e.CIDR)
		}
		if e.ICMPType, e.ICMPCode, err = parseICMP(spec); err != nil {
			return fail("%v", err)
		}
	case e.Proto == ProtoICMPv6:
		// With an IPv4 CIDR the rule matches every type; a spec is accepted and kept, as the API does.
		if hasSpec {
			if e.ICMPType, e.ICMPCode, err = parseICMP(spec); err != nil {
				return fail("%v", err)
			}
		}
	case hasSpec:
		return fail("protocol %s matches every port, so %q would mislead: leave it out", ProtocolName(e.Proto), spec)
	}
	return e, nil
}

func parsePorts(s string) (from, to int, err error) {
	if strings.EqualFold(s, "all") {
		return 0, 65535, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	from, err1 := strconv.Atoi(lo)
	to, err2 := strconv.Atoi(hi)
	switch {
	case err1 != nil || err2 != nil || from < 0 || to < 0 || from > 65535 || to > 65535:
		return 0, 0, fmt.Errorf("ports %q: want a port 0-65535, a range such as 1024-65535, or all", s)
	case from > to:
		return 0, 0, fmt.Errorf("port range %q is reversed: want from <= to", s)
	}
	return from, to, nil
}

func parseICMP(s string) (typ, code int, err error) {
	t, c, hasCode := strings.Cut(s, ":")
	if !hasCode {
		c = "all"
	}
	num := func(w string) (int, bool) {
		if strings.EqualFold(w, "all") || w == "-1" {
			return -1, true
		}
		n, err := strconv.Atoi(w)
		return n, err == nil && n >= 0 && n <= 255
	}
	typ, ok1 := num(t)
	code, ok2 := num(c)
	switch {
	case !ok1 || !ok2:
		return 0, 0, fmt.Errorf("ICMP %q: want all, a type 0-255, or type:code, with all or -1 for any", s)
	case typ == -1 && code != -1:
		return 0, 0, fmt.Errorf("ICMP %q: a code needs a type", s)
	}
	return typ, code, nil
}

// String writes the rule in the syntax ParseEntry reads.
func (e Entry) String() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Number))
	b.WriteByte(' ')
	b.WriteString(e.Action.String())
	b.WriteByte(' ')
	b.WriteString(ProtocolName(e.Proto))
	switch {
	case e.hasPortCond():
		b.WriteByte(' ')
		switch {
		case e.FromPort == 0 && e.ToPort == 65535:
			b.WriteString("all")
		case e.FromPort == e.ToPort:
			b.WriteString(strconv.Itoa(e.FromPort))
		default:
			fmt.Fprintf(&b, "%d-%d", e.FromPort, e.ToPort)
		}
	case e.hasICMPCond() || e.Proto == ProtoICMPv6 && (e.ICMPType != -1 || e.ICMPCode != -1):
		b.WriteByte(' ')
		switch {
		case e.ICMPType == -1 && e.ICMPCode == -1:
			b.WriteString("all")
		case e.ICMPCode == -1:
			b.WriteString(strconv.Itoa(e.ICMPType))
		default:
			fmt.Fprintf(&b, "%s:%d", icmpWord(e.ICMPType), e.ICMPCode)
		}
	}
	b.WriteByte(' ')
	b.WriteString(e.CIDR.String())
	if e.Egress {
		b.WriteString(" out")
	} else {
		b.WriteString(" in")
	}
	return b.String()
}

func icmpWord(v int) string {
	if v == -1 {
		return "all"
	}
	return strconv.Itoa(v)
}
