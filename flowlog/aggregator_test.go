package flowlog

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// epoch is the start of the tests' first window; a multiple of every window they use.
const epoch = 1_700_000_000 - 1_700_000_000%3600

func at(sec float64) time.Time {
	return time.Unix(epoch, 0).Add(time.Duration(sec * float64(time.Second)))
}

func newAgg(t testing.TB, o AggregatorOptions) *Aggregator {
	t.Helper()
	if o.Clock == nil {
		o.Clock = func() time.Time { return at(0) }
	}
	a, err := NewAggregator(o)
	require.NoError(t, err)
	return a
}

var (
	eniA = &ENI{InterfaceID: "eni-aaaaaaaaaaaaaaaaa", AccountID: "123456789012", InstanceID: "i-aaaaaaaaaaaaaaaaa",
		VPCID: "vpc-1", SubnetID: "subnet-1", PrimaryIPv4: netip.MustParseAddr("10.0.1.10"),
		Exempt: Exemptions{AmazonDNS: netip.MustParseAddr("10.0.0.2"), Router: netip.MustParseAddr("10.0.1.1")}}
	eniB = &ENI{InterfaceID: "eni-bbbbbbbbbbbbbbbbb", AccountID: "123456789012", InstanceID: "i-bbbbbbbbbbbbbbbbb",
		VPCID: "vpc-1", SubnetID: "subnet-2", PrimaryIPv4: netip.MustParseAddr("10.0.2.20")}
)

// obs is a TCP packet from A to B on A's ENI (egress) at second sec.
func obs(sec float64) Observation {
	return Observation{ENI: eniA, Action: Accept, Direction: Egress, Bytes: 100, Time: at(sec),
		Tuple: Tuple{Src: eniA.PrimaryIPv4, Dst: eniB.PrimaryIPv4, SrcPort: 40000, DstPort: 80, Proto: 6}}
}

func record(t testing.TB, a *Aggregator, o Observation, want Outcome) {
	t.Helper()
	require.Equal(t, want, a.Record(&o))
}

func TestWindowsSplitFlows(t *testing.T) {
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second})
	record(t, a, obs(1), Recorded)
	record(t, a, obs(5.5), Recorded)
	record(t, a, obs(12), Recorded)

	require.Empty(t, a.Tick(at(9.999)), "window [0,10) has not ended")
	recs := a.Tick(at(10))
	require.Len(t, recs, 1)
	r := recs[0]
	require.Equal(t, int64(2), r.Packets)
	require.Equal(t, int64(200), r.Bytes)
	require.Equal(t, int64(epoch+1), r.Start, "start is the first packet")
	require.Equal(t, int64(epoch+5), r.End, "end is the last packet, whole seconds")
	require.Equal(t, StatusOK, r.LogStatus)
	require.Equal(t, TypeIPv4, r.Type)
	require.Equal(t, Egress, r.FlowDirection)

	recs = a.Tick(at(25))
	require.Len(t, recs, 1)
	require.Equal(t, int64(1), recs[0].Packets)
	require.Equal(t, int64(epoch+12), recs[0].Start)
	require.Empty(t, a.Tick(at(100)))
}

func TestWindowBoundsMode(t *testing.T) {
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second, Timestamps: WindowBounds})
	record(t, a, obs(13), Recorded)
	record(t, a, obs(14), Recorded)
	recs := a.Tick(at(20))
	require.Len(t, recs, 1)
	require.Equal(t, int64(epoch+10), recs[0].Start)
	require.Equal(t, int64(epoch+20), recs[0].End)
}

func TestAcceptAndRejectAreSeparateRecords(t *testing.T) {
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second})
	o := obs(1)
	record(t, a, o, Recorded)
	o.Action = Reject
	record(t, a, o, Recorded)
	record(t, a, o, Recorded)
	recs := a.Tick(at(10))
	require.Len(t, recs, 2)
	require.Equal(t, Accept, recs[0].Action)
	require.Equal(t, int64(1), recs[0].Packets)
	require.Equal(t, Reject, recs[1].Action)
	require.Equal(t, int64(2), recs[1].Packets)
}

