package sgengine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// checkTable verifies the table's invariants: every entry is found from its home slot, no key
// is stored twice, and the counts add up.
func checkTable(t *testing.T, ct *Conntrack) {
	t.Helper()
	total := 0
	for si := range ct.shards {
		s := &ct.shards[si]
		s.mu.Lock()
		used := 0
		seen := map[ctKey]bool{}
		for i := range s.slots {
			e := &s.slots[i]
			if e.key.fam == 0 {
				continue
			}
			used++
			require.False(t, seen[e.key], "shard %d: key stored twice", si)
			seen[e.key] = true
			h := e.key.hash(ct.seed)
			require.Equal(t, si, int(h>>(64-shardBits)), "entry in the wrong shard")
			require.Equal(t, i, s.findLocked(&e.key, h), "shard %d slot %d is not reachable from its home", si, i)
		}
		require.Equal(t, used, s.used, "shard %d used", si)
		total += used
		s.mu.Unlock()
	}
	require.Equal(t, total, ct.Len())
}

// TestTableMatchesMap drives the table with random creates, refreshes, resets, expiry and
// reaping over a small key space (so probe chains collide and wrap around) and compares it
// with a map.
func TestTableMatchesMap(t *testing.T) {
	seeds := uint64(20)
	if testing.Short() {
		seeds = 4
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 1))
			ct := NewConntrack()
			keys := make([]ctKey, 300+r.IntN(700))
			for i := range keys {
				keys[i] = ctKey{fam: 4, proto: ProtoTCP, lport: uint16(i), rport: uint16(r.IntN(3))}
				keys[i].remote[15] = byte(r.IntN(256))
			}
			var tmos [8][numStates]int64
			for i := range tmos {
				tmos[i][StateTCPEstablished] = int64(1 + r.IntN(200))
			}
			model := map[ctKey]int64{}
			now := int64(0)
			live := func(k ctKey) bool { d, ok := model[k]; return ok && d > now }
			for op := range 20000 {
				k := keys[r.IntN(len(keys))]
				tmo := &tmos[r.IntN(len(tmos))]
				u := Update{key: k, state: StateTCPEstablished, tmo: tmo, allowance: 1 << 30, ct: ct, hash: k.hash(ct.seed)}
				switch n := r.IntN(100); {
				case n < 45:
					u.op = OpCreate
					require.True(t, ct.Apply(&u, now))
					model[k] = now + tmo[StateTCPEstablished]
				case n < 60:
					u.op = OpRefresh
					require.True(t, ct.Apply(&u, now))
					if live(k) {
						model[k] = now + tmo[StateTCPEstablished]
					}
				case n < 80:
					u.op, u.tcpFlags = OpRefresh, TCPRst
					require.True(t, ct.Apply(&u, now))
					if live(k) {
						delete(model, k)
					}
				case n < 95:
					now += int64(r.IntN(20))
				default:
					ct.Reap(now, r.IntN(64))
				}
				for range 3 {
					k := keys[r.IntN(len(keys))]
					e, ok := ct.get(&k, k.hash(ct.seed), now)
					require.Equal(t, live(k), ok, "op %d: key %d live", op, k.lport)
					if ok {
						require.Equal(t, model[k], e.deadline, "op %d: deadline", op)
					}
				}
				if op%1000 == 0 {
					checkTable(t, ct)
				}
			}
			checkTable(t, ct)
			ct.Reap(now, 1<<20)
			n := 0
			for k := range model {
				if live(k) {
					n++
				}
			}
			require.Equal(t, n, ct.Len(), "after a full reap only live entries remain")
			checkTable(t, ct)
		})
	}
}

// TestGrowDropsExpired: growing rebuilds the shard without its expired entries.
func TestGrowDropsExpired(t *testing.T) {
	p := mustCompile(t, ctConfig())
	ct := NewConntrack()
	f := udp(me, 1, "192.0.2.1", 9)
	for i := range 2000 {
		f.Dst = netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)})
		d := p.Egress(1, &f, ct, 0)
		require.True(t, ct.Apply(&d.Update, 0))
	}
	require.Equal(t, 2000, ct.Len())
	// Long after they expired, new flows (with their reaping and growth) clear the old ones out.
	now := 100 * sec
	for i := range 20000 {
		f.Dst = netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		d := p.Egress(1, &f, ct, now)
		require.True(t, ct.Apply(&d.Update, now))
	}
	require.Less(t, ct.Len(), 20000+2000)
	ct.Reap(now, 1<<20)
	require.Equal(t, 20000, ct.Len())
	checkTable(t, ct)
}

