package sgengine

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

const me = "10.0.0.10"

// ctConfig: SSH in from one /24 and from a group, DNS in from everywhere, everything out.
// Outbound flows are tracked (inbound is not open on all ports to 0.0.0.0/0), inbound DNS is
// untracked.
func ctConfig() *Config {
	return &Config{
		Groups: []Group{{ID: "sg-ct",
			Ingress: []Rule{
				tcpRule(22, 22, "203.0.113.0/24"),
				{Proto: ProtoUDP, FromPort: 53, ToPort: 53, CIDR: pfx("0.0.0.0/0")},
			},
			Egress: []Rule{allRule("0.0.0.0/0"), allRule("::/0")},
		}},
		ENIs: []ENIConfig{{Index: 1, Groups: []string{"sg-ct"},
			PrivateIPs: []netip.Addr{ip(me), ip("2001:db8::10")}}},
	}
}

// inOnlyConfig has no egress rules at all: only conntrack lets anything out.
func inOnlyConfig() *Config {
	return &Config{
		Groups: []Group{{ID: "sg-in", Ingress: []Rule{tcpRule(22, 22, "203.0.113.0/24"),
			{Proto: ProtoUDP, FromPort: 5000, ToPort: 5000, CIDR: pfx("198.51.100.0/24")}}}},
		ENIs: []ENIConfig{{Index: 0, Groups: []string{"sg-in"}, PrivateIPs: []netip.Addr{ip(me)}}},
	}
}

func TestUDPIdleTimeout(t *testing.T) {
	h := newHarness(t, ctConfig())
	q := udp(me, 40000, "192.0.2.9", 123)
	r := udp("192.0.2.9", 123, me, 40000)
	d := h.at(0).out(q)
	expect(t, d, true, ReasonRuleAllowed, "query")
	require.Equal(t, OpCreate, d.Update.Op())
	require.Equal(t, StateUDP, d.Update.State())
	require.Equal(t, 1, h.ct.Len())
	expect(t, h.at(29.9).in(r), true, ReasonTrackedReply, "reply within 30 s")
	expect(t, h.at(59.8).in(r), true, ReasonTrackedReply, "reply within 30 s of the last packet")
	expect(t, h.at(89.8).in(r), false, ReasonNoRuleMatched, "reply after 30 s idle")
	// Another port of the same peer was never tracked.
	expect(t, h.at(0).in(udp("192.0.2.9", 124, me, 40000)), false, ReasonNoRuleMatched, "other port")
}

func TestUDPStream(t *testing.T) {
	h := newHarness(t, ctConfig())
	q := udp(me, 40000, "192.0.2.9", 4789)
	r := udp("192.0.2.9", 4789, me, 40000)
	h.at(0).out(q)
	h.at(1).out(q) // one direction only: still a single-request flow
	h.at(2).in(r)  // first exchange
	require.Equal(t, StateUDP, h.at(3).out(q).Update.State(), "one request-response is not a stream")
	require.Equal(t, StateUDP, h.at(4).in(r).Update.State())
	// The second exchange made it a stream: 180 s now.
	d := h.at(4 + 179).in(r)
	expect(t, d, true, ReasonTrackedReply, "stream reply after 179 s")
	require.Equal(t, StateUDPStream, d.Update.State())
	expect(t, h.at(183+180).in(r), false, ReasonNoRuleMatched, "stream idle for 180 s")
}

func TestTCPHandshakeAndTimeouts(t *testing.T) {
	h := newHarness(t, ctConfig())
	syn := tcp(me, 40000, "192.0.2.9", 443, TCPSyn)
	synack := tcp("192.0.2.9", 443, me, 40000, TCPSyn|TCPAck)
	ack := tcp(me, 40000, "192.0.2.9", 443, TCPAck)
	data := tcp("192.0.2.9", 443, me, 40000, TCPAck)

	d := h.at(0).out(syn)
	expect(t, d, true, ReasonRuleAllowed, "SYN")
	require.Equal(t, StateTCPSynSent, d.Update.State())
	d = h.at(1).in(synack)
	expect(t, d, true, ReasonTrackedReply, "SYN-ACK")
	require.Equal(t, StateTCPSynSent, d.Update.State(), "state before the SYN-ACK")
	d = h.at(2).out(ack)
	expect(t, d, true, ReasonTrackedFlow, "ACK")
	require.Equal(t, StateTCPSynRecv, d.Update.State())
	d = h.at(3).in(data)
	require.Equal(t, StateTCPEstablished, d.Update.State())
	expect(t, h.at(3+431999).in(data), true, ReasonTrackedReply, "established, idle just under 5 days")
	expect(t, h.at(3+431999+432000).in(data), false, ReasonNoRuleMatched, "idle 5 days")

	// A handshake that never completes lasts TCPSyn (120 s).
	h.at(0).out(tcp(me, 40001, "192.0.2.9", 443, TCPSyn))
	expect(t, h.at(120).in(tcp("192.0.2.9", 443, me, 40001, TCPSyn|TCPAck)), false, ReasonNoRuleMatched, "SYN-ACK after 120 s")
}

