package runner

import (
	"fmt"
	"strings"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

// explain traces a probe that did not do what the file expected through the lab's decision
// function, as `ec2sim trace` does: the path hop by hop with the rule, route or check that
// decided, so a failure report says where the packet was dropped (or which rules let it
// through). "" when the probe cannot be traced.
func explain(l *lab.Lab, p *scenarios.Probe) string {
	tr, err := l.Trace(lab.TraceRequest{From: p.From, To: p.To, Proto: p.Proto, Port: p.Port})
	if err != nil {
		return ""
	}
	var b strings.Builder
	tr.Forward.WriteText(&b, "forward")
	if tr.Return != nil {
		tr.Return.WriteText(&b, "return")
	}
	if tr.Forward.Appliance != "" {
		fmt.Fprintf(&b, "  (the path continues through %s, whose own forwarding is not traced)\n", tr.Forward.Appliance)
	}
	return b.String()
}

// explainShort is a trace in one line: each direction's verdict and its blocking components.
func explainShort(l *lab.Lab, p *scenarios.Probe) string {
	tr, err := l.Trace(lab.TraceRequest{From: p.From, To: p.To, Proto: p.Proto, Port: p.Port})
	if err != nil {
		return ""
	}
	s := "trace: forward " + tr.Forward.Verdict
	for _, bl := range tr.Forward.Blockers {
		s += fmt.Sprintf(" [%s %s]", bl.Code, bl.Component)
	}
	if tr.Return != nil {
		s += "; return " + tr.Return.Verdict
		for _, bl := range tr.Return.Blockers {
			s += fmt.Sprintf(" [%s %s]", bl.Code, bl.Component)
		}
	}
	return s
}
