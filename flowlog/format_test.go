package flowlog

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFieldTable(t *testing.T) {
	fs := AllFields()
	require.Len(t, fs, NumFields)
	perVersion := map[int]int{}
	for _, f := range fs {
		perVersion[f.Version()]++
		back, err := ParseField(f.String())
		require.NoError(t, err)
		require.Equal(t, f, back)
	}
	// AWS's table: 14 fields in version 2, 7 in 3, 4 in 4, 4 in 5.
	require.Equal(t, map[int]int{2: 14, 3: 7, 4: 4, 5: 4}, perVersion)
	require.Equal(t, "field(0)", fieldInvalid.String())
	require.Equal(t, 0, numFields.Version())
}

func TestDefaultFormat(t *testing.T) {
	f := DefaultFormat()
	require.Equal(t, "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status", f.Header())
	require.Equal(t, 2, f.Version())
	empty, err := ParseFormat("  ")
	require.NoError(t, err)
	require.Equal(t, f, empty)
	back, err := ParseFormat(f.String())
	require.NoError(t, err)
	require.Equal(t, f, back)
}

func TestParseFormat(t *testing.T) {
	for _, c := range []struct {
		in      string
		header  string
		version int
	}{
		{"${srcaddr}", "srcaddr", 2},
		{"${version} ${vpc-id} ${srcaddr}", "version vpc-id srcaddr", 3},
		{"${srcaddr}   ${region}", "srcaddr region", 4},
		{"${traffic-path} ${version}", "traffic-path version", 5},
		{"\t${az-id}\n${pkt-dstaddr}", "az-id pkt-dstaddr", 4},
	} {
		f, err := ParseFormat(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.header, f.Header(), c.in)
		require.Equal(t, c.version, f.Version(), c.in)
		require.Equal(t, len(strings.Fields(c.header)), f.Len())
	}
}

func TestParseFormatErrors(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"${srcaddr} ${nope}", `unknown flow log field "nope"; valid fields: version account-id interface-id srcaddr`},
		{"${reject-reason}", `unknown flow log field "reject-reason"`},
		{"srcaddr", `"srcaddr" is not a field; write each field as ${name}`},
		{"${srcaddr}${dstaddr}", `"${srcaddr}${dstaddr}" is not a field`},
		{"${}", `"${}" is not a field`},
		{"${srcaddr", `"${srcaddr" is not a field`},
		{"${srcaddr} ${srcaddr}", "field srcaddr appears twice"},
	} {
		_, err := ParseFormat(c.in)
		require.ErrorContains(t, err, c.want, c.in)
	}
	// The unknown-field error lists every valid field, the last one included.
	_, err := ParseFormat("${x}")
	require.ErrorContains(t, err, "flow-direction traffic-path")

	_, err = NewFormat()
	require.ErrorContains(t, err, "no fields")
	_, err = NewFormat(FieldSrcAddr, numFields)
	require.ErrorContains(t, err, "field 2")
	_, err = ParseHeader("version account-id bogus")
	require.ErrorContains(t, err, `header: unknown flow log field "bogus"`)
}

func TestFormatAccessors(t *testing.T) {
	f, err := NewFormat(FieldDstAddr, FieldVersion)
	require.NoError(t, err)
	require.True(t, f.Has(FieldDstAddr))
	require.False(t, f.Has(FieldSrcAddr))
	fs := f.Fields()
	require.Equal(t, []Field{FieldDstAddr, FieldVersion}, fs)
	fs[0] = FieldBytes // a copy: the format does not change
	require.Equal(t, []Field{FieldDstAddr, FieldVersion}, f.Fields())
	require.Equal(t, "${dstaddr} ${version}", f.String())
}

func TestParseRecordErrors(t *testing.T) {
	f := DefaultFormat()
	ok := "2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 10 20 ACCEPT OK"
	_, err := ParseRecord(f, ok)
	require.NoError(t, err)
	for _, c := range []struct {
		line, want string
	}{
		{"2 123456789010 eni-1", "record has 3 fields, the format has 14"},
		{ok + " extra", "more than the format's 14 fields"},
		{strings.Replace(ok, "10.0.0.1", "10.0.0.300", 1), `field srcaddr: value "10.0.0.300": want an IPv4 or IPv6 address`},
		{strings.Replace(ok, " 1 2 6", " 70000 2 6", 1), `field srcport: value "70000": want a port 0-65535`},
		{strings.Replace(ok, "ACCEPT", "ALLOW", 1), `action "ALLOW": want ACCEPT, REJECT or -`},
		{strings.Replace(ok, " OK", " FINE", 1), `log-status "FINE"`},
		{strings.Replace(ok, " 6 1 1 ", " 6 -1 1 ", 1), `field packets: value "-1": want a count`},
		{strings.Replace(ok, "10.0.0.2", "fe80::1%eth0", 1), "without a zone"},
	} {
		_, err := ParseRecord(f, c.line)
		require.ErrorContains(t, err, c.want, c.line)
	}
	v5, err := ParseFormat("${traffic-path} ${flow-direction} ${type}")
	require.NoError(t, err)
	for _, c := range []struct{ line, want string }{
		{"9 ingress IPv4", "want 1 to 8 or -"},
		{"0 ingress IPv4", "want 1 to 8 or -"},
		{"1 inbound IPv4", `flow-direction "inbound"`},
		{"1 egress IPv5", `type "IPv5"`},
	} {
		_, err := ParseRecord(v5, c.line)
		require.ErrorContains(t, err, c.want, c.line)
	}
	r, err := ParseRecord(v5, "8 egress EFA")
	require.NoError(t, err)
	require.Equal(t, Record{TrafficPath: PathIGW, FlowDirection: Egress, Type: TypeEFA, Unset: numericFields}, r,
		"numeric fields outside the format are unset")
}

