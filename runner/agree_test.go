package runner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/lab/labtest"
)

// TestTraceAgreesWithEngine brings up every bundled scenario, sends each of its probes for real
// and traces the same packet through the running lab: the prediction (reachable both ways) and
// what the real packets did must agree on every probe.
func TestTraceAgreesWithEngine(t *testing.T) {
	labtest.RequireRoot(t)
	for _, f := range labtest.Bundled(t, "..") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			l, sc := labtest.UpFile(t, f, "agree")
			results := runProbes(context.Background(), l, sc.Expect, Options{}, nil)
			for i, p := range sc.Expect {
				if p.Proto == "" || results[i].Observed == "error" {
					continue
				}
				tr, err := l.Trace(lab.TraceRequest{From: p.From, To: p.To, Proto: p.Proto, Port: p.Port})
				if err != nil {
					t.Errorf("%s: trace: %v", results[i].Name, err)
					continue
				}
				if tr.Forward.Appliance != "" {
					// Trace stops at an appliance (its kernel's forwarding and NAT are not
					// modelled); the engine's side of such probes is covered by the suites.
					continue
				}
				predicted := tr.Forward.Reachable && tr.Return != nil && tr.Return.Reachable
				if predicted != (results[i].Observed == "allow") {
					t.Errorf("%s: trace predicts reachable=%v, the engine did %s (%s); forward %s, return %+v",
						results[i].Name, predicted, results[i].Observed, results[i].Detail, tr.Forward.Verdict, tr.Return)
				}
			}
			// Every matrix cell: the trace's prediction, the engine's traffic and the file's
			// truth table agree.
			for _, m := range sc.Matrices {
				r := runMatrix(context.Background(), l, m, Options{})
				for _, c := range m.Cells() {
					p := m.Probe(c)
					w := c.To*len(m.Ports) + c.Port
					tr, err := l.Trace(lab.TraceRequest{From: p.From, To: p.To, Proto: p.Proto, Port: p.Port})
					if err != nil {
						t.Errorf("matrix %s: %s: trace: %v", m.Name, ProbeName(p), err)
						continue
					}
					if tr.Forward.Appliance != "" {
						continue
					}
					predicted := tr.Forward.Reachable && tr.Return != nil && tr.Return.Reachable
					if observed := r.Matrix.Observed[c.From][w] == '.'; predicted != observed {
						t.Errorf("matrix %s: %s: trace predicts reachable=%v, the engine's cell is %c; forward %s",
							m.Name, ProbeName(p), predicted, r.Matrix.Observed[c.From][w], tr.Forward.Verdict)
					}
				}
			}
		})
	}
}

// TestLiveTraceAgreesHopByHop brings up every bundled scenario and runs trace --live for each of
// its probes: the engine's decisions on the real packet and its reply must equal the
// prediction hop by hop (stage, outcome, component, rule), not only in the end result.
func TestLiveTraceAgreesHopByHop(t *testing.T) {
	labtest.RequireRoot(t)
	for _, f := range labtest.Bundled(t, "..") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			l, sc := labtest.UpFile(t, f, "live")
			for _, p := range sc.Expect {
				if p.Proto == "" {
					continue
				}
				lt, err := l.TraceLive(lab.TraceRequest{From: p.From, To: p.To, Proto: p.Proto, Port: p.Port})
				if err != nil {
					t.Errorf("%s: %v", ProbeName(p), err)
					continue
				}
				if lt.Predicted.Forward.Appliance != "" {
					continue // the appliance's own forwarding is not predicted
				}
				if !lt.Agree {
					t.Errorf("%s: the engine differs from the prediction:\n  %s", ProbeName(p), strings.Join(lt.Differences, "\n  "))
				}
			}
		})
	}
}
