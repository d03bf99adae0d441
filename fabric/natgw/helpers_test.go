package natgw

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var ip = netip.MustParseAddr

const (
	sec = int64(time.Second)
	pub = "10.0.1.5" // the gateway's private address, the public side of the table
)

func newTable(tb testing.TB, o Options) *Table {
	tb.Helper()
	if !o.PublicAddr.IsValid() {
		o.PublicAddr = ip(pub)
	}
	t, err := New(o)
	require.NoError(tb, err)
	return t
}

// out evaluates an outbound packet and applies its update, as the engine does.
func out(t *Table, p Packet, now int64) (Decision, bool) {
	d := t.Outbound(&p, now)
	return d, t.Apply(&d.Update, now)
}

func in(t *Table, p Packet, now int64) (Decision, bool) {
	d := t.Inbound(&p, now)
	return d, t.Apply(&d.Update, now)
}

func tcpOut(src string, sport uint16, dst string, dport uint16, flags uint8) Packet {
	return Packet{Proto: ProtoTCP, Src: ip(src), Dst: ip(dst), SrcPort: sport, DstPort: dport, TCPFlags: flags}
}

// tcpIn is a segment from remote:rport to the gateway's external port ext.
func tcpIn(remote string, rport, ext uint16, flags uint8) Packet {
	return Packet{Proto: ProtoTCP, Src: ip(remote), Dst: ip(pub), SrcPort: rport, DstPort: ext, TCPFlags: flags}
}

func udpOut(src string, sport uint16, dst string, dport uint16) Packet {
	return Packet{Proto: ProtoUDP, Src: ip(src), Dst: ip(dst), SrcPort: sport, DstPort: dport}
}

func udpIn(remote string, rport, ext uint16) Packet {
	return Packet{Proto: ProtoUDP, Src: ip(remote), Dst: ip(pub), SrcPort: rport, DstPort: ext}
}

func pingOut(src, dst string, id uint16) Packet {
	return Packet{Proto: ProtoICMP, Src: ip(src), Dst: ip(dst), ICMPType: 8, ICMPID: id}
}

func pongIn(remote string, id uint16) Packet {
	return Packet{Proto: ProtoICMP, Src: ip(remote), Dst: ip(pub), ICMPType: 0, ICMPID: id}
}

// checkTable verifies the table's internal consistency: every entry is filed in both indexes
// under its hashes and counted in its destination, the indexes and destination records hold
// nothing else, the free list covers the other slab slots, no two live entries share a
// destination and port, and the timing wheel is consistent (see checkWheel).
func checkTable(tb testing.TB, t *Table, now int64) {
	tb.Helper()
	total := 0
	for si := range t.shards {
		s := &t.shards[si]
		s.mu.Lock()
		type dk struct {
			remote [16]byte
			rport  uint16
			proto  uint8
		}
		counts := map[dk]int32{}
		liveExt := map[[2]any]bool{}
		used := 0
		for i := range s.slab {
			e := &s.slab[i]
			if e.state == stateFree {
				continue
			}
			used++
			k := e.key
			hd := t.destHash(k.proto, &k.remote, k.rport)
			require.Equal(tb, t.shardOf(hd), s, "entry %d is in the wrong shard", i)
			require.Equal(tb, uint32(outHash(hd, &k.inside, k.iport)), e.hout)
			require.Equal(tb, int32(i), s.findOut(e.hout, &k), "entry %d not found by inside flow", i)
			require.Equal(tb, int32(i), s.findIn(inHash(hd, e.ext), k.proto, &k.remote, k.rport, e.ext), "entry %d not found by port", i)
			require.Less(tb, uint32(e.ext-t.portMin), t.nports, "port %d outside the range", e.ext)
			d := dk{k.remote, k.rport, k.proto}
			counts[d]++
			if e.deadline > now {
				key := [2]any{d, e.ext}
				require.False(tb, liveExt[key], "two live mappings hold port %d towards one destination", e.ext)
				liveExt[key] = true
			}
		}
		require.Equal(tb, used, s.out.used)
		require.Equal(tb, used, s.in.used)
		require.Equal(tb, len(s.slab), used+len(s.free), "slab slots are either used or free")
		for _, f := range s.free {
			require.Equal(tb, stateFree, s.slab[f].state)
		}
		require.Equal(tb, len(counts), s.dests.used)
		for d, n := range counts {
			rec := s.dests.find(uint32(t.destHash(d.proto, &d.remote, d.rport)), d.proto, &d.remote, d.rport)
			require.NotNil(tb, rec)
			require.Equal(tb, n, rec.count)
		}
		checkWheel(tb, t, s, used, now)
		total += used
		s.mu.Unlock()
	}
	require.Equal(tb, total, t.Len())
}

// checkWheel verifies that the timing wheel's lists are well linked and hold every entry
// once, and that every expired entry sits in a bucket that expiredAtLocked looks at.
func checkWheel(tb testing.TB, t *Table, s *shard, used int, now int64) {
	tb.Helper()
	w := &s.wheel
	if w.done == noBucket {
		require.Zero(tb, used, "entries before the wheel started")
		return
	}
	slotOfEntry := map[int32]int32{}
	for sl := range int32(wheelSlots) {
		prev := -sl - 1
		for i := w.heads[sl]; i != 0; i = s.slab[i-1].next {
			_, dup := slotOfEntry[i-1]
			require.False(tb, dup, "entry %d is linked twice", i-1)
			slotOfEntry[i-1] = sl
			e := &s.slab[i-1]
			require.NotEqual(tb, stateFree, e.state, "a free slot is linked in bucket %d", sl)
			require.Equal(tb, prev, e.prev, "entry %d: prev", i-1)
			prev = i
		}
	}
	require.Len(tb, slotOfEntry, used, "every entry is in the wheel once")
	nowB := t.bucket(now)
	pending := map[int32]bool{}
	for b := max(w.done, nowB-wheelSlots+1); b <= nowB; b++ {
		pending[slotOf(b)] = true
	}
	for i, sl := range slotOfEntry {
		if s.slab[i].deadline <= now {
			require.True(tb, pending[sl], "expired entry %d is in slot %d, outside the buckets still to process", i, sl)
		}
	}
}
