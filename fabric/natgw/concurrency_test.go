package natgw

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Workers open, use and close connections to a few shared destinations at once, with a port
// range small enough that they compete for ports, while another goroutine reaps. Each worker
// owns its flows, so it knows what the table must say about them; the counters must add up.
// Run with -race.
func TestConcurrentUse(t *testing.T) {
	const (
		workers = 8
		ops     = 3000
		flows   = 24 // per worker: 64 per destination, more than MaxPerDest
	)
	tb := newTable(t, Options{PortMin: 2000, PortMax: 2063, MaxPerDest: 40,
		IdleTimeout: 1000 * time.Second, TCPClosedTimeout: time.Second})
	dests := []netip.Addr{ip("203.0.113.1"), ip("203.0.113.2"), ip("198.51.100.3")}
	var clock atomic.Int64
	var portErrVerdicts, lostRaces, drops, attempts, open atomic.Int64
	stop := make(chan struct{})
	var reaper sync.WaitGroup
	reaper.Add(1)
	go func() {
		defer reaper.Done()
		for {
			select {
			case <-stop:
				return
			default:
				tb.Reap(clock.Load(), 64)
			}
		}
	}()

	errs := make(chan string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inside := netip.AddrFrom4([4]byte{10, 0, 2, byte(10 + w)})
			isOpen := make([]bool, flows)
			fail := func(msg string) { errs <- msg }
			for i := range ops {
				now := clock.Add(int64(time.Second) / 100)
				f := (i * 7) % flows
				dst := dests[f%len(dests)]
				syn := Packet{Proto: ProtoTCP, Src: inside, Dst: dst, SrcPort: uint16(30000 + f), DstPort: 443, TCPFlags: TCPSyn}
				if isOpen[f] {
					// Close it, from one side or the other.
					p := syn
					p.TCPFlags = TCPRst
					d := tb.Outbound(&p, now)
					if d.Verdict != VerdictTranslated || !tb.Apply(&d.Update, now) {
						fail("an open connection's RST was not translated: " + d.Verdict.String())
						return
					}
					isOpen[f] = false
					open.Add(-1)
					continue
				}
				d := tb.Outbound(&syn, now)
				ok := tb.Apply(&d.Update, now)
				switch {
				case d.Verdict == VerdictErrorPortAllocation:
					portErrVerdicts.Add(1)
					drops.Add(1)
					continue
				case !ok:
					// Lost a race for the port, or the closed mapping a reopening SYN was
					// judged by expired by another goroutine's clock and was reaped.
					if d.Verdict != VerdictNewMapping && d.Verdict != VerdictTranslated {
						fail("Apply refused a " + d.Verdict.String())
						return
					}
					lostRaces.Add(1)
					drops.Add(1)
					continue
				case d.Verdict != VerdictNewMapping && d.Verdict != VerdictTranslated:
					fail("a SYN got " + d.Verdict.String())
					return
				}
				attempts.Add(1)
				isOpen[f] = true
				open.Add(1)
				// The reply finds the connection at the port the SYN went out with.
				r := Packet{Proto: ProtoTCP, Src: dst, Dst: ip(pub), SrcPort: 443, DstPort: d.Ext, TCPFlags: TCPSyn | TCPAck}
				rd := tb.Inbound(&r, now)
				if rd.Verdict != VerdictTranslated || rd.Flow.Inside != inside || rd.Flow.InsidePort != syn.SrcPort || !tb.Apply(&rd.Update, now) {
					fail("the reply was not translated back: " + rd.Verdict.String())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	reaper.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	end := clock.Load()
	checkTable(t, tb, end)
	require.Less(t, end, int64(1000*time.Second), "nothing may expire idle during the run")

	m := tb.Metrics()
	require.Equal(t, open.Load(), m.ActiveConnectionCount)
	require.Equal(t, uint64(attempts.Load()), m.ConnectionAttemptCount)
	require.Equal(t, uint64(attempts.Load()), m.ConnectionEstablishedCount, "every attempt was answered")
	require.Equal(t, uint64(drops.Load()), m.PacketsDropCount)
	require.GreaterOrEqual(t, m.ErrorPortAllocation, uint64(portErrVerdicts.Load()))
	require.LessOrEqual(t, m.ErrorPortAllocation, uint64(portErrVerdicts.Load()+lostRaces.Load()))
	require.Positive(t, portErrVerdicts.Load(), "the workers should have run out of ports")
	t.Logf("attempts %d, port errors %d, lost races %d", attempts.Load(), portErrVerdicts.Load(), lostRaces.Load())

	// Long after, everything is gone, and the connections still open timed out idle.
	tb.Reap(end+1000*int64(time.Second), 1<<30)
	m = tb.Metrics()
	require.Equal(t, 0, tb.Len())
	require.Equal(t, int64(0), m.ActiveConnectionCount)
	require.Equal(t, uint64(open.Load()), m.IdleTimeoutCount)
	checkTable(t, tb, end+1000*int64(time.Second))
}
