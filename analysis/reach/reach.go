// Package reach is the static reachability analysis of a scenario: for every ordered pair of
// endpoints (instance ENIs, internet hosts, on-premises hosts) the exact set of TCP and UDP
// destination ports, and whether ICMP echo, get through and back, computed without starting
// the lab by the same compiled rules and fabric.Decide the engine runs (through
// fabric.QuickTrace and, to explain, fabric.Trace).
//
// Exactness without 65 535 traces per protocol: every rule that can judge a pair's packets (the
// groups of both ENIs, both ways; the ACLs of both subnets, both ways) holds on a port range, so
// the port space splits at the ranges' ends into elementary intervals on which every rule holds
// for all ports or none; one packet per interval decides it, and adjacent intervals with the
// same verdict merge. The reply's destination is the sender's ephemeral source port, which the
// analysis splits the same way over the ephemeral range: a port "reaches" when the reply gets
// back for every source port the sender's kernel may pick. And endpoints that nothing on any path
// tells apart form equivalence classes (see classify), so each pair of classes is computed once.
//
// The package also checks a scenario's intents (intents.go) and, with a running lab, compares
// the analysis with real probes (verify.go).
package reach

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/lab"
)

// Options tune an analysis.
type Options struct {
	// Ephemeral is the senders' ephemeral source port range; zero means Linux's default,
	// 32768-60999 (net.ipv4.ip_local_port_range), which the lab's instances use.
	Ephemeral Range
	// From and To, when not empty, keep only pairs whose source (target) endpoint is named in
	// them: an endpoint name, an instance name (all its ENIs), or "internet" (every internet
	// host).
	From, To []string
	// PerPair computes every endpoint pair on its own instead of once per pair of equivalence
	// classes (the differential tests compare the two).
	PerPair bool
	// Workers is the number of goroutines; 0 means GOMAXPROCS.
	Workers int
	// NextHop, when set, is the senders' own routing (lab.Lab.NextHop of a running lab): the
	// gateway the kernel behind an ENI uses for an address, zero for none. Without it every
	// instance sends as one with the default routes does (user data that adds routes is not
	// seen). Setting it implies PerPair: routes are an instance's own.
	NextHop func(eni uint32, dst netip.Addr) netip.Addr
	// EphemeralOf, when set, is the ephemeral range of the kernel behind an instance's ENI
	// (lab.Lab.EphemeralPorts), zero for Ephemeral; like NextHop it implies PerPair.
	EphemeralOf func(eni uint32) (lo, hi int)
}

// DefaultEphemeral is Linux's default ephemeral port range.
var DefaultEphemeral = Range{32768, 60999}

// Set is what reaches from one endpoint to another: TCP and UDP destination ports, each
// sorted and disjoint, and ICMP echo.
type Set struct {
	TCP  []Range `json:"tcp"`
	UDP  []Range `json:"udp"`
	ICMP bool    `json:"icmp"`
}

// Empty reports whether nothing is in the set.
func (s *Set) Empty() bool { return len(s.TCP) == 0 && len(s.UDP) == 0 && !s.ICMP }

// ports returns the set's ranges of proto "tcp" or "udp".
func (s *Set) ports(proto string) []Range {
	if proto == "udp" {
		return s.UDP
	}
	return s.TCP
}

func all(rs []Range) bool { return len(rs) == 1 && rs[0] == Ports }

// Summary is the set in a matrix cell: "all", "-", or "tcp:22,80 udp:53 icmp".
func (s *Set) Summary() string {
	switch {
	case s.Empty():
		return "-"
	case all(s.TCP) && all(s.UDP) && s.ICMP:
		return "all"
	}
	var parts []string
	for _, p := range []struct {
		name string
		rs   []Range
	}{{"tcp", s.TCP}, {"udp", s.UDP}} {
		switch {
		case all(p.rs):
			parts = append(parts, p.name)
		case len(p.rs) > 0:
			parts = append(parts, p.name+":"+formatRanges(p.rs))
		}
	}
	if s.ICMP {
		parts = append(parts, "icmp")
	}
	out := parts[0]
	for _, p := range parts[1:] {
		out += " " + p
	}
	return out
}

