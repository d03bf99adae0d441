package scenarios

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// A reachability matrix declares, for sources x targets x ports, which traffic is allowed — the
// truth table of the Kubernetes network-policy conformance tools, for security groups and NACLs.
// It is written for a person to read and edit: one row of cells per source, one cell per
// (target, port) in the order of to: and ports:, grouped by target with spaces as the reader
// likes:
//
//	matrix:
//	  - name: tiers
//	    from: [client, bastion, web-1]
//	    to: [bastion, web-1, db-1]
//	    ports: [tcp/22, tcp/80]
//	    expect:
//	      client:  ".X X. XX"
//	      bastion: "-- .. .X"
//	      web-1:   "XX -- X."
//
// "." is allowed, "X" blocked and "-" not probed (a host to itself). Instead of expect, allow:
// lists the allowed cells ("client -> web-1 tcp/80") and every other cell is blocked.

// Cell values of a matrix.
const (
	CellAllow   = '.'
	CellBlock   = 'X'
	CellSkip    = '-'
	CellWrong   = '!' // in a difference table only: observed differs from expected
	maxMatrixSz = 4096
)

// Matrix is one reachability matrix.
type Matrix struct {
	Name        string
	Description string
	From, To    []string
	Ports       []MatrixPort
	// Expect holds a row per source (From's order), a cell per target and port: Expect[s][t*len(Ports)+p].
	// The loader fills it from expect: or allow:.
	Expect  [][]byte
	Timeout time.Duration // per probe; 0 = the runner's default
	Pos     Pos

	rows  []matrixRow
	allow []matrixAllow
	// expectGiven and allowGiven record which form the file used (a model built in code gives
	// Expect directly).
	expectGiven, allowGiven bool
	fromPos                 []Pos
	toPos                   []Pos
	portPos                 []Pos
}

// MatrixPort is a column kind of a matrix: a protocol and, for tcp and udp, a port.
type MatrixPort struct {
	Proto string // tcp, udp or icmp
	Port  int
}

// String is the port as written: tcp/22, udp/53, icmp.
func (p MatrixPort) String() string {
	if p.Proto == "icmp" {
		return "icmp"
	}
	return p.Proto + "/" + strconv.Itoa(p.Port)
}

// ParseMatrixPort reads tcp/PORT, udp/PORT or icmp.
func ParseMatrixPort(s string) (MatrixPort, error) {
	if s == "icmp" {
		return MatrixPort{Proto: "icmp"}, nil
	}
	proto, port, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(port)
	if !ok || (proto != "tcp" && proto != "udp") || err != nil || n < 1 || n > 65535 {
		return MatrixPort{}, fmt.Errorf("port %q: want tcp/PORT, udp/PORT (1-65535) or icmp, e.g. tcp/22", s)
	}
	return MatrixPort{Proto: proto, Port: n}, nil
}

// Cell is one probe of a matrix.
type Cell struct {
	From, To int // indexes into From and To
	Port     int // index into Ports
}

// Cells lists the matrix's probed cells (every cell but "-"), row by row.
func (m *Matrix) Cells() []Cell {
	var out []Cell
	for s := range m.From {
		for t := range m.To {
			for p := range m.Ports {
				if m.Expect[s][t*len(m.Ports)+p] != CellSkip {
					out = append(out, Cell{s, t, p})
				}
			}
		}
	}
	return out
}

// Probe is the probe that checks cell c.
func (m *Matrix) Probe(c Cell) *Probe {
	pt := m.Ports[c.Port]
	res := "deny"
	if m.Expect[c.From][c.To*len(m.Ports)+c.Port] == CellAllow {
		res = "allow"
	}
	return &Probe{From: m.From[c.From], To: m.To[c.To], Proto: pt.Proto, Port: pt.Port, Result: res, Timeout: m.Timeout, Pos: m.Pos}
}

type matrixRow struct {
	source string
	cells  string
	keyPos Pos
	// at is where the row's first character is when the row is a one-line scalar (so a bad cell
	// can be pointed at by column); ok is false for block scalars.
	at Pos
	ok bool
}

type matrixAllow struct {
	text string
	pos  Pos
}

