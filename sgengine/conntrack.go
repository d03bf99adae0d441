package sgengine

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// State is the state of a tracked flow.
type State uint8

const (
	StateNone State = iota
	StateTCPSynSent
	StateTCPSynRecv
	StateTCPEstablished
	StateTCPClosing
	StateUDP
	StateUDPStream
	StateICMP
	StateOther
	numStates
)

var stateNames = [numStates]string{"none", "tcp-syn-sent", "tcp-syn-received", "tcp-established",
	"tcp-closing", "udp", "udp-stream", "icmp", "other"}

func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// ctKey identifies a flow from the ENI's side. It is comparable and holds no pointers.
type ctKey struct {
	local, remote [16]byte // 4-in-6 for IPv4
	lport, rport  uint16   // ICMP: identifier, and request type | 0x100 when the ENI sent it
	proto         uint8
	fam           uint8 // 4 or 6; 0 marks an empty slot
}

// ctEntry is one slot of the table: 48 bytes, no pointers.
type ctEntry struct {
	key      ctKey
	state    State
	flags    uint8
	deadline int64 // monotonic nanoseconds; the entry is dead at or after it
}

// Entry flags.
const (
	flagIngress   = 1 << 0 // the flow was created by an ingress packet
	flagLastReply = 1 << 1 // UDP: the last packet went in the reply direction
	exchShift     = 2      // UDP: request-response exchanges seen, saturating at 3
	exchMask      = 3 << exchShift
)

// isReply reports whether a packet crossing in dir goes against the direction that created e.
func (e *ctEntry) isReply(dir Direction) bool {
	return (e.flags&flagIngress != 0) != (dir == DirIngress)
}

func (k *ctKey) hash(seed uint64) uint64 {
	le := binary.LittleEndian
	h := seed
	h = mix(h ^ le.Uint64(k.local[0:8]))
	h = mix(h ^ le.Uint64(k.local[8:16]))
	h = mix(h ^ le.Uint64(k.remote[0:8]))
	h = mix(h ^ le.Uint64(k.remote[8:16]))
	return mix(h ^ (uint64(k.lport) | uint64(k.rport)<<16 | uint64(k.proto)<<32 | uint64(k.fam)<<40))
}

func mix(x uint64) uint64 {
	hi, lo := bits.Mul64(x, 0x9e3779b97f4a7c15)
	return hi ^ lo
}

const (
	shardBits    = 4
	numShards    = 1 << shardBits
	minSlots     = 8
	reapPerWrite = 4 // slots examined for expiry on every insert, so reaping keeps pace
)

// Conntrack is the connection-tracking table of one ENI. It is safe for concurrent use: the
// entries are spread over shards, each with its own mutex.
type Conntrack struct {
	// Each shard is padded to 64 bytes, so a shard's lock shares cache lines with its
	// neighbours at most (Go does not promise cache-line alignment of heap objects).
	shards    [numShards]shard
	seed      uint64 // keeps remote peers from choosing colliding keys
	count     atomic.Int64
	exceeded  atomic.Uint64
	nextSweep atomic.Int64 // earliest time a full sweep may run again after the allowance ran out
}

type shard struct {
	mu     sync.Mutex
	slots  []ctEntry // linear probing; len is a power of two, or 0
	used   int
	cursor int // where amortised reaping continues
	_      [64 - 8 - 24 - 16]byte
}

// NewConntrack returns an empty table.
func NewConntrack() *Conntrack {
	return &Conntrack{seed: rand.Uint64()}
}

// Len is the number of entries, counting expired ones not reaped yet. It is the figure the
// allowance is checked against.
func (ct *Conntrack) Len() int { return int(ct.count.Load()) }

// AllowanceExceeded is the number of packets dropped because the ENI's allowance of tracked
// entries was used up (AWS's conntrack_allowance_exceeded).
func (ct *Conntrack) AllowanceExceeded() uint64 { return ct.exceeded.Load() }