func TestDirectionsAreSeparateRecords(t *testing.T) {
	// A forwarding ENI (source/destination check off) sees the same tuple arrive and leave.
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second})
	o := obs(1)
	o.Tuple.Src, o.Tuple.Dst = netip.MustParseAddr("10.0.3.3"), netip.MustParseAddr("198.51.100.7")
	o.Direction = Ingress
	record(t, a, o, Recorded)
	o.Direction = Egress
	o.TrafficPath = PathIGW
	record(t, a, o, Recorded)
	f, err := ParseFormat("${flow-direction} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr} ${traffic-path}")
	require.NoError(t, err)
	recs := a.Tick(at(10))
	require.Len(t, recs, 2)
	require.Equal(t, "ingress 10.0.3.3 10.0.1.10 10.0.3.3 198.51.100.7 -", string(f.AppendText(nil, &recs[0])))
	require.Equal(t, "egress 10.0.1.10 198.51.100.7 10.0.3.3 198.51.100.7 8", string(f.AppendText(nil, &recs[1])))
}

func TestLogTCPFlags(t *testing.T) {
	for _, c := range []struct {
		header, want uint8
	}{
		{0x02, 2},  // SYN
		{0x12, 18}, // SYN-ACK
		{0x01, 1},  // FIN
		{0x11, 1},  // FIN-ACK: the ACK alone is not logged
		{0x04, 4},  // RST
		{0x14, 4},  // RST-ACK
		{0x10, 0},  // ACK alone
		{0x08, 0},  // PSH alone
		{0x18, 0},  // PSH-ACK
		{0x20, 0},  // URG
		{0x29, 1},  // URG PSH FIN: the supported one is reported
		{0xc2, 2},  // CWR ECE SYN
		{0xd2, 18}, // CWR ECE SYN-ACK
		{0x03, 3},  // SYN+FIN in one packet
		{0x13, 19}, // SYN-ACK+FIN
		{0x17, 23}, // SYN-ACK RST FIN
		{0x00, 0},  // no flags
		{0xff, 1 | 2 | 4 | 16},
	} {
		require.Equal(t, c.want, LogTCPFlags(c.header), "header flags %#x", c.header)
	}
}

// TestTCPFlagsORedInWindow is the documented rule: within one window the flags of a flow are
// OR-ed, so a short connection shows 3 (SYN and FIN) one way and 19 (SYN-ACK and FIN) the other.
func TestTCPFlagsORedInWindow(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags []uint8
		want  uint8
	}{
		{"client", []uint8{0x02, 0x10, 0x18, 0x11, 0x10}, 3},
		{"server", []uint8{0x12, 0x18, 0x11}, 19},
		{"established only", []uint8{0x10, 0x18, 0x10}, 0},
		{"reset", []uint8{0x02, 0x04}, 6},
		{"syn only", []uint8{0x02, 0x02}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newAgg(t, AggregatorOptions{Window: 10 * time.Second})
			for i, fl := range c.flags {
				o := obs(float64(i))
				o.TCPHeaderFlags = fl
				record(t, a, o, Recorded)
			}
			recs := a.Tick(at(10))
			require.Len(t, recs, 1)
			require.Equal(t, c.want, recs[0].TCPFlags)
		})
	}
	// Flags are per window: the FIN in the next window does not reach back.
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second})
	o := obs(1)
	o.TCPHeaderFlags = 0x02
	record(t, a, o, Recorded)
	o = obs(11)
	o.TCPHeaderFlags = 0x11
	record(t, a, o, Recorded)
	recs := a.Tick(at(20))
	require.Len(t, recs, 2)
	require.Equal(t, uint8(2), recs[0].TCPFlags)
	require.Equal(t, uint8(1), recs[1].TCPFlags)
}

