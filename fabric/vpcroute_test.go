package fabric

import (
	"net/netip"
	"testing"
)

// TestRouteTrieMatchesLinear: the trie lookup (package route, bart) and the plain walk of the
// sorted routes give the same route index on random tables, duplicates of one destination
// included (the first wins in both), and AWS's reserved range matches nothing. Decide's
// lookup does not allocate.
func TestRouteTrieMatchesLinear(t *testing.T) {
	r := newRand(7)
	addr := func() netip.Addr {
		if r.Intn(20) == 0 {
			return netip.AddrFrom4([4]byte{169, 254, byte(168 + r.Intn(4)), byte(r.Intn(256))})
		}
		return netip.AddrFrom4([4]byte{10, byte(r.Intn(4)), byte(r.Intn(4)), byte(r.Intn(256))})
	}
	for n := 0; n < 300; n++ {
		var routes []RouteEntry
		if r.Intn(2) == 0 {
			routes = append(routes, RouteEntry{Dest: netip.MustParsePrefix("0.0.0.0/0"), Kind: TargetIGW})
		}
		for k := 0; k < 1+r.Intn(30); k++ {
			p, _ := addr().Prefix(r.Intn(33))
			routes = append(routes, RouteEntry{Dest: p, Kind: TargetENI, Index: uint32(k)})
			if r.Intn(8) == 0 {
				routes = append(routes, RouteEntry{Dest: p, Kind: TargetBlackhole, Index: uint32(k)})
			}
		}
		tab := NewRouteTable("x", "x", routes)
		if tab.trie == nil {
			t.Fatal("NewRouteTable built no trie")
		}
		for q := 0; q < 300; q++ {
			a := addr()
			if got, want := tab.Lookup(a), tab.lookupLinear(a); got != want {
				t.Fatalf("table %v: lookup %s: trie %d, linear %d", tab.Routes, a, got, want)
			}
		}
	}
	tab := NewRouteTable("x", "x", []RouteEntry{{Dest: netip.MustParsePrefix("0.0.0.0/0"), Kind: TargetIGW}})
	if i := tab.Lookup(netip.MustParseAddr("169.254.169.254")); i != -1 {
		t.Errorf("169.254.169.254 matched route %d; AWS never forwards its reserved range", i)
	}
	a := netip.MustParseAddr("10.1.2.3")
	if n := testing.AllocsPerRun(100, func() { tab.Lookup(a) }); n != 0 {
		t.Errorf("Lookup allocates %v", n)
	}
}
