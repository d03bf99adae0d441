package sgengine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"unsafe"
)

// entrySize is the size of one table slot. The layout is part of the memory budget.
const entrySize = unsafe.Sizeof(ctEntry{})

func TestEntryLayout(t *testing.T) {
	if entrySize != 48 {
		t.Fatalf("ctEntry is %d bytes, want 48", entrySize)
	}
	if s := unsafe.Sizeof(shard{}); s != 64 {
		t.Fatalf("shard is %d bytes, want 64 (a cache line's worth)", s)
	}
}

// benchConfig builds n ingress and n egress rules spread over groups groups, all attached to
// ENI 0 (10.0.0.10), plus 50 member ENIs so that group references expand to many hosts. Rule 0
// of group 0 allows TCP 22 from 10.0.0.0/8 in, so every benchmark packet is allowed.
func benchConfig(n, groups int) *Config {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	cfg := &Config{PrefixLists: map[string][]netip.Prefix{
		"pl-corp": {pfx("172.16.0.0/12"), pfx("192.168.0.0/16"), pfx("2001:db8:c::/48")},
	}}
	for g := range groups {
		cfg.Groups = append(cfg.Groups, Group{ID: fmt.Sprintf("sg-%d", g)})
	}
	randRule := func() Rule {
		var rl Rule
		rl.Proto = []int{ProtoTCP, ProtoTCP, ProtoUDP, ProtoICMP, ProtoAll}[r.IntN(5)]
		switch rl.Proto {
		case ProtoTCP, ProtoUDP:
			lo := r.IntN(65536)
			rl.FromPort, rl.ToPort = lo, min(65535, lo+r.IntN(100))
		case ProtoICMP:
			rl.FromPort, rl.ToPort = r.IntN(20), -1
		}
		switch k := r.IntN(20); {
		case k == 0:
			rl.Group = fmt.Sprintf("sg-%d", r.IntN(groups))
		case k == 1:
			rl.PrefixList = "pl-corp"
		case k < 5:
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(r.IntN(256)), byte(r.IntN(256)), 15: byte(r.IntN(256))})
			rl.CIDR = netip.PrefixFrom(a, 32+r.IntN(97)).Masked()
		default:
			a := netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))})
			rl.CIDR = netip.PrefixFrom(a, 16+r.IntN(17)).Masked()
		}
		return rl
	}
	for i := range n {
		g := &cfg.Groups[i%groups]
		if i == 0 {
			g.Ingress = append(g.Ingress, tcpRule(22, 22, "10.0.0.0/8"))
			g.Egress = append(g.Egress, Rule{Proto: ProtoUDP, FromPort: 0, ToPort: 65535, CIDR: pfx("10.0.0.0/8")})
			continue
		}
		g.Ingress = append(g.Ingress, randRule())
		g.Egress = append(g.Egress, randRule())
	}
	all := make([]string, groups)
	for g := range groups {
		all[g] = cfg.Groups[g].ID
	}
	cfg.ENIs = append(cfg.ENIs, ENIConfig{Index: 0, Groups: all, PrivateIPs: []netip.Addr{ip("10.0.0.10")},
		Allowance: 1 << 21})
	for i := range 50 {
		cfg.ENIs = append(cfg.ENIs, ENIConfig{Index: uint32(i + 1), Groups: []string{all[i%groups]},
			PrivateIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 9, byte(i / 200), byte(i%200 + 1)})}})
	}
	return cfg
}

// trackedFlows fills ct with n outbound UDP flows of ENI 0 and returns their replies.
func trackedFlows(tb testing.TB, p *Policy, ct *Conntrack, n int) []Flow {
	replies := make([]Flow, n)
	for i := range n {
		remote := netip.AddrFrom4([4]byte{10, byte(100 + i>>16), byte(i >> 8), byte(i)})
		f := Flow{Src: ip("10.0.0.10"), Dst: remote, Proto: ProtoUDP, SrcPort: uint16(1024 + i%50000), DstPort: 53}
		d := p.Egress(0, &f, ct, 0)
		if d.Update.Op() != OpCreate || !ct.Apply(&d.Update, 0) {
			tb.Fatalf("flow %d: %v %v", i, d.Reason, d.Update.Op())
		}
		replies[i] = Flow{Src: remote, Dst: f.Src, Proto: ProtoUDP, SrcPort: 53, DstPort: f.SrcPort}
	}
	return replies
}