func TestNonTCPFlagsAndPorts(t *testing.T) {
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second})
	o := obs(1)
	o.Tuple.Proto, o.Tuple.SrcPort, o.Tuple.DstPort = 17, 5000, 5001
	o.TCPHeaderFlags = 0x02 // junk for UDP; must not show
	record(t, a, o, Recorded)
	o.Tuple.Proto, o.Tuple.SrcPort, o.Tuple.DstPort = 1, 0, 0
	record(t, a, o, Recorded)
	recs := a.Tick(at(10))
	f, err := ParseFormat("${srcport} ${dstport} ${protocol} ${tcp-flags}")
	require.NoError(t, err)
	require.Equal(t, "5000 5001 17 0", string(f.AppendText(nil, &recs[0])))
	require.Equal(t, "0 0 1 0", string(f.AppendText(nil, &recs[1])), "ICMP shows ports 0 0, not -")
}

func TestNoData(t *testing.T) {
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second})
	a.Watch(eniA)
	a.Watch(eniB)
	record(t, a, obs(3), Recorded)

	recs := a.Tick(at(10))
	require.Equal(t, []string{
		"2 123456789012 eni-aaaaaaaaaaaaaaaaa 10.0.1.10 10.0.2.20 40000 80 6 1 100 " + fmt.Sprint(epoch+3, " ", epoch+3) + " ACCEPT OK",
		"2 123456789012 eni-bbbbbbbbbbbbbbbbb - - - - - - - " + fmt.Sprint(epoch, " ", epoch+10) + " - NODATA",
	}, formatAll(t, "", recs))

	recs = a.Tick(at(20))
	require.Equal(t, []string{
		"2 123456789012 eni-aaaaaaaaaaaaaaaaa - - - - - - - " + fmt.Sprint(epoch+10, " ", epoch+20) + " - NODATA",
		"2 123456789012 eni-bbbbbbbbbbbbbbbbb - - - - - - - " + fmt.Sprint(epoch+10, " ", epoch+20) + " - NODATA",
	}, formatAll(t, "", recs))

	// A NODATA record of a v3 format carries the ENI's metadata and "-" for the flow's fields.
	require.Equal(t, []string{"vpc-1 subnet-1 i-aaaaaaaaaaaaaaaaa - - - - - NODATA"},
		formatAll(t, "${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${flow-direction} ${traffic-path} ${log-status}", recs[:1]))

	a.Unwatch(eniB.InterfaceID)
	recs = a.Tick(at(30))
	require.Len(t, recs, 1)
	require.Equal(t, eniA.InterfaceID, recs[0].InterfaceID)
}

// TestNoDataCoalesced: idle windows that end in one Tick share one NODATA record per idle run.
func TestNoDataCoalesced(t *testing.T) {
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second})
	a.Watch(eniA)
	record(t, a, obs(25), Recorded)
	recs := a.Tick(at(59))
	require.Len(t, recs, 3)
	require.Equal(t, StatusNoData, recs[0].LogStatus)
	require.Equal(t, [2]int64{epoch, epoch + 20}, [2]int64{recs[0].Start, recs[0].End})
	require.Equal(t, StatusOK, recs[1].LogStatus)
	require.Equal(t, StatusNoData, recs[2].LogStatus)
	require.Equal(t, [2]int64{epoch + 30, epoch + 50}, [2]int64{recs[2].Start, recs[2].End})

	// A clock that jumps a year does not make a year of records.
	recs = a.Tick(at(365 * 86400))
	require.Len(t, recs, 1)
}

func TestWatchMidStreamStartsAtCurrentWindow(t *testing.T) {
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second})
	require.Empty(t, a.Tick(at(30)))
	a.Watch(eniB)
	recs := a.Tick(at(40))
	require.Len(t, recs, 1)
	require.Equal(t, int64(epoch+30), recs[0].Start)
}

