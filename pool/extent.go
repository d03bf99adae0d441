package pool

import (
	"fmt"
	"sort"
)

// Extent is a run of Len units (frames or blocks) starting at unit Start of a pool file.
type Extent struct {
	Start int64 `json:"start"`
	Len   int64 `json:"len"`
}

// End is the first unit after e.
func (e Extent) End() int64 { return e.Start + e.Len }

// String prints e as a half-open range of units, "[start,end)".
func (e Extent) String() string { return fmt.Sprintf("[%d,%d)", e.Start, e.End()) }

// overlaps reports whether e and o share a unit.
func (e Extent) overlaps(o Extent) bool { return e.Start < o.End() && o.Start < e.End() }

// allocator hands out extents of a pool of units. Its policy is what the scrubbing tests rely
// on: an allocation first takes, from the most recently freed extents (a LIFO), the first one
// that is still wholly free and long enough, so that a new owner of the same size gets exactly
// the units the previous owner had; only when none fits does it fall back to first fit in
// address order. Free space is kept coalesced, so a run of small frees can satisfy a large
// request. It is not safe for concurrent use (the Pool's mutex guards it).
type allocator struct {
	units int64
	// free is the free space: sorted by Start, no two entries adjacent or overlapping, none
	// empty.
	free []Extent
	// reuse holds extents in the order they were freed, most recent last. An entry is only a
	// hint: it is used when its whole range is still free and dropped when it is not.
	reuse []Extent
}

// newAllocator returns an allocator of units units, all free.
func newAllocator(units int64) *allocator {
	a := &allocator{units: units}
	if units > 0 {
		a.free = []Extent{{0, units}}
	}
	return a
}

// freeUnits is the number of free units.
func (a *allocator) freeUnits() int64 {
	var n int64
	for _, f := range a.free {
		n += f.Len
	}
	return n
}

// largest is the length of the longest free extent.
func (a *allocator) largest() int64 {
	var n int64
	for _, f := range a.free {
		n = max(n, f.Len)
	}
	return n
}

// find returns the index of the free extent containing unit u, or -1.
func (a *allocator) find(u int64) int {
	i := sort.Search(len(a.free), func(i int) bool { return a.free[i].End() > u })
	if i < len(a.free) && a.free[i].Start <= u {
		return i
	}
	return -1
}

// isFree reports whether every unit of e is free.
func (a *allocator) isFree(e Extent) bool {
	i := a.find(e.Start)
	return i >= 0 && a.free[i].End() >= e.End()
}

// alloc takes n contiguous units, by the policy in the type's comment.
func (a *allocator) alloc(n int64) (Extent, bool) {
	if n <= 0 {
		return Extent{}, false
	}
	for i := len(a.reuse) - 1; i >= 0; i-- {
		r := a.reuse[i]
		if !a.isFree(r) {
			a.reuse = append(a.reuse[:i], a.reuse[i+1:]...)
			continue
		}
		if r.Len < n {
			continue
		}
		got := Extent{r.Start, n}
		if r.Len > n {
			a.reuse[i] = Extent{r.Start + n, r.Len - n}
		} else {
			a.reuse = append(a.reuse[:i], a.reuse[i+1:]...)
		}
		a.carve(got)
		return got, true
	}
	for _, f := range a.free {
		if f.Len >= n {
			got := Extent{f.Start, n}
			a.carve(got)
			return got, true
		}
	}
	return Extent{}, false
}

// allocRuns takes n units as one extent when one is long enough, and otherwise as the free
// extents in address order (the last one cut to size). It fails, changing nothing, when fewer
// than n units are free.
func (a *allocator) allocRuns(n int64) ([]Extent, bool) {
	if e, ok := a.alloc(n); ok {
		return []Extent{e}, true
	}
	if n <= 0 || a.freeUnits() < n {
		return nil, false
	}
	var runs []Extent
	for _, f := range a.free {
		take := min(f.Len, n)
		runs = append(runs, Extent{f.Start, take})
		if n -= take; n == 0 {
			break
		}
	}
	for _, r := range runs {
		a.carve(r)
	}
	return runs, true
}

// carve removes e, which must lie inside one free extent, from the free space.
func (a *allocator) carve(e Extent) {
	i := a.find(e.Start)
	if i < 0 || a.free[i].End() < e.End() {
		panic(fmt.Sprintf("pool: carving %v, which is not free", e))
	}
	f := a.free[i]
	before := Extent{f.Start, e.Start - f.Start}
	after := Extent{e.End(), f.End() - e.End()}
	switch {
	case before.Len > 0 && after.Len > 0:
		a.free = append(a.free, Extent{})
		copy(a.free[i+2:], a.free[i+1:])
		a.free[i], a.free[i+1] = before, after
	case before.Len > 0:
		a.free[i] = before
	case after.Len > 0:
		a.free[i] = after
	default:
		a.free = append(a.free[:i], a.free[i+1:]...)
	}
}

// take marks e as used. Loading a saved state uses it to rebuild the free space; unlike carve
// it returns an error for a bad extent instead of panicking.
func (a *allocator) take(e Extent) error {
	if err := a.check(e); err != nil {
		return err
	}
	if !a.isFree(e) {
		return fmt.Errorf("extent %v overlaps units already in use", e)
	}
	a.carve(e)
	return nil
}

// release returns e to the free space, coalescing it with its neighbours, and remembers it as
// the most recently freed extent. It fails, changing nothing, if e is out of range or any of its
// units is already free (a double free).
func (a *allocator) release(e Extent) error {
	if err := a.check(e); err != nil {
		return err
	}
	i := sort.Search(len(a.free), func(i int) bool { return a.free[i].Start >= e.Start })
	if (i < len(a.free) && a.free[i].overlaps(e)) || (i > 0 && a.free[i-1].overlaps(e)) {
		return fmt.Errorf("extent %v is already free, in part or whole", e)
	}
	joinPrev := i > 0 && a.free[i-1].End() == e.Start
	joinNext := i < len(a.free) && a.free[i].Start == e.End()
	switch {
	case joinPrev && joinNext:
		a.free[i-1].Len += e.Len + a.free[i].Len
		a.free = append(a.free[:i], a.free[i+1:]...)
	case joinPrev:
		a.free[i-1].Len += e.Len
	case joinNext:
		a.free[i] = Extent{e.Start, e.Len + a.free[i].Len}
	default:
		a.free = append(a.free, Extent{})
		copy(a.free[i+1:], a.free[i:])
		a.free[i] = e
	}
	a.reuse = append(a.reuse, e)
	// Stale hints are dropped when an allocation walks past them; this bounds the rest.
	if len(a.reuse) > 2*len(a.free)+64 {
		a.compactReuse()
	}
	return nil
}

// compactReuse drops the hints that are no longer wholly free, keeping the order of the rest.
func (a *allocator) compactReuse() {
	kept := a.reuse[:0]
	for _, r := range a.reuse {
		if a.isFree(r) {
			kept = append(kept, r)
		}
	}
	a.reuse = kept
}

// check rejects an empty extent or one outside the pool.
func (a *allocator) check(e Extent) error {
	if e.Len <= 0 || e.Start < 0 || e.End() > a.units || e.End() < e.Start {
		return fmt.Errorf("extent %v is not inside the pool's %d units", e, a.units)
	}
	return nil
}
