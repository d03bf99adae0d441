package fabric

import (
	"net/netip"
	"slices"

	rtrie "github.com/ec2sim/ec2sim/fabric/route"
	"github.com/ec2sim/ec2sim/nacl"
	"github.com/ec2sim/ec2sim/sgengine"
)

// TargetKind is what a route points at.
type TargetKind uint8

const (
	TargetNone TargetKind = iota
	// TargetLocal delivers to the ENI that holds the destination inside the VPC.
	TargetLocal
	// TargetENI sends to an appliance's ENI (an instance target is its primary ENI).
	TargetENI
	TargetIGW
	TargetNATGW
	TargetVGW
	TargetPeering
	// TargetBlackhole drops: the route's target was deleted, or the route says so.
	TargetBlackhole
)

var targetNames = [...]string{"none", "local", "eni", "igw", "nat", "vgw", "peering", "blackhole"}

func (k TargetKind) String() string {
	if int(k) < len(targetNames) {
		return targetNames[k]
	}
	return "unknown"
}

// RouteEntry is one route of a table.
type RouteEntry struct {
	Dest  netip.Prefix
	Kind  TargetKind
	Index uint32 // the ENI index for TargetENI, the gateway or peering index for the others
	Name  string // the target as the user wrote it, for traces
}

// RouteTableState is a compiled route table: its routes sorted longest prefix first, and a
// prefix trie over them (package route, github.com/gaissmai/bart) that answers a lookup in a
// time independent of the number of routes.
type RouteTableState struct {
	Name, ID string
	Routes   []RouteEntry
	// trie indexes Routes; nil in a table made without NewRouteTable, which Lookup then walks.
	trie *rtrie.Compiled
}

// NewRouteTable sorts routes and builds their lookup.
func NewRouteTable(name, id string, routes []RouteEntry) RouteTableState {
	rs := slices.Clone(routes)
	slices.SortStableFunc(rs, func(a, b RouteEntry) int { return b.Dest.Bits() - a.Dest.Bits() })
	rr := make([]rtrie.Route, len(rs))
	for i, r := range rs {
		// Only the destinations and the local routes' priority matter to the lookup; the
		// targets stay in Routes.
		rr[i] = rtrie.Route{Dest: r.Dest.Masked(), Target: rtrie.Target{Kind: rtrie.Blackhole}}
		if r.Kind == TargetLocal {
			rr[i].Origin = rtrie.OriginLocal
		}
	}
	return RouteTableState{Name: name, ID: id, Routes: rs, trie: rtrie.Build(id, rr)}
}

// Lookup returns the index of the longest-prefix route for dst, or -1. AWS never forwards to
// its reserved ranges (169.254.168.0/22, fd00:ec2::/32): they match no route.
func (t *RouteTableState) Lookup(dst netip.Addr) int {
	if t.trie != nil {
		return t.trie.LookupIndex(dst)
	}
	return t.lookupLinear(dst)
}

// lookupLinear is the plain walk of the sorted routes, the model the trie is tested against.
func (t *RouteTableState) lookupLinear(dst netip.Addr) int {
	if rtrie.Reserved(dst) {
		return -1
	}
	for i := range t.Routes {
		if t.Routes[i].Dest.Contains(dst) {
			return i
		}
	}
	return -1
}

// ACLEntry is one numbered network ACL rule.
type ACLEntry struct {
	Number           int
	Allow            bool
	Proto            int // -1 all
	FromPort, ToPort int
	ICMPType         int // -1 any
	ICMPCode         int // -1 any
	CIDR             netip.Prefix
}

// ACLState is a compiled network ACL: each direction's rules in number order. The final `*`
// deny is implicit (32767 for IPv4, 32768 for IPv6).
type ACLState struct {
	Name, ID        string
	Ingress, Egress []ACLEntry
	// compiled answers in a time independent of the rule count (package nacl); nil only when the
	// rules could not be compiled, and then Evaluate walks them in order.
	compiled *nacl.Compiled
}

// NewACL sorts entries by number.
func NewACL(name, id string, ingress, egress []ACLEntry) ACLState {
	in, out := slices.Clone(ingress), slices.Clone(egress)
	cmp := func(a, b ACLEntry) int { return a.Number - b.Number }
	slices.SortFunc(in, cmp)
	slices.SortFunc(out, cmp)
	a := ACLState{Name: name, ID: id, Ingress: in, Egress: out}
	acl := nacl.ACL{ID: id, Name: name}
	for k, list := range [][]ACLEntry{in, out} {
		for _, e := range list {
			action := nacl.Deny
			if e.Allow {
				action = nacl.Allow
			}
			acl.Entries = append(acl.Entries, nacl.Entry{Number: e.Number, Egress: k == 1, Action: action,
				Proto: e.Proto, FromPort: e.FromPort, ToPort: e.ToPort, ICMPType: e.ICMPType, ICMPCode: e.ICMPCode, CIDR: e.CIDR})
		}
	}
	// The scenario and the CLI have checked the quota; compile with the largest AWS allows.
	if c, _, err := nacl.Compile(acl, nacl.Limits{RulesPerDirection: 40}); err == nil {
		a.compiled = c
	}
	return a
}

// Evaluate runs the ACL on a packet in one direction: the lowest-numbered matching rule decides.
// It returns the decision and the number of the rule (32767/32768 for the final deny).
func (a *ACLState) Evaluate(egress bool, f *sgengine.Flow) (bool, int) {
	if a.compiled != nil {
		p := nacl.Packet{Src: f.Src, Dst: f.Dst, Proto: f.Proto, SrcPort: f.SrcPort, DstPort: f.DstPort,
			ICMPType: f.ICMPType, ICMPCode: f.ICMPCode, HasPorts: true}
		r := a.compiled.Evaluate(egress, &p)
		return r.Allow, r.Rule
	}
	return a.evaluateLinear(egress, f)
}

// evaluateLinear is the plain first-match walk, for an ACL that did not compile and as the
// model the compiled evaluator is tested against.
func (a *ACLState) evaluateLinear(egress bool, f *sgengine.Flow) (bool, int) {
	rules := a.Ingress
	peer := f.Src
	if egress {
		rules, peer = a.Egress, f.Dst
	}
	for i := range rules {
		r := &rules[i]
		if r.CIDR.Addr().Is4() != peer.Is4() || !r.CIDR.Contains(peer) {
			continue
		}
		if aclMatches(r, f) {
			return r.Allow, r.Number
		}
	}
	if peer.Is4() {
		return false, 32767
	}
	return false, 32768
}

// aclMatches checks protocol and ports; protocols other than TCP, UDP and ICMP (and ICMPv6 with
// an IPv4 CIDR) match every port, as AWS documents.
func aclMatches(r *ACLEntry, f *sgengine.Flow) bool {
	if r.Proto == -1 {
		return true
	}
	if r.Proto != int(f.Proto) {
		return false
	}
	switch r.Proto {
	case 6, 17:
		return int(f.DstPort) >= r.FromPort && int(f.DstPort) <= r.ToPort
	case 1, 58:
		if r.Proto == 58 && r.CIDR.Addr().Is4() {
			return true
		}
		return (r.ICMPType == -1 || r.ICMPType == int(f.ICMPType)) && (r.ICMPCode == -1 || r.ICMPCode == int(f.ICMPCode))
	}
	return true
}

// DefaultACL is the ACL every VPC starts with: rule 100 allows all IPv4 in and out.
func DefaultACL(name, id string) ACLState {
	all := ACLEntry{Number: 100, Allow: true, Proto: -1, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}
	return NewACL(name, id, []ACLEntry{all}, []ACLEntry{all})
}