func TestSkipData(t *testing.T) {
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second, MaxFlows: 2})
	a.Watch(eniA)
	for port := range uint16(4) {
		o := obs(1)
		o.Tuple.SrcPort = 40000 + port
		want := Recorded
		if port >= 2 {
			want = Skipped
		}
		record(t, a, o, want)
	}
	// Existing flows keep counting while new ones are refused.
	record(t, a, obs(2), Recorded)
	// Another ENI has its own capacity.
	o := obs(1)
	o.ENI, o.Direction = eniB, Ingress
	record(t, a, o, Recorded)

	recs := a.Tick(at(10))
	require.Equal(t, []string{
		"2 123456789012 eni-aaaaaaaaaaaaaaaaa 10.0.1.10 10.0.2.20 40000 80 6 2 200 " + fmt.Sprint(epoch+1, " ", epoch+2) + " ACCEPT OK",
		"2 123456789012 eni-aaaaaaaaaaaaaaaaa 10.0.1.10 10.0.2.20 40001 80 6 1 100 " + fmt.Sprint(epoch+1, " ", epoch+1) + " ACCEPT OK",
		"2 123456789012 eni-aaaaaaaaaaaaaaaaa - - - - - - - " + fmt.Sprint(epoch, " ", epoch+10) + " - SKIPDATA",
		"2 123456789012 eni-bbbbbbbbbbbbbbbbb 10.0.1.10 10.0.2.20 40000 80 6 1 100 " + fmt.Sprint(epoch+1, " ", epoch+1) + " ACCEPT OK",
	}, formatAll(t, "", recs))

	// The next window starts with the full capacity again.
	for port := range uint16(2) {
		o := obs(11)
		o.Tuple.SrcPort = 50000 + port
		record(t, a, o, Recorded)
	}
	recs = a.Tick(at(20))
	require.Len(t, recs, 2)
}

func TestTrafficTypeFilter(t *testing.T) {
	for _, c := range []struct {
		tt             TrafficType
		accept, reject Outcome
	}{
		{"", Recorded, Recorded},
		{TrafficAll, Recorded, Recorded},
		{TrafficAccept, Recorded, Filtered},
		{TrafficReject, Filtered, Recorded},
	} {
		a := newAgg(t, AggregatorOptions{TrafficType: c.tt})
		o := obs(1)
		record(t, a, o, c.accept)
		o.Action = Reject
		record(t, a, o, c.reject)
	}
	_, err := NewAggregator(AggregatorOptions{TrafficType: "accept"})
	require.ErrorContains(t, err, `traffic type "accept": want ACCEPT, REJECT or ALL`)
}

func TestRecordRefusals(t *testing.T) {
	a := newAgg(t, AggregatorOptions{})
	o := obs(1)
	o.Tuple.Dst = eniA.Exempt.AmazonDNS
	o.Tuple.Proto, o.Tuple.DstPort = 17, 53
	record(t, a, o, Exempted)
	o = obs(1)
	o.ENI = nil
	record(t, a, o, Invalid)
	o = obs(1)
	o.Action = ActionNone
	record(t, a, o, Invalid)
	o = obs(1)
	o.Direction = DirectionNone
	record(t, a, o, Invalid)
	require.Empty(t, a.Tick(at(3600)))
}

// TestLatePacketCountsInOpenWindow: a packet stamped in a window already flushed counts in the
// oldest open one, so no window is ever reported twice.
func TestLatePacketCountsInOpenWindow(t *testing.T) {
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second})
	record(t, a, obs(5), Recorded)
	require.Len(t, a.Tick(at(10)), 1)
	record(t, a, obs(8), Recorded) // late
	record(t, a, obs(12), Recorded)
	require.Empty(t, a.Tick(at(15)))
	recs := a.Tick(at(20))
	require.Len(t, recs, 1)
	require.Equal(t, int64(2), recs[0].Packets)
	require.LessOrEqual(t, recs[0].Start, recs[0].End)
}

func TestZeroTimeUsesClock(t *testing.T) {
	now := at(4)
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second, Clock: func() time.Time { return now }})
	o := obs(0)
	o.Time = time.Time{}
	o.Packets = 3 // a TSO super-frame of three segments
	record(t, a, o, Recorded)
	recs := a.Tick(at(10))
	require.Len(t, recs, 1)
	require.Equal(t, int64(epoch+4), recs[0].Start)
	require.Equal(t, int64(3), recs[0].Packets)
}

