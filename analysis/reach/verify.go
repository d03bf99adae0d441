package reach

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/probe"
	"github.com/ec2sim/ec2sim/scenarios"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Parallel bounds the probes in flight; 0 means 8. Deny probes spend their whole timeout
	// waiting, so running them side by side is what keeps a verification short.
	Parallel int
	// Timeout is each probe's timeout; 0 means 1.5 s.
	Timeout time.Duration
	// MaxProbes, when positive, bounds the probes: an evenly spread selection is sent.
	MaxProbes int
}

// Check is one probe of the verification: the analysis's prediction and what the engine did.
type Check struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Proto    string `json:"proto"`
	Port     int    `json:"port,omitempty"`
	Analysis bool   `json:"analysis"` // predicted: the exchange completes
	Engine   bool   `json:"engine"`   // observed
	Detail   string `json:"detail,omitempty"`
	Error    string `json:"error,omitempty"` // the probe could not be set up
}

// Agrees reports whether the probe ran and its outcome is the predicted one.
func (c *Check) Agrees() bool { return c.Error == "" && c.Analysis == c.Engine }

// VerifyResult is the comparison of an analysis with real probes.
type VerifyResult struct {
	Checks []Check `json:"checks"`
	// Skipped counts what was not probed: cells whose outcome depends on the source port the
	// kernel picks or on an appliance's forwarding, every cell from an instance with several
	// ENIs (its kernel picks the interface it sends from), on-premises hosts (nothing in the
	// lab answers for them), and probes left out by MaxProbes.
	Skipped       int     `json:"skipped"`
	Disagreements []Check `json:"disagreements"`
}

// Verify analyses the running lab l as the engine sees it now (its current rules, the
// instances' own routes and ephemeral port ranges) and sends a real probe for every cell of the
// matrix at each end of every port range (reaching or not) and one ICMP echo, and reports every
// probe whose outcome differs from the analysis's prediction.
func Verify(ctx context.Context, l *lab.Lab, o Options, vo VerifyOptions) (*Result, *VerifyResult, error) {
	if vo.Parallel <= 0 {
		vo.Parallel = 8
	}
	if vo.Timeout <= 0 {
		vo.Timeout = 1500 * time.Millisecond
	}
	p := *l.Plan
	p.State = l.Engine.State()
	o.NextHop, o.EphemeralOf = l.NextHop, l.EphemeralPorts
	res, err := Analyze(&p, o)
	if err != nil {
		return nil, nil, err
	}
	vr := &VerifyResult{Checks: []Check{}, Disagreements: []Check{}}
	type job struct {
		check Check
		spec  probe.Spec
	}
	var jobs []job
	enis := map[string]int{}
	for _, ep := range res.Endpoints {
		if ep.Kind == KindInstance {
			enis[ep.Instance]++
		}
	}
	for _, c := range res.Cells {
		a, b := c.from, c.to
		// An instance with several ENIs sends out of the one its kernel's routes pick, not
		// necessarily the one the cell stands for. (Its answers are modelled: fabric's trace
		// sends a reply out of the ENI the receiver's routes pick.)
		multi := a.Kind == KindInstance && enis[a.Instance] > 1
		if c.Note != "" || !a.Primary || !b.Primary || b.Kind == KindOnPrem || multi {
			vr.Skipped++
			continue
		}
		spec := probe.Spec{Dst: c.Dst, Timeout: vo.Timeout}
		if a.Kind == KindInternet {
			spec.FromNS, spec.FromAddr = hypervisor.NSPath(p.Lab, scenarios.InternetName), a.Addr
		} else {
			spec.FromNS = hypervisor.NSPath(p.Lab, a.Instance)
		}
		toNS := hypervisor.NSPath(p.Lab, scenarios.InternetName)
		if b.Kind == KindInstance {
			toNS = hypervisor.NSPath(p.Lab, b.Instance)
		}
		for _, proto := range []string{"tcp", "udp"} {
			reach := c.Reach.ports(proto)
			unsure := append(append([]Range(nil), c.SomeSourcePorts.ports(proto)...), c.Appliance.ports(proto)...)
			seen := map[int]bool{}
			for _, ranges := range [][]Range{reach, Subtract([]Range{Ports}, reach)} {
				for _, r := range ranges {
					for _, port := range []int{r.Lo, r.Hi} {
						if seen[port] {
							continue
						}
						seen[port] = true
						if Contains(unsure, port) {
							vr.Skipped++
							continue
						}
						s := spec
						s.Proto, s.Port, s.ToNS = proto, port, toNS
						jobs = append(jobs, job{Check{From: c.From, To: c.To, Proto: proto, Port: port, Analysis: Contains(reach, port)}, s})
					}
				}
			}
		}
		if c.Appliance.ICMP {
			vr.Skipped++
			continue
		}
		s := spec
		s.Proto = "icmp"
		jobs = append(jobs, job{Check{From: c.From, To: c.To, Proto: "icmp", Analysis: c.Reach.ICMP}, s})
	}
	if vo.MaxProbes > 0 && len(jobs) > vo.MaxProbes {
		kept := make([]job, 0, vo.MaxProbes)
		for i := range vo.MaxProbes {
			kept = append(kept, jobs[i*len(jobs)/vo.MaxProbes])
		}
		vr.Skipped += len(jobs) - len(kept)
		jobs = kept
	}
	// Probes that need the same listener (namespace, protocol, port) run one after another.
	var mu sync.Mutex
	listeners := map[string]*sync.Mutex{}
	lock := func(s probe.Spec) *sync.Mutex {
		mu.Lock()
		defer mu.Unlock()
		k := fmt.Sprintf("%s %s %d", s.ToNS, s.Proto, s.Port)
		if listeners[k] == nil {
			listeners[k] = &sync.Mutex{}
		}
		return listeners[k]
	}
	checks := make([]Check, len(jobs))
	sem := make(chan struct{}, vo.Parallel)
	var wg sync.WaitGroup
	for i, j := range jobs {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c := j.check
			if j.spec.Proto != "icmp" {
				m := lock(j.spec)
				m.Lock()
				defer m.Unlock()
			}
			r, err := probe.Run(j.spec)
			if err != nil {
				c.Error = err.Error()
			} else {
				c.Engine, c.Detail = r.Completed, r.Detail
			}
			checks[i] = c
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	vr.Checks = checks
	for _, c := range checks {
		if !c.Agrees() {
			vr.Disagreements = append(vr.Disagreements, c)
		}
	}
	return res, vr, nil
}

// WriteVerify prints the verification's totals and every disagreement.
func WriteVerify(w io.Writer, vr *VerifyResult) {
	agree := len(vr.Checks) - len(vr.Disagreements)
	fmt.Fprintf(w, "verify: %d probes, %d agree with the analysis, %d disagree, %d not probed\n",
		len(vr.Checks), agree, len(vr.Disagreements), vr.Skipped)
	for _, c := range vr.Disagreements {
		what := c.Proto
		if c.Port != 0 {
			what = fmt.Sprintf("%s/%d", c.Proto, c.Port)
		}
		if c.Error != "" {
			fmt.Fprintf(w, "  %s -> %s %s: probe failed: %s\n", c.From, c.To, what, c.Error)
			continue
		}
		fmt.Fprintf(w, "  %s -> %s %s: analysis says %s, the engine %s (%s)\n", c.From, c.To, what, word(c.Analysis), word(c.Engine), c.Detail)
	}
}

func word(ok bool) string {
	if ok {
		return "reaches"
	}
	return "does not reach"
}
