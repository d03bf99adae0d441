package natgw

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"sync"
	"sync/atomic"
)

// fkey is a flow from the inside. It is comparable and holds no pointers; addresses of both
// families are stored as 16 bytes (the table's family is fixed, so no family tag is needed).
type fkey struct {
	inside, remote [16]byte
	iport, rport   uint16 // ICMP: identifier, 0
	proto          uint8
}

// Entry states. stateFree marks an unused slab slot.
const (
	stateFree uint8 = iota
	stateTCPSynSent
	stateTCPEstablished
	stateTCPClosed // FINs both ways or a RST: the short timeout applies
	stateUDP
	stateICMP
)

// Entry flags.
const (
	flagFinOut = 1 << 0 // the inside host sent a FIN
	flagFinIn  = 1 << 1 // the destination sent a FIN
)

// entry is one mapping: 64 bytes, no pointers.
type entry struct {
	key   fkey
	ext   uint16
	state uint8
	flags uint8
	// The hashes the entry is filed under, kept so that removal and index growth need not
	// recompute them: the inside-flow index, the external-port index, and the destination.
	hout, hin, hdest uint32
	deadline         int64 // monotonic nanoseconds; the mapping is dead at or after it
}

func (e *entry) tcpOpen() bool {
	return e.state == stateTCPSynSent || e.state == stateTCPEstablished
}

// dest counts the mappings of one destination (protocol, remote address, remote port).
type dest struct {
	remote [16]byte
	rport  uint16
	proto  uint8
	used   bool
	h      uint32
	count  int32
	// minDeadline is at most the earliest deadline of the destination's entries: while now
	// is before it, count is exact without looking at the entries.
	minDeadline int64
}

const (
	shardBits    = 4
	numShards    = 1 << shardBits
	minSlots     = 8
	reapPerWrite = 4 // slab slots examined for expiry on every insert, so reaping keeps pace
)

// Table is the translation table of one NAT gateway. It is safe for concurrent use.
type Table struct {
	shards [numShards]shard

	public     netip.Addr
	is4        bool
	portMin    uint16
	nports     uint32
	maxPerDest int32
	idle       int64 // nanoseconds
	closed     int64
	seed       uint64

	count                                                atomic.Int64
	active                                               atomic.Int64
	attempts, established, portErrs, idleTimeouts, drops atomic.Uint64
}

type shard struct {
	mu     sync.Mutex
	slab   []entry
	free   []int32
	out    index // by inside flow
	in     index // by destination and external port
	dests  destTable
	cursor int // where amortised reaping continues in slab
}

// New returns an empty table, or an error naming the first invalid option.
func New(o Options) (*Table, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	t := &Table{
		public:  o.PublicAddr,
		is4:     o.PublicAddr.Is4(),
		portMin: o.PortMin,
		nports:  uint32(o.PortMax) - uint32(o.PortMin) + 1,
		idle:    int64(o.IdleTimeout),
		closed:  int64(o.TCPClosedTimeout),
		seed:    o.Seed,
	}
	t.maxPerDest = int32(min(o.MaxPerDest, int(t.nports)))
	return t, nil
}

// PublicAddr is the address flows are translated to.
func (t *Table) PublicAddr() netip.Addr { return t.public }

// Len is the number of mappings, counting expired ones not reaped yet.
func (t *Table) Len() int { return int(t.count.Load()) }

// Metrics returns the counters.
func (t *Table) Metrics() Metrics {
	return Metrics{
		ActiveConnectionCount:      t.active.Load(),
		ConnectionAttemptCount:     t.attempts.Load(),
		ConnectionEstablishedCount: t.established.Load(),
		ErrorPortAllocation:        t.portErrs.Load(),
		IdleTimeoutCount:           t.idleTimeouts.Load(),
		PacketsDropCount:           t.drops.Load(),
	}
}

func mix(x uint64) uint64 {
	hi, lo := bits.Mul64(x, 0x9e3779b97f4a7c15)
	return hi ^ lo
}

func (t *Table) destHash(proto uint8, remote *[16]byte, rport uint16) uint64 {
	le := binary.LittleEndian
	h := mix(t.seed ^ le.Uint64(remote[0:8]))
	h = mix(h ^ le.Uint64(remote[8:16]))
	return mix(h ^ (uint64(rport) | uint64(proto)<<16))
}

