package sgengine

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// mboxConfig: app (10.0.2.20) admits the web group on 80, the web subnet by CIDR on 443 and the
// corporate prefix list on 53/udp, and sends to the web group on 8080 and to the web subnet on
// 9000. The web ENI (10.0.1.10, 2001:db8:1::10) is the member; the appliance (10.0.9.9) in
// sg-fw references nothing, so forwarding changes nothing for it.
func mboxConfig() *Config {
	return &Config{
		Groups: []Group{
			{ID: "sg-web", Egress: []Rule{allRule("0.0.0.0/0"), allRule("::/0")}},
			{ID: "sg-app",
				Ingress: []Rule{
					{Proto: ProtoTCP, FromPort: 80, ToPort: 80, Group: "sg-web"},
					tcpRule(443, 443, "10.0.1.0/24"),
					{Proto: ProtoUDP, FromPort: 53, ToPort: 53, PrefixList: "pl-corp"},
					tcpRule(80, 81, "10.0.1.10/32"), // the same peer by private IP, after the reference
					{Proto: ProtoAll, Group: "sg-web"},
				},
				Egress: []Rule{
					{Proto: ProtoTCP, FromPort: 8080, ToPort: 8080, Group: "sg-web"},
					tcpRule(9000, 9000, "10.0.1.0/24"),
				},
			},
			{ID: "sg-fw", Ingress: []Rule{allRule("10.0.0.0/16")}, Egress: []Rule{allRule("0.0.0.0/0")}},
		},
		PrefixLists: map[string][]netip.Prefix{"pl-corp": {pfx("10.0.1.0/24")}},
		ENIs: []ENIConfig{
			{Index: 0, Groups: []string{"sg-app"}, PrivateIPs: []netip.Addr{ip("10.0.2.20"), ip("2001:db8:2::20")}},
			{Index: 1, Groups: []string{"sg-web"}, PrivateIPs: []netip.Addr{ip("10.0.1.10"), ip("2001:db8:1::10")}},
			{Index: 2, Groups: []string{"sg-fw"}, PrivateIPs: []netip.Addr{ip("10.0.9.9")}},
		},
	}
}

func forwarded(f Flow) Flow {
	f.Forwarded = true
	return f
}

func TestMiddleboxCaveat(t *testing.T) {
	p := mustCompile(t, mboxConfig())
	const app, web = "10.0.2.20", "10.0.1.10"
	in := func(r int) RuleRef { return makeRef(1, DirIngress, r) }
	out := func(r int) RuleRef { return makeRef(1, DirEgress, r) }
	cases := []struct {
		name string
		eni  uint32
		dir  Direction
		f    Flow
		want RuleRef
	}{
		{"group ref admits a member's private IP", 0, DirIngress, tcp(web, 5, app, 80, TCPSyn), in(0)},
		{"forwarded: the first CIDR rule for the same peer", 0, DirIngress, forwarded(tcp(web, 5, app, 80, TCPSyn)), in(3)},
		{"group ref admits a member's IPv6", 0, DirIngress, udp("2001:db8:1::10", 5, "2001:db8:2::20", 7), in(4)},
		{"forwarded IPv6: group ref only, denied", 0, DirIngress, forwarded(udp("2001:db8:1::10", 5, "2001:db8:2::20", 7)), 0},
		{"a /32 rule at a member's address", 0, DirIngress, tcp(web, 5, app, 81, TCPSyn), in(3)},
		{"group ref for all protocols", 0, DirIngress, tcp(web, 5, app, 22, TCPSyn), in(4)},
		{"forwarded: group ref only, denied", 0, DirIngress, forwarded(tcp(web, 5, app, 22, TCPSyn)), 0},
		{"CIDR rule", 0, DirIngress, tcp(web, 5, app, 443, TCPSyn), in(1)},
		{"forwarded: CIDR rule still matches", 0, DirIngress, forwarded(tcp(web, 5, app, 443, TCPSyn)), in(1)},
		{"CIDR rule, non-member", 0, DirIngress, forwarded(tcp("10.0.1.99", 5, app, 443, TCPSyn)), in(1)},
		{"prefix list", 0, DirIngress, udp(web, 5, app, 53), in(2)},
		{"forwarded: prefix list still matches", 0, DirIngress, forwarded(udp(web, 5, app, 53)), in(2)},
		{"egress group ref", 0, DirEgress, tcp(app, 5, web, 8080, TCPSyn), out(0)},
		{"forwarded egress: group ref denied", 0, DirEgress, forwarded(tcp(app, 5, web, 8080, TCPSyn)), 0},
		{"forwarded egress: CIDR rule", 0, DirEgress, forwarded(tcp(app, 5, web, 9000, TCPSyn)), out(1)},
		{"non-member, not forwarded: denied", 0, DirIngress, tcp("10.0.9.9", 5, app, 22, TCPSyn), 0},
		{"ENI without references: forwarded allowed", 2, DirIngress, forwarded(tcp(web, 5, "10.0.9.9", 22, TCPSyn)), makeRef(2, DirIngress, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := p.Evaluate(c.eni, c.dir, &c.f, nil, 0)
			require.Equal(t, c.want, d.Rule, "rule")
			require.Equal(t, c.want != 0, d.Allowed)
			if c.want == 0 {
				require.Equal(t, ReasonNoRuleMatched, d.Reason)
			}
		})
	}
	// The second matcher exists only where references match an address.
	app0, fw := p.eni(0), p.eni(2)
	require.NotSame(t, app0.m[DirIngress], app0.fwd[DirIngress])
	require.NotSame(t, app0.m[DirEgress], app0.fwd[DirEgress])
	require.Same(t, fw.m[DirIngress], fw.fwd[DirIngress])
	require.Same(t, fw.m[DirEgress], fw.fwd[DirEgress])
}