func establish(t *testing.T, h *harness, local string, lport uint16, remote string, rport uint16, dir Direction) {
	t.Helper()
	send, recv := h.out, h.in
	if dir == DirIngress {
		send, recv = h.in, h.out
	}
	var init, resp func(flags uint8) Flow
	if dir == DirEgress {
		init = func(fl uint8) Flow { return tcp(local, lport, remote, rport, fl) }
		resp = func(fl uint8) Flow { return tcp(remote, rport, local, lport, fl) }
	} else {
		init = func(fl uint8) Flow { return tcp(remote, rport, local, lport, fl) }
		resp = func(fl uint8) Flow { return tcp(local, lport, remote, rport, fl) }
	}
	expect(t, send(init(TCPSyn)), true, ReasonRuleAllowed, "SYN")
	expect(t, recv(resp(TCPSyn|TCPAck)), true, ReasonTrackedReply, "SYN-ACK")
	expect(t, send(init(TCPAck)), true, ReasonTrackedFlow, "ACK")
	require.Equal(t, StateTCPEstablished, send(init(TCPAck)).Update.State())
}

func TestTCPCloseAndReset(t *testing.T) {
	h := newHarness(t, ctConfig())
	establish(t, h, me, 40000, "192.0.2.9", 443, DirEgress)
	h.at(10).out(tcp(me, 40000, "192.0.2.9", 443, TCPFin|TCPAck))
	d := h.at(11).in(tcp("192.0.2.9", 443, me, 40000, TCPFin|TCPAck))
	expect(t, d, true, ReasonTrackedReply, "FIN-ACK")
	require.Equal(t, StateTCPClosing, d.Update.State())
	expect(t, h.at(12).out(tcp(me, 40000, "192.0.2.9", 443, TCPAck)), true, ReasonTrackedFlow, "last ACK")
	expect(t, h.at(12+119).in(tcp("192.0.2.9", 443, me, 40000, TCPAck)), true, ReasonTrackedReply, "within the close timeout")
	expect(t, h.at(131+120).in(tcp("192.0.2.9", 443, me, 40000, TCPAck)), false, ReasonNoRuleMatched, "after the close timeout")
	require.Equal(t, 1, h.ct.Reap(h.now, 1<<20))
	require.Equal(t, 0, h.ct.Len())

	// RST removes the entry at once; the RST itself passes.
	establish(t, h, me, 40001, "192.0.2.9", 443, DirEgress)
	require.Equal(t, 1, h.ct.Len())
	expect(t, h.in(tcp("192.0.2.9", 443, me, 40001, TCPRst)), true, ReasonTrackedReply, "RST")
	require.Equal(t, 0, h.ct.Len())
	expect(t, h.in(tcp("192.0.2.9", 443, me, 40001, TCPAck)), false, ReasonNoRuleMatched, "after RST")
}

func TestNoEntryWithoutSYN(t *testing.T) {
	h := newHarness(t, ctConfig())
	// A forged SYN-ACK or a bare ACK to an ephemeral port: no entry, no rule, dropped.
	expect(t, h.in(tcp("192.0.2.9", 443, me, 50000, TCPSyn|TCPAck)), false, ReasonNoRuleMatched, "forged SYN-ACK")
	expect(t, h.in(tcp("192.0.2.9", 443, me, 50000, TCPAck)), false, ReasonNoRuleMatched, "bare ACK")
	// Allowed by a rule, a non-SYN segment passes but is not a new flow.
	d := h.in(tcp("203.0.113.5", 50000, me, 22, TCPAck))
	expect(t, d, true, ReasonRuleAllowed, "ACK to 22")
	require.Equal(t, OpNone, d.Update.Op())
	d = h.out(tcp(me, 50000, "192.0.2.9", 443, TCPSyn|TCPAck))
	expect(t, d, true, ReasonRuleAllowed, "outbound SYN-ACK")
	require.Equal(t, OpNone, d.Update.Op())
	require.Equal(t, 0, h.ct.Len())
}

