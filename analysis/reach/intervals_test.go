package reach

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIntervals(t *testing.T) {
	cases := []struct {
		name string
		dom  Range
		b    bounds
		want []Range
	}{
		{"no rules", Ports, nil, []Range{{1, 65535}}},
		{"one port", Ports, bounds{22, 23}, []Range{{1, 21}, {22, 22}, {23, 65535}}},
		{"all ports", Ports, bounds{0, 65536}, []Range{{1, 65535}}},
		{"first port", Ports, bounds{1, 2}, []Range{{1, 1}, {2, 65535}}},
		{"last port", Ports, bounds{65535, 65536}, []Range{{1, 65534}, {65535, 65535}}},
		{"overlapping", Ports, bounds{80, 91, 85, 101}, []Range{{1, 79}, {80, 84}, {85, 90}, {91, 100}, {101, 65535}}},
		{"duplicates", Ports, bounds{80, 81, 80, 81}, []Range{{1, 79}, {80, 80}, {81, 65535}}},
		{"ephemeral clipped", Range{32768, 60999}, bounds{1024, 65536, 49152, 65536}, []Range{{32768, 49151}, {49152, 60999}}},
		{"outside", Range{100, 200}, bounds{1, 50, 300, 400}, []Range{{100, 200}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, intervals(c.dom, c.b))
		})
	}
}

func TestAddRangeMerges(t *testing.T) {
	var rs []Range
	for _, r := range []Range{{1, 21}, {22, 22}, {24, 30}, {31, 40}, {50, 50}} {
		rs = addRange(rs, r)
	}
	assert.Equal(t, []Range{{1, 22}, {24, 40}, {50, 50}}, rs)
	assert.Equal(t, "1-22,24-40,50", formatRanges(rs))
}

// TestSetOperations checks Contains, Intersect and Subtract against a bitmap of ports.
func TestSetOperations(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	random := func() ([]Range, map[int]bool) {
		var rs []Range
		in := map[int]bool{}
		p := 1 + r.IntN(20)
		for p < 200 {
			hi := p + r.IntN(10)
			rs = addRange(rs, Range{p, hi})
			for q := p; q <= hi; q++ {
				in[q] = true
			}
			p = hi + 1 + r.IntN(15)
		}
		return rs, in
	}
	for range 200 {
		a, am := random()
		b, bm := random()
		inter, diff := Intersect(a, b), Subtract(a, b)
		for p := 0; p < 220; p++ {
			assert.Equal(t, am[p], Contains(a, p), "contains %d", p)
			assert.Equal(t, am[p] && bm[p], Contains(inter, p), "intersect %v %v at %d", a, b, p)
			assert.Equal(t, am[p] && !bm[p], Contains(diff, p), "subtract %v %v at %d", a, b, p)
		}
	}
}

func TestSummary(t *testing.T) {
	cases := []struct {
		s    Set
		want string
	}{
		{Set{}, "-"},
		{Set{TCP: []Range{Ports}, UDP: []Range{Ports}, ICMP: true}, "all"},
		{Set{TCP: []Range{Ports}, ICMP: true}, "tcp icmp"},
		{Set{TCP: []Range{{22, 22}, {80, 90}}, UDP: []Range{{53, 53}}}, "tcp:22,80-90 udp:53"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, c.s.Summary())
	}
}
