package sgengine

import (
	"net/netip"
	"strconv"
)

// TCP flag bits of Flow.TCPFlags, as in the TCP header's low flag byte.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPAck = 0x10
)

// Flow is what the decision needs of one packet. The engine fills it from its parsed headers;
// addresses are as on the wire (an IPv4 packet has Is4 addresses, not 4-in-6). Fields that do
// not apply to the packet's protocol are ignored.
type Flow struct {
	Src, Dst netip.Addr
	Proto    uint8
	// SrcPort and DstPort are TCP or UDP ports; zero when the packet has none (a non-first
	// fragment), which rules then see as port 0.
	SrcPort, DstPort   uint16
	TCPFlags           uint8
	ICMPType, ICMPCode uint8
	// ICMPID is the identifier of an ICMP echo, timestamp, information or address mask message.
	ICMPID uint16
	// IsICMPError marks ICMP destination unreachable, time exceeded, parameter problem and the
	// like (ICMPv6 types 1-4); Inner is then the packet it quotes, when the engine could read it.
	IsICMPError bool
	// Forwarded says that the packet's peer address (Dst on egress, Src on ingress) is not held
	// by the ENI on the other side of this hop: the packet goes to a middlebox that will forward
	// it, or comes from one that forwarded it. Rules that reference a security group then do
	// not match it (AWS's middlebox caveat); CIDR and prefix-list rules still do, and tracked
	// flows pass as ever.
	Forwarded bool
	Inner     InnerFlow
}

// InnerFlow is the packet quoted by an ICMP error.
type InnerFlow struct {
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
	ICMPType         uint8 // when the quoted packet is an ICMP echo or other request/reply
	ICMPID           uint16
}

// Reason says why a packet got its verdict.
type Reason uint8

const (
	// ReasonNone is the zero Reason; no decision returns it.
	ReasonNone Reason = iota
	// ReasonTrackedFlow: the packet goes in the direction that created a tracked entry.
	ReasonTrackedFlow
	// ReasonTrackedReply: the packet is a reply of a tracked flow and passes whatever the rules say.
	ReasonTrackedReply
	// ReasonRelatedICMP: an ICMP error about a tracked flow, admitted because Config.RelatedICMP.
	ReasonRelatedICMP
	// ReasonRuleAllowed: a rule allows the packet (Decision.Rule names the first such rule).
	ReasonRuleAllowed
	// ReasonNoRuleMatched: no rule of the ENI's groups allows the packet; it is dropped.
	ReasonNoRuleMatched
	// ReasonAllowanceExceeded: the packet would create a tracked entry but the ENI's allowance is
	// used up; it is dropped and counted (conntrack_allowance_exceeded).
	ReasonAllowanceExceeded
	// ReasonUnknownENI: the policy has no configuration for the ENI; the packet is dropped.
	ReasonUnknownENI
	numReasons
)

var reasonNames = [numReasons]string{
	ReasonNone:              "none",
	ReasonTrackedFlow:       "tracked-flow",
	ReasonTrackedReply:      "tracked-reply",
	ReasonRelatedICMP:       "related-icmp",
	ReasonRuleAllowed:       "rule-allowed",
	ReasonNoRuleMatched:     "no-rule-matched",
	ReasonAllowanceExceeded: "conntrack-allowance-exceeded",
	ReasonUnknownENI:        "unknown-eni",
}

func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Decision is the verdict of the security groups on one packet at one ENI, and the conntrack
// update it implies.
type Decision struct {
	Allowed bool
	Reason  Reason
	// Rule is the first rule that allows the packet when Reason is ReasonRuleAllowed (or
	// ReasonAllowanceExceeded: the rule allowed it, the allowance did not).
	Rule RuleRef
	// Untracked: AWS does not track this flow (TCP or UDP allowed by a /0 rule with all ports
	// open to /0 in the other direction), so its packets, replies included, are judged by the
	// rules every time and it creates no entry.
	Untracked bool
	// Update is what the verdict implies for the ENI's conntrack; pass it to Conntrack.Apply.
	Update Update
}

// UpdateOp is the kind of change an Update makes to a conntrack table.
type UpdateOp uint8