// matrix decodes one matrix; what names it in errors.
func (d *decoder) matrix(what string, n *yaml.Node) *Matrix {
	m := &Matrix{Pos: d.pos(d.resolve(n))}
	d.object(n, kMatrix, what, func(f string, _, v *yaml.Node) {
		d.mark(m, f, v)
		switch f {
		case "name":
			m.Name, _ = d.str(v, what+": name")
		case "description":
			m.Description, _ = d.str(v, what+": description")
		case "from", "to", "ports":
			d.list(v, what+": "+f, func(i int, v *yaml.Node) {
				s, ok := d.str(v, fmt.Sprintf("%s: %s %d", what, f, i+1))
				if !ok {
					return
				}
				at := d.pos(d.resolve(v))
				switch f {
				case "from":
					m.From, m.fromPos = append(m.From, s), append(m.fromPos, at)
				case "to":
					m.To, m.toPos = append(m.To, s), append(m.toPos, at)
				case "ports":
					p, err := ParseMatrixPort(s)
					if err != nil {
						d.p.errorf(at, "%s: %v", what, err)
					}
					m.Ports, m.portPos = append(m.Ports, p), append(m.portPos, at)
				}
			})
		case "expect":
			m.expectGiven = true
			d.namedMap(v, what+": expect", func(name string, k, v *yaml.Node) {
				s, ok := d.str(v, what+": expect: "+name)
				if !ok {
					return
				}
				v = d.resolve(v)
				r := matrixRow{source: name, cells: s, keyPos: d.pos(k), at: d.pos(v)}
				switch v.Style {
				case 0, yaml.FlowStyle:
					r.ok = !strings.Contains(s, "\n")
				case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
					r.ok, r.at.Col = !strings.ContainsAny(s, "\n\\'"), r.at.Col+1
				}
				m.rows = append(m.rows, r)
			})
		case "allow":
			m.allowGiven = true
			d.list(v, what+": allow", func(i int, v *yaml.Node) {
				if s, ok := d.str(v, fmt.Sprintf("%s: allow %d", what, i+1)); ok {
					m.allow = append(m.allow, matrixAllow{s, d.pos(d.resolve(v))})
				}
			})
		case "timeout":
			m.Timeout, _ = d.duration(v, what+": timeout")
		}
	})
	return m
}

// matrix checks a matrix against its axes and fills Expect.
func (v *validator) matrix(what string, m *Matrix) {
	for i, s := range m.From {
		v.endpoint(what, "from", s, posAt(m.fromPos, i, m.Pos), false)
	}
	for i, s := range m.To {
		v.endpoint(what, "to", s, posAt(m.toPos, i, m.Pos), true)
	}
	dup := func(field string, list []string, at []Pos) {
		seen := map[string]bool{}
		for i, s := range list {
			if seen[s] {
				v.p.errorf(posAt(at, i, m.Pos), "%s: %s lists %q twice", what, field, s)
			}
			seen[s] = true
		}
	}
	dup("from", m.From, m.fromPos)
	dup("to", m.To, m.toPos)
	dup("ports", portNames(m.Ports), m.portPos)
	for field, n := range map[string]int{"from": len(m.From), "to": len(m.To), "ports": len(m.Ports)} {
		if n == 0 {
			v.p.errorf(v.where(m, field, m.Pos), "%s: %s is empty; a matrix needs at least one source, target and port", what, field)
		}
	}
	width := len(m.To) * len(m.Ports)
	if len(m.From)*width > maxMatrixSz {
		v.p.errorf(m.Pos, "%s: %d cells; a matrix has at most %d", what, len(m.From)*width, maxMatrixSz)
		return
	}
	hasExpect, hasAllow := m.expectGiven, m.allowGiven
	if !hasExpect && !hasAllow && m.Expect != nil {
		v.matrixGrid(what, m, width) // a model built in code
		return
	}
	if hasExpect == hasAllow {
		v.p.errorf(m.Pos, "%s: give exactly one of expect (a row of cells per source) or allow (the allowed cells)", what)
		return
	}
	m.Expect = make([][]byte, len(m.From))
	for s := range m.Expect {
		m.Expect[s] = []byte(strings.Repeat(string(CellBlock), width))
	}
	if hasAllow {
		v.matrixAllow(what, m)
	} else {
		v.matrixRows(what, m, width)
	}
	// The model is canonical from here on: Expect is the matrix, whichever form the file used
	// (so Format writes it back the same, and Validate checks the grid).
	m.rows, m.allow, m.expectGiven, m.allowGiven = nil, nil, false, false
	m.fromPos, m.toPos, m.portPos = nil, nil, nil
}

