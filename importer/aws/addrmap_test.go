package awsimport

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// randomPublic draws public prefixes clustered in a few /16s, so that containment happens.
func randomPublic(r *rand.Rand, n int) []netip.Prefix {
	bases := []uint32{u32(netip.MustParseAddr("54.10.0.0")), u32(netip.MustParseAddr("3.5.0.0")), u32(netip.MustParseAddr("18.216.0.0"))}
	var out []netip.Prefix
	for len(out) < n {
		bits := []int{16, 20, 24, 27, 28, 30, 32, 32, 32, 32}[r.IntN(10)]
		a := a4(bases[r.IntN(len(bases))] + r.Uint32N(1<<16))
		p := netip.PrefixFrom(a, bits).Masked()
		if isPublic(p) {
			out = append(out, p)
		}
	}
	return out
}

// The mapping checked against a naive model of its promises: inside the documentation ranges
// and out of the lab's pool, one holder per single address, containment kept, and the same
// result whatever order the prefixes are met in.
func TestMapperProperties(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		ps := randomPublic(r, 1+r.IntN(25))
		run := func(order []netip.Prefix) map[netip.Prefix]netip.Prefix {
			m := newMapper()
			for _, p := range order {
				m.prefix(p, "test")
			}
			if err := m.finish(nil); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			out := map[netip.Prefix]netip.Prefix{}
			for _, p := range ps {
				out[p] = m.prefix(p, "test")
			}
			return out
		}
		got := run(ps)
		shuffled := append([]netip.Prefix(nil), ps...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		again := run(shuffled)
		holders := map[netip.Addr]netip.Prefix{}
		for _, p := range ps {
			q := got[p]
			if again[p] != q {
				t.Errorf("seed %d: %s maps to %s or %s depending on order", seed, p, q, again[p])
			}
			if !docV4[0].Contains(q.Addr()) && !docV4[1].Contains(q.Addr()) && !docV4[2].Contains(q.Addr()) {
				t.Errorf("seed %d: %s -> %s, outside the documentation ranges", seed, p, q)
			}
			last := u32(q.Addr()) + 1<<(32-q.Bits()) - 1
			if q.Bits() < 24 || docV4[2].Contains(q.Addr()) && last >= u32(poolStart) {
				t.Errorf("seed %d: %s -> %s, too wide or in the lab's pool", seed, p, q)
			}
			if q.Bits() == 32 {
				if o, taken := holders[q.Addr()]; taken && o != p {
					t.Errorf("seed %d: %s and %s both map to %s", seed, o, p, q.Addr())
				}
				holders[q.Addr()] = p
			}
			for _, big := range ps {
				if big.Bits() < p.Bits() && big.Contains(p.Addr()) && !got[big].Contains(q.Addr()) {
					t.Errorf("seed %d: %s is inside %s, but %s is not inside %s", seed, p, big, q, got[big])
				}
			}
		}
	}
}

// Too many public prefixes for the documentation ranges is an error, not an overlap.
func TestMapperFull(t *testing.T) {
	m := newMapper()
	for i := range 60 {
		m.prefix(netip.PrefixFrom(a4(u32(netip.MustParseAddr("54.0.0.0"))+uint32(i)<<16), 16), "test")
	}
	if err := m.finish(nil); err == nil {
		t.Error("60 /16s fitted into 768 addresses as /28s")
	}
}
