package check

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ec2sim/ec2sim/nacl"
	"github.com/ec2sim/ec2sim/scenarios"
)

// adminService is a service that must not be open to the whole internet.
type adminService struct {
	proto uint8
	port  uint16
}

// adminServices are SSH and RDP (RDP also runs over UDP).
func adminServices() []adminService {
	return []adminService{{nacl.ProtoTCP, 22}, {nacl.ProtoTCP, 3389}, {nacl.ProtoUDP, 3389}}
}

// adminFromWorld reports the inbound rules with a /0 CIDR that are the first match for SSH or
// RDP from some address: a deny before them that covers every such address removes the finding.
func (k *aclCheck) adminFromWorld(in []nacl.Entry, w *witnesses) {
	found := map[int][]string{}
	var order []int
	for _, a := range w.addrs {
		for _, s := range adminServices() {
			p := nacl.Packet{Src: a, Proto: s.proto, DstPort: s.port, HasPorts: true}
			res := k.c.Evaluate(false, &p)
			e := entry(in, res.Rule)
			if !res.Allow || e == nil || e.CIDR.Bits() != 0 {
				continue
			}
			svc := fmt.Sprintf("%s/%d", nacl.ProtocolName(int(s.proto)), s.port)
			if _, ok := found[e.Number]; !ok {
				order = append(order, e.Number)
			}
			if !strings.Contains(strings.Join(found[e.Number], " "), svc) {
				found[e.Number] = append(found[e.Number], svc)
			}
		}
	}
	for _, n := range order {
		e := entry(in, n)
		k.r.addf("EC2SIM-NACL-001", k.at(e), k.object(e), "allow SSH and RDP from known CIDRs only, or add deny rules for them with lower numbers",
			"rule %d (%s) admits %s from the whole internet", n, e, strings.Join(found[n], " and "))
	}
}

func entry(rules []nacl.Entry, number int) *nacl.Entry {
	for i := range rules {
		if rules[i].Number == number {
			return &rules[i]
		}
	}
	return nil
}

// Ephemeral port ranges (aws-semantics.md §1.3): the replies to a service reached from outside
// go to whatever port the client chose, 1024-65535 across the clients AWS lists (ELB, NAT
// gateways, Lambda); the instances of a lab are Linux, whose kernel picks 32768-60999.
const (
	anyClientLo, anyClientHi = 1024, 65535
	linuxLo, linuxHi         = 32768, 60999
)

// serviceRule says whether an allow rule admits a service rather than replies: tcp or udp, and
// not a wide range at or above 1024 (the shape of an ephemeral-port rule) nor every port.
func serviceRule(e *nacl.Entry) bool {
	if e.Action != nacl.Allow || !hasPortCond(e) || e.FromPort == 0 && e.ToPort == 65535 {
		return false
	}
	return e.FromPort < 1024 || e.ToPort-e.FromPort < 1000
}

