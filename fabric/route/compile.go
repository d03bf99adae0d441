package route

import (
	"net/netip"
	"slices"

	"github.com/gaissmai/bart"
)

// Compiled is a table ready for lookups. It is immutable and safe for concurrent use.
type Compiled struct {
	id     string
	main   bool
	routes []Route
	// trie maps a destination to the index in routes of the route that wins it. bart.Fast
	// trades 256 bytes a node for a faster level step; tables have hundreds of routes at most.
	trie *bart.Fast[uint32]
}

// rank orders routes to the same destination: the local route, then the static one, then the
// propagated one.
func rank(o Origin) int {
	switch o {
	case OriginLocal:
		return 0
	case Static:
		return 1
	default:
		return 2
	}
}

// Compile checks a table (see [Check]) and builds its lookup.
func Compile(t Table, vpc VPC) (*Compiled, error) {
	if err := Check(t, vpc); err != nil {
		return nil, err
	}
	return build(t.ID, t.Main, t.Routes), nil
}

// Build makes the lookup of routes that were checked elsewhere (the scenario loader and the
// CLI check what they accept; the fabric's snapshot compiles what they gave it) without
// [Check]. Of several routes to one destination the one of the highest priority wins (local,
// static, propagated), and among equals the first.
func Build(id string, routes []Route) *Compiled { return build(id, false, routes) }

func build(id string, main bool, routes []Route) *Compiled {
	c := &Compiled{id: id, main: main, routes: slices.Clone(routes), trie: new(bart.Fast[uint32])}
	for i, r := range c.routes {
		if j, ok := c.trie.Get(r.Dest); ok && rank(c.routes[j].Origin) <= rank(r.Origin) {
			continue
		}
		c.trie.Insert(r.Dest, uint32(i))
	}
	return c
}

// LookupIndex is Lookup returning the index of the route in Routes, or -1. It does not
// allocate.
func (c *Compiled) LookupIndex(dst netip.Addr) int {
	if Reserved(dst) {
		return -1
	}
	i, ok := c.trie.Lookup(dst)
	if !ok {
		return -1
	}
	return int(i)
}

// Lookup returns the route for a destination: the longest prefix that contains it, the static
// route where a propagated one has the same destination. It returns false when no route
// matches and for [Reserved] destinations, which AWS never forwards. A route that
// [Route.Drops] is returned as found: the caller drops the packet and can say which route did.
// It does not allocate.
func (c *Compiled) Lookup(dst netip.Addr) (Route, bool) {
	if Reserved(dst) {
		return Route{}, false
	}
	i, ok := c.trie.Lookup(dst)
	if !ok {
		return Route{}, false
	}
	return c.routes[i], true
}

// ID and Main describe the table.
func (c *Compiled) ID() string { return c.id }
func (c *Compiled) Main() bool { return c.main }

// Routes returns the table's routes, including propagated routes that a static one overrides.
// Callers must not modify them.
func (c *Compiled) Routes() []Route { return c.routes }

// Overridden says whether the i-th route of Routes never wins a lookup because a route of
// higher priority has the same destination.
func (c *Compiled) Overridden(i int) bool {
	j, _ := c.trie.Get(c.routes[i].Dest)
	return int(j) != i
}
