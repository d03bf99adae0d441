package natgw

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestEntryLayout(t *testing.T) {
	require.Equal(t, uintptr(64), unsafe.Sizeof(entry{}), "an entry is a cache line")
	require.Equal(t, uintptr(8), unsafe.Sizeof(islot{}))
}

// population returns n outbound UDP flows spread over many instances and destinations, and
// a table in which they are all mapped at time 0.
func population(tb testing.TB, n int) (*Table, []Packet, []Packet) {
	t := newTable(tb, Options{})
	outs := make([]Packet, n)
	ins := make([]Packet, n)
	for i := range n {
		inside := netip.AddrFrom4([4]byte{10, 0, byte(i >> 16), byte(i >> 8)})
		dst := netip.AddrFrom4([4]byte{203, 0, 113, byte(i % 251)})
		outs[i] = Packet{Proto: ProtoUDP, Src: inside, Dst: dst, SrcPort: uint16(10000 + i%256), DstPort: uint16(53 + i%4)}
		d, ok := out(t, outs[i], 0)
		require.True(tb, ok)
		require.Equal(tb, VerdictNewMapping, d.Verdict)
		ins[i] = Packet{Proto: ProtoUDP, Src: dst, Dst: ip(pub), SrcPort: outs[i].DstPort, DstPort: d.Ext}
	}
	require.Equal(tb, n, t.Len())
	return t, outs, ins
}

func TestZeroAllocs(t *testing.T) {
	tb, outs, ins := population(t, 2000)
	now := sec
	i := 0
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"outbound hit", func() {
			d := tb.Outbound(&outs[i%len(outs)], now)
			tb.Apply(&d.Update, now)
			i++
		}},
		{"inbound hit", func() {
			d := tb.Inbound(&ins[i%len(ins)], now)
			tb.Apply(&d.Update, now)
			i++
		}},
		{"unsolicited", func() {
			p := ins[i%len(ins)]
			p.SrcPort++
			d := tb.Inbound(&p, now)
			tb.Apply(&d.Update, now)
			i++
		}},
		{"icmp error", func() {
			p := Packet{Proto: ProtoICMP, Src: ip("192.0.2.1"), Dst: ip(pub), ICMPType: 3, IsICMPError: true,
				Quote: Quote{Proto: ProtoUDP, Src: ip(pub), Dst: ins[i%len(ins)].Src, SrcPort: ins[i%len(ins)].DstPort, DstPort: ins[i%len(ins)].SrcPort}}
			d := tb.Inbound(&p, now)
			tb.Apply(&d.Update, now)
			i++
		}},
		{"reset", func() {
			p := tcpOut(inst, 1, remote, 443, TCPAck)
			d := tb.Outbound(&p, now)
			tb.Apply(&d.Update, now)
		}},
	} {
		require.Zero(t, testing.AllocsPerRun(1000, tc.fn), tc.name)
	}
	require.Equal(t, 2000, tb.Len())

	// New mappings in a steady state, where expired ones make room: the slab and indexes
	// reuse their slots.
	churn := newTable(t, Options{IdleTimeout: 100 * time.Second})
	k := 0
	step := func() {
		k++
		now := int64(k) * sec
		p := Packet{Proto: ProtoUDP, Src: ip(inst), Dst: netip.AddrFrom4([4]byte{203, 0, 113, byte(k % 7)}), SrcPort: uint16(k), DstPort: 53}
		d := churn.Outbound(&p, now)
		churn.Apply(&d.Update, now)
		churn.Reap(now, 8)
	}
	for range 5000 {
		step()
	}
	require.Zero(t, testing.AllocsPerRun(2000, step), "new mappings")
	require.InDelta(t, 100, churn.Len(), 40)
}

const benchFlows = 100_000

func BenchmarkOutboundHit(b *testing.B) {
	tb, outs, _ := population(b, benchFlows)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		d := tb.Outbound(&outs[i%benchFlows], sec)
		tb.Apply(&d.Update, sec)
	}
}

func BenchmarkOutboundEvaluate(b *testing.B) {
	tb, outs, _ := population(b, benchFlows)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		tb.Outbound(&outs[i%benchFlows], sec)
	}
}

func BenchmarkInboundHit(b *testing.B) {
	tb, _, ins := population(b, benchFlows)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		d := tb.Inbound(&ins[i%benchFlows], sec)
		tb.Apply(&d.Update, sec)
	}
}

func BenchmarkInboundUnsolicited(b *testing.B) {
	tb, _, ins := population(b, benchFlows)
	for i := range ins {
		ins[i].SrcPort += 1000
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		d := tb.Inbound(&ins[i%benchFlows], sec)
		tb.Apply(&d.Update, sec)
	}
}

// BenchmarkNewMapping opens a new mapping per op in a table that holds about 100k live ones:
// the idle timeout is 100k ops long, so as many expire as are created.
func BenchmarkNewMapping(b *testing.B) {
	tb := newTable(b, Options{IdleTimeout: time.Duration(benchFlows) * time.Microsecond, TCPClosedTimeout: time.Microsecond})
	p := Packet{Proto: ProtoTCP, TCPFlags: TCPSyn, DstPort: 443}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		now := int64(i) * int64(time.Microsecond)
		p.Src = netip.AddrFrom4([4]byte{10, 0, byte(i >> 16), byte(i >> 8)})
		p.SrcPort = uint16(i)
		p.Dst = netip.AddrFrom4([4]byte{203, 0, 113, byte(i % 199)})
		d := tb.Outbound(&p, now)
		if !tb.Apply(&d.Update, now) {
			b.Fatalf("op %d: %v", i, d.Verdict)
		}
	}
	b.ReportMetric(float64(tb.Len()), "mappings")
}

func BenchmarkOutboundHitParallel(b *testing.B) {
	tb, outs, _ := population(b, benchFlows)
	b.ReportAllocs()
	b.ResetTimer()
	var starts atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(starts.Add(7919)) // a different start per goroutine
		for pb.Next() {
			d := tb.Outbound(&outs[i%benchFlows], sec)
			tb.Apply(&d.Update, sec)
			i++
		}
	})
}

// BenchmarkSaturatedChurn keeps one destination at its limit of 55,000 mappings while one
// expires and a new one opens on every op: the path where the table must count exactly how
// many of the destination's mappings are still live.
func BenchmarkSaturatedChurn(b *testing.B) {
	const step = int64(time.Millisecond)
	tb := newTable(b, Options{IdleTimeout: time.Duration(DefaultMaxPerDest * step)})
	flow := func(i int) Packet {
		return Packet{Proto: ProtoUDP, Src: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), SrcPort: uint16(i >> 16),
			Dst: ip(remote), DstPort: 53}
	}
	for i := range DefaultMaxPerDest {
		p := flow(i)
		if _, ok := out(tb, p, int64(i)*step); !ok {
			b.Fatal(i)
		}
	}
	p := flow(DefaultMaxPerDest)
	if d, _ := out(tb, p, int64(DefaultMaxPerDest-1)*step); d.Verdict != VerdictErrorPortAllocation {
		b.Fatalf("the destination should be full, got %v", d.Verdict)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		n := DefaultMaxPerDest + i
		now := int64(n) * step
		p := flow(n)
		d := tb.Outbound(&p, now)
		if !tb.Apply(&d.Update, now) {
			b.Fatalf("op %d: %v", i, d.Verdict)
		}
	}
}