var ruleCounts = []int{1, 60, 300, 1000}

// BenchmarkDecisionNew: a new inbound connection (conntrack miss among 100 000 flows, then the
// rules), evaluated but not applied so the table stays the same.
func BenchmarkDecisionNew(b *testing.B) {
	for _, n := range ruleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			p := mustCompile(b, benchConfig(n, 5))
			ct := NewConntrack()
			trackedFlows(b, p, ct, 100000)
			// As many distinct packets as there are entries' worth of cache lines, so that the
			// conntrack probes miss the cache as they would with real traffic.
			flows := make([]Flow, 1<<16)
			for i := range flows {
				flows[i] = tcp("10.0.0.1", 0, "10.0.0.10", 22, TCPSyn)
				flows[i].Src = netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
				flows[i].SrcPort = uint16(30000 + i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				d := p.Ingress(0, &flows[i&(1<<16-1)], ct, 1)
				if d.Reason != ReasonRuleAllowed {
					b.Fatal(d.Reason)
				}
			}
		})
	}
}

// BenchmarkDecisionTracked: a reply of one of 100 000 tracked flows, evaluated and applied.
func BenchmarkDecisionTracked(b *testing.B) {
	for _, n := range ruleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			p := mustCompile(b, benchConfig(n, 5))
			ct := NewConntrack()
			replies := trackedFlows(b, p, ct, 100000)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				f := &replies[i%len(replies)]
				d := p.Ingress(0, f, ct, 2)
				if d.Reason != ReasonTrackedReply || !ct.Apply(&d.Update, 2) {
					b.Fatal(d.Reason)
				}
			}
		})
	}
}

// BenchmarkRuleMatch isolates the compiled matcher: no conntrack.
func BenchmarkRuleMatch(b *testing.B) {
	for _, n := range ruleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			p := mustCompile(b, benchConfig(n, 5))
			f := tcp("10.7.7.7", 40000, "10.0.0.10", 22, TCPSyn)
			b.ReportAllocs()
			for b.Loop() {
				if d := p.Ingress(0, &f, nil, 0); !d.Allowed {
					b.Fatal(d.Reason)
				}
			}
		})
	}
}

// BenchmarkRuleMatchForwarded: the same packet as BenchmarkRuleMatch, forwarded by a middlebox,
// so it is matched by the second matcher (the one without group references).
func BenchmarkRuleMatchForwarded(b *testing.B) {
	for _, n := range ruleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			p := mustCompile(b, benchConfig(n, 5))
			f := tcp("10.7.7.7", 40000, "10.0.0.10", 22, TCPSyn)
			f.Forwarded = true
			b.ReportAllocs()
			for b.Loop() {
				if d := p.Ingress(0, &f, nil, 0); !d.Allowed {
					b.Fatal(d.Reason)
				}
			}
		})
	}
}

// BenchmarkConntrackInsert: one new tracked flow, evaluated and applied, into a growing table.
func BenchmarkConntrackInsert(b *testing.B) {
	p := mustCompile(b, benchConfig(1, 5))
	ct := NewConntrack()
	f := Flow{Src: ip("10.0.0.10"), Proto: ProtoUDP, SrcPort: 4000, DstPort: 53}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f.Dst = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		f.SrcPort = uint16(i >> 24)
		d := p.Egress(0, &f, ct, 0)
		if !ct.Apply(&d.Update, 0) {
			b.Fatal(d.Reason)
		}
	}
}