func TestIngressCreatedFlows(t *testing.T) {
	h := newHarness(t, inOnlyConfig())
	establish(t, h, me, 22, "203.0.113.5", 50000, DirIngress)
	expect(t, h.out(tcp(me, 22, "203.0.113.5", 50000, TCPAck)), true, ReasonTrackedReply, "reply out without egress rules")
	expect(t, h.out(tcp(me, 22, "203.0.113.5", 50001, TCPAck)), false, ReasonNoRuleMatched, "other flow")
	expect(t, h.out(tcp(me, 40000, "203.0.113.5", 22, TCPSyn)), false, ReasonNoRuleMatched, "no egress rule for new flows")

	expect(t, h.in(udp("198.51.100.1", 6000, me, 5000)), true, ReasonRuleAllowed, "udp in")
	expect(t, h.out(udp(me, 5000, "198.51.100.1", 6000)), true, ReasonTrackedReply, "udp reply out")
	expect(t, h.out(udp(me, 5000, "198.51.100.1", 6001)), false, ReasonNoRuleMatched, "udp to another port")
}

func TestRevokeKeepsTrackedCutsUntracked(t *testing.T) {
	h := newHarness(t, docExample(true))
	h.eni = 3
	establish(t, h, me, 22, "203.0.113.1", 50000, DirIngress)
	web := tcp("198.51.100.7", 50001, me, 80, TCPSyn)
	d := h.in(web)
	require.True(t, d.Untracked)
	web.TCPFlags = TCPAck
	expect(t, h.in(web), true, ReasonRuleAllowed, "untracked data")
	require.Equal(t, 1, h.ct.Len(), "only the SSH flow is tracked")

	cfg := docExample(true)
	cfg.Groups[0].Ingress = cfg.Groups[0].Ingress[3:] // remove 22 and 80
	h.p = mustCompile(t, cfg)
	expect(t, h.in(tcp("203.0.113.1", 50000, me, 22, TCPAck)), true, ReasonTrackedFlow, "tracked flow survives")
	expect(t, h.out(tcp(me, 22, "203.0.113.1", 50000, TCPAck)), true, ReasonTrackedReply, "and its replies")
	expect(t, h.in(web), false, ReasonNoRuleMatched, "untracked flow cut at once")
	expect(t, h.in(tcp("203.0.113.1", 50002, me, 22, TCPSyn)), false, ReasonNoRuleMatched, "no new SSH")
}

func TestUntrackedBecomesTracked(t *testing.T) {
	h := newHarness(t, docExample(true))
	h.eni = 3
	expect(t, h.in(tcp("198.51.100.7", 50001, me, 80, TCPSyn)), true, ReasonRuleAllowed, "SYN")
	expect(t, h.out(tcp(me, 80, "198.51.100.7", 50001, TCPSyn|TCPAck)), true, ReasonRuleAllowed, "SYN-ACK by rules")
	require.Equal(t, 0, h.ct.Len())

	h.p = mustCompile(t, docExample(false)) // the outbound IPv4 allow-all is removed
	d := h.in(tcp("198.51.100.7", 50001, me, 80, TCPAck))
	expect(t, d, true, ReasonRuleAllowed, "data in, by the rules")
	require.False(t, d.Untracked)
	require.Equal(t, OpNone, d.Update.Op(), "no pickup mid-stream")
	expect(t, h.out(tcp(me, 80, "198.51.100.7", 50001, TCPAck)), false, ReasonNoRuleMatched, "replies of the old connection break")
	// A new connection is tracked from its SYN.
	establish(t, h, me, 80, "198.51.100.7", 50002, DirIngress)
	require.Equal(t, 1, h.ct.Len())
}

