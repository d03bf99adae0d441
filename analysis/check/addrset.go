package check

import (
	"net/netip"
	"slices"
)

// span is the closed range of addresses lo..hi of one family.
type span struct{ lo, hi netip.Addr }

// prefixSpan is the range of addresses p holds.
func prefixSpan(p netip.Prefix) span {
	p = p.Masked()
	lo := p.Addr()
	b := lo.AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	hi, _ := netip.AddrFromSlice(b)
	return span{lo, hi}
}

// addrSet is a set of addresses as sorted, disjoint, non-adjacent spans. Both families may be in
// it: every IPv4 address sorts before every IPv6 address, so no span holds both.
type addrSet []span

// setOf is the union of the prefixes.
func setOf(ps ...netip.Prefix) addrSet {
	spans := make([]span, 0, len(ps))
	for _, p := range ps {
		spans = append(spans, prefixSpan(p))
	}
	slices.SortFunc(spans, func(a, b span) int { return a.lo.Compare(b.lo) })
	var out addrSet
	for _, s := range spans {
		if n := len(out); n > 0 {
			last := &out[n-1]
			// Merge overlapping spans and adjacent ones of the same family (hi.Next() is the
			// zero Addr after the last address of a family).
			if next := last.hi.Next(); s.lo.Compare(last.hi) <= 0 || (next.IsValid() && next == s.lo) {
				if s.hi.Compare(last.hi) > 0 {
					last.hi = s.hi
				}
				continue
			}
		}
		out = append(out, s)
	}
	return out
}

// covers reports whether every address of o is in s.
func (s addrSet) covers(o addrSet) bool {
	for _, x := range o {
		if !slices.ContainsFunc(s, func(y span) bool { return y.lo.Compare(x.lo) <= 0 && x.hi.Compare(y.hi) <= 0 }) {
			return false
		}
	}
	return true
}

// world reports whether s holds every address of a family: the whole internet.
func (s addrSet) world() bool {
	return s.covers(setOf(netip.PrefixFrom(netip.IPv4Unspecified(), 0))) ||
		s.covers(setOf(netip.PrefixFrom(netip.IPv6Unspecified(), 0)))
}