// outHash is the hash of an inside flow given its destination's hash. Its low half files the
// flow in the out index; its high half is where the port probe starts.
func outHash(hd uint64, inside *[16]byte, iport uint16) uint64 {
	le := binary.LittleEndian
	h := mix(hd ^ le.Uint64(inside[0:8]))
	h = mix(h ^ le.Uint64(inside[8:16]))
	return mix(h ^ uint64(iport))
}

func inHash(hd uint64, ext uint16) uint32 {
	return uint32(mix(hd ^ uint64(ext)<<32))
}

// probeStart is the offset in the port range where the search for a flow's port begins.
func (t *Table) probeStart(ho uint64) uint32 { return uint32(ho>>32) % t.nports }

func (t *Table) shardOf(hd uint64) *shard { return &t.shards[hd>>(64-shardBits)] }

// findOut returns the slab index of the entry for inside flow k, or -1.
func (s *shard) findOut(h uint32, k *fkey) int32 {
	x := &s.out
	if len(x.slots) == 0 {
		return -1
	}
	mask := uint32(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := x.slots[i]
		if sl.ref == 0 {
			return -1
		}
		if sl.h == h && s.slab[sl.ref-1].key == *k {
			return sl.ref - 1
		}
	}
}

// findIn returns the slab index of the entry that holds port ext towards the destination, or -1.
func (s *shard) findIn(h uint32, proto uint8, remote *[16]byte, rport, ext uint16) int32 {
	x := &s.in
	if len(x.slots) == 0 {
		return -1
	}
	mask := uint32(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := x.slots[i]
		if sl.ref == 0 {
			return -1
		}
		if sl.h == h {
			e := &s.slab[sl.ref-1]
			if e.ext == ext && e.key.rport == rport && e.key.proto == proto && e.key.remote == *remote {
				return sl.ref - 1
			}
		}
	}
}

// insertLocked files e, a new mapping whose hashes are set, and counts it.
func (t *Table) insertLocked(s *shard, e *entry) {
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		i = int32(len(s.slab))
		s.slab = append(s.slab, entry{})
	}
	s.slab[i] = *e
	s.out.insert(e.hout, i+1)
	s.in.insert(e.hin, i+1)
	d := s.dests.findOrAdd(e.hdest, e.key.proto, &e.key.remote, e.key.rport)
	if d.count == 0 || e.deadline < d.minDeadline {
		d.minDeadline = e.deadline
	}
	d.count++
	t.count.Add(1)
	if e.tcpOpen() {
		t.active.Add(1)
	}
}

// removeLocked deletes the entry at slab index i, which has expired, and counts what it meant.
func (t *Table) removeLocked(s *shard, i int32, now int64) {
	e := &s.slab[i]
	s.out.remove(e.hout, i+1)
	s.in.remove(e.hin, i+1)
	s.dests.release(e.hdest, e.key.proto, &e.key.remote, e.key.rport)
	if e.tcpOpen() {
		t.active.Add(-1)
		if e.deadline <= now {
			t.idleTimeouts.Add(1)
		}
	}
	*e = entry{}
	s.free = append(s.free, i)
	t.count.Add(-1)
}

// reapLocked examines up to budget slab slots from the shard's cursor and removes expired
// entries.
func (t *Table) reapLocked(s *shard, now int64, budget int) int {
	removed := 0
	n := len(s.slab)
	if n == 0 {
		return 0
	}
	budget = min(budget, n)
	for ; budget > 0; budget-- {
		if s.cursor >= n {
			s.cursor = 0
		}
		if e := &s.slab[s.cursor]; e.state != stateFree && e.deadline <= now {
			t.removeLocked(s, int32(s.cursor), now)
			removed++
		}
		s.cursor++
	}
	return removed
}

// Reap examines up to budget entries of every shard and removes the expired ones, returning
// how many it removed. Inserts reap a little on their own; the engine calls Reap on a timer
// so that the counters catch up with time. A budget of at least Len reaps everything.
func (t *Table) Reap(now int64, budget int) int {
	removed := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		removed += t.reapLocked(s, now, budget)
		s.mu.Unlock()
	}
	return removed
}