func TestUntrackedRepliesCreateNothing(t *testing.T) {
	h := newHarness(t, ctConfig())
	d := h.in(udp("192.0.2.53", 5353, me, 53))
	expect(t, d, true, ReasonRuleAllowed, "query in")
	require.True(t, d.Untracked)
	d = h.out(udp(me, 53, "192.0.2.53", 5353))
	expect(t, d, true, ReasonRuleAllowed, "answer out")
	require.True(t, d.Untracked, "the reply of an untracked flow")
	require.Equal(t, 0, h.ct.Len())
	// An outbound query to port 53 elsewhere is an ordinary tracked flow.
	d = h.out(udp(me, 40000, "192.0.2.53", 53))
	require.False(t, d.Untracked)
	require.Equal(t, OpCreate, d.Update.Op())
}

func TestSYNReopensClosingEntry(t *testing.T) {
	h := newHarness(t, inOnlyConfig())
	establish(t, h, me, 22, "203.0.113.5", 50000, DirIngress)
	h.in(tcp("203.0.113.5", 50000, me, 22, TCPFin|TCPAck))
	d := h.in(tcp("203.0.113.5", 50000, me, 22, TCPSyn))
	expect(t, d, true, ReasonRuleAllowed, "SYN on a closing entry is a new connection")
	require.Equal(t, OpCreate, d.Update.Op())
	require.Equal(t, 1, h.ct.Len())
	expect(t, h.out(tcp(me, 22, "203.0.113.5", 50000, TCPSyn|TCPAck)), true, ReasonTrackedReply, "new SYN-ACK")
	require.Equal(t, StateTCPSynRecv, h.in(tcp("203.0.113.5", 50000, me, 22, TCPAck)).Update.State())

	// Without the rule, the same SYN is refused while the old connection's packets still pass.
	h.in(tcp("203.0.113.5", 50000, me, 22, TCPFin|TCPAck))
	cfg := inOnlyConfig()
	cfg.Groups[0].Ingress = nil
	h.p = mustCompile(t, cfg)
	expect(t, h.in(tcp("203.0.113.5", 50000, me, 22, TCPSyn)), false, ReasonNoRuleMatched, "SYN without rule")
	expect(t, h.in(tcp("203.0.113.5", 50000, me, 22, TCPAck)), true, ReasonTrackedFlow, "old closing connection")
}

func TestOtherProtocolTimeout(t *testing.T) {
	h := newHarness(t, ctConfig())
	gre := Flow{Src: ip(me), Dst: ip("192.0.2.9"), Proto: 47}
	back := Flow{Src: ip("192.0.2.9"), Dst: ip(me), Proto: 47}
	d := h.at(0).out(gre)
	require.Equal(t, StateOther, d.Update.State())
	expect(t, h.at(599).in(back), true, ReasonTrackedReply, "GRE back within 600 s")
	expect(t, h.at(599+600).in(back), false, ReasonNoRuleMatched, "GRE back after 600 s idle")
	expect(t, h.at(0).in(Flow{Src: ip("192.0.2.8"), Dst: ip(me), Proto: 47}), false, ReasonNoRuleMatched, "other peer")
	expect(t, h.at(0).in(Flow{Src: ip("192.0.2.9"), Dst: ip(me), Proto: 50}), false, ReasonNoRuleMatched, "other protocol")
}

func TestICMPEcho(t *testing.T) {
	for _, fam := range []struct{ local, remote string }{{me, "192.0.2.9"}, {"2001:db8::10", "2001:db8:9::9"}} {
		h := newHarness(t, ctConfig())
		req, rep := uint8(8), uint8(0)
		if ip(fam.local).Is6() {
			req, rep = 128, 129
		}
		d := h.at(0).out(icmp(fam.local, fam.remote, req, 0, 7))
		expect(t, d, true, ReasonRuleAllowed, "echo request")
		require.Equal(t, StateICMP, d.Update.State())
		expect(t, h.at(1).in(icmp(fam.remote, fam.local, rep, 0, 7)), true, ReasonTrackedReply, "echo reply")
		expect(t, h.at(1).in(icmp(fam.remote, fam.local, rep, 0, 8)), false, ReasonNoRuleMatched, "other identifier")
		expect(t, h.at(1).in(icmp(fam.remote, fam.local, req, 0, 7)), false, ReasonNoRuleMatched, "a request is no reply")
		expect(t, h.at(1).in(icmp(fam.remote, fam.local, 3, 1, 0)), false, ReasonNoRuleMatched, "unrelated error")
		expect(t, h.at(31).in(icmp(fam.remote, fam.local, rep, 0, 7)), false, ReasonNoRuleMatched, "after 30 s")
		// Non-request ICMP is allowed by the rules and creates nothing.
		require.Equal(t, OpNone, h.at(40).out(icmp(fam.local, fam.remote, rep, 0, 9)).Update.Op())
		require.Equal(t, OpNone, h.at(40).out(icmp(fam.local, fam.remote, 3, 3, 0)).Update.Op())
	}
}

