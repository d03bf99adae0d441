package nacl

import (
	"strings"
	"testing"
)

// awsCustom is the "Custom network ACL" example of the Amazon VPC User Guide
// (vpc-network-acls.md), IPv4 only, rule for rule.
var awsCustom = []string{
	"100 allow tcp 80 0.0.0.0/0 in",
	"110 allow tcp 443 0.0.0.0/0 in",
	"120 allow tcp 22 192.0.2.0/24 in",
	"130 allow tcp 3389 192.0.2.0/24 in",
	"140 allow tcp 32768-65535 0.0.0.0/0 in",
	"100 allow tcp 80 0.0.0.0/0 out",
	"110 allow tcp 443 0.0.0.0/0 out",
	"120 allow tcp 1024-65535 192.0.2.0/24 out",
	"140 allow tcp 32768-65535 0.0.0.0/0 out",
}

// awsCustom6 is the same example for a VPC with an IPv6 CIDR: rules 105, 115 and 145 inserted
// between the IPv4 ones.
var awsCustom6 = append(append([]string(nil), awsCustom...),
	"105 allow tcp 80 ::/0 in",
	"115 allow tcp 443 ::/0 in",
	"145 allow tcp 32768-65535 ::/0 in",
	"105 allow tcp 80 ::/0 out",
	"115 allow tcp 443 ::/0 out",
	"145 allow tcp 32768-65535 ::/0 out",
)

type evalCase struct {
	name   string
	egress bool
	packet string
	want   string // Result.String()
}

func runCases(t *testing.T, c *Compiled, a ACL, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		p := pkt(t, tc.packet)
		got := c.Evaluate(tc.egress, &p)
		if got.String() != tc.want {
			t.Errorf("%s: %s %s: got %s, want %s", tc.name, direction(tc.egress), tc.packet, got, tc.want)
		}
		if n := naive(a, tc.egress, &p); n != got {
			t.Errorf("%s: naive model says %+v, Evaluate %+v", tc.name, n, got)
		}
	}
}

func TestAWSCustomExample(t *testing.T) {
	a := mustACL(t, "acl-custom", awsCustom...)
	c := mustCompile(t, a, Limits{})
	runCases(t, c, a, []evalCase{
		// The guide's own walk-through: 443 misses rule 100 and matches 110; 139 falls to *.
		{"https matches 110", false, "tcp 198.51.100.7:50123 > 10.0.1.5:443", "rule 110 allow"},
		{"netbios falls to *", false, "tcp 198.51.100.7:50123 > 10.0.1.5:139", "rule * deny"},
		{"http", false, "tcp 198.51.100.7:50123 > 10.0.1.5:80", "rule 100 allow"},
		{"ssh from home", false, "tcp 192.0.2.10:50123 > 10.0.1.5:22", "rule 120 allow"},
		{"ssh from elsewhere", false, "tcp 203.0.113.9:50123 > 10.0.1.5:22", "rule * deny"},
		{"rdp from home", false, "tcp 192.0.2.10:50123 > 10.0.1.5:3389", "rule 130 allow"},
		{"reply to our http request", false, "tcp 203.0.113.9:80 > 10.0.1.5:40000", "rule 140 allow"},
		{"udp is not allowed", false, "udp 203.0.113.9:53 > 10.0.1.5:40000", "rule * deny"},
		{"ping is not allowed", false, "icmp 203.0.113.9 > 10.0.1.5 8:0", "rule * deny"},
		{"ipv6 has only its own *", false, "tcp [2001:db8::1]:50123 > [2001:db8:1::5]:443", "rule * deny"},
		{"out http", true, "tcp 10.0.1.5:40000 > 203.0.113.9:80", "rule 100 allow"},
		{"out https", true, "tcp 10.0.1.5:40000 > 203.0.113.9:443", "rule 110 allow"},
		{"web reply to a linux client", true, "tcp 10.0.1.5:443 > 198.51.100.7:50123", "rule 140 allow"},
		{"ssh reply home", true, "tcp 10.0.1.5:22 > 192.0.2.10:2000", "rule 120 allow"},
		// The ephemeral-port pitfall: the example opens 32768-65535, so a reply to a client
		// that picked a port below it (Windows Server 2003: 1025-5000, ELB and NAT gateways:
		// 1024-65535) is dropped on the way out, and so is a reply to our own such request.
		{"reply to a windows 2003 client", true, "tcp 10.0.1.5:443 > 198.51.100.7:4000", "rule * deny"},
		{"reply to a nat gateway port", false, "tcp 203.0.113.9:443 > 10.0.1.5:1024", "rule * deny"},
		{"linux reply at the bottom of its range", true, "tcp 10.0.1.5:443 > 198.51.100.7:32768", "rule 140 allow"},
		{"just below the range", true, "tcp 10.0.1.5:443 > 198.51.100.7:32767", "rule * deny"},
	})
	// Its *-rule numbers are AWS's API numbers.
	p := pkt(t, "tcp 198.51.100.7:1 > 10.0.1.5:139")
	if r := c.Evaluate(false, &p); r.Rule != DenyIPv4 || !r.Implicit {
		t.Errorf("IPv4 * rule: %+v, want number %d", r, DenyIPv4)
	}
	p = pkt(t, "tcp [2001:db8::1]:1 > [2001:db8:1::5]:443")
	if r := c.Evaluate(false, &p); r.Rule != DenyIPv6 || !r.Implicit {
		t.Errorf("IPv6 * rule: %+v, want number %d", r, DenyIPv6)
	}
}

