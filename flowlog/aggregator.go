package flowlog

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// TimestampMode chooses what a record's start and end mean.
type TimestampMode uint8

const (
	// PacketTimes: start and end are the times of the flow's first and last packet within the
	// window, as AWS's field table defines them. The default.
	PacketTimes TimestampMode = iota
	// WindowBounds: start and end are the capture window's bounds, which is what AWS's example
	// records look like (all flows of a window share them).
	WindowBounds
)

// DefaultMaxFlows is the default number of flows one ENI may have in one window before further
// flows are skipped and reported in a SKIPDATA record. AWS does not publish its capacity.
const DefaultMaxFlows = 10000

// DefaultWindow is the capture window of an ENI on a Nitro instance: one minute.
const DefaultWindow = 60 * time.Second

// AggregatorOptions configure an Aggregator.
type AggregatorOptions struct {
	// Window is the capture window, in whole seconds; 0 means DefaultWindow.
	Window time.Duration
	// TrafficType is which actions are logged; "" means ALL.
	TrafficType TrafficType
	// MaxFlows caps the flows per ENI per window (SKIPDATA beyond it); 0 means DefaultMaxFlows.
	MaxFlows int
	// Timestamps chooses what start and end mean.
	Timestamps TimestampMode
	// Clock stamps observations without a Time and places the first window; nil means time.Now.
	Clock func() time.Time
}

// Outcome says what Record did with an observation.
type Outcome uint8

const (
	Recorded   Outcome = iota // counted in a flow of the window
	Filtered                  // the log's traffic type does not include the action
	Exempted                  // traffic AWS does not log (see Exempt)
	Skipped                   // the ENI's flow capacity for the window is exhausted: SKIPDATA
	Closed                    // the aggregator is closed
	Invalid                   // no ENI, no action or no direction
	NotCovered                // the ENI is outside the log's VPC, subnet or ENI (Log.Record)
)