func TestClose(t *testing.T) {
	a := newAgg(t, AggregatorOptions{Window: 10 * time.Second})
	a.Watch(eniB)
	record(t, a, obs(3), Recorded)
	record(t, a, obs(14), Recorded)
	recs := a.Close(at(15))
	// Window [0,10): A's flow and B's NODATA; the unfinished window [10,20): A's flow, no NODATA.
	require.Len(t, recs, 3)
	require.Equal(t, int64(epoch+14), recs[2].Start)
	require.Equal(t, StatusOK, recs[2].LogStatus)
	record(t, a, obs(16), Closed)
	require.Nil(t, a.Close(at(30)))
	require.Nil(t, a.Tick(at(30)))
}

func TestNewAggregatorErrors(t *testing.T) {
	for _, c := range []struct {
		o    AggregatorOptions
		want string
	}{
		{AggregatorOptions{Window: 1500 * time.Millisecond}, "aggregation window 1.5s: want a whole number of seconds, at least 1s"},
		{AggregatorOptions{Window: -time.Second}, "aggregation window -1s"},
		{AggregatorOptions{MaxFlows: -1}, "max flows -1: want 1 or more"},
		{AggregatorOptions{Timestamps: 7}, "timestamp mode 7"},
	} {
		_, err := NewAggregator(c.o)
		require.ErrorContains(t, err, c.want)
	}
	a, err := NewAggregator(AggregatorOptions{})
	require.NoError(t, err)
	require.Equal(t, time.Minute, a.Window())
}

// model is the naive aggregator the differential test compares with: one map, no shards, no
// free lists.
type modelKey struct {
	eni      string
	win      int64
	src, dst netip.Addr
	sp, dp   uint16
	proto    uint8
	action   Action
	dir      Direction
}

type modelVal struct {
	packets, bytes int64
	first, last    int64
	flags          uint8
}

func TestDifferentialAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	enis := []*ENI{eniA, eniB, {InterfaceID: "eni-ccccccccccccccccc", PrimaryIPv4: netip.MustParseAddr("10.0.3.30")}}
	addrs := []netip.Addr{netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("10.0.2.20"),
		netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("2001:db8::1")}
	const window = 5
	var all []Observation
	for range 5000 {
		o := Observation{
			ENI:            enis[rng.IntN(len(enis))],
			Action:         Action(1 + rng.IntN(2)),
			Direction:      Direction(1 + rng.IntN(2)),
			Bytes:          uint64(rng.IntN(1500)),
			Packets:        uint32(rng.IntN(3)),
			TCPHeaderFlags: uint8(rng.IntN(256)),
			Time:           at(rng.Float64() * 60),
			Tuple: Tuple{Src: addrs[rng.IntN(len(addrs))], Dst: addrs[rng.IntN(len(addrs))],
				SrcPort: uint16(rng.IntN(3)), DstPort: 80, Proto: []uint8{1, 6, 17}[rng.IntN(3)]},
		}
		all = append(all, o)
	}
	want := map[modelKey]modelVal{}
	for _, o := range all {
		ts := o.Time.UnixNano()
		k := modelKey{o.ENI.InterfaceID, ts / (window * 1e9) * (window * 1e9), o.Tuple.Src, o.Tuple.Dst,
			o.Tuple.SrcPort, o.Tuple.DstPort, o.Tuple.Proto, o.Action, o.Direction}
		v, ok := want[k]
		if !ok {
			v.first = ts
		}
		v.packets += max(int64(o.Packets), 1)
		v.bytes += int64(o.Bytes)
		if o.Tuple.Proto == 6 {
			v.flags |= LogTCPFlags(o.TCPHeaderFlags)
		}
		v.first, v.last = min(v.first, ts), max(v.last, ts)
		want[k] = v
	}
	toStrings := func(m map[modelKey]modelVal) []string {
		var out []string
		for k, v := range m {
			out = append(out, fmt.Sprint(k, v.packets, v.bytes, v.first/1e9, v.last/1e9, v.flags))
		}
		slices.Sort(out)
		return out
	}

	// Sequential and concurrent recording must both agree with the model.
	for _, workers := range []int{1, 4} {
		a := newAgg(t, AggregatorOptions{Window: window * time.Second})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(all); i += workers {
					if a.Record(&all[i]) != Recorded {
						t.Errorf("observation %d not recorded", i)
					}
				}
			})
		}
		wg.Wait()
		recs := a.Tick(at(3600))
		got := map[modelKey]modelVal{}
		for _, r := range recs {
			k := modelKey{r.InterfaceID, r.Start / window * window * 1e9, r.PktSrcAddr, r.PktDstAddr,
				r.SrcPort, r.DstPort, r.Protocol, r.Action, r.FlowDirection}
			_, dup := got[k]
			require.False(t, dup, "two records for one flow in one window: %v", k)
			got[k] = modelVal{r.Packets, r.Bytes, r.Start * 1e9, r.End * 1e9, r.TCPFlags}
		}
		require.Equal(t, toStrings(want), toStrings(got), "workers=%d", workers)
	}
}

