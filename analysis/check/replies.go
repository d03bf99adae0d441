package check

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ec2sim/ec2sim/nacl"
	"github.com/ec2sim/ec2sim/scenarios"
)

// adminService is a service that must not be open to the whole internet.
type adminService struct {
	proto uint8
	port  uint16
}

func (s adminService) String() string {
	return fmt.Sprintf("%s/%d", nacl.ProtocolName(int(s.proto)), s.port)
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
			svc := s.String()
			if _, ok := found[e.Number]; !ok {
				order = append(order, e.Number)
			}
			if !slices.Contains(found[e.Number], svc) {
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

// allTCP says whether an allow rule admits every tcp port: all traffic, or tcp 0-65535. Its
// replies are checked for tcp like a service's.
func allTCP(e *nacl.Entry) bool {
	return e.Action == nacl.Allow && (e.Proto == nacl.ProtoAll || e.Proto == nacl.ProtoTCP && e.FromPort == 0 && e.ToPort == 65535)
}

// echo is ping in one family: the request's ICMP protocol and type and the reply's type.
type echo struct {
	proto          uint8
	request, reply uint8
}

// echoOf returns the ping an allow rule admits, if it admits one: an ICMP rule for echo
// requests (or every type) of its own family, or an all-traffic rule.
func echoOf(e *nacl.Entry) (echo, bool) {
	ping := echo{nacl.ProtoICMP, 8, 0}
	if e.IPv6() {
		ping = echo{nacl.ProtoICMPv6, 128, 129}
	}
	switch {
	case e.Action != nacl.Allow:
		return echo{}, false
	case e.Proto == nacl.ProtoAll:
		return ping, true
	case int(ping.proto) == e.Proto && (e.ICMPType == -1 || e.ICMPType == int(ping.request)) && e.ICMPCode <= 0:
		return ping, true
	}
	return echo{}, false
}

// replies reports services that one direction allows while the other direction denies the
// replies: to the client's ephemeral ports for tcp and udp, the echo reply for ping. rules are
// the direction that admits the service (inbound when egress is false), back the other one.
// An all-traffic rule is checked for tcp and ping; udp only where a rule names a udp service,
// since much udp traffic (syslog, statsd) expects no reply.
func (k *aclCheck) replies(rules, back []nacl.Entry, egress bool, w *witnesses) {
	lo, hi := anyClientLo, anyClientHi
	clients := "the clients (ELB, NAT gateways, Windows and Linux pick their ports in it)"
	if egress && !k.natGatewayHere() {
		lo, hi = linuxLo, linuxHi
		clients = "this subnet's Linux instances"
	} else if egress {
		clients = "this subnet's NAT gateway"
	}
	// Reply ports: the starts of the intervals the other direction's port bounds cut lo-hi into.
	ports := []int{lo}
	for _, p := range witnessesOf(false, back).ports {
		if p > lo && p <= hi {
			ports = append(ports, p)
		}
	}
	dir, backDir := "inbound", "outbound"
	if egress {
		dir, backDir = "outbound", "inbound"
	}
	for i := range rules {
		s := &rules[i]
		if serviceRule(s) || allTCP(s) {
			k.portReplies(s, egress, w, ports, lo, hi, clients, dir, backDir)
		}
		if ping, ok := echoOf(s); ok {
			k.echoReplies(s, ping, egress, w, dir, backDir)
		}
	}
}

// portReplies reports a tcp or udp service rule (or a rule for every tcp port) whose replies
// to the ephemeral ports lo-hi the other direction denies, in whole or in part.
func (k *aclCheck) portReplies(s *nacl.Entry, egress bool, w *witnesses, ports []int, lo, hi int, clients, dir, backDir string) {
	proto := s.Proto
	if proto == nacl.ProtoAll {
		proto = nacl.ProtoTCP
	}
	var worst []span16
	var peer netip.Addr
	var port int
	for _, a := range w.addrs {
		if !s.CIDR.Contains(a) {
			continue
		}
		sp, ok := k.serviceFrom(s, proto, a, egress, w)
		if !ok {
			continue
		}
		denied := k.deniedReplies(proto, a, !egress, ports, hi)
		if total(denied) > total(worst) {
			worst, peer, port = denied, a, sp
		}
	}
	if len(worst) == 0 {
		return
	}
	name := nacl.ProtocolName(proto)
	svc := service(s, proto, port)
	fix := fmt.Sprintf("add an %s allow rule for %s %d-%d to %s", backDir, name, anyClientLo, anyClientHi, s.CIDR)
	if egress {
		fix = fmt.Sprintf("add an %s allow rule for %s %d-%d from %s", backDir, name, lo, hi, s.CIDR)
	}
	if total(worst) == hi-lo+1 {
		k.r.addf("EC2SIM-NACL-005", k.at(s), k.object(s), fix,
			"rule %d (%s) lets %s %s, but the %s rules deny every reply to the ephemeral ports %d-%d of %s (peer %s)",
			s.Number, s, svc, dir, backDir, lo, hi, clients, peer)
		return
	}
	k.r.addf("EC2SIM-NACL-006", k.at(s), k.object(s), fix,
		"rule %d (%s) lets %s %s, but the %s rules deny replies to %s of the ephemeral range %d-%d of %s (peer %s)",
		s.Number, s, svc, dir, backDir, spans(worst), lo, hi, clients, peer)
}

// service names what rule s admits of proto in messages: "tcp/443" for a service found on
// port, "tcp" for a rule of every port.
func service(s *nacl.Entry, proto, port int) string {
	if s.Proto == nacl.ProtoAll || s.FromPort == 0 && s.ToPort == 65535 {
		return nacl.ProtocolName(proto)
	}
	return fmt.Sprintf("%s/%d", nacl.ProtocolName(proto), port)
}

// echoReplies reports a rule that admits ping requests whose echo replies the other direction
// denies.
func (k *aclCheck) echoReplies(s *nacl.Entry, ping echo, egress bool, w *witnesses, dir, backDir string) {
	for _, a := range w.addrs {
		if !s.CIDR.Contains(a) {
			continue
		}
		req := nacl.Packet{Proto: ping.proto, ICMPType: ping.request, HasPorts: true}
		rep := nacl.Packet{Proto: ping.proto, ICMPType: ping.reply, HasPorts: true}
		if egress {
			req.Dst, rep.Src = a, a
		} else {
			req.Src, rep.Dst = a, a
		}
		if k.c.Evaluate(egress, &req).Rule != s.Number {
			continue
		}
		res := k.c.Evaluate(!egress, &rep)
		if res.Allow {
			continue
		}
		name := nacl.ProtocolName(int(ping.proto))
		k.r.addf("EC2SIM-NACL-009", k.at(s), k.object(s),
			fmt.Sprintf("add an %s allow rule for %s type %d with CIDR %s", backDir, name, ping.reply, s.CIDR),
			"rule %d (%s) lets ping (%s echo request) %s, but the echo reply to peer %s is denied %s (%s)",
			s.Number, s, name, dir, a, backDir, res)
		return
	}
}

// pmtud reports tcp rules (a service, or every tcp port, in either direction) for a peer outside
// the VPC whose "fragmentation needed" (ICMP type 3 code 4; ICMPv6 Packet Too Big, type 2) the
// inbound rules deny from that peer: path MTU discovery then fails, and large segments vanish
// on the way to or from the internet (MTU 1500 at the internet gateway, 9001 inside the VPC;
// aws-semantics.md §1.3 and §1.5).
//
// One finding per ACL and family is enough: the one missing rule serves every service.
func (k *aclCheck) pmtud(in, out []nacl.Entry, w *witnesses) {
	for _, s := range append(ptrs(in), ptrs(out)...) {
		egress := s.Egress
		if !(serviceRule(s) && s.Proto == nacl.ProtoTCP || allTCP(s)) {
			continue
		}
		for _, a := range w.addrs {
			if !s.CIDR.Contains(a) || k.v.CIDR.Contains(a) {
				continue
			}
			port, ok := k.serviceFrom(s, nacl.ProtoTCP, a, egress, w)
			if !ok {
				continue
			}
			tooBig := nacl.Packet{Src: a, Proto: nacl.ProtoICMP, ICMPType: 3, ICMPCode: 4, HasPorts: true}
			name, spec := "ICMP fragmentation-needed", "icmp 3:4"
			if a.Is6() {
				tooBig.Proto, tooBig.ICMPType, tooBig.ICMPCode = nacl.ProtoICMPv6, 2, 0
				name, spec = "ICMPv6 Packet Too Big", "icmpv6 2:0"
			}
			res := k.c.Evaluate(false, &tooBig)
			if res.Allow {
				continue
			}
			dir := "from"
			if egress {
				dir = "to"
			}
			k.r.addf("EC2SIM-NACL-010", k.at(s), k.object(s), fmt.Sprintf("add an inbound allow rule for %s from %s", spec, s.CIDR),
				"rule %d (%s) lets %s %s peer %s outside the VPC, but %s (%s) from it is denied inbound (%s): path MTU discovery fails and large segments are lost",
				s.Number, s, service(s, nacl.ProtoTCP, port), dir, a, name, spec, res)
			return
		}
	}
}

func ptrs(rules []nacl.Entry) []*nacl.Entry {
	out := make([]*nacl.Entry, len(rules))
	for i := range rules {
		out[i] = &rules[i]
	}
	return out
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

// serviceFrom returns a port of s's range for which s is the first match of a packet of proto
// with peer a, if there is one.
func (k *aclCheck) serviceFrom(s *nacl.Entry, proto int, a netip.Addr, egress bool, w *witnesses) (int, bool) {
	p := nacl.Packet{Proto: uint8(proto), HasPorts: true}
	if egress {
		p.Dst = a
	} else {
		p.Src = a
	}
	from, to := s.FromPort, s.ToPort
	if s.Proto == nacl.ProtoAll {
		from, to = 0, 65535
	}
	try := []int{from}
	for _, port := range w.ports {
		if port > from && port <= to {
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

// spans writes port ranges as "port 3389" or "ports 1024-32767, 61000-65535".
func spans(ss []span16) string {
	word := "ports "
	if len(ss) == 1 && ss[0].lo == ss[0].hi {
		word = "port "
	}
	var parts []string
	for _, s := range ss {
		if s.lo == s.hi {
			parts = append(parts, fmt.Sprint(s.lo))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s.lo, s.hi))
		}
	}
	return word + strings.Join(parts, ", ")
}

// deniedReplies returns the reply ports the direction egress denies to peer a: ports are the
// starts of the intervals in which the direction's rules treat every port alike, hi the end of
// the last.
func (k *aclCheck) deniedReplies(proto int, a netip.Addr, egress bool, ports []int, hi int) []span16 {
	p := nacl.Packet{Proto: uint8(proto), HasPorts: true}
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
