package pool

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAllocatorFirstFitAndReuse(t *testing.T) {
	type step struct {
		alloc int64  // units to allocate, or 0 for a release
		free  Extent // what to release when alloc is 0
		want  Extent // the extent the allocation must return
		fails bool   // the step must fail
	}
	tests := []struct {
		name  string
		units int64
		steps []step
	}{
		{"first fit from the start", 10, []step{
			{alloc: 3, want: Extent{0, 3}},
			{alloc: 4, want: Extent{3, 4}},
			{alloc: 3, want: Extent{7, 3}},
			{alloc: 1, fails: true},
		}},
		{"exact reuse of the last freed extent", 16, []step{
			{alloc: 4, want: Extent{0, 4}},
			{alloc: 4, want: Extent{4, 4}},
			{alloc: 4, want: Extent{8, 4}},
			{free: Extent{4, 4}},
			{alloc: 4, want: Extent{4, 4}},
		}},
		{"LIFO: the most recently freed first, not the lowest", 16, []step{
			{alloc: 4, want: Extent{0, 4}},
			{alloc: 4, want: Extent{4, 4}},
			{alloc: 4, want: Extent{8, 4}},
			{free: Extent{0, 4}},
			{free: Extent{8, 4}},
			{alloc: 4, want: Extent{8, 4}},
			{alloc: 4, want: Extent{0, 4}},
			{alloc: 4, want: Extent{12, 4}},
		}},
		{"a smaller request takes the front of a freed extent", 16, []step{
			{alloc: 8, want: Extent{0, 8}},
			{alloc: 8, want: Extent{8, 8}},
			{free: Extent{0, 8}},
			{alloc: 3, want: Extent{0, 3}},
			{alloc: 5, want: Extent{3, 5}},
		}},
		{"too small freed extents are skipped for first fit", 16, []step{
			{alloc: 2, want: Extent{0, 2}},
			{alloc: 2, want: Extent{2, 2}},
			{free: Extent{0, 2}},
			{alloc: 3, want: Extent{4, 3}},
			{alloc: 2, want: Extent{0, 2}},
		}},
		{"coalescing serves a request larger than any single free", 12, []step{
			{alloc: 4, want: Extent{0, 4}},
			{alloc: 4, want: Extent{4, 4}},
			{alloc: 4, want: Extent{8, 4}},
			{free: Extent{0, 4}},
			{free: Extent{8, 4}},
			{alloc: 8, fails: true}, // fragmented: 8 free, but in two runs
			{free: Extent{4, 4}},
			{alloc: 12, want: Extent{0, 12}},
		}},
		{"a stale hint is not used", 8, []step{
			{alloc: 4, want: Extent{0, 4}},
			{free: Extent{0, 4}},
			{alloc: 6, want: Extent{0, 6}}, // first fit over the hint's units
			{free: Extent{4, 2}},
			{alloc: 4, want: Extent{4, 4}}, // [0,4) is not wholly free: the hint is dropped
		}},
		{"double and out-of-range release fail", 8, []step{
			{alloc: 4, want: Extent{0, 4}},
			{free: Extent{0, 4}},
			{free: Extent{0, 4}, fails: true},
			{free: Extent{2, 4}, fails: true},
			{free: Extent{6, 4}, fails: true},
			{free: Extent{-1, 1}, fails: true},
			{free: Extent{3, 0}, fails: true},
		}},
		{"zero and negative requests fail", 8, []step{
			{alloc: -1, fails: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAllocator(tt.units)
			for i, s := range tt.steps {
				if s.alloc != 0 {
					got, ok := a.alloc(s.alloc)
					require.Equal(t, !s.fails, ok, "step %d: alloc(%d) = %v", i, s.alloc, got)
					if ok {
						require.Equal(t, s.want, got, "step %d", i)
					}
				} else {
					err := a.release(s.free)
					require.Equal(t, s.fails, err != nil, "step %d: release(%v): %v", i, s.free, err)
				}
				checkAllocator(t, a)
			}
		})
	}
}

func TestAllocRuns(t *testing.T) {
	a := newAllocator(12)
	for range 6 {
		_, ok := a.alloc(2)
		require.True(t, ok)
	}
	require.NoError(t, a.release(Extent{2, 2}))
	require.NoError(t, a.release(Extent{6, 2}))
	require.NoError(t, a.release(Extent{10, 2}))
	_, ok := a.allocRuns(7)
	require.False(t, ok, "7 units from 6 free")
	require.Equal(t, int64(6), a.freeUnits(), "a failed allocRuns changes nothing")
	runs, ok := a.allocRuns(5)
	require.True(t, ok)
	require.Equal(t, []Extent{{2, 2}, {6, 2}, {10, 1}}, runs)
	require.Equal(t, []Extent{{11, 1}}, a.free)
	runs, ok = a.allocRuns(1)
	require.True(t, ok)
	require.Equal(t, []Extent{{11, 1}}, runs)
}

func TestAllocatorTake(t *testing.T) {
	a := newAllocator(10)
	require.NoError(t, a.take(Extent{2, 3}))
	require.Error(t, a.take(Extent{4, 2}), "overlaps")
	require.Error(t, a.take(Extent{8, 3}), "past the end")
	require.NoError(t, a.take(Extent{5, 5}))
	require.Equal(t, []Extent{{0, 2}}, a.free)
	require.Empty(t, a.reuse, "taking is not freeing: no reuse hints")
}

// checkAllocator verifies the free list's invariants.
func checkAllocator(t testing.TB, a *allocator) {
	t.Helper()
	for i, f := range a.free {
		if f.Len <= 0 || f.Start < 0 || f.End() > a.units {
			t.Fatalf("free[%d] = %v is empty or outside %d units", i, f, a.units)
		}
		if i > 0 && a.free[i-1].End() >= f.Start {
			t.Fatalf("free[%d] = %v and free[%d] = %v are adjacent or overlap: not coalesced", i-1, a.free[i-1], i, f)
		}
	}
}

// bitmapModel is the naive reference for the allocator: one bool per unit, linear scans, and
// the same reuse policy written as plainly as possible.
type bitmapModel struct {
	used  []bool
	reuse []Extent
}

func (m *bitmapModel) wholeFree(e Extent) bool {
	for u := e.Start; u < e.End(); u++ {
		if m.used[u] {
			return false
		}
	}
	return true
}

func (m *bitmapModel) mark(e Extent, used bool) {
	for u := e.Start; u < e.End(); u++ {
		m.used[u] = used
	}
}

func (m *bitmapModel) alloc(n int64) (Extent, bool) {
	if n <= 0 {
		return Extent{}, false
	}
	// Walk the hints from the most recent; drop those no longer wholly free.
	var kept []Extent
	var got Extent
	found := false
	for i := len(m.reuse) - 1; i >= 0; i-- {
		r := m.reuse[i]
		switch {
		case found:
			kept = append(kept, r)
		case !m.wholeFree(r):
		case r.Len < n:
			kept = append(kept, r)
		default:
			got, found = Extent{r.Start, n}, true
			if r.Len > n {
				kept = append(kept, Extent{r.Start + n, r.Len - n})
			}
		}
	}
	slices.Reverse(kept)
	m.reuse = kept
	if !found {
		for s := int64(0); s+n <= int64(len(m.used)); s++ {
			if m.wholeFree(Extent{s, n}) {
				got, found = Extent{s, n}, true
				break
			}
		}
	}
	if found {
		m.mark(got, true)
	}
	return got, found
}

func (m *bitmapModel) allocRuns(n int64) ([]Extent, bool) {
	if e, ok := m.alloc(n); ok {
		return []Extent{e}, true
	}
	free := int64(0)
	for _, u := range m.used {
		if !u {
			free++
		}
	}
	if free < n {
		return nil, false
	}
	var runs []Extent
	for u := int64(0); n > 0; u++ {
		if m.used[u] {
			continue
		}
		if k := len(runs) - 1; k >= 0 && runs[k].End() == u {
			runs[k].Len++
		} else {
			runs = append(runs, Extent{u, 1})
		}
		m.used[u] = true
		n--
	}
	return runs, true
}

func (m *bitmapModel) release(e Extent) bool {
	if e.Len <= 0 || e.Start < 0 || e.End() > int64(len(m.used)) {
		return false
	}
	for u := e.Start; u < e.End(); u++ {
		if !m.used[u] {
			return false
		}
	}
	m.mark(e, false)
	m.reuse = append(m.reuse, e)
	return true
}

// TestAllocatorDifferential runs random allocation and release sequences against the allocator
// and the bitmap model: every result must be the same, no unit may be handed out twice, and the
// free lists must stay coalesced.
func TestAllocatorDifferential(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 30
	}
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 42))
		units := int64(1 + rng.IntN(64))
		a := newAllocator(units)
		m := &bitmapModel{used: make([]bool, units)}
		owner := make([]int, units) // which live allocation holds each unit, 0 = none
		var live [][]Extent
		for step := range 400 {
			switch op := rng.IntN(10); {
			case op < 5: // contiguous allocation
				n := int64(rng.IntN(int(units)+2)) - 1
				got, ok := a.alloc(n)
				want, wok := m.alloc(n)
				if ok != wok || got != want {
					t.Fatalf("seed %d step %d: alloc(%d) = %v %v, model %v %v", seed, step, n, got, ok, want, wok)
				}
				if ok {
					live = append(live, []Extent{got})
				}
			case op < 6: // allocation in runs
				n := int64(1 + rng.IntN(int(units)))
				got, ok := a.allocRuns(n)
				want, wok := m.allocRuns(n)
				if ok != wok || !slices.Equal(got, want) {
					t.Fatalf("seed %d step %d: allocRuns(%d) = %v %v, model %v %v", seed, step, n, got, ok, want, wok)
				}
				if ok {
					live = append(live, got)
				}
			case op < 9 && len(live) > 0: // release a live allocation
				i := rng.IntN(len(live))
				for _, e := range live[i] {
					err := a.release(e)
					if ok := m.release(e); ok != (err == nil) {
						t.Fatalf("seed %d step %d: release(%v) = %v, model ok=%v", seed, step, e, err, ok)
					}
					if err != nil {
						t.Fatalf("seed %d step %d: release of live %v: %v", seed, step, e, err)
					}
				}
				live = slices.Delete(live, i, i+1)
			default: // a bad release: random extent, must agree with the model
				s := int64(rng.IntN(int(units)+2)) - 1
				e := Extent{s, int64(rng.IntN(4))}
				err := a.release(e)
				if ok := m.release(e); ok != (err == nil) {
					t.Fatalf("seed %d step %d: release(%v) = %v, model ok=%v", seed, step, e, err, ok)
				}
				if err == nil { // it was wholly allocated: find and shrink its owners
					live = dropUnits(live, e)
				}
			}
			checkAllocator(t, a)
			clear(owner)
			var usedUnits int64
			for i, l := range live {
				for _, e := range l {
					for u := e.Start; u < e.End(); u++ {
						if owner[u] != 0 {
							t.Fatalf("seed %d step %d: unit %d held by two allocations", seed, step, u)
						}
						owner[u] = i + 1
						usedUnits++
					}
				}
			}
			if a.freeUnits() != units-usedUnits {
				t.Fatalf("seed %d step %d: %d units free, want %d", seed, step, a.freeUnits(), units-usedUnits)
			}
		}
	}
}

// dropUnits removes the units of e from the live allocations (after a release that covered
// parts of several of them).
func dropUnits(live [][]Extent, e Extent) [][]Extent {
	var out [][]Extent
	for _, l := range live {
		var kept []Extent
		for _, x := range l {
			if !x.overlaps(e) {
				kept = append(kept, x)
				continue
			}
			if x.Start < e.Start {
				kept = append(kept, Extent{x.Start, e.Start - x.Start})
			}
			if x.End() > e.End() {
				kept = append(kept, Extent{e.End(), x.End() - e.End()})
			}
		}
		if len(kept) > 0 {
			out = append(out, kept)
		}
	}
	return out
}

func BenchmarkAllocRelease(b *testing.B) {
	a := newAllocator(1 << 16)
	var held []Extent
	for range 1000 {
		e, _ := a.alloc(8)
		held = append(held, e)
	}
	for i := 0; i < len(held); i += 2 {
		_ = a.release(held[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		e, ok := a.alloc(8)
		if !ok {
			b.Fatal("no space")
		}
		_ = a.release(e)
	}
}