// TestTickConcurrentWithRecord checks that nothing is lost or counted twice when the clock
// ticks while packets arrive (run with -race).
func TestTickConcurrentWithRecord(t *testing.T) {
	a := newAgg(t, AggregatorOptions{Window: time.Second})
	const n = 20000
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range n {
				o := obs(float64(i) / 1000)
				o.Tuple.SrcPort = uint16(w)
				a.Record(&o)
			}
		})
	}
	var total int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range 30 {
			for _, r := range a.Tick(at(float64(s))) {
				total += r.Packets
			}
		}
	}()
	wg.Wait()
	<-done
	for _, r := range a.Close(at(3600)) {
		total += r.Packets
	}
	require.Equal(t, int64(4*n), total)
}

func TestRecordDoesNotAllocateOnExistingFlow(t *testing.T) {
	a := newAgg(t, AggregatorOptions{})
	o := obs(1)
	a.Record(&o)
	allocs := testing.AllocsPerRun(1000, func() {
		if a.Record(&o) != Recorded {
			panic("not recorded")
		}
	})
	require.Zero(t, allocs)

	// Nor when the aggregator's clock stamps the packet.
	o.Time = time.Time{}
	a.Record(&o)
	allocs = testing.AllocsPerRun(1000, func() { a.Record(&o) })
	require.Zero(t, allocs)
}

func TestAppendTextDoesNotAllocate(t *testing.T) {
	f, err := ParseFormat(goldenExamples[9].format)
	require.NoError(t, err)
	r, err := ParseRecord(f, goldenExamples[9].lines[1])
	require.NoError(t, err)
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() { buf = f.AppendText(buf[:0], &r) })
	require.Zero(t, allocs)
	allocs = testing.AllocsPerRun(100, func() { buf = f.AppendJSON(buf[:0], &r) })
	require.Zero(t, allocs)
}

func BenchmarkRecordExistingFlow(b *testing.B) {
	a := newAgg(b, AggregatorOptions{})
	o := obs(1)
	a.Record(&o)
	b.ReportAllocs()
	for b.Loop() {
		a.Record(&o)
	}
}

func BenchmarkRecordExistingFlowParallel(b *testing.B) {
	a := newAgg(b, AggregatorOptions{})
	var mu sync.Mutex
	next := 0
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		mu.Lock()
		e := *eniA
		e.InterfaceID = fmt.Sprintf("eni-%017d", next)
		next++
		mu.Unlock()
		o := obs(1)
		o.ENI = &e
		for pb.Next() {
			a.Record(&o)
		}
	})
}

func BenchmarkRecordNewFlows(b *testing.B) {
	a := newAgg(b, AggregatorOptions{MaxFlows: 1 << 30})
	o := obs(1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o.Tuple.SrcPort = uint16(i)
		o.Tuple.DstPort = uint16(i >> 16)
		i++
		a.Record(&o)
	}
}

func BenchmarkAppendText(b *testing.B) {
	f := DefaultFormat()
	r, err := ParseRecord(f, goldenExamples[0].lines[0])
	require.NoError(b, err)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.AppendText(buf[:0], &r)
	}
}