func (ct *Conntrack) shardOf(h uint64) *shard { return &ct.shards[h>>(64-shardBits)] }

// get returns the live entry for k.
func (ct *Conntrack) get(k *ctKey, h uint64, now int64) (ctEntry, bool) {
	s := ct.shardOf(h)
	s.mu.Lock()
	i := s.findLocked(k, h)
	var e ctEntry
	ok := i >= 0 && s.slots[i].deadline > now
	if ok {
		e = s.slots[i]
	}
	s.mu.Unlock()
	return e, ok
}

func (s *shard) findLocked(k *ctKey, h uint64) int {
	if len(s.slots) == 0 {
		return -1
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := &s.slots[i]
		if e.key.fam == 0 {
			return -1
		}
		if e.key == *k {
			return int(i)
		}
	}
}

// insertLocked adds e, which is not in the table, growing the table first when needed.
func (ct *Conntrack) insertLocked(s *shard, e *ctEntry, h uint64, now int64) {
	if (s.used+1)*4 > len(s.slots)*3 {
		ct.growLocked(s, now)
	}
	mask := uint64(len(s.slots) - 1)
	i := h & mask
	for s.slots[i].key.fam != 0 {
		i = (i + 1) & mask
	}
	s.slots[i] = *e
	s.used++
}

// growLocked doubles the shard (or, when most of it is expired, rebuilds it at the same size),
// dropping expired entries on the way.
func (ct *Conntrack) growLocked(s *shard, now int64) {
	live := 0
	for i := range s.slots {
		if s.slots[i].key.fam != 0 && s.slots[i].deadline > now {
			live++
		}
	}
	n := max(minSlots, len(s.slots))
	for (live+1)*2 > n {
		n *= 2
	}
	old := s.slots
	s.slots = make([]ctEntry, n)
	s.used, s.cursor = 0, 0
	mask := uint64(n - 1)
	dropped := 0
	for i := range old {
		e := &old[i]
		if e.key.fam == 0 {
			continue
		}
		if e.deadline <= now {
			dropped++
			continue
		}
		j := e.key.hash(ct.seed) & mask
		for s.slots[j].key.fam != 0 {
			j = (j + 1) & mask
		}
		s.slots[j] = *e
		s.used++
	}
	ct.count.Add(int64(-dropped))
}

// deleteLocked empties slot i and shifts the entries after it back, so that probing never
// needs tombstones.
func (ct *Conntrack) deleteLocked(s *shard, i int) {
	mask := len(s.slots) - 1
	j := i
	for {
		j = (j + 1) & mask
		e := &s.slots[j]
		if e.key.fam == 0 {
			break
		}
		home := int(e.key.hash(ct.seed)) & mask
		// The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.slots[i] = *e
			i = j
		}
	}
	s.slots[i] = ctEntry{}
	s.used--
	ct.count.Add(-1)
}

// reapLocked examines up to budget slots from the shard's cursor and deletes expired entries.
func (ct *Conntrack) reapLocked(s *shard, now int64, budget int) int {
	removed := 0
	for ; budget > 0 && s.used > 0; budget-- {
		c := s.cursor & (len(s.slots) - 1)
		if e := &s.slots[c]; e.key.fam != 0 && e.deadline <= now {
			// Deleting may shift a later entry into c: look at c again.
			ct.deleteLocked(s, c)
			removed++
			continue
		}
		s.cursor = c + 1
	}
	return removed
}

// Reap examines up to budget slots of every shard and removes the expired entries, returning
// how many it removed. The engine may call it on a timer; inserts reap a little on their own.
func (ct *Conntrack) Reap(now int64, budget int) int {
	removed := 0
	for i := range ct.shards {
		s := &ct.shards[i]
		s.mu.Lock()
		removed += ct.reapLocked(s, now, budget)
		s.mu.Unlock()
	}
	return removed
}

// sweepInterval rate-limits the full sweeps that run when the allowance is used up, so that a
// flood of new flows against a full table does not scan it on every packet.
const sweepInterval = int64(time.Second)

