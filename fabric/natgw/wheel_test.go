package natgw

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func wheelFlow(i int) Packet {
	return Packet{Proto: ProtoUDP, Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), SrcPort: 5000,
		Dst: netip.AddrFrom4([4]byte{203, 0, 113, byte(i % 3)}), DstPort: 53}
}

// After a pause longer than a turn of the wheel, a burst of packets finds the wheel far
// behind: it catches up a few entries per Apply, entries filed meanwhile may share slots with
// entries of the previous turn, and still every expired entry is where evaluations look, and
// none is removed early.
func TestWheelCatchesUp(t *testing.T) {
	tb := newTable(t, Options{IdleTimeout: 100 * time.Second, TCPClosedTimeout: time.Second})
	for i := range 3000 {
		_, ok := out(tb, wheelFlow(i), int64(i)*sec/100) // deadlines from 100 s to 130 s
		require.True(t, ok)
	}
	checkTable(t, tb, 30*sec)
	now := 200 * sec
	for i := 3000; i < 3300; i++ {
		now += sec / 10
		_, ok := out(tb, wheelFlow(i), now)
		require.True(t, ok)
		if i%25 == 0 {
			checkTable(t, tb, now)
		}
	}
	stale := tb.Len() - 300
	require.Positive(t, stale, "the wheel is still catching up")
	for i := range 3000 {
		p := wheelFlow(i)
		require.Equal(t, VerdictNewMapping, tb.Outbound(&p, now).Verdict, "flow %d expired long ago", i)
	}
	for i := 3000; i < 3300; i++ {
		p := wheelFlow(i)
		require.Equal(t, VerdictTranslated, tb.Outbound(&p, now).Verdict, "flow %d is live", i)
	}
	require.Equal(t, stale, tb.Reap(now, 1<<20))
	require.Equal(t, 300, tb.Len())
	checkTable(t, tb, now)
	// Each of the new ones expires exactly at its deadline, removed by Reap however far the
	// wheel lags.
	for i := 3000; i < 3300; i++ {
		dl := 200*sec + int64(i-2999)*sec/10 + 100*sec
		require.Equal(t, 0, tb.Reap(dl-1, 1<<20))
		require.Equal(t, 1, tb.Reap(dl, 1<<20), "flow %d", i)
	}
	require.Equal(t, 0, tb.Len())
	checkTable(t, tb, 500*sec)
}

// Refreshed entries stay in the bucket they were filed in until the wheel reaches it, and
// are then filed further on; closed ones are filed again at once, in an earlier bucket.
func TestWheelRefreshAndClose(t *testing.T) {
	tb := newTable(t, Options{IdleTimeout: 100 * time.Second, TCPClosedTimeout: 5 * time.Second})
	syn := tcpOut(inst, 40000, remote, 443, TCPSyn)
	d, _ := out(tb, syn, 0)
	ext := d.Ext
	ack := tcpOut(inst, 40000, remote, 443, TCPAck)
	for now := int64(0); now < 1000*sec; now += 30 * sec {
		_, ok := out(tb, ack, now)
		require.True(t, ok)
		require.Equal(t, 0, tb.Reap(now, 1<<20), "a refreshed connection never expires")
		checkTable(t, tb, now)
	}
	in(tb, tcpIn(remote, 443, ext, TCPRst), 1000*sec)
	checkTable(t, tb, 1000*sec)
	require.Equal(t, 0, tb.Reap(1005*sec-1, 1<<20))
	require.Equal(t, 1, tb.Reap(1005*sec, 1<<20), "the closed timeout applies at once")
	require.Equal(t, uint64(0), tb.Metrics().IdleTimeoutCount)
}

// A clock that starts below zero is as good as any other.
func TestWheelNegativeClock(t *testing.T) {
	tb := newTable(t, Options{IdleTimeout: 10 * time.Second})
	start := -1000 * sec
	for i := range 50 {
		_, ok := out(tb, wheelFlow(i), start+int64(i)*sec/7)
		require.True(t, ok)
	}
	checkTable(t, tb, start+10*sec)
	require.Equal(t, 0, tb.Reap(start+10*sec-1, 1<<20))
	require.Equal(t, 50, tb.Reap(start+20*sec, 1<<20))
	require.Equal(t, int64(-1), tb.bucket(-1))
	require.Equal(t, int64(0), tb.bucket(0))
	require.Equal(t, int32(wheelSlots-1), slotOf(-1))
}

// A destination at its limit whose oldest mapping expired a moment ago, in the bucket the
// wheel has not reached: the evaluation counts it as gone, and the apply removes it.
func TestLimitCountsExpiredInTheCurrentBucket(t *testing.T) {
	tb := newTable(t, Options{MaxPerDest: 3, IdleTimeout: 100 * time.Second})
	for i := range 3 {
		p := udpOut(inst, uint16(100+i), remote, 53)
		out(tb, p, int64(i)*sec)
	}
	p := udpOut(inst, 200, remote, 53)
	d, _ := out(tb, p, 100*sec-1)
	require.Equal(t, VerdictErrorPortAllocation, d.Verdict)
	d, ok := out(tb, p, 100*sec)
	require.True(t, ok)
	require.Equal(t, VerdictNewMapping, d.Verdict)
	require.Equal(t, 3, tb.Len())
	checkTable(t, tb, 100*sec)
}
