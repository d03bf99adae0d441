package natgw

import "net/netip"

// Outbound decides a packet that the gateway receives from the inside (routed to it by a
// subnet's route table), at time now (monotonic nanoseconds, the clock Apply is given too).
// It reads the table and changes nothing; it does not allocate.
func (t *Table) Outbound(p *Packet, now int64) Decision {
	d := Decision{Flow: Key{Proto: p.Proto, Inside: p.Src, Remote: p.Dst}}
	d.Update.t = t
	if !t.family(p.Src) || !t.family(p.Dst) {
		return dropped(d, VerdictUnsupported)
	}
	switch {
	case p.Proto == ProtoTCP || p.Proto == ProtoUDP:
		if p.Fragment && p.Proto == ProtoTCP {
			return dropped(d, VerdictFragment)
		}
		if p.Fragment && !p.FirstFragment {
			// No ports to translate; the receiver matches it to its first fragment by the
			// IP ID, which stays as it is.
			d.Verdict = VerdictAddressOnly
			return d
		}
		d.Flow.InsidePort, d.Flow.RemotePort = p.SrcPort, p.DstPort
	case p.Proto == t.icmpProto():
		if p.Fragment {
			return dropped(d, VerdictFragment)
		}
		if p.IsICMPError {
			return t.outboundError(d, &p.Quote, now)
		}
		if !t.icmpQuery(p.ICMPType) {
			return dropped(d, VerdictUnsupported)
		}
		d.Flow.InsidePort = p.ICMPID
	default:
		return dropped(d, VerdictUnsupported)
	}

	u := &d.Update
	u.key = keyOf(&d.Flow)
	u.dir, u.tcpFlags = dirOut, p.TCPFlags
	k := &u.key
	u.hd = t.destHash(k.proto, &k.remote, k.rport)
	ho := outHash(u.hd, &k.inside, k.iport)
	u.ho = uint32(ho)
	s := t.shardOf(u.hd)
	s.mu.Lock()
	expiredOpen := false
	var oldExt uint16
	if i := s.findOut(u.ho, k); i >= 0 {
		e := &s.slab[i]
		if e.deadline > now {
			d.Ext = e.ext
			s.mu.Unlock()
			d.Verdict, u.op, u.ext, u.hint = VerdictTranslated, opRefresh, d.Ext, i+1
			return d
		}
		expiredOpen, oldExt = e.tcpOpen(), e.ext
	}
	if p.Proto == ProtoTCP && !loneSYN(p.TCPFlags) {
		s.mu.Unlock()
		switch {
		case p.TCPFlags&TCPRst != 0:
			return dropped(d, VerdictNoMapping)
		case expiredOpen:
			d.Verdict, d.Ext, u.op = VerdictIdleTimeoutReset, oldExt, opExpire
			return d
		}
		return dropped(d, VerdictNoMappingReset)
	}
	ext, ok := t.allocateLocked(s, u.hd, ho, k, now)
	s.mu.Unlock()
	if !ok {
		d = dropped(d, VerdictErrorPortAllocation)
		d.Update.portAlloc = true
		return d
	}
	d.Verdict, d.Ext, u.op, u.ext = VerdictNewMapping, ext, opCreate, ext
	return d
}

// Inbound decides a packet that arrives on the gateway's public side, addressed to its
// public address. It is pure and does not allocate, like Outbound.
func (t *Table) Inbound(p *Packet, now int64) Decision {
	d := Decision{Flow: Key{Proto: p.Proto, Remote: p.Src}}
	d.Update.t = t
	if !t.family(p.Src) || !t.family(p.Dst) {
		return dropped(d, VerdictUnsupported)
	}
	switch {
	case p.Proto == ProtoTCP || p.Proto == ProtoUDP:
		if p.Fragment && (p.Proto == ProtoTCP || !p.FirstFragment) {
			return dropped(d, VerdictFragment)
		}
		return t.inbound(d, p.Src, p.SrcPort, p.DstPort, p.TCPFlags, opRefresh, now)
	case p.Proto == t.icmpProto():
		if p.Fragment {
			return dropped(d, VerdictFragment)
		}
		if p.IsICMPError {
			q := &p.Quote
			// The quote is a packet the gateway sent: from its address to the destination.
			if q.Src != t.public || !t.family(q.Dst) {
				return dropped(d, VerdictNoMapping)
			}
			d.Flow.Proto = q.Proto
			switch {
			case q.Proto == ProtoTCP || q.Proto == ProtoUDP:
				return t.inbound(d, q.Dst, q.DstPort, q.SrcPort, 0, opNone, now)
			case q.Proto == t.icmpProto():
				return t.inbound(d, q.Dst, 0, q.ICMPID, 0, opNone, now)
			}
			return dropped(d, VerdictNoMapping)
		}
		if !t.icmpQueryReply(p.ICMPType) {
			return dropped(d, VerdictUnsupported)
		}
		return t.inbound(d, p.Src, 0, p.ICMPID, 0, opRefresh, now)
	}
	return dropped(d, VerdictUnsupported)
}