// TestRecordInAnotherFormat: a record read in one format prints "-" for the fields it lacks.
func TestRecordInAnotherFormat(t *testing.T) {
	small, err := ParseFormat("${srcaddr} ${packets}")
	require.NoError(t, err)
	r, err := ParseRecord(small, "10.0.0.1 5")
	require.NoError(t, err)
	require.Equal(t, "2 - - 10.0.0.1 - - - - 5 - - - - -", string(DefaultFormat().AppendText(nil, &r)))
}

func TestJSON(t *testing.T) {
	f, err := ParseFormat("${version} ${interface-id} ${srcaddr} ${srcport} ${action} ${traffic-path} ${instance-id}")
	require.NoError(t, err)
	r := Record{InterfaceID: "eni-1", SrcAddr: netip.MustParseAddr("10.0.0.1"), SrcPort: 443, Action: Reject}
	require.Equal(t, `{"version":5,"interface-id":"eni-1","srcaddr":"10.0.0.1","srcport":443,"action":"REJECT","traffic-path":null,"instance-id":null}`,
		string(f.AppendJSON(nil, &r)))
	r.Unset = r.Unset.With(FieldSrcPort)
	r.InstanceID = "odd \"id\"\n\xff"
	j := string(f.AppendJSON(nil, &r))
	require.Contains(t, j, `"srcport":null`)
	require.Contains(t, j, `"instance-id":"odd \"id\"\u000a`+"\ufffd"+`"`)
	back, bf, err := ParseJSONRecord(j)
	require.NoError(t, err)
	require.Equal(t, f, bf)
	require.Equal(t, "odd \"id\"\n\ufffd", back.InstanceID)

	for _, c := range []struct{ in, want string }{
		{`[1]`, "want an object"},
		{`{"bogus":1}`, `unknown flow log field "bogus"`},
		{`{"srcport":"x"}`, `field srcport: value "x"`},
		{`{"srcport":true}`, "want a number, a string or null"},
		{`{"srcport":1,"srcport":2}`, "appears twice"},
		{`{"srcport":1} {}`, "text after the object"},
		{`{"srcport":1`, "JSON record"},
		{`{}`, "no fields"},
	} {
		_, _, err := ParseJSONRecord(c.in)
		require.ErrorContains(t, err, c.want, c.in)
	}
}

// FuzzParseFormat: the custom-format parser never panics, and what it accepts prints back to a
// format that parses to the same thing, with the version the highest of its fields'.
func FuzzParseFormat(f *testing.F) {
	for _, g := range goldenExamples {
		f.Add(g.format)
	}
	f.Add("${srcaddr} ${srcaddr}")
	f.Add("${")
	f.Add("${x}")
	f.Add("$${srcaddr}}")
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := ParseFormat(s)
		if err != nil {
			return
		}
		back, err := ParseFormat(fm.String())
		if err != nil || back != fm {
			t.Fatalf("%q -> %q does not parse back: %v", s, fm.String(), err)
		}
		h, err := ParseHeader(fm.Header())
		if err != nil || h != fm {
			t.Fatalf("header %q does not parse back: %v", fm.Header(), err)
		}
		v := 0
		for _, fl := range fm.Fields() {
			v = max(v, fl.Version())
		}
		if v != fm.Version() {
			t.Fatalf("%q: version %d, want %d", s, fm.Version(), v)
		}
	})
}

// FuzzParseRecord: a line the record parser accepts prints back, as text and as JSON, to a line
// that parses to the same record.
func FuzzParseRecord(f *testing.F) {
	for _, g := range goldenExamples {
		for _, l := range g.lines {
			f.Add(g.format, l)
		}
	}
	f.Add("", "2 - - - - - - - - - - - - -")
	f.Add("${srcport}", "+1")
	f.Fuzz(func(t *testing.T, format, line string) {
		fm, err := ParseFormat(format)
		if err != nil {
			return
		}
		r, err := ParseRecord(fm, line)
		if err != nil {
			return
		}
		text := string(fm.AppendText(nil, &r))
		back, err := ParseRecord(fm, text)
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", line, text, err)
		}
		if fm.Has(FieldVersion) {
			r.Version = fm.Version() // printing writes the format's version
			r.Unset &^= 1 << FieldVersion
		}
		if back != r {
			t.Fatalf("%q -> %q: %+v != %+v", line, text, back, r)
		}
		j := string(fm.AppendJSON(nil, &r))
		jr, jf, err := ParseJSONRecord(j)
		if err != nil || jf != fm || jr != r {
			t.Fatalf("%q -> JSON %s -> %+v (format %v), %v", line, j, jr, jf, err)
		}
	})
}

// FuzzParseJSONRecord: the JSON parser never panics, and what it accepts round-trips.
func FuzzParseJSONRecord(f *testing.F) {
	f.Add(`{"version":2,"srcaddr":"10.0.0.1","srcport":null}`)
	f.Add(`{"instance-id":"a\u0000b","packets":"7"}`)
	f.Add(`{"srcport":1e2}`)
	f.Fuzz(func(t *testing.T, s string) {
		r, fm, err := ParseJSONRecord(s)
		if err != nil {
			return
		}
		if fm.Has(FieldVersion) {
			r.Version = fm.Version()
			r.Unset &^= 1 << FieldVersion
		}
		j := string(fm.AppendJSON(nil, &r))
		back, bf, err := ParseJSONRecord(j)
		if err != nil || bf != fm || back != r {
			t.Fatalf("%s -> %s -> %+v, %v", s, j, back, err)
		}
	})
}