// TestAWSEphemeralFix is the guide's advice for the pitfall: open 1024-65535 and put deny rules
// for bad ports in that range before the allow.
func TestAWSEphemeralFix(t *testing.T) {
	lines := []string{}
	for _, l := range awsCustom {
		if !strings.HasPrefix(l, "140 ") {
			lines = append(lines, l)
		}
	}
	lines = append(lines,
		"135 deny tcp 3306 0.0.0.0/0 in",
		"140 allow tcp 1024-65535 0.0.0.0/0 in",
		"140 allow tcp 1024-65535 0.0.0.0/0 out")
	a := mustACL(t, "acl-fixed", lines...)
	c := mustCompile(t, a, Limits{})
	runCases(t, c, a, []evalCase{
		{"reply to a windows 2003 client", true, "tcp 10.0.1.5:443 > 198.51.100.7:4000", "rule 140 allow"},
		{"reply to a nat gateway port", false, "tcp 203.0.113.9:443 > 10.0.1.5:1024", "rule 140 allow"},
		{"mysql denied before the range", false, "tcp 203.0.113.9:50000 > 10.0.1.5:3306", "rule 135 deny"},
		{"below 1024 still closed", false, "tcp 203.0.113.9:50000 > 10.0.1.5:1023", "rule * deny"},
	})
}

func TestAWSCustomExampleIPv6(t *testing.T) {
	a := mustACL(t, "acl-custom6", awsCustom6...)
	c := mustCompile(t, a, Limits{})
	runCases(t, c, a, []evalCase{
		{"https v6", false, "tcp [2001:db8::1]:50123 > [2001:db8:1::5]:443", "rule 115 allow"},
		{"http v6", false, "tcp [2001:db8::1]:50123 > [2001:db8:1::5]:80", "rule 105 allow"},
		{"https v4 still 110", false, "tcp 198.51.100.7:50123 > 10.0.1.5:443", "rule 110 allow"},
		{"ssh v6: the 192.0.2.0/24 rule is IPv4", false, "tcp [2001:db8::1]:50123 > [2001:db8:1::5]:22", "rule * deny"},
		{"reply v6", false, "tcp [2001:db8::1]:443 > [2001:db8:1::5]:40000", "rule 145 allow"},
		{"out reply v6", true, "tcp [2001:db8:1::5]:443 > [2001:db8::1]:40000", "rule 145 allow"},
		{"out v6 udp", true, "udp [2001:db8:1::5]:40000 > [2001:db8::1]:53", "rule * deny"},
	})
}

func TestDefaultACL(t *testing.T) {
	v4only := DefaultACL("acl-default", "default", false)
	dual := DefaultACL("acl-default", "default", true)
	if !v4only.Default || len(v4only.Entries) != 2 || len(dual.Entries) != 4 {
		t.Fatalf("DefaultACL: %+v / %+v", v4only, dual)
	}
	cases := []struct {
		acl    ACL
		egress bool
		packet string
		want   string
	}{
		{v4only, false, "udp 203.0.113.9:53 > 10.0.1.5:40000", "rule 100 allow"},
		{v4only, true, "47 10.0.1.5 > 203.0.113.9", "rule 100 allow"},
		{v4only, false, "tcp [2001:db8::1]:1 > [2001:db8:1::5]:443", "rule * deny"},
		{dual, false, "tcp [2001:db8::1]:1 > [2001:db8:1::5]:443", "rule 101 allow"},
		{dual, true, "icmpv6 [2001:db8:1::5] > [2001:db8::1] 128:0", "rule 101 allow"},
		{dual, true, "icmp 10.0.1.5 > 203.0.113.9 8:0", "rule 100 allow"},
	}
	for _, tc := range cases {
		c := mustCompile(t, tc.acl, Limits{})
		p := pkt(t, tc.packet)
		if got := c.Evaluate(tc.egress, &p).String(); got != tc.want {
			t.Errorf("%s %s: got %s, want %s", direction(tc.egress), tc.packet, got, tc.want)
		}
	}
}

func TestNewCustomDeniesAll(t *testing.T) {
	c := mustCompile(t, NewCustom("acl-1", "new"), Limits{})
	for _, s := range []string{"tcp 10.0.0.1:1 > 10.0.0.2:80", "icmp 10.0.0.1 > 10.0.0.2 8:0", "udp [::1]:1 > [::2]:53"} {
		p := pkt(t, s)
		for _, eg := range []bool{false, true} {
			if r := c.Evaluate(eg, &p); r.Allow || !r.Implicit {
				t.Errorf("new custom ACL, %s %s: %v", direction(eg), s, r)
			}
		}
	}
}
