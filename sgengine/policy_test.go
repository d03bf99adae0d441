package sgengine

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// docExample is the group of AWS's connection-tracking page: 22/tcp from one address, 80/tcp
// from everywhere (both families), ICMP from everywhere, and all outbound.
func docExample(outboundV4 bool) *Config {
	g := Group{ID: "sg-web", Name: "web",
		Ingress: []Rule{
			tcpRule(22, 22, "203.0.113.1/32"),
			tcpRule(80, 80, "0.0.0.0/0"),
			tcpRule(80, 80, "::/0"),
			{Proto: ProtoICMP, FromPort: -1, ToPort: -1, CIDR: pfx("0.0.0.0/0")},
		},
		Egress: []Rule{allRule("::/0")},
	}
	if outboundV4 {
		g.Egress = append(g.Egress, allRule("0.0.0.0/0"))
	}
	return &Config{
		Groups: []Group{g},
		ENIs: []ENIConfig{{Index: 3, Groups: []string{"sg-web"},
			PrivateIPs: []netip.Addr{ip("10.0.0.10"), ip("2001:db8::10")}}},
	}
}

func TestDocumentedExample(t *testing.T) {
	cases := []struct {
		name       string
		outboundV4 bool
		f          Flow
		rule       int
		untracked  bool
		op         UpdateOp
	}{
		{"22 from /32 is tracked", true, tcp("203.0.113.1", 40000, "10.0.0.10", 22, TCPSyn), 0, false, OpCreate},
		{"80 from 0.0.0.0/0 is untracked", true, tcp("198.51.100.7", 40000, "10.0.0.10", 80, TCPSyn), 1, true, OpNone},
		{"80 from ::/0 is untracked", true, tcp("2001:db8:ffff::1", 40000, "2001:db8::10", 80, TCPSyn), 2, true, OpNone},
		{"ICMP is always tracked", true, icmp("198.51.100.7", "10.0.0.10", 8, 0, 7), 3, false, OpCreate},
		{"without outbound-all, 80 is tracked", false, tcp("198.51.100.7", 40000, "10.0.0.10", 80, TCPSyn), 1, false, OpCreate},
		{"without IPv4 outbound-all, IPv6 80 stays untracked", false, tcp("2001:db8:ffff::1", 40000, "2001:db8::10", 80, TCPSyn), 2, true, OpNone},
		{"without outbound-all, 22 stays tracked", false, tcp("203.0.113.1", 40000, "10.0.0.10", 22, TCPSyn), 0, false, OpCreate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustCompile(t, docExample(c.outboundV4))
			d := p.Ingress(3, &c.f, NewConntrack(), 0)
			expect(t, d, true, ReasonRuleAllowed, c.name)
			require.Equal(t, makeRef(0, DirIngress, c.rule), d.Rule)
			require.Equal(t, c.untracked, d.Untracked)
			require.Equal(t, c.op, d.Update.Op())
		})
	}
	// Replies of an untracked flow are judged by the rules: the outbound-all rule allows them.
	p := mustCompile(t, docExample(true))
	reply := tcp("10.0.0.10", 80, "198.51.100.7", 40000, TCPSyn|TCPAck)
	d := p.Egress(3, &reply, NewConntrack(), 0)
	expect(t, d, true, ReasonRuleAllowed, "untracked reply")
	require.True(t, d.Untracked, "an outbound reply allowed by 0.0.0.0/0 with inbound 80 from /0 is untracked too")
}