// matrixRows fills Expect from the expect: rows: one per source, in from: order, each with one
// cell per target and port.
func (v *validator) matrixRows(what string, m *Matrix, width int) {
	index := map[string]int{}
	for i, s := range m.From {
		index[s] = i
	}
	layout := fmt.Sprintf("%s x %s", count(len(m.To), "target"), count(len(m.Ports), "port"))
	got := map[string]bool{}
	for k, r := range m.rows {
		s, ok := index[r.source]
		if !ok {
			v.p.errorf(r.keyPos, "%s: expect: row %q is not a source; from: lists %s", what, r.source, strings.Join(m.From, ", "))
			continue
		}
		if s != k && k < len(m.From) && m.From[k] != r.source {
			v.p.warnf(r.keyPos, "%s: expect: row %q is not in from:'s order; the tables print in from:'s order", what, r.source)
		}
		got[r.source] = true
		n, col := 0, 0
		at := func(c int) Pos {
			if !r.ok {
				return r.at
			}
			p := r.at
			p.Col += c
			return p
		}
		for i, ch := range r.cells {
			col = i
			switch ch {
			case ' ', '\t', '|':
				continue
			case CellAllow, CellBlock, 'x', CellSkip:
				if n < width {
					m.Expect[s][n] = byte(ch)
					if ch == 'x' {
						m.Expect[s][n] = CellBlock
					}
				}
				n++
				if n == width+1 {
					v.p.errorf(at(i), "%s: expect: row %q has more than %d cells (%s); this cell is one too many", what, r.source, width, layout)
				}
			default:
				c, _ := utf8.DecodeRuneInString(r.cells[i:])
				v.p.errorf(at(i), "%s: expect: row %q: cell %q: want . (allowed), X (blocked) or - (not probed); spaces and | group cells", what, r.source, c)
				n++
			}
		}
		if n < width {
			v.p.errorf(at(col+1), "%s: expect: row %q has %d cells; want %d (%s)", what, r.source, n, width, layout)
		}
	}
	for _, s := range m.From {
		if !got[s] {
			v.p.errorf(v.where(m, "expect", m.Pos), "%s: expect: no row for source %q; want a row for each of %s", what, s, strings.Join(m.From, ", "))
		}
	}
}

// matrixAllow fills Expect from allow: "SRC -> DST PORT" cells; the rest stay blocked.
func (v *validator) matrixAllow(what string, m *Matrix) {
	find := func(list []string, s string) int {
		for i, x := range list {
			if x == s {
				return i
			}
		}
		return -1
	}
	for _, a := range m.allow {
		f := strings.Fields(a.text)
		if len(f) != 4 || f[1] != "->" {
			v.p.errorf(a.pos, "%s: allow %q: want \"SOURCE -> TARGET PORT\", e.g. \"client -> web-1 tcp/80\"", what, a.text)
			continue
		}
		s, t := find(m.From, f[0]), find(m.To, f[2])
		p, err := ParseMatrixPort(f[3])
		pi := -1
		for i, x := range m.Ports {
			if err == nil && x == p {
				pi = i
			}
		}
		switch {
		case s < 0:
			v.p.errorf(a.pos, "%s: allow %q: source %q is not in from: %s", what, a.text, f[0], strings.Join(m.From, ", "))
		case t < 0:
			v.p.errorf(a.pos, "%s: allow %q: target %q is not in to: %s", what, a.text, f[2], strings.Join(m.To, ", "))
		case pi < 0:
			v.p.errorf(a.pos, "%s: allow %q: port %q is not in ports", what, a.text, f[3])
		default:
			m.Expect[s][t*len(m.Ports)+pi] = CellAllow
		}
	}
}

func posAt(ps []Pos, i int, fallback Pos) Pos {
	if i < len(ps) {
		return ps[i]
	}
	return fallback
}

// matrixGrid checks an Expect given directly: a row per source, a known cell per target and port.
func (v *validator) matrixGrid(what string, m *Matrix, width int) {
	if len(m.Expect) != len(m.From) {
		v.p.errorf(m.Pos, "%s: %d rows of cells for %d sources", what, len(m.Expect), len(m.From))
		return
	}
	for s, row := range m.Expect {
		if len(row) != width {
			v.p.errorf(m.Pos, "%s: row %q has %d cells; want %d", what, m.From[s], len(row), width)
		}
		for _, c := range row {
			if c != CellAllow && c != CellBlock && c != CellSkip {
				v.p.errorf(m.Pos, "%s: row %q: cell %q: want . X or -", what, m.From[s], c)
			}
		}
	}
}

// Row is source s's row of expected cells as a person writes it: one group of cells per target.
func (m *Matrix) Row(s int) string { return GroupCells(m.Expect[s], len(m.Ports)) }

// GroupCells writes a row of cells with a space after every group of n (one group per target).
func GroupCells(cells []byte, n int) string {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 && n > 0 && i%n == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// formatMatrix writes a matrix back in the expect: form, whichever form the file used.
func formatMatrix(m *Matrix, flow bool) *yaml.Node {
	n := mapping(flow)
	if m.Name != "" {
		addStr(n, "name", m.Name)
	}
	if m.Description != "" {
		addStr(n, "description", m.Description)
	}
	for _, axis := range []struct {
		key  string
		list []string
	}{{"from", m.From}, {"to", m.To}, {"ports", portNames(m.Ports)}} {
		l := sequence(true)
		for _, s := range axis.list {
			l.Content = append(l.Content, str(s))
		}
		add(n, axis.key, l)
	}
	rows := mapping(flow)
	for s, src := range m.From {
		r := str(m.Row(s))
		r.Style = yaml.DoubleQuotedStyle
		add(rows, src, r)
	}
	add(n, "expect", rows)
	if m.Timeout != 0 {
		addStr(n, "timeout", m.Timeout.String())
	}
	return n
}

func portNames(ps []MatrixPort) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// count is "1 target" or "4 targets".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
