package sgengine

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gaissmai/bart"
)

// Policy is the compiled, immutable form of a Config: per ENI and direction one matcher that
// is the union of the ENI's groups. It is safe for concurrent use.
type Policy struct {
	enis        []*eniPolicy // by ENI index; nil where no ENI is configured
	groups      []Group      // the configuration's groups, for RuleInfo
	relatedICMP bool
}

type eniPolicy struct {
	m [2]*matcher // by Direction
	// fwd are the matchers of forwarded packets (Flow.Forwarded): m without the rules that
	// reference a security group. They are m itself where those rules add nothing.
	fwd       [2]*matcher
	tmo       [numStates]int64
	allowance int64
}

// Direction is the way a packet crosses an ENI.
type Direction uint8

const (
	// DirEgress: the packet leaves the instance through the ENI.
	DirEgress Direction = 0
	// DirIngress: the packet is delivered to the instance through the ENI.
	DirIngress Direction = 1
)

var dirName = [2]string{"egress", "ingress"}

func (d Direction) String() string {
	if d <= DirIngress {
		return dirName[d]
	}
	return "direction(" + strconv.Itoa(int(d)) + ")"
}

// RuleRef names one rule of a Policy: its group, direction and index. The zero RuleRef names
// no rule. Refs order like the configuration (group order, then rule order), and when several
// rules allow a packet the Decision names the first of them.
type RuleRef uint32

func makeRef(group int, dir Direction, rule int) RuleRef {
	return RuleRef(uint32(group)<<17|uint32(dir)<<16|uint32(rule)) + 1
}

// Valid reports whether r names a rule.
func (r RuleRef) Valid() bool { return r != 0 }

// GroupIndex is the index of the rule's group in Config.Groups.
func (r RuleRef) GroupIndex() int { return int((r - 1) >> 17) }

// Direction is the direction of the rule's set.
func (r RuleRef) Direction() Direction { return Direction((r - 1) >> 16 & 1) }

// RuleIndex is the index of the rule in its group's Ingress or Egress list.
func (r RuleRef) RuleIndex() int { return int((r - 1) & 0xffff) }

// RuleInfo describes a rule for traces.
type RuleInfo struct {
	GroupID   string
	GroupName string
	Direction Direction
	Index     int
	Rule      Rule
}

func (i RuleInfo) String() string {
	return fmt.Sprintf("%s %s rule %d (%s)", i.GroupID, i.Direction, i.Index, i.Rule)
}

// Rule resolves a RuleRef of this policy.
func (p *Policy) Rule(r RuleRef) (RuleInfo, bool) {
	if !r.Valid() || r.GroupIndex() >= len(p.groups) {
		return RuleInfo{}, false
	}
	g := &p.groups[r.GroupIndex()]
	rules := g.Egress
	if r.Direction() == DirIngress {
		rules = g.Ingress
	}
	if r.RuleIndex() >= len(rules) {
		return RuleInfo{}, false
	}
	return RuleInfo{GroupID: g.ID, GroupName: g.Name, Direction: r.Direction(), Index: r.RuleIndex(), Rule: rules[r.RuleIndex()]}, true
}

// HasENI reports whether the policy has a configuration for ENI index eni.
func (p *Policy) HasENI(eni uint32) bool { return p.eni(eni) != nil }

// Allowance is the tracked-entry maximum of ENI eni (0 if the policy does not know it), so
// that conntrack_allowance_available is Allowance minus Conntrack.Len.
func (p *Policy) Allowance(eni uint32) int {
	if ep := p.eni(eni); ep != nil {
		return int(ep.allowance)
	}
	return 0
}

func (p *Policy) eni(i uint32) *eniPolicy {
	if int64(i) < int64(len(p.enis)) {
		return p.enis[i]
	}
	return nil
}

// Port kinds: the protocols whose rules carry a port range (TCP, UDP) or an ICMP type and
// code range; every other protocol is matched by number alone.
const (
	kTCP = iota
	kUDP
	kICMP
	kICMPv6
	numPortKinds
	kAll   // a protocol -1 rule, only while compiling
	kOther // any other protocol
)

func kindOf(proto uint8) int {
	switch proto {
	case ProtoTCP:
		return kTCP
	case ProtoUDP:
		return kUDP
	case ProtoICMP:
		return kICMP
	case ProtoICMPv6:
		return kICMPv6
	}
	return kOther
}

// span is an inclusive range of ports, or of ICMP type<<8|code, with the first rule that
// allows it.
type span struct {
	lo, hi uint16
	ref    RuleRef
}