// TestMiddleboxReferenceWithoutMembers: a reference to a group no ENI carries matches nothing,
// so the forwarded matcher is the same one.
func TestMiddleboxReferenceWithoutMembers(t *testing.T) {
	cfg := mboxConfig()
	cfg.ENIs = cfg.ENIs[:1] // no sg-web members
	p := mustCompile(t, cfg)
	require.Same(t, p.eni(0).m[DirIngress], p.eni(0).fwd[DirIngress])
	require.Same(t, p.eni(0).m[DirEgress], p.eni(0).fwd[DirEgress])
}

// TestMiddleboxConntrack: forwarding changes what the rules allow, not what conntrack does.
func TestMiddleboxConntrack(t *testing.T) {
	const app, web = "10.0.2.20", "10.0.1.10"
	h := newHarness(t, mboxConfig())

	// Opened directly by the group reference; the route then moves to an appliance.
	expect(t, h.out(tcp(app, 40000, web, 8080, TCPSyn)), true, ReasonRuleAllowed, "direct SYN")
	expect(t, h.in(forwarded(tcp(web, 8080, app, 40000, TCPSyn|TCPAck))), true, ReasonTrackedReply, "forwarded SYN-ACK")
	expect(t, h.out(forwarded(tcp(app, 40000, web, 8080, TCPAck))), true, ReasonTrackedFlow, "forwarded ACK")
	// A new connection through the appliance is not admitted by the reference.
	expect(t, h.out(forwarded(tcp(app, 40001, web, 8080, TCPSyn))), false, ReasonNoRuleMatched, "forwarded SYN")

	// Opened through the appliance by a CIDR rule: tracked as usual, replies pass.
	d := h.in(forwarded(tcp(web, 50000, app, 443, TCPSyn)))
	expect(t, d, true, ReasonRuleAllowed, "forwarded SYN to 443")
	require.Equal(t, OpCreate, d.Update.Op())
	expect(t, h.out(forwarded(tcp(app, 443, web, 50000, TCPSyn|TCPAck))), true, ReasonTrackedReply, "its SYN-ACK")
	require.Equal(t, 2, h.ct.Len())

	// Whether a flow is tracked does not change: in ctConfig inbound DNS from 0.0.0.0/0 with
	// everything open outbound is untracked, forwarded or not.
	hc := newHarness(t, ctConfig())
	for _, f := range []Flow{udp("192.0.2.9", 5000, me, 53), forwarded(udp("192.0.2.9", 5000, me, 53))} {
		d := hc.in(f)
		expect(t, d, true, ReasonRuleAllowed, "DNS in")
		require.True(t, d.Untracked, "forwarded %v", f.Forwarded)
		require.Equal(t, OpNone, d.Update.Op())
	}
	require.Equal(t, 0, hc.ct.Len())
}