func (ct *Conntrack) maybeSweep(now int64) {
	next := ct.nextSweep.Load()
	if now < next || !ct.nextSweep.CompareAndSwap(next, now+sweepInterval) {
		return
	}
	for i := range ct.shards {
		s := &ct.shards[i]
		s.mu.Lock()
		ct.reapLocked(s, now, len(s.slots))
		s.mu.Unlock()
	}
}

// Apply makes the change u describes, at time now. The engine applies the update of every
// decision it acts on, drops included (that is what counts conntrack_allowance_exceeded); u
// should come from an evaluation with this table (another table works, at the cost of hashing
// the key again). It returns false when the packet must be dropped after all: the allowance
// was used up, before the evaluation (OpCountExceeded) or by other goroutines since. Each false
// return counts one conntrack_allowance_exceeded.
//
// Timeouts come with the update from the policy of the evaluation, so after a policy swap an
// entry keeps its deadline until its next packet, and follows the new timeouts from then on.
func (ct *Conntrack) Apply(u *Update, now int64) bool {
	if ct == nil {
		return u.op != OpCountExceeded
	}
	switch u.op {
	case OpNone:
		return true
	case OpCountExceeded:
		ct.exceeded.Add(1)
		ct.maybeSweep(now)
		return false
	}
	h := u.hash
	if u.ct != ct {
		h = u.key.hash(ct.seed)
	}
	s := ct.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.findLocked(&u.key, h)
	if u.op == OpRefresh {
		if i >= 0 && s.slots[i].deadline > now {
			ct.advanceLocked(s, i, u, now)
		}
		// Gone since the evaluation (RST, expiry): the packet was a member when judged.
		return true
	}
	// OpCreate.
	if i >= 0 {
		e := &s.slots[i]
		if e.deadline > now && !(e.state == StateTCPClosing && u.state == StateTCPSynSent) {
			// Created by another goroutine since the evaluation: this packet is part of it.
			ct.advanceLocked(s, i, u, now)
			return true
		}
		*e = newEntry(u, now)
		return true
	}
	if ct.count.Load() >= u.allowance {
		ct.exceeded.Add(1)
		return false
	}
	ct.count.Add(1)
	e := newEntry(u, now)
	ct.insertLocked(s, &e, h, now)
	ct.reapLocked(s, now, reapPerWrite)
	return true
}

func newEntry(u *Update, now int64) ctEntry {
	e := ctEntry{key: u.key, state: u.state, deadline: now + u.tmo[u.state]}
	if u.dir == DirIngress {
		e.flags = flagIngress
	}
	return e
}

// advanceLocked moves the entry at i through the state machine for a packet of its flow.
func (ct *Conntrack) advanceLocked(s *shard, i int, u *Update, now int64) {
	e := &s.slots[i]
	reply := e.isReply(u.dir)
	f := u.tcpFlags
	switch e.state {
	case StateTCPSynSent, StateTCPSynRecv, StateTCPEstablished, StateTCPClosing:
		if f&TCPRst != 0 {
			ct.deleteLocked(s, i)
			return
		}
		switch {
		case f&TCPFin != 0:
			e.state = StateTCPClosing
		case e.state == StateTCPSynSent && reply && f&TCPSyn != 0:
			e.state = StateTCPSynRecv
		case e.state == StateTCPSynRecv && !reply && f&(TCPSyn|TCPAck) == TCPAck:
			e.state = StateTCPEstablished
		}
	case StateUDP, StateUDPStream:
		if reply && e.flags&flagLastReply == 0 {
			if n := e.flags & exchMask; n != exchMask {
				e.flags += 1 << exchShift
			}
		}
		e.flags &^= flagLastReply
		if reply {
			e.flags |= flagLastReply
		}
		if e.flags&exchMask >= 2<<exchShift {
			e.state = StateUDPStream
		}
	}
	e.deadline = now + u.tmo[e.state]
}