// TestConcurrentUse hits one table from several goroutines, each with its own flows, while
// another reaps; run it with -race.
func TestConcurrentUse(t *testing.T) {
	p := mustCompile(t, ctConfig())
	ct := NewConntrack()
	const workers, flows = 4, 2000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				ct.Reap(sec, 16)
			}
		}
	}()
	errs := make(chan error, workers)
	var workersWG sync.WaitGroup
	for w := range workers {
		workersWG.Add(1)
		go func() {
			defer workersWG.Done()
			for i := range flows {
				remote := netip.AddrFrom4([4]byte{192, 0, byte(w), byte(i)})
				q := Flow{Src: ip(me), Dst: remote, Proto: ProtoUDP, SrcPort: uint16(1024 + i), DstPort: 53}
				d := p.Egress(1, &q, ct, sec)
				if !ct.Apply(&d.Update, sec) {
					errs <- fmt.Errorf("worker %d flow %d: %v", w, i, d.Reason)
					return
				}
				r := Flow{Src: remote, Dst: ip(me), Proto: ProtoUDP, SrcPort: 53, DstPort: uint16(1024 + i)}
				d = p.Ingress(1, &r, ct, sec)
				if d.Reason != ReasonTrackedReply {
					errs <- fmt.Errorf("worker %d flow %d reply: %v", w, i, d.Reason)
					return
				}
				ct.Apply(&d.Update, sec)
			}
		}()
	}
	workersWG.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Workers reuse (remote, port) pairs only across distinct remotes, so every flow is distinct.
	require.Equal(t, workers*flows, ct.Len())
	checkTable(t, ct)
}

func TestZeroAllocations(t *testing.T) {
	cfg := ctConfig()
	cfg.RelatedICMP = true
	p := mustCompile(t, cfg)
	ct := NewConntrack()
	syn := tcp(me, 40000, "192.0.2.9", 443, TCPSyn)
	rst := tcp("192.0.2.9", 443, me, 40000, TCPRst)
	q6 := udp("2001:db8::10", 4000, "2001:db8:9::9", 53)
	r6 := udp("2001:db8:9::9", 53, "2001:db8::10", 4000)
	d := p.Egress(1, &q6, ct, 0)
	ct.Apply(&d.Update, 0)
	frag := icmp("192.0.2.1", me, 3, 4, 0)
	frag.IsICMPError = true
	frag.Inner = InnerFlow{Src: ip(me), Dst: ip("192.0.2.9"), Proto: ProtoTCP, SrcPort: 40000, DstPort: 443}
	denied := tcp("192.0.2.9", 1, me, 2, TCPSyn)
	fwdSyn := forwarded(syn)
	fwdSyn.SrcPort++
	fwdRst := tcp("192.0.2.9", 443, me, fwdSyn.SrcPort, TCPRst)
	mbox := mustCompile(t, mboxConfig())
	fwdRef := forwarded(tcp("10.0.1.10", 5, "10.0.2.20", 80, TCPSyn))
	cases := map[string]func(){
		"create and reset a TCP flow": func() {
			d := p.Egress(1, &syn, ct, 1)
			ct.Apply(&d.Update, 1)
			d = p.Ingress(1, &frag, ct, 1)
			ct.Apply(&d.Update, 1)
			d = p.Ingress(1, &rst, ct, 1)
			ct.Apply(&d.Update, 1)
		},
		"tracked IPv6 reply": func() {
			d := p.Ingress(1, &r6, ct, 1)
			ct.Apply(&d.Update, 1)
		},
		"denied": func() {
			d := p.Ingress(1, &denied, ct, 1)
			ct.Apply(&d.Update, 1)
		},
		"static analysis": func() { p.Egress(1, &syn, nil, 1) },
		"forwarded, create and reset": func() {
			d := p.Egress(1, &fwdSyn, ct, 1)
			ct.Apply(&d.Update, 1)
			d = p.Ingress(1, &fwdRst, ct, 1)
			ct.Apply(&d.Update, 1)
		},
		"forwarded past a group reference": func() {
			if d := mbox.Ingress(0, &fwdRef, nil, 1); d.Rule != makeRef(1, DirIngress, 3) {
				panic(d.Rule)
			}
		},
	}
	for name, fn := range cases {
		if n := testing.AllocsPerRun(200, fn); n != 0 {
			t.Errorf("%s: %v allocations per run", name, n)
		}
	}
	require.Equal(t, 1, ct.Len())
}