func (o Outcome) String() string {
	switch o {
	case Recorded:
		return "recorded"
	case Filtered:
		return "filtered"
	case Exempted:
		return "exempt"
	case Skipped:
		return "skipped"
	case Closed:
		return "closed"
	case Invalid:
		return "invalid"
	case NotCovered:
		return "not-covered"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

const numShards = 64

// Aggregator turns observations into flow log records: one record per flow (ENI, packet
// addresses, ports, protocol, action, direction) per capture window, and a NODATA record for a
// watched ENI whose windows had none. Windows are aligned on multiples of the window length since
// the Unix epoch, so two aggregators with the same window agree on them.
//
// Record may be called from many goroutines. Flows are sharded by ENI, one lock per shard, so
// all the flows of one ENI live in one shard; that is what lets the per-ENI capacity be checked
// under a single lock.
type Aggregator struct {
	window   int64 // nanoseconds
	accept   bool
	reject   bool
	maxFlows int
	stamps   TimestampMode
	clock    func() time.Time
	seed     maphash.Seed

	// open is the start of the oldest window not yet flushed; a packet stamped earlier (a late
	// one) counts in it, so no record is ever emitted for a window already flushed.
	open   atomic.Int64
	closed atomic.Bool

	// tickMu serialises Tick and Close.
	tickMu sync.Mutex

	watchMu sync.Mutex
	watched map[string]watch

	shards [numShards]shard
}

type watch struct {
	eni   *ENI
	since int64 // first window that can be NODATA
}

type shard struct {
	mu    sync.Mutex
	flows map[flowKey]*flowStat
	enis  map[eniWindow]*eniCount
	free  []*flowStat
	seq   uint64
	_     [64]byte // keeps neighbouring shards' locks off one cache line
}

// flowKey identifies a flow: packet addresses (pkt-srcaddr, pkt-dstaddr), ports, protocol,
// action and direction on one ENI in one window. Action is part of it because an ACCEPT and a
// REJECT of the same tuple are separate records; direction because a forwarding ENI sees the
// same tuple arrive and leave.
type flowKey struct {
	eni     string
	win     int64
	src     netip.Addr
	dst     netip.Addr
	srcPort uint16
	dstPort uint16
	proto   uint8
	action  Action
	dir     Direction
}

type flowStat struct {
	eni     *ENI
	seq     uint64 // order of the flow's first packet in its shard, for stable output
	packets int64
	bytes   int64
	first   int64
	last    int64
	flags   uint8
	path    TrafficPath
	srcSvc  string
	dstSvc  string
}

type eniWindow struct {
	eni string
	win int64
}

type eniCount struct {
	eni     *ENI
	flows   int
	skipped int64 // observations refused for capacity
}

// NewAggregator checks the options and makes an aggregator whose first window is the one the
// clock is in now.
func NewAggregator(o AggregatorOptions) (*Aggregator, error) {
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.Window < time.Second || o.Window%time.Second != 0 {
		return nil, fmt.Errorf("aggregation window %v: want a whole number of seconds, at least 1s", o.Window)
	}
	if o.MaxFlows == 0 {
		o.MaxFlows = DefaultMaxFlows
	}
	if o.MaxFlows < 0 {
		return nil, fmt.Errorf("max flows %d: want 1 or more (0 for the default %d)", o.MaxFlows, DefaultMaxFlows)
	}
	if o.Timestamps > WindowBounds {
		return nil, fmt.Errorf("timestamp mode %d: want PacketTimes or WindowBounds", o.Timestamps)
	}
	tt, err := o.TrafficType.normalize()
	if err != nil {
		return nil, err
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	a := &Aggregator{
		window:   int64(o.Window),
		accept:   tt != TrafficReject,
		reject:   tt != TrafficAccept,
		maxFlows: o.MaxFlows,
		stamps:   o.Timestamps,
		clock:    o.Clock,
		seed:     maphash.MakeSeed(),
		watched:  make(map[string]watch),
	}
	for i := range a.shards {
		a.shards[i].flows = make(map[flowKey]*flowStat)
		a.shards[i].enis = make(map[eniWindow]*eniCount)
	}
	a.open.Store(a.windowOf(o.Clock().UnixNano()))
	return a, nil
}

// Window is the capture window.
func (a *Aggregator) Window() time.Duration { return time.Duration(a.window) }

// windowOf is the start of the window holding t (nanoseconds since the epoch).
func (a *Aggregator) windowOf(t int64) int64 {
	w := t / a.window
	if t%a.window < 0 {
		w--
	}
	return w * a.window
}

// Watch makes the aggregator report NODATA for windows in which e has no traffic, from the
// current window on. Watching an ENI again replaces its metadata but keeps its history.
func (a *Aggregator) Watch(e *ENI) {
	a.watchMu.Lock()
	defer a.watchMu.Unlock()
	w, ok := a.watched[e.InterfaceID]
	if !ok {
		w.since = a.open.Load()
	}
	w.eni = e
	a.watched[e.InterfaceID] = w
}

// Unwatch stops NODATA records for the ENI; its flows still in a window are flushed as usual.
func (a *Aggregator) Unwatch(interfaceID string) {
	a.watchMu.Lock()
	defer a.watchMu.Unlock()
	delete(a.watched, interfaceID)
}

// Record counts one observation. On a flow already in the window it takes one lock, updates the
// counters and does not allocate.
func (a *Aggregator) Record(o *Observation) Outcome {
	if a.closed.Load() {
		return Closed
	}
	e := o.ENI
	if e == nil || o.Action == ActionNone || o.Direction == DirectionNone {
		return Invalid
	}
	if (o.Action == Accept && !a.accept) || (o.Action == Reject && !a.reject) {
		return Filtered
	}
	if Exempt(o.Tuple, &e.Exempt) {
		return Exempted
	}
	var t int64
	if o.Time.IsZero() {
		t = a.clock().UnixNano()
	} else {
		t = o.Time.UnixNano()
	}
	win := max(a.windowOf(t), a.open.Load())
	k := flowKey{
		eni:     e.InterfaceID,
		win:     win,
		src:     o.Tuple.Src,
		dst:     o.Tuple.Dst,
		srcPort: o.Tuple.SrcPort,
		dstPort: o.Tuple.DstPort,
		proto:   o.Tuple.Proto,
		action:  o.Action,
		dir:     o.Direction,
	}
	packets := int64(o.Packets)
	if packets == 0 {
		packets = 1
	}
	var flags uint8
	if o.Tuple.Proto == protoTCP {
		flags = LogTCPFlags(o.TCPHeaderFlags)
	}

	s := &a.shards[maphash.String(a.seed, e.InterfaceID)%numShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.flows[k]
	if st == nil {
		st = s.newFlowLocked(k, e, a.maxFlows)
		if st == nil {
			return Skipped
		}
		st.first = t
		st.path = o.TrafficPath
		st.srcSvc = o.PktSrcAWSService
		st.dstSvc = o.PktDstAWSService
	}
	st.packets += packets
	st.bytes += int64(o.Bytes)
	st.flags |= flags
	// Packets stamped out of order (a late one clamped into the open window) must not make the
	// flow end before it started.
	st.first = min(st.first, t)
	st.last = max(st.last, t)
	return Recorded
}

// newFlowLocked adds a flow unless its ENI has used up the window's capacity, in which case it
// counts the refusal for the window's SKIPDATA record and returns nil.
func (s *shard) newFlowLocked(k flowKey, e *ENI, maxFlows int) *flowStat {
	ew := eniWindow{eni: k.eni, win: k.win}
	c := s.enis[ew]
	if c == nil {
		c = &eniCount{eni: e}
		s.enis[ew] = c
	}
	if c.flows >= maxFlows {
		c.skipped++
		return nil
	}
	c.flows++
	var st *flowStat
	if n := len(s.free); n > 0 {
		st = s.free[n-1]
		s.free = s.free[:n-1]
		*st = flowStat{}
	} else {
		st = new(flowStat)
	}
	st.eni = e
	s.seq++
	st.seq = s.seq
	s.flows[k] = st
	return st
}

// Tick flushes every window that ended at or before now and returns its records: the flows
// (log-status OK), a SKIPDATA record per ENI whose capacity ran out, and NODATA records for
// watched ENIs without traffic. Consecutive idle windows of one ENI that end in the same Tick
// share one NODATA record spanning them, so a clock that jumps far does not produce millions of
// records; an engine that ticks every window gets one per window, as AWS writes them.
//
// Records come sorted by window, interface ID and the order of each flow's first packet. A
// packet recorded concurrently with Tick may land in the next batch.
func (a *Aggregator) Tick(now time.Time) []Record {
	a.tickMu.Lock()
	defer a.tickMu.Unlock()
	if a.closed.Load() {
		return nil
	}
	return a.flushLocked(now.UnixNano(), false)
}

// Close flushes every window, the current one included, and makes later Records return Closed.
// The current window gets no NODATA record: it has not ended.
func (a *Aggregator) Close(now time.Time) []Record {
	a.tickMu.Lock()
	defer a.tickMu.Unlock()
	if a.closed.Swap(true) {
		return nil
	}
	return a.flushLocked(now.UnixNano(), true)
}

// pending is a record with the keys it is sorted by.
type pending struct {
	win  int64
	eni  string
	kind uint8 // flows, then SKIPDATA, then NODATA
	seq  uint64
	rec  Record
}

const (
	kindFlow uint8 = iota
	kindSkip
	kindNoData
)

func (a *Aggregator) flushLocked(now int64, all bool) []Record {
	cut := a.windowOf(now) // windows starting before cut have ended
	prevOpen := a.open.Load()
	if cut > prevOpen {
		a.open.Store(cut)
	}
	var out []pending
	active := make(map[eniWindow]struct{})
	for i := range a.shards {
		out = a.shards[i].drain(a, out, active, cut, now, all)
	}

	a.watchMu.Lock()
	for _, w := range a.watched {
		out = a.noDataLocked(out, w, active, max(prevOpen, w.since), cut)
	}
	a.watchMu.Unlock()

	slices.SortFunc(out, func(x, y pending) int {
		return cmp.Or(cmp.Compare(x.win, y.win), cmp.Compare(x.eni, y.eni),
			cmp.Compare(x.kind, y.kind), cmp.Compare(x.seq, y.seq))
	})
	recs := make([]Record, len(out))
	for i := range out {
		recs[i] = out[i].rec
	}
	return recs
}

// drain moves the shard's flows and capacity counters of ended windows (or of all windows) into
// out, and notes which ENIs had records in which windows.
func (s *shard) drain(a *Aggregator, out []pending, active map[eniWindow]struct{}, cut, now int64, all bool) []pending {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.flows {
		if !all && k.win >= cut {
			continue
		}
		out = append(out, pending{win: k.win, eni: k.eni, kind: kindFlow, seq: st.seq, rec: a.flowRecord(k, st, now)})
		active[eniWindow{k.eni, k.win}] = struct{}{}
		delete(s.flows, k)
		s.free = append(s.free, st)
	}
	for ew, c := range s.enis {
		if !all && ew.win >= cut {
			continue
		}
		if c.skipped > 0 {
			r := a.statusRecord(c.eni, StatusSkipData, ew.win, min(ew.win+a.window, max(now, ew.win)))
			out = append(out, pending{win: ew.win, eni: ew.eni, kind: kindSkip, rec: r})
			active[ew] = struct{}{}
		}
		delete(s.enis, ew)
	}
	// Drop the free list when a burst of flows has passed, so memory follows the traffic.
	if len(s.free) > 2*len(s.flows)+1024 {
		s.free = nil
	}
	return out
}

// noDataLocked appends NODATA records for the idle runs of w's ended windows in [lo, cut).
func (a *Aggregator) noDataLocked(out []pending, w watch, active map[eniWindow]struct{}, lo, cut int64) []pending {
	if lo >= cut {
		return out
	}
	var busy []int64
	for ew := range active {
		if ew.eni == w.eni.InterfaceID && ew.win >= lo && ew.win < cut {
			busy = append(busy, ew.win)
		}
	}
	slices.Sort(busy)
	cursor := lo
	for _, b := range busy {
		if b > cursor {
			out = append(out, pending{win: cursor, eni: w.eni.InterfaceID, kind: kindNoData,
				rec: a.statusRecord(w.eni, StatusNoData, cursor, b)})
		}
		cursor = b + a.window
	}
	if cursor < cut {
		out = append(out, pending{win: cursor, eni: w.eni.InterfaceID, kind: kindNoData,
			rec: a.statusRecord(w.eni, StatusNoData, cursor, cut)})
	}
	return out
}

func (a *Aggregator) flowRecord(k flowKey, st *flowStat, now int64) Record {
	e := st.eni
	r := eniRecord(e)
	r.SrcAddr, r.DstAddr = RecordAddrs(e, k.dir, k.src, k.dst)
	r.PktSrcAddr, r.PktDstAddr = k.src, k.dst
	r.SrcPort, r.DstPort, r.Protocol = k.srcPort, k.dstPort, k.proto
	r.Packets, r.Bytes = st.packets, st.bytes
	r.TCPFlags = st.flags
	r.Action = k.action
	r.LogStatus = StatusOK
	r.Type = TypeIPv6
	if k.src.Is4() {
		r.Type = TypeIPv4
	}
	r.FlowDirection = k.dir
	if k.dir == Egress {
		r.TrafficPath = st.path
	}
	r.PktSrcAWSService, r.PktDstAWSService = st.srcSvc, st.dstSvc
	if a.stamps == WindowBounds {
		r.Start, r.End = unixSec(k.win), unixSec(min(k.win+a.window, max(now, st.last)))
	} else {
		r.Start, r.End = unixSec(st.first), unixSec(st.last)
	}
	return r
}

// statusRecord is a NODATA or SKIPDATA record: the ENI's metadata and the window, "-" for every
// field that describes a flow, as in AWS's examples
// ("2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA").
func (a *Aggregator) statusRecord(e *ENI, status LogStatus, start, end int64) Record {
	r := eniRecord(e)
	r.Start, r.End = unixSec(start), unixSec(end)
	r.LogStatus = status
	r.Unset = noFlowFields
	return r
}

func eniRecord(e *ENI) Record {
	return Record{
		AccountID:       e.AccountID,
		InterfaceID:     e.InterfaceID,
		VPCID:           e.VPCID,
		SubnetID:        e.SubnetID,
		InstanceID:      e.InstanceID,
		Region:          e.Region,
		AZID:            e.AZID,
		SublocationType: e.SublocationType,
		SublocationID:   e.SublocationID,
	}
}

// unixSec converts nanoseconds since the epoch to whole seconds, rounding down.
func unixSec(ns int64) int64 {
	s := ns / int64(time.Second)
	if ns%int64(time.Second) < 0 {
		s--
	}
	return s
}
