package runner

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/probe"
	"github.com/ec2sim/ec2sim/scenarios"
)

// MatrixResult is a reachability matrix's outcome, row by row: one row per source, one cell per
// target and port (in the order of To and Ports), "." allowed, "X" blocked, "-" not probed, "?"
// the probe could not be set up.
type MatrixResult struct {
	Name     string   `json:"name"`
	From     []string `json:"from"`
	To       []string `json:"to"`
	Ports    []string `json:"ports"`
	Expected []string `json:"expected"`
	Observed []string `json:"observed"`
	Wrong    int      `json:"wrong"`
	Correct  int      `json:"correct"`
	// Retried counts the cells probed a second time because the first probe disagreed.
	Retried int `json:"retried"`
	// Errors explain the wrong cells (with a one-line trace) and the probes that could not be
	// set up, by cell ("web-1 -> db-1 tcp/5432: ...").
	Errors []string `json:"errors,omitempty"`
}

// matrixParallelism bounds the probes of a matrix in flight at once. A matrix probes each
// target's port through one shared listener, so every cell can run at once; deny cells spend
// their whole timeout waiting, which is what makes the concurrency pay.
const matrixParallelism = 16

// Observed cell values besides the scenario's '.', 'X' and '-'.
const cellError = '?'

// runMatrix probes every cell of m concurrently (bounded), probes the cells that disagree with
// the expectation once more, and reports the tables.
func runMatrix(ctx context.Context, l *lab.Lab, m *scenarios.Matrix, opts Options) ProbeResult {
	start := time.Now()
	name := m.Name
	if name == "" {
		name = fmt.Sprintf("%dx%dx%d", len(m.From), len(m.To), len(m.Ports))
	}
	mr := &MatrixResult{Name: name, From: m.From, To: m.To}
	for _, p := range m.Ports {
		mr.Ports = append(mr.Ports, p.String())
	}
	obs := make([][]byte, len(m.From))
	for s := range obs {
		mr.Expected = append(mr.Expected, string(m.Expect[s]))
		obs[s] = []byte(strings.Repeat(string(scenarios.CellSkip), len(m.Expect[s])))
	}
	cells := m.Cells()
	errs := make([]string, len(cells))
	listeners := &matrixListeners{open: map[string]io.Closer{}}
	defer listeners.close()
	probeAll := func(which []int) {
		sem := make(chan struct{}, matrixParallelism)
		var wg sync.WaitGroup
		for _, k := range which {
			if ctx.Err() != nil {
				break
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				c := cells[k]
				v, err := probeCell(l, listeners, m.Probe(c), opts)
				w := c.To*len(m.Ports) + c.Port
				obs[c.From][w], errs[k] = v, ""
				if err != nil {
					errs[k] = fmt.Sprintf("%s: %v", ProbeName(m.Probe(c)), err)
				}
			}()
		}
		wg.Wait()
	}
	all := make([]int, len(cells))
	for k := range all {
		all[k] = k
	}
	probeAll(all)
	// One retry before a cell is wrong: a probe lost to a busy machine should not fail a suite.
	var again []int
	for k, c := range cells {
		w := c.To*len(m.Ports) + c.Port
		if obs[c.From][w] != m.Expect[c.From][w] {
			again = append(again, k)
		}
	}
	mr.Retried = len(again)
	probeAll(again)
	for s := range obs {
		mr.Observed = append(mr.Observed, string(obs[s]))
	}
	for k, e := range errs {
		c := cells[k]
		w := c.To*len(m.Ports) + c.Port
		switch {
		case e != "":
			mr.Errors = append(mr.Errors, e)
		case obs[c.From][w] != m.Expect[c.From][w]:
			// A wrong cell says where its packet was dropped, or which rules let it through.
			mr.Errors = append(mr.Errors, fmt.Sprintf("%s: expected %c, observed %c; %s", ProbeName(m.Probe(c)),
				m.Expect[c.From][w], obs[c.From][w], explainShort(l, m.Probe(c))))
		}
	}
	mr.Wrong, mr.Correct = mr.count()
	pr := ProbeResult{
		Name: "matrix " + name, Pos: m.Pos.String(), Expected: fmt.Sprintf("%d cells as written", mr.Wrong+mr.Correct),
		Observed: fmt.Sprintf("%d wrong", mr.Wrong), Passed: mr.Wrong == 0 && ctx.Err() == nil, Matrix: mr,
		Detail: fmt.Sprintf("%d wrong, %d correct", mr.Wrong, mr.Correct), Duration: time.Since(start),
	}
	if mr.Retried > 0 {
		pr.Detail += fmt.Sprintf(" (%d retried)", mr.Retried)
	}
	if m.Description != "" {
		pr.Detail = m.Description + ": " + pr.Detail
	}
	return pr
}