func TestRelatedICMP(t *testing.T) {
	frag := icmp("192.0.2.1", me, 3, 4, 0)
	frag.IsICMPError = true
	frag.Inner = InnerFlow{Src: ip(me), Dst: ip("192.0.2.9"), Proto: ProtoTCP, SrcPort: 40000, DstPort: 443}
	ptb := icmp("2001:db8:1::1", "2001:db8::10", 2, 0, 0)
	ptb.IsICMPError = true
	ptb.Inner = InnerFlow{Src: ip("2001:db8::10"), Dst: ip("2001:db8:9::9"), Proto: ProtoUDP, SrcPort: 40000, DstPort: 443}
	echoErr := icmp("192.0.2.1", me, 11, 0, 0)
	echoErr.IsICMPError = true
	echoErr.Inner = InnerFlow{Src: ip(me), Dst: ip("192.0.2.9"), Proto: ProtoICMP, ICMPType: 8, ICMPID: 7}
	unrelated := frag
	unrelated.Inner.SrcPort = 40001

	setup := func(related bool) *harness {
		cfg := ctConfig()
		cfg.RelatedICMP = related
		h := newHarness(t, cfg)
		h.out(tcp(me, 40000, "192.0.2.9", 443, TCPSyn))
		h.out(udp("2001:db8::10", 40000, "2001:db8:9::9", 443))
		h.out(icmp(me, "192.0.2.9", 8, 0, 7))
		require.Equal(t, 3, h.ct.Len())
		return h
	}
	h := setup(false)
	for _, f := range []Flow{frag, ptb, echoErr} {
		expect(t, h.in(f), false, ReasonNoRuleMatched, "by default PMTUD needs a rule")
	}
	h = setup(true)
	for _, f := range []Flow{frag, ptb, echoErr} {
		d := h.in(f)
		expect(t, d, true, ReasonRelatedICMP, "related error")
		require.Equal(t, OpNone, d.Update.Op())
	}
	expect(t, h.in(unrelated), false, ReasonNoRuleMatched, "error about an untracked flow")
	require.Equal(t, 3, h.ct.Len(), "errors create nothing")

	// A rule allowing type 3 code 4 admits it either way.
	cfg := ctConfig()
	cfg.Groups[0].Ingress = append(cfg.Groups[0].Ingress, Rule{Proto: ProtoICMP, FromPort: 3, ToPort: 4, CIDR: pfx("0.0.0.0/0")})
	h = newHarness(t, cfg)
	d := h.in(unrelated)
	expect(t, d, true, ReasonRuleAllowed, "ICMP rule")
	require.Equal(t, OpNone, d.Update.Op())
}