// Cell is the analysis of one ordered pair.
type Cell struct {
	From string     `json:"from"`
	To   string     `json:"to"`
	Dst  netip.Addr `json:"destination,omitzero"` // the address packets are sent to
	// Reach is what gets there and whose reply gets back.
	Reach Set `json:"reach"`
	// OneWay is what gets there but whose reply is dropped (for every source port).
	OneWay Set `json:"one_way,omitzero"`
	// SomeSourcePorts is what gets there but whose reply gets back for some of the sender's
	// ephemeral source ports only: whether a connection works depends on the port the kernel
	// picks.
	SomeSourcePorts Set `json:"some_source_ports,omitzero"`
	// Appliance is what is delivered to an appliance (an instance that does not hold the
	// destination, such as a NAT instance or firewall) whose own forwarding is not analysed;
	// ApplianceName names it.
	Appliance     Set    `json:"appliance,omitzero"`
	ApplianceName string `json:"appliance_name,omitempty"`
	// Note says why nothing was traced (a target without a public address, seen from the
	// internet).
	Note string `json:"note,omitempty"`

	from, to *Endpoint
	spec     fabric.TraceSpec // the pair's packet, without protocol and ports
	eph      Range            // the sender's ephemeral ports
	// applianceENI is the appliance's ENI index when ApplianceName is set.
	applianceENI uint32
}

// Result is the analysis of a scenario.
type Result struct {
	Scenario  string      `json:"scenario"`
	Ephemeral Range       `json:"ephemeral_ports"`
	Endpoints []*Endpoint `json:"endpoints"`
	// Cells are the analysed pairs, in endpoint order (rows sources, columns targets). Cells
	// of one pair of equivalence classes share their sets' slices: treat them as read-only.
	Cells []*Cell `json:"cells"`
	// Classes is the number of equivalence classes; Traces the packets followed.
	Classes int `json:"classes"`
	Traces  int `json:"traces"`

	plan *lab.Plan
}

// Cell returns the cell from -> to, or nil.
func (r *Result) Cell(from, to string) *Cell {
	for _, c := range r.Cells {
		if c.From == from && c.To == to {
			return c
		}
	}
	return nil
}

// Endpoint returns the endpoint called name, or nil.
func (r *Result) Endpoint(name string) *Endpoint {
	for _, e := range r.Endpoints {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// selects reports whether the filter names ep (an empty filter names every endpoint).
func selects(filter []string, ep *Endpoint) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if f == ep.Name || (ep.Kind == KindInstance && f == ep.Instance) || (ep.Kind == KindInternet && f == KindInternet) {
			return true
		}
	}
	return false
}

// checkFilter refuses a filter entry that names no endpoint, so a typo never yields an empty,
// clean report.
func checkFilter(flag string, filter []string, eps []*Endpoint) error {
	for _, f := range filter {
		found := false
		for _, ep := range eps {
			found = found || selects([]string{f}, ep)
		}
		if !found {
			var names []string
			for _, ep := range eps {
				names = append(names, ep.Name)
			}
			return fmt.Errorf("%s %q: no such endpoint; want one of %v, an instance name or internet", flag, f, names)
		}
	}
	return nil
}