const (
	// OpNone changes nothing.
	OpNone UpdateOp = iota
	// OpCreate adds an entry for a new tracked flow (or replaces a closing TCP entry with a new
	// connection on the same ports).
	OpCreate
	// OpRefresh advances the state of the flow's entry and restarts its idle timer.
	OpRefresh
	// OpCountExceeded counts a packet dropped because the allowance is used up.
	OpCountExceeded
)

var opNames = [...]string{"none", "create", "refresh", "count-allowance-exceeded"}

func (o UpdateOp) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Update is a conntrack change computed by a pure evaluation. It refers to no memory of the
// Conntrack, so it may be applied later (or never).
type Update struct {
	op        UpdateOp
	state     State
	dir       Direction
	tcpFlags  uint8
	key       ctKey
	hash      uint64
	ct        *Conntrack // the table hash was computed for
	tmo       *[numStates]int64
	allowance int64
}

// Op is the kind of change.
func (u Update) Op() UpdateOp { return u.op }

// State is the state a created entry starts in, or the state of the refreshed entry at the
// time of the evaluation.
func (u Update) State() State { return u.state }

// class is how conntrack treats a packet.
type class uint8

const (
	clsTCP class = iota
	clsUDP
	clsICMPRequest // creates an entry, keyed by identifier
	clsICMPReply   // matches an entry, never creates one
	clsICMPOther   // not tracked: passes by the rules only
	clsICMPError
	clsOther
)

// keyed reports whether packets of the class have a conntrack key.
func (c class) keyed() bool { return c != clsICMPOther && c != clsICMPError }

// icmpPair maps the types that have a reply partner to the request type, and says whether t is
// the request. Linux conntrack tracks the same pairs.
func icmpPair(proto, t uint8) (req uint8, isReq, ok bool) {
	if proto == ProtoICMPv6 {
		switch t {
		case 128:
			return 128, true, true
		case 129:
			return 128, false, true
		}
		return 0, false, false
	}
	switch t {
	case 8, 13, 15, 17:
		return t, true, true
	case 0:
		return 8, false, true
	case 14, 16, 18:
		return t - 1, false, true
	}
	return 0, false, false
}

// flowKey builds the conntrack key of a packet crossing the ENI in dir. The key is oriented
// from the ENI's side (local, remote), so both directions of a flow share it.
func flowKey(dir Direction, src, dst netip.Addr, proto uint8, sport, dport uint16, icmpType uint8, icmpID uint16, icmpErr bool) (k ctKey, cls class) {
	local, remote, lport, rport := src, dst, sport, dport
	if dir == DirIngress {
		local, remote, lport, rport = dst, src, dport, sport
	}
	k.local, k.remote = local.As16(), remote.As16()
	k.proto = proto
	k.fam = 4
	if src.Is6() {
		k.fam = 6
	}
	switch {
	case proto == ProtoTCP:
		k.lport, k.rport = lport, rport
		return k, clsTCP
	case proto == ProtoUDP:
		k.lport, k.rport = lport, rport
		return k, clsUDP
	case (proto == ProtoICMP && k.fam == 4) || (proto == ProtoICMPv6 && k.fam == 6):
		if icmpErr {
			return k, clsICMPError
		}
		req, isReq, ok := icmpPair(proto, icmpType)
		if !ok {
			return k, clsICMPOther
		}
		// The request's sender is part of the key, so that each side pinging the other with the
		// same identifier makes two flows, and a request never passes as a reply.
		localSent := isReq == (dir == DirEgress)
		k.lport = icmpID
		k.rport = uint16(req)
		if localSent {
			k.rport |= 0x100
		}
		if isReq {
			return k, clsICMPRequest
		}
		return k, clsICMPReply
	}
	return k, clsOther
}

// Egress decides a packet that ENI eni sends, with the ENI's conntrack ct (nil: none, as for
// static analysis). It reads p and ct and changes neither. It does not allocate.
func (p *Policy) Egress(eni uint32, f *Flow, ct *Conntrack, now int64) Decision {
	return p.Evaluate(eni, DirEgress, f, ct, now)
}

// Ingress decides a packet delivered to ENI eni; see Egress.
func (p *Policy) Ingress(eni uint32, f *Flow, ct *Conntrack, now int64) Decision {
	return p.Evaluate(eni, DirIngress, f, ct, now)
}

func loneSYN(flags uint8) bool { return flags&(TCPSyn|TCPAck|TCPRst) == TCPSyn }