// liveAtDestLocked counts the live mappings of a destination by looking at every port.
func (t *Table) liveAtDestLocked(s *shard, hd uint64, proto uint8, remote *[16]byte, rport uint16, now int64) int32 {
	var live int32
	for p := range t.nports {
		ext := t.portMin + uint16(p)
		if j := s.findIn(inHash(hd, ext), proto, remote, rport, ext); j >= 0 && s.slab[j].deadline > now {
			live++
		}
	}
	return live
}

// purgeDestLocked removes the expired mappings of a destination and makes its minDeadline exact.
func (t *Table) purgeDestLocked(s *shard, hd uint64, proto uint8, remote *[16]byte, rport uint16, now int64) {
	minDL := int64(1<<63 - 1)
	for p := range t.nports {
		ext := t.portMin + uint16(p)
		j := s.findIn(inHash(hd, ext), proto, remote, rport, ext)
		switch {
		case j < 0:
		case s.slab[j].deadline <= now:
			t.removeLocked(s, j, now)
		default:
			minDL = min(minDL, s.slab[j].deadline)
		}
	}
	if d := s.dests.find(uint32(hd), proto, remote, rport); d != nil {
		d.minDeadline = minDL
	}
}

// islot is one slot of an index: the entry's hash and its slab index plus one (0: empty).
type islot struct {
	h   uint32
	ref int32
}

// index is open addressing with linear probing and backward-shift deletion, so that probing
// never meets tombstones.
type index struct {
	slots []islot
	used  int
}

func (x *index) insert(h uint32, ref int32) {
	if (x.used+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].ref != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = islot{h, ref}
	x.used++
}

func (x *index) grow() {
	old := x.slots
	x.slots = make([]islot, max(minSlots, 2*len(old)))
	mask := uint32(len(x.slots) - 1)
	for _, sl := range old {
		if sl.ref == 0 {
			continue
		}
		i := sl.h & mask
		for x.slots[i].ref != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = sl
	}
}

// remove deletes the slot of ref, which must be filed under h.
func (x *index) remove(h uint32, ref int32) {
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].ref != ref {
		i = (i + 1) & mask
	}
	for j := i; ; {
		j = (j + 1) & mask
		sl := x.slots[j]
		if sl.ref == 0 {
			break
		}
		// The slot at j may fill the hole at i unless its home lies cyclically in (i, j].
		if home := sl.h & mask; (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = sl
			i = j
		}
	}
	x.slots[i] = islot{}
	x.used--
}

// destTable is open addressing over dest records, like index.
type destTable struct {
	slots []dest
	used  int
}

func (x *destTable) find(h uint32, proto uint8, remote *[16]byte, rport uint16) *dest {
	if len(x.slots) == 0 {
		return nil
	}
	mask := uint32(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		d := &x.slots[i]
		if !d.used {
			return nil
		}
		if d.h == h && d.rport == rport && d.proto == proto && d.remote == *remote {
			return d
		}
	}
}

func (x *destTable) findOrAdd(h uint32, proto uint8, remote *[16]byte, rport uint16) *dest {
	if d := x.find(h, proto, remote, rport); d != nil {
		return d
	}
	if (x.used+1)*4 > len(x.slots)*3 {
		old := x.slots
		x.slots = make([]dest, max(minSlots, 2*len(old)))
		for i := range old {
			if old[i].used {
				*x.emptySlot(old[i].h) = old[i]
			}
		}
	}
	d := x.emptySlot(h)
	*d = dest{remote: *remote, rport: rport, proto: proto, used: true, h: h}
	x.used++
	return d
}

func (x *destTable) emptySlot(h uint32) *dest {
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].used {
		i = (i + 1) & mask
	}
	return &x.slots[i]
}

// release drops one mapping from the destination's count, and the record when none is left.
func (x *destTable) release(h uint32, proto uint8, remote *[16]byte, rport uint16) {
	d := x.find(h, proto, remote, rport)
	if d.count--; d.count > 0 {
		return
	}
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for &x.slots[i] != d {
		i = (i + 1) & mask
	}
	for j := i; ; {
		j = (j + 1) & mask
		if !x.slots[j].used {
			break
		}
		if home := x.slots[j].h & mask; (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = dest{}
	x.used--
}