// Analyze computes the reachability matrix of a plan (lab.NewPlan; nothing is started).
func Analyze(p *lab.Plan, o Options) (*Result, error) {
	if o.Ephemeral == (Range{}) {
		o.Ephemeral = DefaultEphemeral
	}
	if o.Ephemeral.Lo < 1 || o.Ephemeral.Hi > 65535 || o.Ephemeral.Lo > o.Ephemeral.Hi {
		return nil, fmt.Errorf("ephemeral port range %s: want LOW-HIGH within 1-65535", o.Ephemeral)
	}
	eps := endpoints(p)
	if err := checkFilter("from", o.From, eps); err != nil {
		return nil, err
	}
	if err := checkFilter("to", o.To, eps); err != nil {
		return nil, err
	}
	res := &Result{Scenario: p.Scenario.Name, Ephemeral: o.Ephemeral, Endpoints: eps, plan: p}
	res.Classes = classify(p, eps)
	if o.NextHop != nil {
		o.NextHop = cachedNextHop(o.NextHop)
		o.PerPair = true
	}
	if o.EphemeralOf != nil {
		o.PerPair = true
	}
	if o.PerPair {
		for i, ep := range eps {
			ep.class = i
		}
		res.Classes = len(eps)
	}
	st := p.State
	// One computation per pair of classes; the first pair of endpoints met represents it.
	type job struct {
		rep *Cell
		out Cell
		err error
		n   int
	}
	jobs := map[[2]int]*job{}
	var order []*job
	for _, a := range eps {
		if a.Kind == KindOnPrem || !selects(o.From, a) {
			continue
		}
		for _, b := range eps {
			if a == b || (a.Kind == KindInstance && a.Instance == b.Instance && b.Kind == KindInstance) ||
				(a.Kind != KindInstance && b.Kind != KindInstance) || !selects(o.To, b) {
				continue
			}
			c := &Cell{From: a.Name, To: b.Name, from: a, to: b}
			c.spec = fabric.TraceSpec{From: a.ENI}
			if a.Kind == KindInternet {
				c.spec.Src = a.Addr
			}
			switch {
			case b.Kind != KindInstance:
				c.Dst = b.Addr
			case a.Kind == KindInternet && !b.Public.IsValid():
				c.Note = "no public address: the internet cannot address it"
			case a.Kind == KindInternet:
				c.Dst = b.Public
			default:
				c.Dst = b.Addr
			}
			c.spec.Dst = c.Dst
			c.eph = o.Ephemeral
			if o.EphemeralOf != nil && a.Kind == KindInstance {
				if lo, hi := o.EphemeralOf(a.ENI); lo > 0 {
					c.eph = Range{lo, hi}
				}
			}
			if o.NextHop != nil && a.Kind == KindInstance && c.Dst.IsValid() {
				c.spec.NextHop = o.NextHop(a.ENI, c.Dst)
			}
			res.Cells = append(res.Cells, c)
			if c.Note != "" {
				continue
			}
			k := [2]int{a.class, b.class}
			if jobs[k] == nil {
				jobs[k] = &job{rep: c}
				order = append(order, jobs[k])
			}
		}
	}
	byENI := map[uint32]*Endpoint{}
	for _, ep := range eps {
		if ep.Kind == KindInstance {
			byENI[ep.ENI] = ep
		}
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan *job)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := fabric.TraceScratch{NextHop: o.NextHop}
			for j := range next {
				j.out, j.n, j.err = analysePair(st, j.rep, &sc, byENI)
			}
		}()
	}
	for _, j := range order {
		next <- j
	}
	close(next)
	wg.Wait()
	for _, j := range order {
		if j.err != nil {
			return nil, fmt.Errorf("%s -> %s: %w", j.rep.From, j.rep.To, j.err)
		}
		res.Traces += j.n
	}
	for _, c := range res.Cells {
		if c.Note != "" {
			continue
		}
		j := jobs[[2]int{c.from.class, c.to.class}]
		c.Reach, c.OneWay, c.SomeSourcePorts, c.Appliance = j.out.Reach, j.out.OneWay, j.out.SomeSourcePorts, j.out.Appliance
		if !c.Appliance.Empty() {
			c.ApplianceName = j.out.ApplianceName
		}
	}
	for _, c := range res.Cells {
		// JSON readers get lists, never null, for what reaches.
		if c.Reach.TCP == nil {
			c.Reach.TCP = []Range{}
		}
		if c.Reach.UDP == nil {
			c.Reach.UDP = []Range{}
		}
	}
	return res, nil
}

// cachedNextHop asks f once per ENI and address: asking a running lab's kernel enters a
// namespace.
func cachedNextHop(f func(uint32, netip.Addr) netip.Addr) func(uint32, netip.Addr) netip.Addr {
	type key struct {
		eni uint32
		dst netip.Addr
	}
	var mu sync.Mutex
	seen := map[key]netip.Addr{}
	return func(eni uint32, dst netip.Addr) netip.Addr {
		k := key{eni, dst}
		mu.Lock()
		a, ok := seen[k]
		mu.Unlock()
		if !ok {
			a = f(eni, dst)
			mu.Lock()
			seen[k] = a
			mu.Unlock()
		}
		return a
	}
}

// Verdicts of one packet (and its replies).
const (
	vNone = iota
	vReach
	vOneWay
	vSome
	vAppliance
)