// inbound looks up the mapping of d.Flow.Proto that holds port ext towards remote:rport and
// decides to translate with update o, or to drop.
func (t *Table) inbound(d Decision, remote netip.Addr, rport, ext uint16, flags uint8, o op, now int64) Decision {
	d.Flow.Remote, d.Flow.RemotePort, d.Ext = remote, rport, ext
	proto := d.Flow.Proto
	r := remote.As16()
	hd := t.destHash(proto, &r, rport)
	s := t.shardOf(hd)
	s.mu.Lock()
	j := s.findIn(inHash(hd, ext), proto, &r, rport, ext)
	if j < 0 || s.slab[j].deadline <= now {
		s.mu.Unlock()
		return dropped(d, VerdictNoMapping)
	}
	e := &s.slab[j]
	u := &d.Update
	u.key, u.ho, u.hint = e.key, e.hout, j+1
	s.mu.Unlock()
	d.Flow.Inside, d.Flow.InsidePort = t.addr(&u.key.inside), u.key.iport
	d.Verdict = VerdictTranslated
	u.op, u.dir, u.tcpFlags, u.ext, u.hd = o, dirIn, flags, ext, hd
	return d
}

// outboundError decides an ICMP error from the inside that quotes q, a reply the gateway
// delivered: the quote's destination is the inside host.
func (t *Table) outboundError(d Decision, q *Quote, now int64) Decision {
	if !t.family(q.Src) || !t.family(q.Dst) {
		return dropped(d, VerdictNoMapping)
	}
	d.Flow = Key{Proto: q.Proto, Inside: q.Dst, InsidePort: q.DstPort, Remote: q.Src, RemotePort: q.SrcPort}
	switch {
	case q.Proto == ProtoTCP || q.Proto == ProtoUDP:
	case q.Proto == t.icmpProto():
		d.Flow.InsidePort, d.Flow.RemotePort = q.ICMPID, 0
	default:
		return dropped(d, VerdictNoMapping)
	}
	k := keyOf(&d.Flow)
	hd := t.destHash(k.proto, &k.remote, k.rport)
	s := t.shardOf(hd)
	s.mu.Lock()
	i := s.findOut(uint32(outHash(hd, &k.inside, k.iport)), &k)
	if i < 0 || s.slab[i].deadline <= now {
		s.mu.Unlock()
		return dropped(d, VerdictNoMapping)
	}
	d.Ext = s.slab[i].ext
	s.mu.Unlock()
	d.Verdict = VerdictTranslated
	return d
}

// allocateLocked chooses the external port of a new mapping for inside flow k: the first port
// from the flow's probe start that no live mapping to the same destination holds.
func (t *Table) allocateLocked(s *shard, hd, ho uint64, k *fkey, now int64) (uint16, bool) {
	if d := s.dests.find(uint32(hd), k.proto, &k.remote, k.rport); d != nil && d.count >= t.maxPerDest {
		// The count includes expired mappings not removed yet.
		dk := dest{remote: k.remote, rport: k.rport, proto: k.proto}
		if d.count-int32(t.expiredAtLocked(s, &dk, now, false, maxBudget)) >= t.maxPerDest {
			return 0, false
		}
	}
	p := t.probeStart(ho)
	for range t.nports {
		ext := t.portMin + uint16(p)
		if j := s.findIn(inHash(hd, ext), k.proto, &k.remote, k.rport, ext); j < 0 || s.slab[j].deadline <= now {
			return ext, true
		}
		if p++; p == t.nports {
			p = 0
		}
	}
	return 0, false
}

func dropped(d Decision, v Verdict) Decision {
	d.Verdict = v
	d.Update.op = opDrop
	return d
}

func loneSYN(flags uint8) bool { return flags&(TCPSyn|TCPAck|TCPRst) == TCPSyn }

func keyOf(k *Key) fkey {
	return fkey{inside: k.Inside.As16(), remote: k.Remote.As16(), iport: k.InsidePort, rport: k.RemotePort, proto: k.Proto}
}

// family reports whether a is an address of the table's family.
func (t *Table) family(a netip.Addr) bool {
	if t.is4 {
		return a.Is4()
	}
	return a.Is6() && !a.Is4In6()
}

func (t *Table) addr(b *[16]byte) netip.Addr {
	a := netip.AddrFrom16(*b)
	if t.is4 {
		return a.Unmap()
	}
	return a
}

func (t *Table) icmpProto() uint8 {
	if t.is4 {
		return ProtoICMP
	}
	return ProtoICMPv6
}

// icmpQuery reports whether an ICMP type is a query that expects a reply with the same
// identifier: echo, timestamp, information and address mask requests; ICMPv6 echo request.
func (t *Table) icmpQuery(typ uint8) bool {
	if !t.is4 {
		return typ == 128
	}
	return typ == 8 || typ == 13 || typ == 15 || typ == 17
}

func (t *Table) icmpQueryReply(typ uint8) bool {
	if !t.is4 {
		return typ == 129
	}
	return typ == 0 || typ == 14 || typ == 16 || typ == 18
}