// probeCell runs one cell's probe through the shared listener of its target and port.
func probeCell(l *lab.Lab, ls *matrixListeners, p *scenarios.Probe, opts Options) (byte, error) {
	spec, err := probeSpec(l, p, opts)
	if err != nil {
		return cellError, err
	}
	if spec.ToNS != "" {
		if err := ls.ensure(spec.ToNS, p.Proto, spec.Dst, p.Port); err != nil {
			return cellError, err
		}
		spec.ToNS = ""
	}
	r, err := probe.Run(spec)
	switch {
	case err != nil:
		return cellError, err
	case r.Completed:
		return scenarios.CellAllow, nil
	}
	return scenarios.CellBlock, nil
}

// matrixListeners are the echo listeners of a matrix's columns, opened on first use.
type matrixListeners struct {
	mu   sync.Mutex
	open map[string]io.Closer
}

func (ls *matrixListeners) ensure(ns, proto string, dst netip.Addr, port int) error {
	if proto == "tcp" {
		dst = netip.Addr{} // one TCP listener on every address serves every host of the namespace
	}
	key := fmt.Sprintf("%s|%s|%s|%d", ns, proto, dst, port)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if _, ok := ls.open[key]; ok {
		return nil
	}
	c, err := probe.Listen(ns, proto, dst, port)
	if err != nil {
		return err
	}
	ls.open[key] = c
	return nil
}

func (ls *matrixListeners) close() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for _, c := range ls.open {
		c.Close()
	}
}

// count compares the observed cells with the expected ones.
func (r *MatrixResult) count() (wrong, correct int) {
	for s := range r.Expected {
		for i := range r.Expected[s] {
			e, o := r.Expected[s][i], r.Observed[s][i]
			switch {
			case e == scenarios.CellSkip:
			case e == o:
				correct++
			default:
				wrong++
			}
		}
	}
	return
}

// Difference is the observed table with every wrong cell marked "!".
func (r *MatrixResult) Difference() []string {
	out := make([]string, len(r.Observed))
	for s := range r.Observed {
		b := []byte(r.Observed[s])
		for i := range b {
			if e := r.Expected[s][i]; e != scenarios.CellSkip && e != b[i] {
				b[i] = scenarios.CellWrong
			}
		}
		out[s] = string(b)
	}
	return out
}

// WriteTables prints the expected, observed and difference tables and the "N wrong, M correct"
// line. A passing matrix prints only its observed table: the other two would repeat it.
func (r *MatrixResult) WriteTables(w io.Writer, indent string) { r.writeTables(w, indent, Style{}) }

func (r *MatrixResult) writeTables(w io.Writer, indent string, st Style) {
	if r.Wrong == 0 {
		r.writeTable(w, indent, "observed (as expected)", r.Observed, st)
	} else {
		r.writeTable(w, indent, "expected", r.Expected, st)
		r.writeTable(w, indent, "observed", r.Observed, st)
		r.writeTable(w, indent, "difference, ! = wrong", r.Difference(), st)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "%s%s\n", indent, e)
	}
	summary := fmt.Sprintf("%d wrong, %d correct", r.Wrong, r.Correct)
	if r.Wrong > 0 {
		summary = st.paint(ansiRed+ansiBold, summary)
	}
	fmt.Fprintf(w, "%s%s\n", indent, summary)
}

// writeTable prints one table in the form a matrix's expect: rows are written: a row per
// source, a group of cells per target (one cell per port, in the order of Ports), so an
// observed row can be pasted into a scenario file.
func (r *MatrixResult) writeTable(w io.Writer, indent, title string, rows []string, st Style) {
	np := max(1, len(r.Ports))
	gw := np // a group is as wide as its cells or its target's name
	for _, t := range r.To {
		gw = max(gw, len(t))
	}
	lw := len("from \\ to")
	for _, f := range r.From {
		lw = max(lw, len(f))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", max(0, n-len(s))) }
	var b strings.Builder
	if len(r.Ports) > 1 {
		fmt.Fprintf(&b, "%s%s (cells per target: %s):\n", indent, title, strings.Join(r.Ports, " "))
	} else {
		fmt.Fprintf(&b, "%s%s (%s):\n", indent, title, strings.Join(r.Ports, " "))
	}
	b.WriteString(indent + "  " + pad("from \\ to", lw))
	for _, t := range r.To {
		b.WriteString("  " + pad(t, gw))
	}
	b.WriteString("\n")
	for s, f := range r.From {
		b.WriteString(indent + "  " + pad(f, lw))
		for t := range r.To {
			cells := rows[s][t*np : (t+1)*np]
			b.WriteString("  " + strings.ReplaceAll(cells, "!", st.paint(ansiRed+ansiBold, "!")) + strings.Repeat(" ", gw-len(cells)))
		}
		b.WriteString("\n")
	}
	// Trailing spaces only make diffs of saved reports noisy.
	lines := strings.Split(b.String(), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	io.WriteString(w, strings.Join(lines, "\n"))
}
