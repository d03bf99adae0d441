package reach

import (
	"fmt"
	"io"
	"strings"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/scenarios"
)

// IntentResult is one intent checked against an analysis.
type IntentResult struct {
	Name    string `json:"name"`
	Pos     string `json:"pos"`
	From    string `json:"from"`
	To      string `json:"to"`
	Verb    string `json:"verb"` // allow or deny
	Traffic string `json:"traffic"`
	OK      bool   `json:"ok"`
	// Unchecked names the pairs the analysis did not cover (outside --from/--to).
	Unchecked  []string    `json:"unchecked,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
}

// Violation is one pair and protocol on which an intent does not hold, with the packet traced to
// explain it.
type Violation struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Traffic is the part of the intent's traffic that violates it ("tcp:5432", "icmp").
	Traffic string `json:"traffic"`
	// Packet is the packet traced to explain it: "tcp/5432 from source port 32768".
	Packet string `json:"packet"`
	// Blockers (an allow intent) are the components that block Packet, evaluated independently
	// as Reachability Analyzer does, with its explanation codes; Direction says whether the
	// packet or its reply is blocked.
	Direction string           `json:"direction,omitempty"`
	Blockers  []fabric.Blocker `json:"blockers,omitempty"`
	// Path (a deny intent) is every hop of Packet that let it through: the security group rules,
	// routes and network ACL rules that allow it; Return the same for its reply, when it gets
	// back.
	Path   []fabric.Hop `json:"path,omitempty"`
	Return []fabric.Hop `json:"return,omitempty"`
	Note   string       `json:"note,omitempty"`
}

// resolve names the endpoints an intent's from or to means: "internet" every internet host, an
// instance its eth0, instance.ethN that ENI, a host itself.
func (r *Result) resolve(name string) []*Endpoint {
	if name == scenarios.InternetEndpoint {
		var out []*Endpoint
		for _, ep := range r.Endpoints {
			if ep.Kind == KindInternet {
				out = append(out, ep)
			}
		}
		return out
	}
	name = strings.TrimSuffix(name, ".eth0")
	if ep := r.Endpoint(name); ep != nil {
		return []*Endpoint{ep}
	}
	return nil
}

// CheckIntents checks every intent against the analysis. An allow intent holds when every port
// of its traffic reaches and gets its reply back; a deny intent holds when nothing of its traffic
// arrives at all (a packet that arrives but whose reply is dropped still violates it: the target
// received it).
func CheckIntents(r *Result, intents []*scenarios.Intent) []IntentResult {
	var out []IntentResult
	for i, in := range intents {
		ir := IntentResult{Name: in.Label(i), Pos: in.Pos.String(), From: in.From, To: in.To, Verb: in.Verb(), OK: true}
		var parts []string
		for _, t := range in.Traffic {
			parts = append(parts, t.String())
		}
		ir.Traffic = strings.Join(parts, ", ")
		froms, tos := r.resolve(in.From), r.resolve(in.To)
		if (len(froms) == 0 || len(tos) == 0) && in.Deny == "" {
			// Only "internet" resolves to nothing: a scenario without one cannot reach or be
			// reached from it, which a deny intent wants and an allow intent does not.
			ir.OK = false
			ir.Violations = append(ir.Violations, Violation{From: in.From, To: in.To, Traffic: ir.Traffic,
				Note: "the scenario has no internet (no internet gateway and no internet hosts)"})
		}
		for _, a := range froms {
			for _, b := range tos {
				c := r.Cell(a.Name, b.Name)
				if c == nil {
					if a != b {
						ir.Unchecked = append(ir.Unchecked, a.Name+" -> "+b.Name)
					}
					continue
				}
				for _, t := range in.Traffic {
					if v, bad := r.check(c, in.Deny != "", t); bad {
						ir.OK = false
						ir.Violations = append(ir.Violations, v)
					}
				}
			}
		}
		out = append(out, ir)
	}
	return out
}

// check tests one traffic item of an intent on one cell and explains a violation.
func (r *Result) check(c *Cell, deny bool, t scenarios.Traffic) (Violation, bool) {
	v := Violation{From: c.From, To: c.To}
	spec := c.spec
	if t.Proto == "icmp" {
		arrives := c.Reach.ICMP || c.OneWay.ICMP
		if (deny && !arrives) || (!deny && c.Reach.ICMP) {
			return v, false
		}
		v.Traffic, v.Packet = "icmp", "icmp echo request"
		spec.Proto, spec.SrcPort = 1, icmpID
		if c.Note != "" {
			v.Note = c.Note
			return v, true
		}
		r.explain(&v, spec, c, deny)
		return v, true
	}
	want := []Range{{t.From, t.To}}
	var bad []Range
	if deny {
		for _, s := range []*Set{&c.Reach, &c.OneWay, &c.SomeSourcePorts} {
			for _, x := range Intersect(want, s.ports(t.Proto)) {
				bad = addSorted(bad, x)
			}
		}
	} else {
		bad = Subtract(want, c.Reach.ports(t.Proto))
	}
	if len(bad) == 0 {
		return v, false
	}
	v.Traffic = t.Proto + ":" + formatRanges(bad)
	if c.Note != "" {
		v.Note = c.Note
		return v, true
	}
	spec.Proto, spec.DstPort = 6, uint16(bad[0].Lo)
	if t.Proto == "udp" {
		spec.Proto = 17
	}
	// The source port: one whose reply fails for an allow intent (the ends of the ephemeral
	// range and the interval starts are where ACL rules change), the first otherwise.
	spec.SrcPort = uint16(c.eph.Lo)
	if !deny {
		var rev bounds
		proto := int(spec.Proto)
		addBounds(&rev, c.to.out, proto, c.from.Addr)
		addBounds(&rev, c.from.in, proto, c.to.Addr)
		for _, s := range intervals(c.eph, rev) {
			sp := spec
			sp.SrcPort = uint16(s.Lo)
			if tr, err := fabric.Trace(r.plan.State, sp); err == nil && (tr.Return == nil || !tr.Return.Reachable) {
				spec.SrcPort = sp.SrcPort
				break
			}
		}
	}
	v.Packet = fmt.Sprintf("%s/%d from source port %d", t.Proto, spec.DstPort, spec.SrcPort)
	r.explain(&v, spec, c, deny)
	return v, true
}

// addSorted adds r to a sorted, disjoint list, merging what touches.
func addSorted(rs []Range, r Range) []Range {
	var out []Range
	placed := false
	for _, x := range rs {
		if !placed && r.Lo < x.Lo {
			out = addRange(out, r)
			placed = true
		}
		out = addRange(out, x)
	}
	if !placed {
		out = addRange(out, r)
	}
	return out
}

// explain traces the violation's packet with fabric.Trace: the blockers of an allow intent's
// packet or reply, the allowing hops of a deny intent's.
func (r *Result) explain(v *Violation, spec fabric.TraceSpec, c *Cell, deny bool) {
	tr, err := fabric.Trace(r.plan.State, spec)
	if err != nil {
		v.Note = err.Error()
		return
	}
	switch {
	case tr.Forward.Appliance != "":
		v.Note = "delivered to the appliance " + tr.Forward.Appliance + ", whose forwarding is not analysed"
		v.Path = tr.Forward.Hops
	case deny:
		v.Path = tr.Forward.Hops
		if tr.Return != nil && tr.Return.Reachable {
			v.Return = tr.Return.Hops
		}
	case !tr.Forward.Reachable:
		v.Direction, v.Blockers = "forward", tr.Forward.Blockers
	case tr.Return != nil && !tr.Return.Reachable:
		v.Direction, v.Blockers = "return", tr.Return.Blockers
	}
}

// WriteIntents prints the intents' results: one line per intent, and for each violation the
// components that block or allow it.
func WriteIntents(w io.Writer, rs []IntentResult) {
	held := 0
	for _, ir := range rs {
		if ir.OK {
			held++
		}
	}
	fmt.Fprintf(w, "intents: %d of %d hold\n", held, len(rs))
	for _, ir := range rs {
		status := "ok"
		if !ir.OK {
			status = "VIOLATED"
		}
		fmt.Fprintf(w, "intent %s (%s): %s %s -> %s: %s: %s\n", ir.Name, ir.Pos, ir.Verb, ir.From, ir.To, ir.Traffic, status)
		if len(ir.Unchecked) > 0 {
			fmt.Fprintf(w, "  not checked (outside --from/--to): %s\n", strings.Join(ir.Unchecked, ", "))
		}
		for _, v := range ir.Violations {
			what := "reaches"
			if ir.Verb == "allow" {
				what = "does not reach"
			}
			fmt.Fprintf(w, "  %s -> %s: %s %s", v.From, v.To, v.Traffic, what)
			if v.Packet != "" {
				fmt.Fprintf(w, " (traced: %s)", v.Packet)
			}
			fmt.Fprintln(w)
			if v.Note != "" {
				fmt.Fprintf(w, "    %s\n", v.Note)
			}
			for _, b := range v.Blockers {
				fmt.Fprintf(w, "    blocked (%s) by %s: %s [%s]\n", v.Direction, b.Component, b.Detail, b.Code)
			}
			for _, h := range v.Path {
				fmt.Fprintf(w, "    allowed at %s by %s: %s\n", h.Stage, h.Component, h.Detail)
			}
			for _, h := range v.Return {
				fmt.Fprintf(w, "    reply allowed at %s by %s: %s\n", h.Stage, h.Component, h.Detail)
			}
		}
	}
}
