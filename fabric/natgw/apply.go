package natgw

// Apply makes the change u describes, at time now, and reports whether the packet may be
// forwarded as its decision says. The engine applies the update of every decision it acts on,
// drops included (that is what counts PacketsDropCount and ErrorPortAllocation); u should come
// from an evaluation with this table (another table works, at the cost of hashing again).
//
// It returns false for every decision that does not translate, and for a translation that
// lost a race since the evaluation: another goroutine took the chosen port, filled the
// destination or mapped the same flow to another port, or the mapping was reaped. Each false
// return counts one dropped packet.
func (t *Table) Apply(u *Update, now int64) bool {
	switch u.op {
	case opNone:
		return true
	case opDrop:
		t.drops.Add(1)
		if u.portAlloc {
			t.portErrs.Add(1)
		}
		return false
	}
	hd, ho := u.hd, u.ho
	if u.t != t {
		hd = t.destHash(u.key.proto, &u.key.remote, u.key.rport)
		ho = uint32(outHash(hd, &u.key.inside, u.key.iport))
	}
	s := t.shardOf(hd)
	s.mu.Lock()
	defer s.mu.Unlock()
	t.tickLocked(s, now, tickPerApply)
	var i int32
	if h := u.hint - 1; u.t == t && h >= 0 && int(h) < len(s.slab) && s.slab[h].state != stateFree && s.slab[h].key == u.key {
		i = h // the entry the evaluation saw, found without the index
	} else {
		i = s.findOut(ho, &u.key)
	}
	switch u.op {
	case opRefresh:
		// The mapping may have expired in the meantime by another goroutine's clock: while it
		// is still in the table its port is still its own, and the packet revives it. Once
		// it is gone, the port may already serve another flow to the same destination, so
		// the packet must not go out with it: it is dropped, and the sender retransmits.
		if i >= 0 && s.slab[i].ext == u.ext {
			t.advanceLocked(s, i, u, now)
			return true
		}
		t.drops.Add(1)
		return false
	case opExpire:
		if i >= 0 && s.slab[i].deadline <= now {
			t.removeLocked(s, i, now)
		}
		t.drops.Add(1)
		return false
	}
	// opCreate.
	if i >= 0 {
		if s.slab[i].deadline > now {
			if s.slab[i].ext == u.ext {
				// Created by another goroutine since, with the same port: the packet is part of it.
				t.advanceLocked(s, i, u, now)
				return true
			}
			t.drops.Add(1)
			return false
		}
		t.removeLocked(s, i, now)
	}
	k := &u.key
	if j := s.findIn(inHash(hd, u.ext), k.proto, &k.remote, k.rport, u.ext); j >= 0 {
		if s.slab[j].deadline > now {
			t.drops.Add(1)
			return false
		}
		t.removeLocked(s, j, now)
	}
	if d := s.dests.find(uint32(hd), k.proto, &k.remote, k.rport); d != nil && d.count >= t.maxPerDest {
		dk := dest{remote: k.remote, rport: k.rport, proto: k.proto}
		t.expiredAtLocked(s, &dk, now, true, maxBudget)
		if d := s.dests.find(uint32(hd), k.proto, &k.remote, k.rport); d != nil && d.count >= t.maxPerDest {
			t.portErrs.Add(1)
			t.drops.Add(1)
			return false
		}
	}
	e := entry{key: *k, ext: u.ext, hout: ho, deadline: now + t.idle}
	switch k.proto {
	case ProtoTCP:
		e.state = stateTCPSynSent
		t.attempts.Add(1)
	case ProtoUDP:
		e.state = stateUDP
	default:
		e.state = stateICMP
	}
	t.insertLocked(s, &e, hd)
	return true
}

// advanceLocked moves the live entry at i through the TCP state machine for a packet of its
// flow and restarts its timer.
func (t *Table) advanceLocked(s *shard, i int32, u *Update, now int64) {
	e := &s.slab[i]
	wasClosed := e.state == stateTCPClosed
	if e.key.proto == ProtoTCP {
		f := u.tcpFlags
		switch {
		case f&TCPRst != 0:
			if e.state != stateTCPClosed {
				t.active.Add(-1)
				e.state = stateTCPClosed
			}
		case e.state == stateTCPClosed:
			// A new connection on the ports of a closed one keeps the mapping.
			if u.dir == dirOut && loneSYN(f) {
				e.state, e.flags = stateTCPSynSent, 0
				t.active.Add(1)
				t.attempts.Add(1)
			}
		default:
			if u.dir == dirIn && e.state == stateTCPSynSent && f&(TCPSyn|TCPAck) == TCPSyn|TCPAck {
				e.state = stateTCPEstablished
				t.established.Add(1)
			}
			if f&TCPFin != 0 {
				if u.dir == dirOut {
					e.flags |= flagFinOut
				} else {
					e.flags |= flagFinIn
				}
				if e.flags&(flagFinOut|flagFinIn) == flagFinOut|flagFinIn {
					e.state = stateTCPClosed
					t.active.Add(-1)
				}
			}
		}
	}
	if e.state != stateTCPClosed {
		e.deadline = now + t.idle
		return
	}
	e.deadline = now + t.closed
	if !wasClosed {
		// The deadline may have moved earlier than the bucket the entry is filed in.
		s.wheel.unlink(s.slab, i)
		t.linkLocked(s, i)
	}
}
