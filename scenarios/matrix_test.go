package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// matrixFile has instances a, b and c; the matrix body starts on line 13 (line 12 is "matrix:").
func matrixFile(body string) string {
	return instancesFile("  a: {subnet: main/a}", "  b: {subnet: main/a}", "  c: {subnet: main/b}") + "matrix:\n" + body
}

const matrixAxes = "  - from: [a, b]\n    to: [b, c]\n    ports: [tcp/22, icmp]\n"

func TestMatrixRowsAndAllow(t *testing.T) {
	sc, err := Parse("t.yaml", []byte(matrixFile(matrixAxes+"    expect:\n      a: \"-- .X\"\n      b: \"X|X x.\"\n")))
	require.NoError(t, err)
	m := sc.Matrices[0]
	assert.Equal(t, []MatrixPort{{"tcp", 22}, {"icmp", 0}}, m.Ports)
	assert.Equal(t, [][]byte{[]byte("--.X"), []byte("XXX.")}, m.Expect, "x is X; spaces and | group cells")
	assert.Equal(t, "-- .X", m.Row(0))
	assert.Len(t, m.Cells(), 6, "the two - cells are not probed")
	p := m.Probe(Cell{From: 1, To: 1, Port: 1})
	assert.Equal(t, Probe{From: "b", To: "c", Proto: "icmp", Result: "allow", Pos: m.Pos}, *p)

	sc, err = Parse("t.yaml", []byte(matrixFile(matrixAxes+"    allow: [\"a -> c tcp/22\", \"b -> b icmp\"]\n")))
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("XX.X"), []byte("X.XX")}, sc.Matrices[0].Expect)
}

// TestBadMatrices: a matrix whose cells do not match its axes is refused at the cell's
// file:line:col, with what would be valid.
func TestBadMatrices(t *testing.T) {
	cases := []struct{ name, body, at, msg string }{
		{"row too short", matrixAxes + "    expect:\n      a: \"-- .\"\n      b: \"XX X.\"\n", "17:15", `row "a" has 3 cells; want 4 (2 targets x 2 ports)`},
		{"row too long", matrixAxes + "    expect:\n      a: \"-- .X\"\n      b: \"XX X.X\"\n", "18:16", `row "b" has more than 4 cells`},
		{"plain row too long", matrixAxes + "    expect:\n      a: -- .X\n      b: XX X..\n", "18:15", `row "b" has more than 4 cells`},
		{"bad cell", matrixAxes + "    expect:\n      a: \"-- .Y\"\n      b: \"XX X.\"\n", "17:15", `cell 'Y': want . (allowed), X (blocked) or - (not probed)`},
		{"unknown row", matrixAxes + "    expect:\n      a: \"-- .X\"\n      z: \"XX X.\"\n", "18:7", `row "z" is not a source; from: lists a, b`},
		{"missing row", matrixAxes + "    expect:\n      a: \"-- .X\"\n", "17:7", `no row for source "b"`},
		{"both forms", matrixAxes + "    expect: {a: \"....\", b: \"....\"}\n    allow: []\n", "13:5", "give exactly one of expect"},
		{"neither form", matrixAxes, "13:5", "give exactly one of expect"},
		{"bad port", "  - from: [a]\n    to: [b]\n    ports: [tcp/99999]\n    allow: []\n", "15:13", `port "tcp/99999": want tcp/PORT`},
		{"unknown source", "  - from: [a, zz]\n    to: [b]\n    ports: [icmp]\n    allow: []\n", "13:15", `from "zz": no instance "zz"`},
		{"unknown target", "  - from: [a]\n    to: [b, c.eth3]\n    ports: [icmp]\n    allow: []\n", "14:13", `instance c has 1 ENIs`},
		{"duplicate target", "  - from: [a]\n    to: [b, b]\n    ports: [icmp]\n    allow: []\n", "14:13", `to lists "b" twice`},
		{"allow outside the axes", matrixAxes + "    allow: [\"a -> c udp/53\"]\n", "16:13", `port "udp/53" is not in ports`},
		{"allow syntax", matrixAxes + "    allow: [\"a to c icmp\"]\n", "16:13", `want "SOURCE -> TARGET PORT"`},
		{"unknown field", matrixAxes + "    expected: {}\n", "16:5", `unknown field "expected" (did you mean "expect"?)`},
		{"step matrix", "  []\nsteps:\n  - matrix: {from: [a], to: [b], ports: [icmp], expect: {a: \"..\"}}\n", "15:63", `row "a" has more than 1 cells (1 target x 1 port)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(matrixFile(c.body)))
			require.Error(t, err)
			var list ErrorList
			require.True(t, errors.As(err, &list))
			for _, e := range list {
				if strings.HasPrefix(e.Error(), "t.yaml:"+c.at+": ") && strings.Contains(e.Msg, c.msg) {
					return
				}
			}
			t.Errorf("no error at %s containing %q; got:\n%v", c.at, c.msg, err)
		})
	}
}

func TestBadSendSteps(t *testing.T) {
	head := instancesFile("  a: {subnet: main/a}", "  b: {subnet: main/a}") + "steps:\n"
	cases := []struct{ step, at, msg string }{
		{`{send: {from: a, to: b, packet: icmp, arrives: true}}`, "12:37", `packet "icmp": want one of udp, syn, syn-ack, fragments, gre, sctp`},
		{`{send: {from: a, to: b, src_mac: "02:00", arrives: false}}`, "12:38", `src_mac "02:00": want a MAC address`},
		{`{send: {from: zz, to: b, arrives: false}}`, "12:19", `from "zz": want an instance`},
		{`{send: {from: a, to: b, packet: gre, port: 5, arrives: false}}`, "12:48", `gre has no ports`},
		{`{send: {from: a, to: b, arrives: false, seen_src: 10.0.1.5}}`, "12:55", `seen_src with arrives: false`},
		{`{send: {from: a, to: b}}`, "12:12", `missing required field "arrives"`},
	}
	for _, c := range cases {
		_, err := Parse("t.yaml", []byte(head+"  - "+c.step+"\n"))
		require.Error(t, err, c.step)
		assert.Contains(t, err.Error(), "t.yaml:"+c.at+": ", c.step)
		assert.Contains(t, err.Error(), c.msg, c.step)
	}
}

// FuzzParseMatrixPort: a port that parses prints back to itself and parses to the same value.
func FuzzParseMatrixPort(f *testing.F) {
	for _, s := range []string{"tcp/22", "udp/53", "icmp", "tcp/0", "tcp/65536", "sctp/1", "tcp/+22", "tcp/022", "tcp/", "/22", "icmp/8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseMatrixPort(s)
		if err != nil {
			return
		}
		back, err := ParseMatrixPort(p.String())
		if err != nil || back != p {
			t.Fatalf("%q parsed as %+v, which prints as %q and parses back as %+v, %v", s, p, p.String(), back, err)
		}
		if p.Proto == "icmp" && p.Port != 0 || p.Proto != "icmp" && (p.Port < 1 || p.Port > 65535) {
			t.Fatalf("%q parsed as %+v", s, p)
		}
	})
}
