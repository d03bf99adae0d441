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
	c := &Compiled{id: t.ID, main: t.Main, routes: slices.Clone(t.Routes), trie: new(bart.Fast[uint32])}
	for i, r := range c.routes {
		if j, ok := c.trie.Get(r.Dest); ok && rank(c.routes[j].Origin) <= rank(r.Origin) {
			continue
		}
		c.trie.Insert(r.Dest, uint32(i))
	}
	return c, nil
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
