package nacl

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckErrors(t *testing.T) {
	ok := Entry{Number: 100, Action: Allow, Proto: ProtoTCP, FromPort: 80, ToPort: 80,
		ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}
	with := func(f func(e *Entry)) Entry { e := ok; f(&e); return e }
	cases := []struct {
		name    string
		entries []Entry
		want    string // substring of the error; "" for none
	}{
		{"valid", []Entry{ok}, ""},
		{"number 0", []Entry{with(func(e *Entry) { e.Number = 0 })}, `network ACL "web" (acl-1): inbound rule 0: number 0 is outside 1-32766`},
		{"number 32767", []Entry{with(func(e *Entry) { e.Number = 32767 })}, "number 32767 is outside 1-32766 (32767 and 32768 are the implicit * rules)"},
		{"duplicate inbound", []Entry{ok, with(func(e *Entry) { e.FromPort, e.ToPort = 443, 443 })}, "inbound rule 100: duplicate rule number 100"},
		{"duplicate across families", []Entry{ok, with(func(e *Entry) { e.CIDR = netip.MustParsePrefix("::/0") })}, "duplicate rule number 100"},
		{"same number other direction", []Entry{ok, with(func(e *Entry) { e.Egress = true })}, ""},
		{"no action", []Entry{with(func(e *Entry) { e.Action = 0 })}, "action action(0): want allow or deny"},
		{"protocol 256", []Entry{with(func(e *Entry) { e.Proto = 256 })}, "protocol 256: want -1 (all) or 0-255"},
		{"protocol -2", []Entry{with(func(e *Entry) { e.Proto = -2 })}, "protocol -2"},
		{"reversed ports", []Entry{with(func(e *Entry) { e.FromPort, e.ToPort = 443, 80 })}, "inbound rule 100: port range 443-80 is reversed"},
		{"port 70000", []Entry{with(func(e *Entry) { e.ToPort = 70000 })}, "port range 80-70000: want ports 0-65535"},
		{"udp negative port", []Entry{with(func(e *Entry) { e.Proto, e.FromPort = ProtoUDP, -1 })}, "port range -1-80"},
		{"ports ignored for all", []Entry{with(func(e *Entry) { e.Proto, e.FromPort, e.ToPort = ProtoAll, 443, 80 })}, ""},
		{"icmp code without type", []Entry{with(func(e *Entry) { e.Proto, e.ICMPCode = ProtoICMP, 4 })}, "ICMP code 4 without a type"},
		{"icmp type 300", []Entry{with(func(e *Entry) { e.Proto, e.ICMPType = ProtoICMP, 300 })}, "ICMP type 300 code -1"},
		{"icmpv6 v6 code without type", []Entry{with(func(e *Entry) {
			e.Proto, e.ICMPCode, e.CIDR = ProtoICMPv6, 0, netip.MustParsePrefix("::/0")
		})}, "ICMP code 0 without a type"},
		{"icmpv6 v4 ignores type and code", []Entry{with(func(e *Entry) { e.Proto, e.ICMPCode = ProtoICMPv6, 4 })}, ""},
		{"no cidr", []Entry{with(func(e *Entry) { e.CIDR = netip.Prefix{} })}, "no CIDR"},
		{"egress named", []Entry{with(func(e *Entry) { e.Egress, e.FromPort = true, 90 })}, "outbound rule 100: port range 90-80 is reversed"},
	}
	for _, tc := range cases {
		a := ACL{ID: "acl-1", Name: "web", Entries: tc.entries}
		_, _, err := Check(a, Limits{})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.want != "" && err == nil:
			t.Errorf("%s: no error, want %q", tc.name, tc.want)
		case tc.want != "" && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: error %q, want it to contain %q", tc.name, err, tc.want)
		}
		if _, _, cerr := Compile(a, Limits{}); (cerr == nil) != (err == nil) {
			t.Errorf("%s: Compile and Check disagree: %v / %v", tc.name, cerr, err)
		}
	}
}