// replies reports services that one direction allows while the other direction denies the
// replies to the client's ephemeral ports. rules are the direction that admits the service
// (inbound when egress is false), back the other one.
func (k *aclCheck) replies(rules, back []nacl.Entry, egress bool, w *witnesses) {
	lo, hi := anyClientLo, anyClientHi
	clients := "clients (1024-65535: ELB, NAT gateways, Windows and Linux all fall in it)"
	if egress && !k.natGatewayHere() {
		lo, hi = linuxLo, linuxHi
		clients = "this subnet's Linux instances (32768-60999)"
	} else if egress {
		clients = "this subnet's NAT gateway (1024-65535)"
	}
	// Reply ports: the starts of the intervals the other direction's port bounds cut lo-hi into.
	ports := []int{lo}
	for _, p := range witnessesOf(false, back).ports {
		if p > lo && p <= hi {
			ports = append(ports, p)
		}
	}
	for i := range rules {
		s := &rules[i]
		if !serviceRule(s) {
			continue
		}
		var worst []span16
		var peer netip.Addr
		var port int
		for _, a := range w.addrs {
			if !s.CIDR.Contains(a) {
				continue
			}
			sp, ok := k.serviceFrom(s, a, egress, w)
			if !ok {
				continue
			}
			denied := k.deniedReplies(s, a, !egress, ports, hi)
			if total(denied) > total(worst) {
				worst, peer, port = denied, a, sp
			}
		}
		if len(worst) == 0 {
			continue
		}
		dir, backDir := "inbound", "outbound"
		if egress {
			dir, backDir = "outbound", "inbound"
		}
		svc := fmt.Sprintf("%s/%d", nacl.ProtocolName(s.Proto), port)
		fix := fmt.Sprintf("add an %s allow rule for %s %d-%d to %s", backDir, nacl.ProtocolName(s.Proto), anyClientLo, anyClientHi, s.CIDR)
		if egress {
			fix = fmt.Sprintf("add an %s allow rule for %s %d-%d from %s", backDir, nacl.ProtocolName(s.Proto), lo, hi, s.CIDR)
		}
		if total(worst) == hi-lo+1 {
			k.r.addf("EC2SIM-NACL-005", k.at(s), k.object(s), fix,
				"rule %d (%s) lets %s %s, but the %s rules deny every reply to the ephemeral ports of %s (peer %s, ports %d-%d)",
				s.Number, s, svc, dir, backDir, clients, peer, lo, hi)
			continue
		}
		k.r.addf("EC2SIM-NACL-006", k.at(s), k.object(s), fix,
			"rule %d (%s) lets %s %s, but the %s rules deny replies to ports %s of the ephemeral range %d-%d of %s (peer %s)",
			s.Number, s, svc, dir, backDir, spans(worst), lo, hi, clients, peer)
	}
}

// natGatewayHere reports whether a NAT gateway sits in a subnet that uses this ACL: its
// connections leave from ports 1024-65535, so the replies it needs cover them all.
func (k *aclCheck) natGatewayHere() bool {
	for _, n := range k.v.NATGateways {
		sn := k.r.sc.Subnet(n.Subnet)
		if sn == nil {
			continue
		}
		acl := sn.NetworkACL
		if acl == "" {
			acl = scenarios.DefaultACL
		}
		if acl == k.a.Name {
			return true
		}
	}
	return false
}

// serviceFrom returns a port of s's range for which s is the first match of a packet with peer
// a, if there is one.
func (k *aclCheck) serviceFrom(s *nacl.Entry, a netip.Addr, egress bool, w *witnesses) (int, bool) {
	p := nacl.Packet{Proto: uint8(s.Proto), HasPorts: true}
	if egress {
		p.Dst = a
	} else {
		p.Src = a
	}
	try := []int{s.FromPort}
	for _, port := range w.ports {
		if port > s.FromPort && port <= s.ToPort {
			try = append(try, port)
		}
	}
	for _, port := range try {
		p.DstPort = uint16(port)
		if r := k.c.Evaluate(egress, &p); r.Rule == s.Number {
			return port, true
		}
	}
	return 0, false
}

// span16 is a closed range of ports.
type span16 struct{ lo, hi int }

func total(ss []span16) int {
	n := 0
	for _, s := range ss {
		n += s.hi - s.lo + 1
	}
	return n
}

func spans(ss []span16) string {
	var parts []string
	for _, s := range ss {
		if s.lo == s.hi {
			parts = append(parts, fmt.Sprint(s.lo))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s.lo, s.hi))
		}
	}
	return strings.Join(parts, ", ")
}

// deniedReplies returns the reply ports the direction egress denies to peer a: ports are the
// starts of the intervals in which the direction's rules treat every port alike, hi the end of
// the last.
func (k *aclCheck) deniedReplies(s *nacl.Entry, a netip.Addr, egress bool, ports []int, hi int) []span16 {
	p := nacl.Packet{Proto: uint8(s.Proto), HasPorts: true}
	if egress {
		p.Dst = a
	} else {
		p.Src = a
	}
	var out []span16
	for i, port := range ports {
		end := hi
		if i+1 < len(ports) {
			end = ports[i+1] - 1
		}
		p.DstPort = uint16(port)
		if k.c.Evaluate(egress, &p).Allow {
			continue
		}
		if n := len(out); n > 0 && out[n-1].hi+1 == port {
			out[n-1].hi = end
		} else {
			out = append(out, span16{port, end})
		}
	}
	return out
}
