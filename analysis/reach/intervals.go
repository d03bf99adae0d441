package reach

import (
	"slices"
	"strconv"
	"strings"
)

// Range is an inclusive range of ports.
type Range struct {
	Lo int `json:"from"`
	Hi int `json:"to"`
}

func (r Range) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(r.Lo)
	}
	return strconv.Itoa(r.Lo) + "-" + strconv.Itoa(r.Hi)
}

// Ports is the domain of TCP and UDP destination ports that reach considers. Port 0 is left
// out: no client can connect to it, so no probe could check it.
var Ports = Range{1, 65535}

// bounds collects the points where a rule's port condition starts or stops holding: lo and
// hi+1 of every range. Sorting and splitting are left to intervals.
type bounds []int

func (b *bounds) add(lo, hi int) { *b = append(*b, lo, hi+1) }

// intervals splits dom at every point of b that falls inside it: the elementary intervals, on
// each of which every rule whose ranges made b either holds for every port or for none. So one
// representative per interval decides the whole interval.
func intervals(dom Range, b bounds) []Range {
	pts := make([]int, 0, len(b)+1)
	for _, p := range b {
		if p > dom.Lo && p <= dom.Hi {
			pts = append(pts, p)
		}
	}
	slices.Sort(pts)
	pts = slices.Compact(pts)
	out := make([]Range, 0, len(pts)+1)
	lo := dom.Lo
	for _, p := range pts {
		out = append(out, Range{lo, p - 1})
		lo = p
	}
	return append(out, Range{lo, dom.Hi})
}

// addRange appends r to the sorted, disjoint list rs, merging it with the last range when they
// touch: intervals are added in order, so adjacent ones with the same result become one.
func addRange(rs []Range, r Range) []Range {
	if n := len(rs); n > 0 && rs[n-1].Hi+1 >= r.Lo {
		if r.Hi > rs[n-1].Hi {
			rs[n-1].Hi = r.Hi
		}
		return rs
	}
	return append(rs, r)
}

// Contains reports whether the sorted, disjoint list rs holds port p.
func Contains(rs []Range, p int) bool {
	i, found := slices.BinarySearchFunc(rs, p, func(r Range, p int) int {
		switch {
		case r.Hi < p:
			return -1
		case r.Lo > p:
			return 1
		}
		return 0
	})
	_ = i
	return found
}

// Intersect is the ports both sorted, disjoint lists hold.
func Intersect(a, b []Range) []Range {
	var out []Range
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i].Lo, b[j].Lo), min(a[i].Hi, b[j].Hi)
		if lo <= hi {
			out = append(out, Range{lo, hi})
		}
		if a[i].Hi < b[j].Hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// Subtract is the ports of a that b does not hold.
func Subtract(a, b []Range) []Range {
	var out []Range
	j := 0
	for _, r := range a {
		lo := r.Lo
		for j < len(b) && b[j].Hi < lo {
			j++
		}
		for k := j; k < len(b) && b[k].Lo <= r.Hi; k++ {
			if b[k].Lo > lo {
				out = append(out, Range{lo, b[k].Lo - 1})
			}
			lo = max(lo, b[k].Hi+1)
		}
		if lo <= r.Hi {
			out = append(out, Range{lo, r.Hi})
		}
	}
	return out
}

// formatRanges writes rs compactly: "22,80-90".
func formatRanges(rs []Range) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.String())
	}
	return b.String()
}