func TestAllowance(t *testing.T) {
	cfg := ctConfig()
	cfg.ENIs[0].Allowance = 2
	h := newHarness(t, cfg)
	expect(t, h.at(0).out(udp(me, 1, "192.0.2.1", 9)), true, ReasonRuleAllowed, "first")
	expect(t, h.at(0).out(udp(me, 1, "192.0.2.2", 9)), true, ReasonRuleAllowed, "second")
	d := h.at(0).out(udp(me, 1, "192.0.2.3", 9))
	expect(t, d, false, ReasonAllowanceExceeded, "third")
	require.Equal(t, makeRef(0, DirEgress, 0), d.Rule, "the rule that would have allowed it")
	require.Equal(t, uint64(1), h.ct.AllowanceExceeded())
	expect(t, h.at(1).in(udp("192.0.2.1", 9, me, 1)), true, ReasonTrackedReply, "existing flows go on")
	d = h.at(1).in(udp("192.0.2.53", 5353, me, 53))
	expect(t, d, true, ReasonRuleAllowed, "untracked flows need no entry")
	require.True(t, d.Untracked)
	require.Equal(t, uint64(1), h.ct.AllowanceExceeded())
	require.Equal(t, 2, h.ct.Len())
	require.Equal(t, 2, h.p.Allowance(1))
	require.Equal(t, 0, h.p.Allowance(7))
	require.Equal(t, DefaultAllowance, mustCompile(t, ctConfig()).Allowance(1))

	// Evaluation alone counts nothing; trace must not move the counter.
	f := udp(me, 1, "192.0.2.4", 9)
	require.Equal(t, OpCountExceeded, h.p.Egress(1, &f, h.ct, h.now).Update.Op())
	require.Equal(t, uint64(1), h.ct.AllowanceExceeded())

	// Once the entries expire, the next drop sweeps them and new flows get room again.
	expect(t, h.at(40).out(udp(me, 1, "192.0.2.3", 9)), false, ReasonAllowanceExceeded, "expired but not reaped")
	require.Equal(t, 0, h.ct.Len())
	expect(t, h.at(40).out(udp(me, 1, "192.0.2.3", 9)), true, ReasonRuleAllowed, "room again")

	// A race: two evaluations see room, the second apply finds none.
	h.at(41).out(udp(me, 1, "192.0.2.5", 9))
	require.Equal(t, 2, h.ct.Len())
	h2 := *h
	require.False(t, h2.ct.Apply(&Update{op: OpCreate, key: ctKey{fam: 4, proto: 17, lport: 99}, state: StateUDP,
		tmo: &h.p.eni(1).tmo, allowance: 2}, h.now))
	require.Equal(t, uint64(3), h.ct.AllowanceExceeded())
}

func TestApplyEdges(t *testing.T) {
	p := mustCompile(t, ctConfig())
	a, b := NewConntrack(), NewConntrack()
	f := udp(me, 1, "192.0.2.1", 9)
	d := p.Egress(1, &f, a, 0)
	// Applied to another table than the evaluation's: the key is rehashed for it.
	require.True(t, b.Apply(&d.Update, 0))
	r := udp("192.0.2.1", 9, me, 1)
	expect(t, p.Ingress(1, &r, b, 1), true, ReasonTrackedReply, "found in b")
	expect(t, p.Ingress(1, &r, a, 1), false, ReasonNoRuleMatched, "not in a")
	// A nil table (static analysis) accepts every update but the exceeded count.
	var none *Conntrack
	require.True(t, none.Apply(&d.Update, 0))
	require.False(t, none.Apply(&Update{op: OpCountExceeded}, 0))
	d = p.Egress(1, &f, nil, 0)
	require.Equal(t, OpCreate, d.Update.Op(), "trace still says what would happen")
	// Two evaluations of the same new flow both create: the second apply joins the first entry.
	d1 := p.Egress(1, &f, a, 5)
	d2 := p.Egress(1, &f, a, 5)
	require.True(t, a.Apply(&d1.Update, 5))
	require.True(t, a.Apply(&d2.Update, 5))
	require.Equal(t, 1, a.Len())
	// A refresh whose entry vanished since the evaluation still passes.
	d3 := p.Ingress(1, &r, a, 6)
	require.Equal(t, OpRefresh, d3.Update.Op())
	require.Equal(t, 1, a.Reap(1<<62, 1<<20))
	require.True(t, a.Apply(&d3.Update, 7))
	require.Equal(t, 0, a.Len())
}

func TestStrings(t *testing.T) {
	require.Equal(t, "tracked-reply", ReasonTrackedReply.String())
	require.Equal(t, "conntrack-allowance-exceeded", ReasonAllowanceExceeded.String())
	require.Equal(t, "reason(200)", Reason(200).String())
	require.Equal(t, "tcp-established", StateTCPEstablished.String())
	require.Equal(t, "state(99)", State(99).String())
	require.Equal(t, "create", OpCreate.String())
	require.Equal(t, "op(9)", UpdateOp(9).String())
	require.Equal(t, "ingress", DirIngress.String())
	require.Equal(t, "direction(5)", Direction(5).String())
	for r := ReasonNone; r < numReasons; r++ {
		require.NotEmpty(t, reasonNames[r], "reason %d has no name", r)
	}
}