// slice names a run of m.spans or m.others, keeping entries free of pointers.
type slice struct{ off, n uint32 }

type protoRef struct {
	proto uint8
	ref   RuleRef
}

// entry is what one prefix of the trie allows: the union of its own rules and those of every
// shorter prefix that contains it, so that one longest-prefix lookup answers for all of them.
type entry struct {
	ports  [numPortKinds]slice
	any    RuleRef // the first protocol -1 rule
	others slice   // protoRefs sorted by protocol
}

// matcher is the union of the rules of a set of groups in one direction.
type matcher struct {
	trie    *bart.Table[uint32] // prefix -> index in entries
	entries []entry
	spans   []span
	others  []protoRef
	// world is the entry of 0.0.0.0/0 (family 0) and ::/0 (family 1), or -1: AWS's
	// untracked-flow rule looks at what the /0 rules allow.
	world [2]int32
	// allPorts[family][kTCP or kUDP]: the /0 rules allow every port of that protocol.
	allPorts [2][2]bool
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// lookup returns the first rule that allows proto to port (or ICMP type<<8|code) at a, or 0.
func (m *matcher) lookup(a netip.Addr, proto uint8, port uint16) RuleRef {
	i, ok := m.trie.Lookup(a)
	if !ok {
		return 0
	}
	return m.entryLookup(&m.entries[i], proto, port)
}

func (m *matcher) entryLookup(e *entry, proto uint8, port uint16) RuleRef {
	if k := kindOf(proto); k < numPortKinds {
		s := e.ports[k]
		return findSpan(m.spans[s.off:s.off+s.n], port)
	}
	r := e.any
	for _, o := range m.others[e.others.off : e.others.off+e.others.n] {
		if o.proto >= proto {
			if o.proto == proto {
				r = minRef(r, o.ref)
			}
			break
		}
	}
	return r
}

// worldAllows reports whether the /0 rules of a's family allow proto to port.
func (m *matcher) worldAllows(fam int, proto uint8, port uint16) bool {
	w := m.world[fam]
	return w >= 0 && m.entryLookup(&m.entries[w], proto, port) != 0
}

func findSpan(sp []span, x uint16) RuleRef {
	lo, hi := 0, len(sp)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if sp[mid].lo <= x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo > 0 && x <= sp[lo-1].hi {
		return sp[lo-1].ref
	}
	return 0
}

func minRef(a, b RuleRef) RuleRef {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

// Compile validates cfg and builds its Policy. ENIs with the same set of groups share their
// matchers.
func Compile(cfg *Config) (*Policy, error) {
	groupIdx, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	// Membership comes from the ENIs: a group reference matches their private IPs only.
	members := make([][]netip.Addr, len(cfg.Groups))
	eniGroups := make([][]int, len(cfg.ENIs))
	maxIdx := -1
	for i := range cfg.ENIs {
		e := &cfg.ENIs[i]
		gs := make([]int, 0, len(e.Groups))
		for _, id := range e.Groups {
			gs = append(gs, groupIdx[id])
		}
		slices.Sort(gs)
		gs = slices.Compact(gs)
		eniGroups[i] = gs
		for _, g := range gs {
			members[g] = append(members[g], e.PrivateIPs...)
		}
		maxIdx = max(maxIdx, int(e.Index))
	}
	p := &Policy{
		enis:        make([]*eniPolicy, maxIdx+1),
		groups:      slices.Clone(cfg.Groups),
		relatedICMP: cfg.RelatedICMP,
	}
	type matchers struct{ m, fwd [2]*matcher }
	memo := map[string]matchers{}
	for i := range cfg.ENIs {
		e := &cfg.ENIs[i]
		key := groupSetKey(eniGroups[i])
		ms, ok := memo[key]
		if !ok {
			for dir := DirEgress; dir <= DirIngress; dir++ {
				ms.m[dir], ms.fwd[dir] = buildMatchers(cfg, eniGroups[i], dir, members, groupIdx)
			}
			memo[key] = ms
		}
		ep := &eniPolicy{m: ms.m, fwd: ms.fwd, allowance: int64(e.Allowance)}
		if ep.allowance == 0 {
			ep.allowance = DefaultAllowance
		}
		ep.tmo = compileTimeouts(e.Timeouts.WithDefaults())
		p.enis[e.Index] = ep
	}
	return p, nil
}

func groupSetKey(gs []int) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteString(strconv.Itoa(g))
		b.WriteByte(',')
	}
	return b.String()
}