// analysePair computes one cell: one packet per elementary interval of destination ports,
// times one per elementary interval of source ports for the reply.
//
// A path through an appliance is judged on the appliance's ingress too, by rules the pair's
// boundaries do not include: when one turns up, the pair is computed again with them.
func analysePair(st *fabric.State, c *Cell, sc *fabric.TraceScratch, byENI map[uint32]*Endpoint) (out Cell, n int, err error) {
	out, n, err = analyseWith(st, c, sc, nil)
	if ep := byENI[out.applianceENI]; err == nil && out.ApplianceName != "" && ep != nil && ep != c.to {
		var m int
		out, m, err = analyseWith(st, c, sc, ep.in)
		n += m
	}
	return out, n, err
}

func analyseWith(st *fabric.State, c *Cell, sc *fabric.TraceScratch, extraIn []portRule) (out Cell, n int, err error) {
	eph := c.eph
	// The forward packet is judged on its destination port by what the sender lets out and the
	// target lets in; the reply on its destination port, the sender's source port, by the other
	// two. Whether a flow is tracked depends on both ports, each through its own side's rules
	// (sgengine's untracked), so the product of the two splits is exact.
	// Only rules whose peer can be the other end add boundaries: the sender's address A (a host's,
	// or an instance's private one: the gateway translates after the ACL) and the target's B.
	var fwd, rev [2]bounds
	A, B := c.from.Addr, c.to.Addr
	for k, proto := range []int{6, 17} {
		addBounds(&fwd[k], c.from.out, proto, B)
		addBounds(&fwd[k], c.to.in, proto, A)
		addBounds(&fwd[k], extraIn, proto, A)
		addBounds(&rev[k], c.to.out, proto, A)
		addBounds(&rev[k], c.from.in, proto, B)
	}
	for k, proto := range []uint8{6, 17} {
		dsts, srcs := intervals(Ports, fwd[k]), intervals(eph, rev[k])
		for _, d := range dsts {
			// The forward packet does not depend on the source port (no rule matches it);
			// the reply's destination is that port, so it is tried per source interval.
			v, back := vNone, 0
			for _, s := range srcs {
				spec := c.spec
				spec.Proto, spec.SrcPort, spec.DstPort = proto, uint16(s.Lo), uint16(d.Lo)
				q, err := fabric.QuickTrace(st, spec, sc)
				n++
				if err != nil {
					return out, n, err
				}
				if !q.Forward {
					break
				}
				v = vOneWay
				if q.Appliance {
					v, out.ApplianceName, out.applianceENI = vAppliance, applianceName(st, q.Out), q.Out
					break
				}
				if q.Return {
					back++
				}
			}
			switch {
			case v != vOneWay || back == 0:
			case back == len(srcs):
				v = vReach
			default:
				v = vSome
			}
			record(&out, k, d, v)
		}
	}
	spec := c.spec
	spec.Proto, spec.SrcPort = 1, icmpID
	q, err := fabric.QuickTrace(st, spec, sc)
	n++
	if err != nil {
		return out, n, err
	}
	switch {
	case q.Appliance:
		out.Appliance.ICMP, out.ApplianceName, out.applianceENI = true, applianceName(st, q.Out), q.Out
	case q.Forward && q.Return:
		out.Reach.ICMP = true
	case q.Forward:
		out.OneWay.ICMP = true
	}
	return out, n, nil
}

// icmpID is the echo identifier of the analysis's ICMP packets, as `ec2sim trace` uses.
const icmpID = 4242

// record adds interval d of protocol k (0 tcp, 1 udp) to the set its verdict v names.
func record(c *Cell, k int, d Range, v int) {
	var s *Set
	switch v {
	case vReach:
		s = &c.Reach
	case vOneWay:
		s = &c.OneWay
	case vSome:
		s = &c.SomeSourcePorts
	case vAppliance:
		s = &c.Appliance
	default:
		return
	}
	if k == 0 {
		s.TCP = addRange(s.TCP, d)
	} else {
		s.UDP = addRange(s.UDP, d)
	}
}

func applianceName(st *fabric.State, i uint32) string {
	if int(i) >= len(st.ENIs) {
		return ""
	}
	e := &st.ENIs[i]
	return e.Instance + "." + e.Name
}
