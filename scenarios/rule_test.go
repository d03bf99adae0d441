package scenarios

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRule(t *testing.T) {
	p := netip.MustParsePrefix
	cases := []struct {
		spec string
		want Rule
		str  string // String() when it differs from spec
	}{
		{"tcp:22:203.0.113.1/32", Rule{Proto: 6, FromPort: 22, ToPort: 22, CIDR: p("203.0.113.1/32")}, ""},
		{"tcp:1024-65535:sg=web-sg", Rule{Proto: 6, FromPort: 1024, ToPort: 65535, Group: "web-sg"}, ""},
		{"tcp:all:10.0.0.0/8", Rule{Proto: 6, FromPort: 0, ToPort: 65535, CIDR: p("10.0.0.0/8")}, ""},
		{"tcp:0-65535:10.0.0.0/8", Rule{Proto: 6, FromPort: 0, ToPort: 65535, CIDR: p("10.0.0.0/8")}, "tcp:all:10.0.0.0/8"},
		{"udp:53:10.0.0.0/16", Rule{Proto: 17, FromPort: 53, ToPort: 53, CIDR: p("10.0.0.0/16")}, ""},
		{"icmp:8/-1:0.0.0.0/0", Rule{Proto: 1, FromPort: 8, ToPort: -1, CIDR: p("0.0.0.0/0")}, "icmp:8:0.0.0.0/0"},
		{"icmp:3/4:0.0.0.0/0", Rule{Proto: 1, FromPort: 3, ToPort: 4, CIDR: p("0.0.0.0/0")}, ""},
		{"icmp:all:0.0.0.0/0", Rule{Proto: 1, FromPort: -1, ToPort: -1, CIDR: p("0.0.0.0/0")}, ""},
		{"icmp:-1:0.0.0.0/0", Rule{Proto: 1, FromPort: -1, ToPort: -1, CIDR: p("0.0.0.0/0")}, "icmp:all:0.0.0.0/0"},
		{"icmpv6::2001:db8::/32", Rule{Proto: 58, FromPort: -1, ToPort: -1, CIDR: p("2001:db8::/32")}, "icmpv6:all:2001:db8::/32"},
		{"icmpv6:128/0:::/0", Rule{Proto: 58, FromPort: 128, ToPort: 0, CIDR: p("::/0")}, ""},
		{"all::pl=corp", Rule{Proto: -1, FromPort: -1, ToPort: -1, PrefixList: "corp"}, ""},
		{"-1::0.0.0.0/0", Rule{Proto: -1, FromPort: -1, ToPort: -1, CIDR: p("0.0.0.0/0")}, "all::0.0.0.0/0"},
		{"6:80:0.0.0.0/0", Rule{Proto: 6, FromPort: 80, ToPort: 80, CIDR: p("0.0.0.0/0")}, "tcp:80:0.0.0.0/0"},
		{"47::10.0.0.0/8", Rule{Proto: 47, FromPort: -1, ToPort: -1, CIDR: p("10.0.0.0/8")}, ""},
		{"all::sg=default", Rule{Proto: -1, FromPort: -1, ToPort: -1, Group: "default"}, ""},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			r, err := ParseRule(c.spec)
			require.NoError(t, err)
			assert.Equal(t, c.want, *r)
			want := c.str
			if want == "" {
				want = c.spec
			}
			assert.Equal(t, want, r.String())
			again, err := ParseRule(r.String())
			require.NoError(t, err)
			assert.Equal(t, r, again, "String gives back the same rule")
		})
	}
}

func TestParseRuleErrors(t *testing.T) {
	cases := []struct{ spec, msg string }{
		{"", `want PROTO:PORTS:TARGET, e.g. tcp:22:203.0.113.1/32`},
		{"tcp:22", "want PROTO:PORTS:TARGET"},
		{"tcpp:22:0.0.0.0/0", `protocol "tcpp": want tcp, udp, icmp, icmpv6, all (or -1), or a protocol number 0-255`},
		{"256::0.0.0.0/0", `protocol "256"`},
		{"+6:22:0.0.0.0/0", `protocol "+6"`},
		{"tcp::0.0.0.0/0", "tcp needs ports: a port (80), a range (1024-65535) or all"},
		{"tcp:70-60:0.0.0.0/0", "port range 70-60 is reversed"},
		{"tcp:65536:0.0.0.0/0", "ports are 0-65535"},
		{"tcp:-5:0.0.0.0/0", `ports "-5": want a port (80)`},
		{"tcp:+5:0.0.0.0/0", `ports "+5"`},
		{"udp:1-2-3:0.0.0.0/0", `ports "1-2-3"`},
		{"icmp::0.0.0.0/0", "icmp needs a type: TYPE, TYPE/CODE or all"},
		{"icmp:8/x:0.0.0.0/0", `ICMP "8/x": want TYPE, TYPE/CODE or all`},
		{"icmp:-1/0:0.0.0.0/0", "AWS wants the code -1 too"},
		{"icmp:300:0.0.0.0/0", "icmp_type 300: want a type 0-255"},
		{"all:80:0.0.0.0/0", "protocol all has no ports (AWS allows all of them); leave PORTS empty, as in all::0.0.0.0/0"},
		{"tcp:22:203.0.113.1", "for one address write 203.0.113.1/32"},
		{"tcp:22:203.0.113.1/24", "CIDR 203.0.113.1/24 has host bits set; write 203.0.113.0/24 for the network or 203.0.113.1/32 for the one address"},
		{"tcp:22:nowhere", `want a CIDR such as 10.0.0.0/16 or 2001:db8::/32, not "nowhere", sg=GROUP or pl=PREFIXLIST`},
		{"tcp:22:sg=", "sg= needs a security group name"},
		{"tcp:22:pl=", "pl= needs a prefix list name"},
		{"tcp:22:sg=sg-123", `AWS refuses group names that start with "sg-"`},
		{"tcp:22:sg=Web", `"Web": want 1-31 characters`},
		{"tcp:22:pl=Corp", `"Corp": want 1-31 characters`},
		{"tcp:22:::ffff:10.0.0.0/104", "IPv4-mapped IPv6 prefix"},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			r, err := ParseRule(c.spec)
			require.Error(t, err)
			assert.Nil(t, r)
			assert.Contains(t, err.Error(), c.msg)
			assert.Contains(t, err.Error(), `rule "`+c.spec+`"`, "the error quotes the spec")
		})
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"tcp:22:203.0.113.1/32", "tcp:1024-65535:sg=web-sg", "icmp:8/-1:0.0.0.0/0",
		"all::pl=corp", "udp:53:10.0.0.0/16", "icmpv6::::/0", "47::10.0.0.0/8", "tcp:70-60:0.0.0.0/0", "icmp:-1/0:1.2.3.4/32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		r, err := ParseRule(spec)
		if err != nil {
			if r != nil {
				t.Fatalf("ParseRule(%q) returned a rule and an error", spec)
			}
			return
		}
		if probs := checkRule(r); len(probs) > 0 {
			t.Fatalf("ParseRule(%q) accepted a rule that checkRule refuses: %v", spec, probs)
		}
		again, err := ParseRule(r.String())
		if err != nil {
			t.Fatalf("ParseRule(%q).String() = %q does not parse: %v", spec, r.String(), err)
		}
		if *again != *r {
			t.Fatalf("round trip of %q through %q: %+v != %+v", spec, r.String(), again, r)
		}
	})
}