// BenchmarkConntrackChurn: connections opened and reset at a steady 100 000 tracked flows,
// as under connection-rate load: per op one SYN evaluated and applied (insert) and the RST of
// the connection opened 100 000 ops earlier (lookup and delete).
func BenchmarkConntrackChurn(b *testing.B) {
	ct := NewConntrack()
	const window = 100000
	conn := func(i int) (syn, rst Flow) {
		remote := netip.AddrFrom4([4]byte{10, byte(100 + i>>16&63), byte(i >> 8), byte(i)})
		syn = Flow{Src: ip("10.0.0.10"), Dst: remote, Proto: ProtoTCP, SrcPort: uint16(i >> 22), DstPort: 22, TCPFlags: TCPSyn}
		rst = Flow{Src: remote, Dst: syn.Src, Proto: ProtoTCP, SrcPort: 22, DstPort: syn.SrcPort, TCPFlags: TCPRst}
		return syn, rst
	}
	cfg := benchConfig(1, 5)
	cfg.Groups[0].Egress = append(cfg.Groups[0].Egress, tcpRule(22, 22, "10.0.0.0/8"))
	p := mustCompile(b, cfg)
	for i := range window {
		syn, _ := conn(i)
		d := p.Egress(0, &syn, ct, 0)
		if !ct.Apply(&d.Update, 0) || d.Update.Op() != OpCreate {
			b.Fatal(d.Reason)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := window; b.Loop(); i++ {
		syn, _ := conn(i)
		_, rst := conn(i - window)
		d := p.Egress(0, &syn, ct, 0)
		ct.Apply(&d.Update, 0)
		d = p.Ingress(0, &rst, ct, 0)
		if d.Reason != ReasonTrackedReply {
			b.Fatal(d.Reason)
		}
		ct.Apply(&d.Update, 0)
	}
	if ct.Len() != window {
		b.Fatalf("%d entries, want %d", ct.Len(), window)
	}
}

// BenchmarkConntrackLookupParallel: tracked replies from all CPUs at once.
func BenchmarkConntrackLookupParallel(b *testing.B) {
	p := mustCompile(b, benchConfig(1, 5))
	ct := NewConntrack()
	replies := trackedFlows(b, p, ct, 100000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(replies))
		for pb.Next() {
			i = (i + 1) % len(replies)
			d := p.Ingress(0, &replies[i], ct, 1)
			ct.Apply(&d.Update, 1)
		}
	})
}

// TestConntrackMemory measures the heap per tracked flow with a million IPv4 flows in one ENI's
// table. The budget is 256 B per entry; the aim is 128.
func TestConntrackMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts a million flows")
	}
	const n = 1 << 20
	cfg := benchConfig(1, 5)
	cfg.ENIs[0].Allowance = 2 * n
	p := mustCompile(t, cfg)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ct := NewConntrack()
	f := Flow{Src: ip("10.0.0.10"), Proto: ProtoUDP, SrcPort: 4000, DstPort: 53}
	for i := range n {
		f.Dst = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		d := p.Egress(0, &f, ct, 0)
		if !ct.Apply(&d.Update, 0) {
			t.Fatalf("flow %d: %v", i, d.Reason)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if ct.Len() != n {
		t.Fatalf("Len = %d, want %d", ct.Len(), n)
	}
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.1f bytes per tracked flow at %d flows (entry %d B)", per, n, entrySize)
	if per > 256 {
		t.Errorf("%.1f bytes per tracked flow; the budget is 256", per)
	}
	runtime.KeepAlive(ct)
}

// BenchmarkCompile: the whole policy of the benchmark configuration (one ENI with every rule,
// 50 member ENIs), as a rule or membership change costs the engine.
func BenchmarkCompile(b *testing.B) {
	for _, n := range ruleCounts {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			cfg := benchConfig(n, 5)
			heap := policyHeap(b, cfg)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(heap), "heap-B/policy")
		})
	}
}

// policyHeap is the heap a compiled policy of cfg keeps alive.
func policyHeap(tb testing.TB, cfg *Config) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := mustCompile(tb, cfg)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(p)
	return after.HeapAlloc - before.HeapAlloc
}
