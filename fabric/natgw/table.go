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
	// hout is the hash the entry is filed under in the inside-flow index, kept so that
	// removal need not hash the whole key again (the others are cheap to recompute).
	hout uint32
	// prev and next link the entry into its timing-wheel bucket: slab index plus one, 0 for
	// none; a negative prev -(b+1) marks the first entry of bucket b.
	prev, next int32
	deadline   int64 // monotonic nanoseconds; the mapping is dead at or after it
}

func (e *entry) tcpOpen() bool {
	return e.state == stateTCPSynSent || e.state == stateTCPEstablished
}

// dest counts the mappings of one destination (protocol, remote address, remote port),
// expired ones not removed yet included.
type dest struct {
	remote [16]byte
	rport  uint16
	proto  uint8
	used   bool
	h      uint32
	count  int32
}

const (
	shardBits = 4
	numShards = 1 << shardBits
	minSlots  = 8
	// tickPerApply is how many entries every Apply may examine in the timing wheel, so that
	// expiry keeps pace with traffic without a long pause on any one packet.
	tickPerApply = 8
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
	gran       int64 // width of a timing-wheel bucket in nanoseconds
	seed       uint64

	count                                                atomic.Int64
	active                                               atomic.Int64
	attempts, established, portErrs, idleTimeouts, drops atomic.Uint64
}

type shard struct {
	mu    sync.Mutex
	slab  []entry
	free  []int32
	out   index // by inside flow
	in    index // by destination and external port
	dests destTable
	wheel wheel
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
	// The longest timeout spans half the wheel: the other half is slack for a wheel that
	// lags behind the clock.
	t.gran = max(t.idle, t.closed)/(wheelSlots/2) + 1
	for i := range t.shards {
		t.shards[i].wheel.done = noBucket
	}
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

// insertLocked files e, a new mapping whose hout is set, and counts it.
func (t *Table) insertLocked(s *shard, e *entry, hd uint64) {
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
	s.in.insert(inHash(hd, e.ext), i+1)
	s.dests.findOrAdd(uint32(hd), e.key.proto, &e.key.remote, e.key.rport).count++
	t.linkLocked(s, i)
	t.count.Add(1)
	if e.tcpOpen() {
		t.active.Add(1)
	}
}

// removeLocked deletes the entry at slab index i, which has expired, and counts what it meant.
func (t *Table) removeLocked(s *shard, i int32, now int64) {
	e := &s.slab[i]
	k := &e.key
	hd := t.destHash(k.proto, &k.remote, k.rport)
	s.out.remove(e.hout, i+1)
	s.in.remove(inHash(hd, e.ext), i+1)
	s.dests.release(uint32(hd), k.proto, &k.remote, k.rport)
	s.wheel.unlink(s.slab, i)
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

// Reap removes the expired entries of every shard and returns how many it removed. In each
// shard it examines up to budget entries in the buckets of the timing wheel that are over,
// and then, if those are done, up to budget more in the bucket of now. Every Apply removes a
// few on its own; the engine calls Reap on a timer so that Len and the counters catch up with
// time even without traffic. A budget of at least Len removes every expired entry.
func (t *Table) Reap(now int64, budget int) int {
	removed := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n, examined := t.tickLocked(s, now, budget)
		removed += n
		if examined < budget {
			// The bucket of now is only partly over; its expired entries go too.
			removed += t.expiredAtLocked(s, nil, now, true, budget)
		}
		s.mu.Unlock()
	}
	return removed
}