func TestCheckJoinsAllErrors(t *testing.T) {
	a := mustACL(t, "acl-2", "100 allow tcp 80 0.0.0.0/0 in", "100 allow tcp 81 0.0.0.0/0 in")
	a.Entries = append(a.Entries, Entry{Number: 0, Action: Deny, Proto: 6, FromPort: 9, ToPort: 1, CIDR: netip.MustParsePrefix("::/0")})
	_, _, err := Check(a, Limits{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"duplicate rule number 100", "number 0 is outside", "port range 9-1 is reversed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestCheckCanonicalisesCIDR(t *testing.T) {
	a := mustACL(t, "acl-3", "100 allow all 100.68.0.18/18 in", "110 allow all 2001:db8::1/32 out")
	out, warns, err := Check(a, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Entries[0].CIDR.String(); got != "100.68.0.0/18" {
		t.Errorf("canonical CIDR %s, want 100.68.0.0/18 (AWS's own example)", got)
	}
	if got := out.Entries[1].CIDR.String(); got != "2001:db8::/32" {
		t.Errorf("canonical CIDR %s, want 2001:db8::/32", got)
	}
	if a.Entries[0].CIDR.String() != "100.68.0.18/18" {
		t.Error("Check modified its argument")
	}
	if len(warns) != 2 || !strings.Contains(warns[0], "inbound rule 100: CIDR 100.68.0.18/18 has host bits set; using 100.68.0.0/18") {
		t.Errorf("warnings %q", warns)
	}
	// The compiled ACL matches with the canonical prefix: 100.68.63.1 is outside the /18 of
	// .18 only if the host bits were kept and compared.
	c := mustCompile(t, a, Limits{})
	p := pkt(t, "tcp 100.68.1.1:1 > 10.0.0.1:80")
	if r := c.Evaluate(false, &p); r.Rule != 100 {
		t.Errorf("canonicalised rule did not match: %v", r)
	}
	if got := c.ACL().Entries[0].CIDR.String(); got != "100.68.0.0/18" {
		t.Errorf("Compiled.ACL CIDR %s", got)
	}
}

func TestCheckWarnsICMPv6WithIPv4(t *testing.T) {
	a := mustACL(t, "acl-4", "100 allow icmpv6 0.0.0.0/0 in")
	_, warns, err := Check(a, Limits{})
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0], "matches every type and code") {
		t.Errorf("warns %q err %v", warns, err)
	}
}

func rulesN(n int, egress bool, v6 bool) []Entry {
	cidr := netip.MustParsePrefix("0.0.0.0/0")
	if v6 {
		cidr = netip.MustParsePrefix("::/0")
	}
	var es []Entry
	for i := range n {
		es = append(es, Entry{Number: 1 + i*2 + b2i(v6), Egress: egress, Action: Allow, Proto: 6,
			FromPort: i, ToPort: i, CIDR: cidr})
	}
	return es
}

func TestLimits(t *testing.T) {
	cases := []struct {
		n, limit int
		ok       bool
	}{
		{19, 0, true}, {20, 0, false}, // 20 with the * rule is AWS's default quota
		{39, 40, true}, {40, 40, false},
		{5, 5, false}, {4, 5, true},
	}
	for _, tc := range cases {
		for _, eg := range []bool{false, true} {
			for _, v6 := range []bool{false, true} {
				// The other direction and family hold as many rules: they count apart.
				a := ACL{ID: "acl-l", Entries: append(rulesN(tc.n, eg, v6), rulesN(tc.n, !eg, !v6)...)}
				_, _, err := Check(a, Limits{RulesPerDirection: tc.limit})
				if (err == nil) != tc.ok {
					t.Errorf("%d rules, limit %d, egress %v v6 %v: err %v", tc.n, tc.limit, eg, v6, err)
				}
				if err != nil && !strings.Contains(err.Error(), "over the limit") {
					t.Errorf("limit error %q", err)
				}
			}
		}
	}
	for _, bad := range []int{-1, 41, 1000} {
		if _, _, err := Check(ACL{}, Limits{RulesPerDirection: bad}); err == nil || !strings.Contains(err.Error(), fmt.Sprint(bad)) {
			t.Errorf("limit %d: %v", bad, err)
		}
	}
}

func TestParseEntry(t *testing.T) {
	p := netip.MustParsePrefix
	cases := []struct {
		in   string
		want Entry
		err  string
	}{
		{"100 allow tcp 443 0.0.0.0/0 in", Entry{Number: 100, Action: Allow, Proto: 6, FromPort: 443, ToPort: 443, ICMPType: -1, ICMPCode: -1, CIDR: p("0.0.0.0/0")}, ""},
		{"140 ALLOW TCP 32768-65535 0.0.0.0/0 OUTBOUND", Entry{Number: 140, Egress: true, Action: Allow, Proto: 6, FromPort: 32768, ToPort: 65535, ICMPType: -1, ICMPCode: -1, CIDR: p("0.0.0.0/0")}, ""},
		{"150\tdeny udp all 10.0.0.0/8 ingress", Entry{Number: 150, Action: Deny, Proto: 17, FromPort: 0, ToPort: 65535, ICMPType: -1, ICMPCode: -1, CIDR: p("10.0.0.0/8")}, ""},
		{"160 allow icmp 3:4 0.0.0.0/0 in", Entry{Number: 160, Action: Allow, Proto: 1, ICMPType: 3, ICMPCode: 4, CIDR: p("0.0.0.0/0")}, ""},
		{"161 allow icmp 11 0.0.0.0/0 in", Entry{Number: 161, Action: Allow, Proto: 1, ICMPType: 11, ICMPCode: -1, CIDR: p("0.0.0.0/0")}, ""},
		{"170 allow icmpv6 all ::/0 egress", Entry{Number: 170, Egress: true, Action: Allow, Proto: 58, ICMPType: -1, ICMPCode: -1, CIDR: p("::/0")}, ""},
		{"171 allow icmpv6 0.0.0.0/0 in", Entry{Number: 171, Action: Allow, Proto: 58, ICMPType: -1, ICMPCode: -1, CIDR: p("0.0.0.0/0")}, ""},
		{"180 allow all ::/0 in", Entry{Number: 180, Action: Allow, Proto: -1, ICMPType: -1, ICMPCode: -1, CIDR: p("::/0")}, ""},
		{"181 allow -1 ::/0 in", Entry{Number: 181, Action: Allow, Proto: -1, ICMPType: -1, ICMPCode: -1, CIDR: p("::/0")}, ""},
		{"190 allow 47 192.0.2.0/24 in", Entry{Number: 190, Action: Allow, Proto: 47, ICMPType: -1, ICMPCode: -1, CIDR: p("192.0.2.0/24")}, ""},
		{"191 deny gre 192.0.2.0/24 out", Entry{Number: 191, Egress: true, Action: Deny, Proto: 47, ICMPType: -1, ICMPCode: -1, CIDR: p("192.0.2.0/24")}, ""},
		{"192 allow tcp 22 100.68.0.18/18 in", Entry{Number: 192, Action: Allow, Proto: 6, FromPort: 22, ToPort: 22, ICMPType: -1, ICMPCode: -1, CIDR: p("100.68.0.18/18")}, ""},
		{"", Entry{}, "want NUMBER ACTION PROTOCOL"},
		{"100 allow tcp 443 0.0.0.0/0 in extra", Entry{}, "want NUMBER ACTION PROTOCOL"},
		{"0 allow all 0.0.0.0/0 in", Entry{}, `rule number "0": want 1-32766`},
		{"* deny all 0.0.0.0/0 in", Entry{}, `rule number "*"`},
		{"32767 deny all 0.0.0.0/0 in", Entry{}, "want 1-32766"},
		{"100 permit all 0.0.0.0/0 in", Entry{}, `action "permit": want allow or deny`},
		{"100 allow tcpp 80 0.0.0.0/0 in", Entry{}, `unknown protocol "tcpp"`},
		{"100 allow 256 0.0.0.0/0 in", Entry{}, `unknown protocol "256"`},
		{"100 allow tcp 0.0.0.0/0 in", Entry{}, "tcp needs a port"},
		{"100 allow tcp 443-80 0.0.0.0/0 in", Entry{}, `port range "443-80" is reversed`},
		{"100 allow udp 1-65536 0.0.0.0/0 in", Entry{}, `ports "1-65536"`},
		{"100 allow tcp http 0.0.0.0/0 in", Entry{}, `ports "http"`},
		{"100 allow icmp 0.0.0.0/0 in", Entry{}, "icmp with 0.0.0.0/0 needs an ICMP type"},
		{"100 allow icmpv6 ::/0 in", Entry{}, "icmpv6 with ::/0 needs an ICMP type"},
		{"100 allow icmp all:4 0.0.0.0/0 in", Entry{}, `ICMP "all:4": a code needs a type`},
		{"100 allow icmp 3:256 0.0.0.0/0 in", Entry{}, `ICMP "3:256"`},
		{"100 allow all 80 0.0.0.0/0 in", Entry{}, `protocol all matches every port, so "80" would mislead`},
		{"100 allow tcp 80 10.0.0.0 in", Entry{}, `CIDR "10.0.0.0"`},
		{"100 allow tcp 80 0.0.0.0/0 sideways", Entry{}, `direction "sideways": want in or out`},
	}
	for _, tc := range cases {
		got, err := ParseEntry(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseEntry(%q): error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseEntry(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseEntry(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		back, err := ParseEntry(got.String())
		if err != nil || back != got {
			t.Errorf("round trip of %q via %q: %+v, %v", tc.in, got.String(), back, err)
		}
	}
}

func TestEntryString(t *testing.T) {
	for in, want := range map[string]string{
		"100 allow tcp 443 0.0.0.0/0 in":        "100 allow tcp 443 0.0.0.0/0 in",
		"100 allow tcp 0-65535 0.0.0.0/0 in":    "100 allow tcp all 0.0.0.0/0 in",
		"100 deny udp 1024-2048 ::/0 egress":    "100 deny udp 1024-2048 ::/0 out",
		"100 allow icmp -1:-1 10.0.0.0/8 in":    "100 allow icmp all 10.0.0.0/8 in",
		"100 allow icmp 3:4 10.0.0.0/8 in":      "100 allow icmp 3:4 10.0.0.0/8 in",
		"100 allow icmpv6 2:0 0.0.0.0/0 in":     "100 allow icmpv6 2:0 0.0.0.0/0 in",
		"100 allow icmpv6 0.0.0.0/0 in":         "100 allow icmpv6 0.0.0.0/0 in",
		"100 allow 132 0.0.0.0/0 in":            "100 allow sctp 0.0.0.0/0 in",
		"100 allow 200 0.0.0.0/0 in":            "100 allow 200 0.0.0.0/0 in",
		"100 allow icmpv6 128 2001:db8::/32 in": "100 allow icmpv6 128 2001:db8::/32 in",
	} {
		e, err := ParseEntry(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.String(); got != want {
			t.Errorf("%q: String %q, want %q", in, got, want)
		}
	}
}

func TestParseProtocol(t *testing.T) {
	for in, want := range map[string]int{"all": -1, "-1": -1, "TCP": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "0": 0, "255": 255, "esp": 50} {
		if got, err := ParseProtocol(in); err != nil || got != want {
			t.Errorf("ParseProtocol(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-2", "256", "tcp6", "six"} {
		if _, err := ParseProtocol(bad); err == nil || !strings.Contains(err.Error(), "want all (or -1), tcp") {
			t.Errorf("ParseProtocol(%q): %v", bad, err)
		}
	}
}