func compileTimeouts(t Timeouts) [numStates]int64 {
	var tmo [numStates]int64
	set := func(s State, d time.Duration) { tmo[s] = int64(d) }
	set(StateTCPSynSent, t.TCPSyn)
	set(StateTCPSynRecv, t.TCPSyn)
	set(StateTCPEstablished, t.TCPEstablished)
	set(StateTCPClosing, t.TCPClosing)
	set(StateUDP, t.UDP)
	set(StateUDPStream, t.UDPStream)
	set(StateICMP, t.ICMP)
	set(StateOther, t.Other)
	return tmo
}

// item is one rule's contribution at one prefix, while compiling.
type item struct {
	kind   int
	proto  uint8
	lo, hi uint16
	ref    RuleRef
}

func ruleItem(r *Rule, ref RuleRef) item {
	switch r.Proto {
	case ProtoAll:
		return item{kind: kAll, ref: ref}
	case ProtoTCP, ProtoUDP:
		return item{kind: kindOf(uint8(r.Proto)), lo: uint16(r.FromPort), hi: uint16(r.ToPort), ref: ref}
	case ProtoICMP, ProtoICMPv6:
		it := item{kind: kindOf(uint8(r.Proto)), lo: 0, hi: 0xffff, ref: ref}
		if r.FromPort >= 0 {
			t := uint16(r.FromPort) << 8
			it.lo, it.hi = t, t|0xff
			if r.ToPort >= 0 {
				it.lo, it.hi = t|uint16(r.ToPort), t|uint16(r.ToPort)
			}
		}
		return it
	}
	return item{kind: kOther, proto: uint8(r.Proto), ref: ref}
}

// buildMatchers compiles the rules of groups in dir twice: full with every rule, fwd (for
// forwarded packets) without those that reference a security group. A reference matches member
// addresses only, that is host prefixes, which are leaves of the trie: full is fwd plus one
// leaf per member address, and every other entry is the same. full is fwd itself when the
// references match no address.
func buildMatchers(cfg *Config, groups []int, dir Direction, members [][]netip.Addr, groupIdx map[string]int) (full, fwd *matcher) {
	own := map[netip.Prefix][]item{}   // CIDR and prefix-list rules
	hosts := map[netip.Prefix][]item{} // group references, by member address
	for _, g := range groups {
		rules := cfg.Groups[g].Egress
		if dir == DirIngress {
			rules = cfg.Groups[g].Ingress
		}
		for j := range rules {
			r := &rules[j]
			it := ruleItem(r, makeRef(g, dir, j))
			switch {
			case r.CIDR.IsValid():
				own[r.CIDR] = append(own[r.CIDR], it)
			case r.PrefixList != "":
				for _, pfx := range cfg.PrefixLists[r.PrefixList] {
					own[pfx] = append(own[pfx], it)
				}
			default:
				for _, a := range members[groupIdx[r.Group]] {
					pfx := netip.PrefixFrom(a, a.BitLen())
					hosts[pfx] = append(hosts[pfx], it)
				}
			}
		}
	}
	fwd = &matcher{trie: new(bart.Table[uint32]), world: [2]int32{-1, -1}}
	var scratch []span
	// Shorter prefixes first, so that when a prefix is built every prefix containing it is
	// already in the trie and the longest of them carries the union of all of them.
	for _, pfx := range sortedPrefixes(own) {
		var parent *entry
		if pi, ok := fwd.trie.LookupPrefix(pfx); ok {
			parent = &fwd.entries[pi]
		}
		idx := fwd.add(own[pfx], parent, &scratch)
		fwd.trie.Insert(pfx, idx)
		if pfx.Bits() == 0 {
			fam := family(pfx.Addr())
			fwd.world[fam] = int32(idx)
			for k := kTCP; k <= kUDP; k++ {
				ps := fwd.entries[idx].ports[k]
				fwd.allPorts[fam][k] = coversAll(fwd.spans[ps.off : ps.off+ps.n])
			}
		}
	}
	if len(hosts) == 0 {
		return fwd, fwd
	}
	// The leaves go into a copy of the trie, their entries into the arrays both matchers share:
	// fwd's trie never leads to them. They change no /0 entry, so world and allPorts carry over.
	trie := fwd.trie.Clone()
	for _, pfx := range sortedPrefixes(hosts) {
		// The longest prefix of fwd containing the address, the address itself included (a /32
		// CIDR rule), carries everything but the references; the leaf adds them.
		var parent *entry
		if pi, ok := fwd.trie.Lookup(pfx.Addr()); ok {
			parent = &fwd.entries[pi]
		}
		trie.Insert(pfx, fwd.add(hosts[pfx], parent, &scratch))
	}
	full = new(matcher)
	*full = *fwd
	full.trie = trie
	return full, fwd
}