func TestRuleMatching(t *testing.T) {
	groups := []Group{
		{ID: "sg-a", Ingress: []Rule{
			tcpRule(1000, 2000, "10.1.0.0/16"),
			{Proto: ProtoUDP, FromPort: 53, ToPort: 53, PrefixList: "pl-dns"},
			{Proto: 47, FromPort: 5, ToPort: 5, CIDR: pfx("192.0.2.0/24")}, // GRE: ports ignored
			{Proto: ProtoICMP, FromPort: 3, ToPort: 4, CIDR: pfx("0.0.0.0/0")},
			{Proto: ProtoICMP, FromPort: 8, ToPort: -1, CIDR: pfx("10.0.0.0/8")},
			{Proto: ProtoICMPv6, FromPort: -1, ToPort: -1, CIDR: pfx("2001:db8::/32")},
			{Proto: ProtoAll, Group: "sg-b"},
		}},
		{ID: "sg-b", Ingress: []Rule{
			tcpRule(1500, 3000, "10.1.2.0/24"),
			tcpRule(0, 65535, "10.1.2.3/32"),
		}},
	}
	c := &Config{
		Groups:      groups,
		PrefixLists: map[string][]netip.Prefix{"pl-dns": {pfx("10.9.0.0/16"), pfx("2001:db8:9::/48")}},
		ENIs: []ENIConfig{
			{Index: 0, Groups: []string{"sg-a", "sg-b"}, PrivateIPs: []netip.Addr{ip("10.0.0.10")}},
			{Index: 1, Groups: []string{"sg-b"}, PrivateIPs: []netip.Addr{ip("10.0.5.5"), ip("2001:db8:5::5")},
				PublicIPs: []netip.Addr{ip("198.51.100.5")}},
			{Index: 2, Groups: []string{"sg-a"}, PrivateIPs: []netip.Addr{ip("10.0.0.20")}},
		},
	}
	p := mustCompile(t, c)
	const me = "10.0.0.10"
	a := func(r int) RuleRef { return makeRef(0, DirIngress, r) }
	b := func(r int) RuleRef { return makeRef(1, DirIngress, r) }
	cases := []struct {
		name string
		eni  uint32
		f    Flow
		want RuleRef
	}{
		{"tcp in range", 0, tcp("10.1.7.7", 5, me, 1000, TCPSyn), a(0)},
		{"tcp range end", 0, tcp("10.1.7.7", 5, me, 2000, TCPSyn), a(0)},
		{"tcp past range", 0, tcp("10.1.7.7", 5, me, 2001, TCPSyn), 0},
		{"tcp outside cidr", 0, tcp("10.2.7.7", 5, me, 1500, TCPSyn), 0},
		{"union: first group's rule named where both allow", 0, tcp("10.1.2.9", 5, me, 1600, TCPSyn), a(0)},
		{"union: second group's wider range", 0, tcp("10.1.2.9", 5, me, 2500, TCPSyn), b(0)},
		{"union: host rule of second group", 0, tcp("10.1.2.3", 5, me, 9, TCPSyn), b(1)},
		{"udp from prefix list v4", 0, udp("10.9.1.1", 5, me, 53), a(1)},
		{"udp from prefix list v6", 0, udp("2001:db8:9::1", 5, "2001:db8::10", 53), a(1)},
		{"udp wrong port", 0, udp("10.9.1.1", 5, me, 54), 0},
		{"gre ignores ports", 0, Flow{Src: ip("192.0.2.1"), Dst: ip(me), Proto: 47}, a(2)},
		{"esp not allowed", 0, Flow{Src: ip("192.0.2.1"), Dst: ip(me), Proto: 50}, 0},
		{"icmp type 3 code 4", 0, icmp("198.51.100.1", me, 3, 4, 0), a(3)},
		{"icmp type 3 code 3", 0, icmp("198.51.100.1", me, 3, 3, 0), 0},
		{"icmp type 8 any code", 0, icmp("10.3.3.3", me, 8, 9, 1), a(4)},
		{"icmp type 8 from outside", 0, icmp("198.51.100.1", me, 8, 0, 1), 0},
		{"icmpv6 all", 0, icmp("2001:db8:7::1", "2001:db8::10", 128, 0, 1), a(5)},
		{"group ref: member's private IP", 0, Flow{Src: ip("10.0.5.5"), Dst: ip(me), Proto: 99}, a(6)},
		{"group ref: member's private IPv6", 0, udp("2001:db8:5::5", 1, "2001:db8::10", 7), a(6)},
		{"group ref: never the public IP", 0, Flow{Src: ip("198.51.100.5"), Dst: ip(me), Proto: 99}, 0},
		{"group ref: self included", 0, Flow{Src: ip("10.0.0.10"), Dst: ip(me), Proto: 99}, a(6)},
		{"group ref: non-member", 0, Flow{Src: ip("10.0.0.20"), Dst: ip(me), Proto: 99}, 0},
		{"other ENI, other union", 1, tcp("10.1.7.7", 5, "10.0.5.5", 1000, TCPSyn), 0},
		{"other ENI, own rule", 1, tcp("10.1.2.7", 5, "10.0.5.5", 1500, TCPSyn), b(0)},
		{"ENI with only sg-a: sg-b members match", 2, Flow{Src: ip("10.0.5.5"), Dst: ip("10.0.0.20"), Proto: 1}, a(6)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := p.Ingress(c.eni, &c.f, nil, 0)
			require.Equal(t, c.want, d.Rule, "rule")
			require.Equal(t, c.want != 0, d.Allowed)
			if c.want == 0 {
				require.Equal(t, ReasonNoRuleMatched, d.Reason)
			}
		})
	}
	// No egress rules at all: everything out is dropped.
	f := tcp(me, 5, "10.1.7.7", 1000, TCPSyn)
	expect(t, p.Egress(0, &f, nil, 0), false, ReasonNoRuleMatched, "no egress rules")
	expect(t, p.Egress(42, &f, nil, 0), false, ReasonUnknownENI, "unknown ENI")
	require.False(t, p.HasENI(42))
	require.True(t, p.HasENI(2))

	info, ok := p.Rule(b(1))
	require.True(t, ok)
	require.Equal(t, "sg-b", info.GroupID)
	require.Equal(t, "sg-b ingress rule 1 (tcp 0-65535 10.1.2.3/32)", info.String())
	_, ok = p.Rule(makeRef(1, DirIngress, 7))
	require.False(t, ok)
	_, ok = p.Rule(0)
	require.False(t, ok)
}