// Evaluate decides a packet crossing ENI eni in dir at time now (monotonic nanoseconds, the
// clock Apply is given too). It is pure and does not allocate.
func (p *Policy) Evaluate(eni uint32, dir Direction, f *Flow, ct *Conntrack, now int64) (d Decision) {
	ep := p.eni(eni)
	if ep == nil {
		d.Reason = ReasonUnknownENI
		return d
	}
	u := &d.Update
	u.dir, u.tcpFlags, u.tmo, u.allowance, u.ct = dir, f.TCPFlags, &ep.tmo, ep.allowance, ct
	k, cls := flowKey(dir, f.Src, f.Dst, f.Proto, f.SrcPort, f.DstPort, f.ICMPType, f.ICMPID, f.IsICMPError)
	reopen := false
	if cls.keyed() {
		u.key = k
		if ct != nil {
			u.hash = k.hash(ct.seed)
			if e, ok := ct.get(&k, u.hash, now); ok {
				// A SYN on the ports of a closing connection opens a new one, which the rules
				// must allow.
				if cls == clsTCP && e.state == StateTCPClosing && loneSYN(f.TCPFlags) {
					reopen = true
				} else {
					d.Allowed, d.Reason = true, ReasonTrackedFlow
					if e.isReply(dir) {
						d.Reason = ReasonTrackedReply
					}
					u.op, u.state = OpRefresh, e.state
					return d
				}
			}
		}
	}
	if cls == clsICMPError && p.relatedICMP && ct != nil {
		in := &f.Inner
		// The quoted packet went the other way through this ENI.
		ik, icls := flowKey(1-dir, in.Src, in.Dst, in.Proto, in.SrcPort, in.DstPort, in.ICMPType, in.ICMPID, false)
		if icls.keyed() && in.Src.IsValid() && in.Src.BitLen() == f.Src.BitLen() {
			if _, ok := ct.get(&ik, ik.hash(ct.seed), now); ok {
				d.Allowed, d.Reason = true, ReasonRelatedICMP
				return d
			}
		}
	}

	ms := &ep.m
	if f.Forwarded {
		ms = &ep.fwd
	}
	m := ms[dir]
	peer, port := f.Dst, f.DstPort
	if dir == DirIngress {
		peer = f.Src
	}
	// ICMP rules match type and code, whatever the packet's family.
	if kindOf(f.Proto) == kICMP || kindOf(f.Proto) == kICMPv6 {
		port = uint16(f.ICMPType)<<8 | uint16(f.ICMPCode)
	}
	ref := m.lookup(peer, f.Proto, port)
	if ref == 0 {
		d.Reason = ReasonNoRuleMatched
		return d
	}
	d.Allowed, d.Reason, d.Rule = true, ReasonRuleAllowed, ref
	if (cls == clsTCP || cls == clsUDP) && untracked(m, ms[1-dir], f, peer, port) {
		d.Untracked = true
		return d
	}
	switch cls {
	case clsTCP:
		if !loneSYN(f.TCPFlags) {
			return d
		}
		u.state = StateTCPSynSent
	case clsUDP:
		u.state = StateUDP
	case clsICMPRequest:
		u.state = StateICMP
	case clsOther:
		u.state = StateOther
	default:
		return d
	}
	if !reopen && ct != nil && ct.count.Load() >= ep.allowance {
		d.Allowed, d.Reason = false, ReasonAllowanceExceeded
		u.op = OpCountExceeded
		return d
	}
	u.op = OpCreate
	return d
}

// untracked applies AWS's rule to a TCP or UDP packet allowed by m: the /0 rules of m allow it,
// and either the other side's /0 rules allow every port (it may start an untracked flow), or
// it is the reply of one (m's /0 rules allow every port and the other side's allow the
// reverse packet). The second case keeps the replies of an untracked flow from being tracked.
func untracked(m, other *matcher, f *Flow, peer netip.Addr, port uint16) bool {
	fam, k := family(peer), kindOf(f.Proto)
	if !m.worldAllows(fam, f.Proto, port) {
		return false
	}
	if other.allPorts[fam][k] {
		return true
	}
	return m.allPorts[fam][k] && other.worldAllows(fam, f.Proto, f.SrcPort)
}