// sortedPrefixes returns the keys of m, shorter prefixes first.
func sortedPrefixes(m map[netip.Prefix][]item) []netip.Prefix {
	pfxs := make([]netip.Prefix, 0, len(m))
	for pfx := range m {
		pfxs = append(pfxs, pfx)
	}
	slices.SortFunc(pfxs, func(a, b netip.Prefix) int {
		if c := cmp.Compare(a.Bits(), b.Bits()); c != 0 {
			return c
		}
		return a.Addr().Compare(b.Addr())
	})
	return pfxs
}

// add appends the entry that allows items and whatever parent (an entry of m, or nil) allows,
// and returns its index. scratch is reused from call to call.
func (m *matcher) add(items []item, parent *entry, scratch *[]span) uint32 {
	var e entry
	for k := range numPortKinds {
		sc := (*scratch)[:0]
		for _, it := range items {
			switch {
			case it.kind == k:
				sc = append(sc, span{it.lo, it.hi, it.ref})
			case it.kind == kAll:
				sc = append(sc, span{0, 0xffff, it.ref})
			}
		}
		if parent != nil {
			ps := parent.ports[k]
			sc = append(sc, m.spans[ps.off:ps.off+ps.n]...)
		}
		*scratch = sc
		off := len(m.spans)
		m.spans = paint(sc, m.spans)
		e.ports[k] = slice{uint32(off), uint32(len(m.spans) - off)}
	}
	var others []protoRef
	if parent != nil {
		e.any = parent.any
		others = append(others, m.others[parent.others.off:parent.others.off+parent.others.n]...)
	}
	for _, it := range items {
		switch it.kind {
		case kAll:
			e.any = minRef(e.any, it.ref)
		case kOther:
			others = append(others, protoRef{it.proto, it.ref})
		}
	}
	slices.SortFunc(others, func(a, b protoRef) int {
		return cmp.Or(cmp.Compare(a.proto, b.proto), cmp.Compare(a.ref, b.ref))
	})
	others = slices.CompactFunc(others, func(a, b protoRef) bool { return a.proto == b.proto })
	e.others = slice{uint32(len(m.others)), uint32(len(others))}
	m.others = append(m.others, others...)
	m.entries = append(m.entries, e)
	return uint32(len(m.entries) - 1)
}

// coversAll reports whether the disjoint, sorted spans cover 0-65535 without a gap.
func coversAll(sp []span) bool {
	next := 0
	for _, s := range sp {
		if int(s.lo) > next {
			return false
		}
		next = int(s.hi) + 1
	}
	return next == 0x10000
}

// paint appends to out the disjoint, sorted spans that items cover, each point labelled with
// the smallest ref of the items covering it, and adjacent spans with the same ref merged.
// It reorders items.
func paint(items []span, out []span) []span {
	if len(items) == 0 {
		return out
	}
	pts := make([]uint32, 0, 2*len(items))
	for _, it := range items {
		pts = append(pts, uint32(it.lo), uint32(it.hi)+1)
	}
	slices.Sort(pts)
	pts = slices.Compact(pts)
	n := len(pts) - 1
	refs := make([]RuleRef, n)
	// next[j] leads to the first unpainted elementary interval at or after j (path-halving
	// union-find), so painting items in ref order touches each interval once.
	next := make([]int, n+1)
	for i := range next {
		next[i] = i
	}
	find := func(i int) int {
		for next[i] != i {
			next[i] = next[next[i]]
			i = next[i]
		}
		return i
	}
	slices.SortStableFunc(items, func(a, b span) int { return cmp.Compare(a.ref, b.ref) })
	for _, it := range items {
		s, _ := slices.BinarySearch(pts, uint32(it.lo))
		e, _ := slices.BinarySearch(pts, uint32(it.hi)+1)
		for j := find(s); j < e; j = find(j + 1) {
			refs[j] = it.ref
			next[j] = j + 1
		}
	}
	start := len(out)
	for j, r := range refs {
		if r == 0 {
			continue
		}
		lo, hi := uint16(pts[j]), uint16(pts[j+1]-1)
		if last := len(out) - 1; last >= start && out[last].ref == r && uint32(out[last].hi)+1 == pts[j] {
			out[last].hi = hi
			continue
		}
		out = append(out, span{lo, hi, r})
	}
	return out
}