func TestRuleRefLayout(t *testing.T) {
	r := makeRef(maxGroups-1, DirIngress, maxRules-1)
	require.Equal(t, maxGroups-1, r.GroupIndex())
	require.Equal(t, DirIngress, r.Direction())
	require.Equal(t, maxRules-1, r.RuleIndex())
	require.Less(t, makeRef(0, DirEgress, 5), makeRef(1, DirEgress, 0), "refs order like the configuration")
}

func TestCompileErrors(t *testing.T) {
	good := func() *Config {
		return &Config{
			Groups:      []Group{{ID: "sg-1", Ingress: []Rule{tcpRule(22, 22, "10.0.0.0/8")}}},
			PrefixLists: map[string][]netip.Prefix{"pl-1": {pfx("10.0.0.0/8")}},
			ENIs:        []ENIConfig{{Index: 0, Groups: []string{"sg-1"}, PrivateIPs: []netip.Addr{ip("10.0.0.1")}}},
		}
	}
	_, err := Compile(good())
	require.NoError(t, err)
	cases := []struct {
		name   string
		modify func(c *Config)
		want   string
	}{
		{"reversed ports", func(c *Config) { c.Groups[0].Ingress[0].FromPort = 70; c.Groups[0].Ingress[0].ToPort = 60 }, `security group "sg-1" ingress rule 0: tcp port range 70-60 is invalid`},
		{"port too big", func(c *Config) { c.Groups[0].Ingress[0].ToPort = 70000 }, "0 <= from <= to <= 65535"},
		{"host bits", func(c *Config) { c.Groups[0].Ingress[0].CIDR = netip.PrefixFrom(ip("10.0.0.5"), 8) }, "did you mean 10.0.0.0/8"},
		{"no peer", func(c *Config) { c.Groups[0].Ingress[0].CIDR = netip.Prefix{} }, "names 0 peers"},
		{"two peers", func(c *Config) { c.Groups[0].Ingress[0].Group = "sg-1" }, "names 2 peers"},
		{"unknown group ref", func(c *Config) { c.Groups[0].Ingress[0] = Rule{Proto: -1, Group: "sg-x"} }, `security group "sg-x", which is not defined`},
		{"unknown prefix list", func(c *Config) { c.Groups[0].Ingress[0] = Rule{Proto: -1, PrefixList: "pl-x"} }, `prefix list "pl-x"`},
		{"bad prefix list entry", func(c *Config) { c.PrefixLists["pl-1"] = []netip.Prefix{netip.PrefixFrom(ip("10.0.0.5"), 8)} }, `prefix list "pl-1": entry 10.0.0.5/8`},
		{"icmp code without type", func(c *Config) {
			c.Groups[0].Ingress[0] = Rule{Proto: ProtoICMP, FromPort: -1, ToPort: 4, CIDR: pfx("0.0.0.0/0")}
		}, "with any type the code must be -1"},
		{"icmp type range", func(c *Config) {
			c.Groups[0].Ingress[0] = Rule{Proto: ProtoICMPv6, FromPort: 256, ToPort: 0, CIDR: pfx("::/0")}
		}, "icmpv6 type 256 code 0 is invalid"},
		{"protocol", func(c *Config) { c.Groups[0].Ingress[0] = Rule{Proto: 300, CIDR: pfx("::/0")} }, "protocol 300 is invalid"},
		{"duplicate group", func(c *Config) { c.Groups = append(c.Groups, Group{ID: "sg-1"}) }, `"sg-1" is defined twice`},
		{"group without ID", func(c *Config) { c.Groups = append(c.Groups, Group{Name: "x"}) }, "has no ID"},
		{"duplicate ENI", func(c *Config) { c.ENIs = append(c.ENIs, c.ENIs[0]) }, "ENI index 0 is configured twice"},
		{"ENI index", func(c *Config) { c.ENIs[0].Index = MaxENIIndex + 1 }, "too large"},
		{"ENI unknown group", func(c *Config) { c.ENIs[0].Groups = []string{"sg-9"} }, `ENI 0: security group "sg-9"`},
		{"ENI too many groups", func(c *Config) { c.ENIs[0].Groups = make([]string, 17) }, "at most 16"},
		{"ENI bad IP", func(c *Config) { c.ENIs[0].PrivateIPs = []netip.Addr{{}} }, "not a valid address"},
		{"ENI allowance", func(c *Config) { c.ENIs[0].Allowance = -1 }, "allowance -1 is negative"},
		{"ENI timeout", func(c *Config) { c.ENIs[0].Timeouts.UDP = 10 * time.Second }, "ENI 0: timeout UDP = 10s is out of range; want 30s to 1m0s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good()
			c.modify(cfg)
			_, err := Compile(cfg)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

func TestTimeouts(t *testing.T) {
	require.NoError(t, Timeouts{}.Validate())
	require.NoError(t, DefaultTimeouts().Validate())
	d := Timeouts{UDP: 45 * time.Second}.WithDefaults()
	require.Equal(t, 45*time.Second, d.UDP)
	require.Equal(t, 432000*time.Second, d.TCPEstablished)
	require.Equal(t, 600*time.Second, d.Other)
	bad := []struct {
		t    Timeouts
		want string
	}{
		{Timeouts{TCPEstablished: 59 * time.Second}, "TCPEstablished = 59s"},
		{Timeouts{TCPEstablished: 432001 * time.Second}, "TCPEstablished"},
		{Timeouts{UDP: 61 * time.Second}, "UDP = 1m1s"},
		{Timeouts{UDPStream: 59 * time.Second}, "UDPStream"},
		{Timeouts{UDPStream: 181 * time.Second}, "want 1m0s to 3m0s"},
		{Timeouts{Other: -time.Second}, "Other"},
		{Timeouts{ICMP: time.Millisecond}, "ICMP"},
		{Timeouts{TCPSyn: 500 * time.Millisecond}, "TCPSyn"},
		{Timeouts{TCPClosing: 500000 * time.Second}, "TCPClosing"},
	}
	for _, b := range bad {
		err := b.t.Validate()
		require.Error(t, err, "%+v", b.t)
		require.Contains(t, err.Error(), b.want)
	}
	require.NoError(t, Timeouts{TCPEstablished: 350 * time.Second}.Validate(), "Nitro v6's 350 s")
}

func TestParseProtocol(t *testing.T) {
	for s, want := range map[string]int{"tcp": 6, "UDP": 17, "icmp": 1, "icmpv6": 58, "-1": -1, "all": -1, "47": 47, " 0 ": 0, "255": 255} {
		got, err := ParseProtocol(s)
		require.NoError(t, err, s)
		require.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "256", "-2", "tcpp", "0x6"} {
		_, err := ParseProtocol(s)
		require.Error(t, err, s)
		require.True(t, strings.Contains(err.Error(), "want tcp, udp"), err.Error())
	}
	for _, p := range []int{-1, 1, 6, 17, 58, 47} {
		got, err := ParseProtocol(ProtocolName(p))
		require.NoError(t, err)
		require.Equal(t, p, got)
	}
}

func FuzzParseProtocol(f *testing.F) {
	for _, s := range []string{"tcp", "udp", "icmp", "icmpv6", "-1", "all", "47", "256", "", " 6", "+6", "ipv6-icmp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProtocol(s)
		if err != nil {
			return
		}
		if p < -1 || p > 255 {
			t.Fatalf("ParseProtocol(%q) = %d, outside -1..255", s, p)
		}
		back, err := ParseProtocol(ProtocolName(p))
		if err != nil || back != p {
			t.Fatalf("round trip of %d through %q: %d, %v", p, ProtocolName(p), back, err)
		}
	})
}

func TestPaint(t *testing.T) {
	in := []span{{10, 20, 5}, {15, 30, 2}, {0, 65535, 9}, {25, 25, 1}, {31, 40, 2}}
	got := paint(in, nil)
	want := []span{{0, 9, 9}, {10, 14, 5}, {15, 24, 2}, {25, 25, 1}, {26, 40, 2}, {41, 65535, 9}}
	require.Equal(t, want, got)
	require.True(t, coversAll(got))
	require.False(t, coversAll(paint([]span{{0, 100, 1}, {102, 65535, 1}}, nil)))
	require.True(t, coversAll(paint([]span{{0, 100, 1}, {101, 65535, 3}}, nil)))
	require.False(t, coversAll(paint([]span{{1, 65535, 1}}, nil)))
	for x, want := range map[uint16]RuleRef{0: 9, 9: 9, 10: 5, 14: 5, 15: 2, 25: 1, 26: 2, 40: 2, 41: 9, 65535: 9} {
		require.Equal(t, want, findSpan(got, x), "port %d", x)
	}
	require.Equal(t, RuleRef(0), findSpan(nil, 3))
	require.Equal(t, RuleRef(0), findSpan([]span{{5, 6, 1}}, 4))
	require.Equal(t, RuleRef(0), findSpan([]span{{5, 6, 1}}, 7))
}
