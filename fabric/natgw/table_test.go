package natgw

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	inst   = "10.0.2.10" // an instance in a private subnet
	inst2  = "10.0.2.11"
	remote = "203.0.113.7"
	other  = "198.51.100.9"
)

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no address", Options{}, "public address invalid IP is not usable"},
		{"4-in-6", Options{PublicAddr: ip("::ffff:10.0.1.5")}, "not usable"},
		{"zone", Options{PublicAddr: ip("fe80::1%eth0")}, "without zone"},
		{"reversed", Options{PublicAddr: ip(pub), PortMin: 2000, PortMax: 1999}, "port range 2000-1999 is reversed"},
		{"default max below min", Options{PublicAddr: ip(pub), PortMax: 1000}, "port range 1024-1000 is reversed"},
		{"negative idle", Options{PublicAddr: ip(pub), IdleTimeout: -time.Second}, "IdleTimeout -1s"},
		{"negative closed", Options{PublicAddr: ip(pub), TCPClosedTimeout: -1}, "TCPClosedTimeout -1ns"},
		{"negative max", Options{PublicAddr: ip(pub), MaxPerDest: -1}, "MaxPerDest -1 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.o)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestNewDefaults(t *testing.T) {
	tb := newTable(t, Options{})
	require.Equal(t, ip(pub), tb.PublicAddr())
	require.Equal(t, uint16(1024), tb.portMin)
	require.Equal(t, uint32(65535-1024+1), tb.nports)
	require.Equal(t, int32(55000), tb.maxPerDest)
	require.Equal(t, int64(350*time.Second), tb.idle)
	require.Equal(t, int64(30*time.Second), tb.closed)

	// A limit above the range's size is the range's size.
	tb = newTable(t, Options{PortMin: 5000, PortMax: 5009})
	require.Equal(t, int32(10), tb.maxPerDest)
}

func TestTCPConnection(t *testing.T) {
	tb := newTable(t, Options{})
	now := 100 * sec

	d, ok := out(tb, tcpOut(inst, 40000, remote, 443, TCPSyn), now)
	require.True(t, ok)
	require.Equal(t, VerdictNewMapping, d.Verdict)
	require.True(t, d.Verdict.Translates())
	require.GreaterOrEqual(t, d.Ext, uint16(1024))
	want := Key{Proto: ProtoTCP, Inside: ip(inst), InsidePort: 40000, Remote: ip(remote), RemotePort: 443}
	require.Equal(t, want, d.Flow)
	ext := d.Ext
	require.Equal(t, 1, tb.Len())

	// The reply is translated back to the instance.
	d, ok = in(tb, tcpIn(remote, 443, ext, TCPSyn|TCPAck), now+sec)
	require.True(t, ok)
	require.Equal(t, VerdictTranslated, d.Verdict)
	require.Equal(t, want, d.Flow)
	require.Equal(t, ext, d.Ext)

	// Later packets reuse the mapping.
	for _, f := range []uint8{TCPAck, TCPAck | 0x08, TCPSyn} {
		d, ok = out(tb, tcpOut(inst, 40000, remote, 443, f), now+2*sec)
		require.True(t, ok)
		require.Equal(t, VerdictTranslated, d.Verdict, "flags %#x", f)
		require.Equal(t, ext, d.Ext)
	}
	require.Equal(t, Metrics{ActiveConnectionCount: 1, ConnectionAttemptCount: 1, ConnectionEstablishedCount: 1}, tb.Metrics())
	checkTable(t, tb, now+2*sec)
}

func TestUnsolicitedInboundRefused(t *testing.T) {
	tb := newTable(t, Options{})
	now := sec
	d, _ := out(tb, tcpOut(inst, 40000, remote, 443, TCPSyn), now)
	ext := d.Ext
	for _, tc := range []struct {
		name string
		p    Packet
		want Verdict
	}{
		{"syn to an unused port", tcpIn(remote, 443, ext+1, TCPSyn), VerdictNoMapping},
		{"from another remote port", tcpIn(remote, 444, ext, TCPSyn|TCPAck), VerdictNoMapping},
		{"from another remote", tcpIn(other, 443, ext, TCPSyn|TCPAck), VerdictNoMapping},
		{"udp to the tcp port", udpIn(remote, 443, ext), VerdictNoMapping},
		{"ping the gateway", Packet{Proto: ProtoICMP, Src: ip(remote), Dst: ip(pub), ICMPType: 8, ICMPID: ext}, VerdictUnsupported},
		{"echo reply nobody asked for", pongIn(remote, 7), VerdictNoMapping},
		{"gre", Packet{Proto: 47, Src: ip(remote), Dst: ip(pub)}, VerdictUnsupported},
		{"ipv6 at an ipv4 gateway", Packet{Proto: ProtoUDP, Src: ip("2001:db8::1"), Dst: ip(pub), SrcPort: 53, DstPort: ext}, VerdictUnsupported},
	} {
		d, ok := in(tb, tc.p, now)
		require.False(t, ok, tc.name)
		require.Equal(t, tc.want, d.Verdict, tc.name)
		require.False(t, d.Verdict.Translates() || d.Verdict.Resets(), tc.name)
	}
	require.Equal(t, uint64(8), tb.Metrics().PacketsDropCount)
	require.Equal(t, 1, tb.Len())
}

func TestIdleTimeoutResets(t *testing.T) {
	tb := newTable(t, Options{})
	t0 := 10 * sec
	idle := 350 * sec
	d, _ := out(tb, tcpOut(inst, 40000, remote, 443, TCPSyn), t0)
	ext := d.Ext
	in(tb, tcpIn(remote, 443, ext, TCPSyn|TCPAck), t0)

	// Inbound packets refresh too: idle means no packet in either direction.
	d, ok := in(tb, tcpIn(remote, 443, ext, TCPAck), t0+idle-1)
	require.True(t, ok)
	require.Equal(t, VerdictTranslated, d.Verdict)
	last := t0 + idle - 1
	d, _ = out(tb, tcpOut(inst, 40000, remote, 443, TCPAck), last+idle-1)
	require.Equal(t, VerdictTranslated, d.Verdict)
	last += idle - 1

	// 350 s of silence: the instance's next segment is answered with a RST.
	d, ok = out(tb, tcpOut(inst, 40000, remote, 443, TCPAck|0x08), last+idle)
	require.False(t, ok)
	require.Equal(t, VerdictIdleTimeoutReset, d.Verdict)
	require.True(t, d.Verdict.Resets())
	require.Equal(t, Key{Proto: ProtoTCP, Inside: ip(inst), InsidePort: 40000, Remote: ip(remote), RemotePort: 443}, d.Flow)
	require.Equal(t, ext, d.Ext)
	m := tb.Metrics()
	require.Equal(t, uint64(1), m.IdleTimeoutCount)
	require.Equal(t, int64(0), m.ActiveConnectionCount)
	require.Equal(t, uint64(1), m.PacketsDropCount)
	require.Equal(t, 0, tb.Len())

	// The mapping is gone: still a RST, counted once; the destination's packets are dropped.
	d, _ = out(tb, tcpOut(inst, 40000, remote, 443, TCPAck), last+idle+sec)
	require.Equal(t, VerdictNoMappingReset, d.Verdict)
	d, _ = in(tb, tcpIn(remote, 443, ext, TCPAck), last+idle+sec)
	require.Equal(t, VerdictNoMapping, d.Verdict)
	require.Equal(t, uint64(1), tb.Metrics().IdleTimeoutCount)

	// A RST from the instance is never answered with a RST.
	d, _ = out(tb, tcpOut(inst, 40000, remote, 443, TCPRst), last+idle+sec)
	require.Equal(t, VerdictNoMapping, d.Verdict)

	// A new SYN opens a new mapping.
	d, ok = out(tb, tcpOut(inst, 40000, remote, 443, TCPSyn), last+idle+2*sec)
	require.True(t, ok)
	require.Equal(t, VerdictNewMapping, d.Verdict)
}

func TestNonSYNWithoutMappingResets(t *testing.T) {
	tb := newTable(t, Options{})
	for _, f := range []uint8{TCPAck, TCPSyn | TCPAck, TCPFin | TCPAck, 0} {
		d, ok := out(tb, tcpOut(inst, 40000, remote, 443, f), sec)
		require.False(t, ok)
		require.Equal(t, VerdictNoMappingReset, d.Verdict, "flags %#x", f)
	}
	require.Equal(t, 0, tb.Len())
	require.Equal(t, uint64(4), tb.Metrics().PacketsDropCount)
}

func TestIdleTimeoutCountedOnReap(t *testing.T) {
	tb := newTable(t, Options{IdleTimeout: 100 * time.Second})
	out(tb, tcpOut(inst, 40000, remote, 443, TCPSyn), 0)
	out(tb, udpOut(inst, 40001, remote, 53), 0)
	out(tb, pingOut(inst, remote, 9), 0)
	require.Equal(t, 0, tb.Reap(100*sec-1, 1<<20))
	require.Equal(t, 3, tb.Reap(100*sec, 1<<20))
	m := tb.Metrics()
	require.Equal(t, uint64(1), m.IdleTimeoutCount, "TCP connections count, UDP and ICMP flows do not")
	require.Equal(t, int64(0), m.ActiveConnectionCount)
	require.Equal(t, 0, tb.Len())
	checkTable(t, tb, 100*sec)
}

func TestTCPCloseExpiresSooner(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close []Packet // outbound if Dst is remote
	}{
		{"fin both ways", []Packet{tcpOut(inst, 40000, remote, 443, TCPFin|TCPAck), tcpIn(remote, 443, 0, TCPFin|TCPAck)}},
		{"fin from the remote first", []Packet{tcpIn(remote, 443, 0, TCPFin|TCPAck), tcpOut(inst, 40000, remote, 443, TCPFin|TCPAck)}},
		{"rst from inside", []Packet{tcpOut(inst, 40000, remote, 443, TCPRst)}},
		{"rst from the remote", []Packet{tcpIn(remote, 443, 0, TCPRst|TCPAck)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTable(t, Options{})
			d, _ := out(tb, tcpOut(inst, 40000, remote, 443, TCPSyn), 0)
			ext := d.Ext
			in(tb, tcpIn(remote, 443, ext, TCPSyn|TCPAck), 0)
			require.Equal(t, int64(1), tb.Metrics().ActiveConnectionCount)
			for i, p := range tc.close {
				var ok bool
				if p.Dst == ip(pub) {
					p.DstPort = ext
					d, ok = in(tb, p, sec)
				} else {
					d, ok = out(tb, p, sec)
				}
				require.True(t, ok)
				require.Equal(t, VerdictTranslated, d.Verdict, "packet %d", i)
				if i < len(tc.close)-1 {
					require.Equal(t, int64(1), tb.Metrics().ActiveConnectionCount, "one FIN does not close")
				}
			}
			require.Equal(t, int64(0), tb.Metrics().ActiveConnectionCount)
			// The last ACK still passes, within the closed timeout.
			d, ok := out(tb, tcpOut(inst, 40000, remote, 443, TCPAck), sec+30*sec-1)
			require.True(t, ok)
			require.Equal(t, VerdictTranslated, d.Verdict)
			require.Equal(t, 0, tb.Reap(sec+30*sec-1+30*sec-1, 1<<20))
			require.Equal(t, 1, tb.Reap(sec+30*sec-1+30*sec, 1<<20))
			m := tb.Metrics()
			require.Equal(t, uint64(0), m.IdleTimeoutCount, "a closed connection does not time out idle")
			require.Equal(t, int64(0), m.ActiveConnectionCount)
		})
	}
}

func TestClosedConnectionReopens(t *testing.T) {
	tb := newTable(t, Options{})
	d, _ := out(tb, tcpOut(inst, 40000, remote, 443, TCPSyn), 0)
	ext := d.Ext
	out(tb, tcpOut(inst, 40000, remote, 443, TCPRst), sec)
	require.Equal(t, int64(0), tb.Metrics().ActiveConnectionCount)
	// The instance reuses its port for a new connection: same mapping, open again, and it
	// takes the idle timeout again.
	d, ok := out(tb, tcpOut(inst, 40000, remote, 443, TCPSyn), 2*sec)
	require.True(t, ok)
	require.Equal(t, VerdictTranslated, d.Verdict)
	require.Equal(t, ext, d.Ext)
	m := tb.Metrics()
	require.Equal(t, int64(1), m.ActiveConnectionCount)
	require.Equal(t, uint64(2), m.ConnectionAttemptCount)
	require.Equal(t, 0, tb.Reap(2*sec+350*sec-1, 1<<20))
}

func TestPortExhaustion(t *testing.T) {
	tb := newTable(t, Options{PortMin: 2000, PortMax: 2003})
	seen := map[uint16]bool{}
	for i := range 4 {
		d, ok := out(tb, tcpOut(inst, uint16(40000+i), remote, 443, TCPSyn), sec)
		require.True(t, ok)
		require.Equal(t, VerdictNewMapping, d.Verdict)
		require.False(t, seen[d.Ext], "port %d handed out twice", d.Ext)
		seen[d.Ext] = true
	}
	d, ok := out(tb, tcpOut(inst, 40004, remote, 443, TCPSyn), sec)
	require.False(t, ok)
	require.Equal(t, VerdictErrorPortAllocation, d.Verdict)
	d, _ = out(tb, tcpOut(inst2, 40000, remote, 443, TCPSyn), sec)
	require.Equal(t, VerdictErrorPortAllocation, d.Verdict)
	m := tb.Metrics()
	require.Equal(t, uint64(2), m.ErrorPortAllocation)
	require.Equal(t, uint64(2), m.PacketsDropCount)

	// Another destination (address, port or protocol) has all four ports to itself.
	for _, p := range []Packet{
		tcpOut(inst, 40004, other, 443, TCPSyn),
		tcpOut(inst, 40004, remote, 80, TCPSyn),
		udpOut(inst, 40004, remote, 443),
	} {
		d, ok := out(tb, p, sec)
		require.True(t, ok)
		require.Equal(t, VerdictNewMapping, d.Verdict)
		require.True(t, seen[d.Ext])
	}

	// A closed connection frees its port after the closed timeout.
	out(tb, tcpOut(inst, 40000, remote, 443, TCPRst), 2*sec)
	d, _ = out(tb, tcpOut(inst, 40004, remote, 443, TCPSyn), 2*sec+30*sec-1)
	require.Equal(t, VerdictErrorPortAllocation, d.Verdict)
	d, ok = out(tb, tcpOut(inst, 40004, remote, 443, TCPSyn), 2*sec+30*sec)
	require.True(t, ok)
	require.Equal(t, VerdictNewMapping, d.Verdict)
	checkTable(t, tb, 2*sec+30*sec)
}

func TestMaxPerDest(t *testing.T) {
	tb := newTable(t, Options{MaxPerDest: 3})
	for i := range 3 {
		_, ok := out(tb, udpOut(inst, uint16(5000+i), remote, 53), 0)
		require.True(t, ok)
	}
	d, ok := out(tb, udpOut(inst, 5003, remote, 53), 0)
	require.False(t, ok)
	require.Equal(t, VerdictErrorPortAllocation, d.Verdict)
	d, ok = out(tb, udpOut(inst, 5003, remote, 123), 0)
	require.True(t, ok)
	require.Equal(t, VerdictNewMapping, d.Verdict)
}

// Expired mappings that nobody reaped do not count against the limit.
func TestMaxPerDestIgnoresExpired(t *testing.T) {
	tb := newTable(t, Options{MaxPerDest: 2, IdleTimeout: 100 * time.Second})
	out(tb, tcpOut(inst, 1, remote, 443, TCPSyn), 0)
	out(tb, tcpOut(inst, 2, remote, 443, TCPSyn), 50*sec)
	d, _ := out(tb, tcpOut(inst, 3, remote, 443, TCPSyn), 99*sec)
	require.Equal(t, VerdictErrorPortAllocation, d.Verdict)
	// The first expired at 100 s; it is still in the table (nothing reaped it).
	require.Equal(t, 2, tb.Len())
	d, ok := out(tb, tcpOut(inst, 3, remote, 443, TCPSyn), 100*sec)
	require.True(t, ok)
	require.Equal(t, VerdictNewMapping, d.Verdict)
	require.Equal(t, 2, tb.Len(), "the expired mapping made room")
	require.Equal(t, uint64(1), tb.Metrics().IdleTimeoutCount)
	d, _ = out(tb, tcpOut(inst, 4, remote, 443, TCPSyn), 100*sec)
	require.Equal(t, VerdictErrorPortAllocation, d.Verdict)
	checkTable(t, tb, 100*sec)
}

// One external port serves several destinations at once, and replies go to the right host.
func TestPortSharedAcrossDestinations(t *testing.T) {
	tb := newTable(t, Options{PortMin: 3000, PortMax: 3000})
	d1, ok1 := out(tb, udpOut(inst, 7000, remote, 53), 0)
	d2, ok2 := out(tb, udpOut(inst2, 7001, other, 53), 0)
	d3, ok3 := out(tb, udpOut(inst2, 7002, remote, 54), 0)
	require.True(t, ok1 && ok2 && ok3)
	require.Equal(t, uint16(3000), d1.Ext)
	require.Equal(t, uint16(3000), d2.Ext)
	require.Equal(t, uint16(3000), d3.Ext)

	d, _ := in(tb, udpIn(remote, 53, 3000), sec)
	require.Equal(t, Key{Proto: ProtoUDP, Inside: ip(inst), InsidePort: 7000, Remote: ip(remote), RemotePort: 53}, d.Flow)
	d, _ = in(tb, udpIn(other, 53, 3000), sec)
	require.Equal(t, Key{Proto: ProtoUDP, Inside: ip(inst2), InsidePort: 7001, Remote: ip(other), RemotePort: 53}, d.Flow)
	d, _ = in(tb, udpIn(remote, 54, 3000), sec)
	require.Equal(t, ip(inst2), d.Flow.Inside)
	require.Equal(t, uint16(7002), d.Flow.InsidePort)
}

func TestICMPEcho(t *testing.T) {
	tb := newTable(t, Options{})
	d, ok := out(tb, pingOut(inst, remote, 77), 0)
	require.True(t, ok)
	require.Equal(t, VerdictNewMapping, d.Verdict)
	require.Equal(t, Key{Proto: ProtoICMP, Inside: ip(inst), InsidePort: 77, Remote: ip(remote)}, d.Flow)
	ext := d.Ext
	d, ok = out(tb, pingOut(inst, remote, 77), sec)
	require.True(t, ok)
	require.Equal(t, VerdictTranslated, d.Verdict)
	require.Equal(t, ext, d.Ext)

	d, ok = in(tb, pongIn(remote, ext), sec)
	require.True(t, ok)
	require.Equal(t, VerdictTranslated, d.Verdict)
	require.Equal(t, uint16(77), d.Flow.InsidePort)
	require.Equal(t, ip(inst), d.Flow.Inside)

	d, _ = in(tb, pongIn(other, ext), sec)
	require.Equal(t, VerdictNoMapping, d.Verdict, "a reply from another host")

	// Timestamp queries are tracked too; an echo reply or a redirect from inside is not a query.
	d, _ = out(tb, Packet{Proto: ProtoICMP, Src: ip(inst), Dst: ip(remote), ICMPType: 13, ICMPID: 5}, sec)
	require.Equal(t, VerdictNewMapping, d.Verdict)
	for _, typ := range []uint8{0, 5, 9} {
		d, ok = out(tb, Packet{Proto: ProtoICMP, Src: ip(inst), Dst: ip(remote), ICMPType: typ, ICMPID: 5}, sec)
		require.False(t, ok)
		require.Equal(t, VerdictUnsupported, d.Verdict, "type %d", typ)
	}
}

func TestFragments(t *testing.T) {
	tb := newTable(t, Options{})
	first := udpOut(inst, 6000, remote, 4789)
	first.Fragment, first.FirstFragment = true, true
	d, ok := out(tb, first, 0)
	require.True(t, ok)
	require.Equal(t, VerdictNewMapping, d.Verdict, "a first UDP fragment carries the ports")
	ext := d.Ext

	later := Packet{Proto: ProtoUDP, Src: ip(inst), Dst: ip(remote), Fragment: true}
	d, ok = out(tb, later, 0)
	require.True(t, ok)
	require.Equal(t, VerdictAddressOnly, d.Verdict)
	require.True(t, d.Verdict.Translates())
	require.Equal(t, 1, tb.Len())

	inFirst := udpIn(remote, 4789, ext)
	inFirst.Fragment, inFirst.FirstFragment = true, true
	d, ok = in(tb, inFirst, 0)
	require.True(t, ok)
	require.Equal(t, VerdictTranslated, d.Verdict)

	drops := []Packet{
		{Proto: ProtoUDP, Src: ip(remote), Dst: ip(pub), Fragment: true}, // inbound non-first UDP
	}
	for _, p := range drops {
		d, ok = in(tb, p, 0)
		require.False(t, ok)
		require.Equal(t, VerdictFragment, d.Verdict)
	}
	for _, first := range []bool{true, false} {
		syn := tcpOut(inst, 40000, remote, 443, TCPSyn)
		syn.Fragment, syn.FirstFragment = true, first
		d, _ = out(tb, syn, 0)
		require.Equal(t, VerdictFragment, d.Verdict)
		ping := pingOut(inst, remote, 1)
		ping.Fragment, ping.FirstFragment = true, first
		d, _ = out(tb, ping, 0)
		require.Equal(t, VerdictFragment, d.Verdict)
		synack := tcpIn(remote, 443, ext, TCPSyn|TCPAck)
		synack.Fragment, synack.FirstFragment = true, first
		d, _ = in(tb, synack, 0)
		require.Equal(t, VerdictFragment, d.Verdict)
	}
	require.Equal(t, 1, tb.Len(), "no fragment opened a mapping")
}

func TestICMPErrors(t *testing.T) {
	tb := newTable(t, Options{})
	d, _ := out(tb, udpOut(inst, 6000, remote, 53), 0)
	ext := d.Ext
	d, _ = out(tb, pingOut(inst, remote, 99), 0)
	pingExt := d.Ext
	flow := Key{Proto: ProtoUDP, Inside: ip(inst), InsidePort: 6000, Remote: ip(remote), RemotePort: 53}

	// A router on the path reports that the translated datagram could not be delivered.
	unreach := Packet{Proto: ProtoICMP, Src: ip("192.0.2.254"), Dst: ip(pub), ICMPType: 3, IsICMPError: true,
		Quote: Quote{Proto: ProtoUDP, Src: ip(pub), Dst: ip(remote), SrcPort: ext, DstPort: 53}}
	d, ok := in(tb, unreach, sec)
	require.True(t, ok)
	require.Equal(t, VerdictTranslated, d.Verdict)
	require.Equal(t, flow, d.Flow)
	require.Equal(t, ext, d.Ext)

	ttl := Packet{Proto: ProtoICMP, Src: ip("192.0.2.254"), Dst: ip(pub), ICMPType: 11, IsICMPError: true,
		Quote: Quote{Proto: ProtoICMP, Src: ip(pub), Dst: ip(remote), ICMPID: pingExt}}
	d, ok = in(tb, ttl, sec)
	require.True(t, ok)
	require.Equal(t, VerdictTranslated, d.Verdict)
	require.Equal(t, uint16(99), d.Flow.InsidePort)

	// Errors that quote something the gateway did not send are dropped.
	for _, q := range []Quote{
		{Proto: ProtoUDP, Src: ip(pub), Dst: ip(remote), SrcPort: ext + 1, DstPort: 53},
		{Proto: ProtoUDP, Src: ip(other), Dst: ip(remote), SrcPort: ext, DstPort: 53},
		{Proto: ProtoTCP, Src: ip(pub), Dst: ip(remote), SrcPort: ext, DstPort: 53},
		{Proto: 47, Src: ip(pub), Dst: ip(remote)},
		{},
	} {
		p := unreach
		p.Quote = q
		d, ok = in(tb, p, sec)
		require.False(t, ok)
		require.Equal(t, VerdictNoMapping, d.Verdict, "quote %+v", q)
	}

	// The instance reports that a reply could not be delivered: the quote is the reply as it
	// arrived, from the remote to the instance.
	portUnreach := Packet{Proto: ProtoICMP, Src: ip(inst), Dst: ip(remote), ICMPType: 3, ICMPID: 0, IsICMPError: true,
		Quote: Quote{Proto: ProtoUDP, Src: ip(remote), Dst: ip(inst), SrcPort: 53, DstPort: 6000}}
	d, ok = out(tb, portUnreach, sec)
	require.True(t, ok)
	require.Equal(t, VerdictTranslated, d.Verdict)
	require.Equal(t, flow, d.Flow)
	require.Equal(t, ext, d.Ext)
	for _, q := range []Quote{
		{Proto: ProtoUDP, Src: ip(remote), Dst: ip(inst), SrcPort: 53, DstPort: 6001},
		{Proto: ProtoUDP, Src: ip("2001:db8::1"), Dst: ip(inst), SrcPort: 53, DstPort: 6000},
		{Proto: 47, Src: ip(remote), Dst: ip(inst)},
	} {
		p := portUnreach
		p.Quote = q
		d, ok = out(tb, p, sec)
		require.False(t, ok)
		require.Equal(t, VerdictNoMapping, d.Verdict, "quote %+v", q)
	}
	p := portUnreach
	p.Quote.DstPort = 6001
	d, ok = out(tb, p, sec)
	require.False(t, ok)
	require.Equal(t, VerdictNoMapping, d.Verdict)

	// Errors do not keep a mapping alive.
	d, _ = in(tb, unreach, 350*sec-1)
	require.Equal(t, VerdictTranslated, d.Verdict)
	d, _ = in(tb, unreach, 350*sec)
	require.Equal(t, VerdictNoMapping, d.Verdict)
	d, _ = out(tb, portUnreach, 350*sec)
	require.Equal(t, VerdictNoMapping, d.Verdict)
}

func TestUnsupported(t *testing.T) {
	tb := newTable(t, Options{})
	for _, p := range []Packet{
		{Proto: 47, Src: ip(inst), Dst: ip(remote)},
		{Proto: ProtoICMPv6, Src: ip(inst), Dst: ip(remote), ICMPType: 128},
		udpOut("2001:db8::1", 1, "2001:db8::2", 2),
		{Proto: ProtoUDP, Src: ip(inst), SrcPort: 1, DstPort: 2},
	} {
		d, ok := out(tb, p, 0)
		require.False(t, ok)
		require.Equal(t, VerdictUnsupported, d.Verdict, "%+v", p)
	}
	require.Equal(t, 0, tb.Len())
}

func TestIPv6Table(t *testing.T) {
	tb := newTable(t, Options{PublicAddr: ip("2001:db8:1::5")})
	d, ok := out(tb, udpOut("2001:db8:2::10", 5000, "2001:db8:ff::1", 53), 0)
	require.True(t, ok)
	require.Equal(t, VerdictNewMapping, d.Verdict)
	d, ok = in(tb, Packet{Proto: ProtoUDP, Src: ip("2001:db8:ff::1"), Dst: ip("2001:db8:1::5"), SrcPort: 53, DstPort: d.Ext}, sec)
	require.True(t, ok)
	require.Equal(t, ip("2001:db8:2::10"), d.Flow.Inside)
	d, ok = out(tb, Packet{Proto: ProtoICMPv6, Src: ip("2001:db8:2::10"), Dst: ip("2001:db8:ff::1"), ICMPType: 128, ICMPID: 3}, 0)
	require.True(t, ok)
	require.Equal(t, VerdictNewMapping, d.Verdict)
	d, ok = in(tb, Packet{Proto: ProtoICMPv6, Src: ip("2001:db8:ff::1"), Dst: ip("2001:db8:1::5"), ICMPType: 129, ICMPID: d.Ext}, 0)
	require.True(t, ok)
	require.Equal(t, VerdictTranslated, d.Verdict)
	require.Equal(t, uint16(3), d.Flow.InsidePort)
	d, _ = in(tb, Packet{Proto: ProtoICMP, Src: ip("2001:db8:ff::1"), Dst: ip("2001:db8:1::5"), ICMPType: 0, ICMPID: d.Ext}, 0)
	require.Equal(t, VerdictUnsupported, d.Verdict, "ICMPv4 in IPv6")
	d, _ = out(tb, udpOut(inst, 1, remote, 2), 0)
	require.Equal(t, VerdictUnsupported, d.Verdict)
	checkTable(t, tb, sec)
}

// A port chosen by an evaluation may be taken by another before the update is applied: the
// later Apply fails and the engine drops the packet.
func TestApplyRace(t *testing.T) {
	tb := newTable(t, Options{PortMin: 4000, PortMax: 4000})
	a := tcpOut(inst, 1, remote, 443, TCPSyn)
	b := tcpOut(inst2, 2, remote, 443, TCPSyn)
	da, db := tb.Outbound(&a, 0), tb.Outbound(&b, 0)
	require.Equal(t, VerdictNewMapping, da.Verdict)
	require.Equal(t, VerdictNewMapping, db.Verdict)
	require.Equal(t, da.Ext, db.Ext)
	require.True(t, tb.Apply(&da.Update, 0))
	require.False(t, tb.Apply(&db.Update, 0))
	require.Equal(t, uint64(1), tb.Metrics().PacketsDropCount)

	// The same flow evaluated twice (a retransmitted SYN on another goroutine) maps once.
	tb = newTable(t, Options{})
	d1, d2 := tb.Outbound(&a, 0), tb.Outbound(&a, 0)
	require.True(t, tb.Apply(&d1.Update, 0))
	require.True(t, tb.Apply(&d2.Update, 0))
	require.Equal(t, 1, tb.Len())
	require.Equal(t, uint64(1), tb.Metrics().ConnectionAttemptCount)

	// Two evaluations of one flow chose different ports (another flow took the first port
	// in between): the flow keeps the port it got first, the other packet is dropped.
	tb = newTable(t, Options{PortMin: 4000, PortMax: 4001})
	dA1 := tb.Outbound(&a, 0)
	var b2 Packet
	for i := range 100 { // a flow whose probe starts at the same port
		b2 = tcpOut(inst2, uint16(100+i), remote, 443, TCPSyn)
		if d := tb.Outbound(&b2, 0); d.Ext == dA1.Ext {
			require.True(t, tb.Apply(&d.Update, 0))
			break
		}
	}
	dA2 := tb.Outbound(&a, 0)
	require.NotEqual(t, dA1.Ext, dA2.Ext)
	require.True(t, tb.Apply(&dA2.Update, 0))
	require.False(t, tb.Apply(&dA1.Update, 0))
	checkTable(t, tb, 0)

	// A mapping reaped between evaluation and apply (by another goroutine whose clock is a
	// little ahead) no longer owns its port: the packet is dropped. One that expired but is
	// still in the table is revived.
	tb = newTable(t, Options{IdleTimeout: 100 * time.Second, PortMin: 5000, PortMax: 5001})
	out(tb, udpOut(inst, 1, remote, 53), 0)
	out(tb, udpOut(inst, 2, remote, 53), 0)
	p1, p2 := udpOut(inst, 1, remote, 53), udpOut(inst, 2, remote, 53)
	d1, d2 = tb.Outbound(&p1, 99*sec), tb.Outbound(&p2, 99*sec)
	require.Equal(t, VerdictTranslated, d1.Verdict)
	require.True(t, tb.Apply(&d1.Update, 100*sec))
	require.Equal(t, 1, tb.Reap(100*sec, 1<<20), "only the second expired")
	// Another flow takes the freed port and slab slot.
	d3, ok := out(tb, udpOut(inst, 3, remote, 53), 99*sec)
	require.True(t, ok)
	require.Equal(t, d2.Ext, d3.Ext)
	require.False(t, tb.Apply(&d2.Update, 99*sec))
	checkTable(t, tb, 99*sec)
	d1 = tb.Outbound(&p1, 199*sec)
	require.Equal(t, VerdictTranslated, d1.Verdict)
	// Applied well after the deadline, the expired mapping is removed first.
	require.False(t, tb.Apply(&d1.Update, 500*sec))
	require.Equal(t, 0, tb.Len())

	// The destination filled up in the meantime.
	tb = newTable(t, Options{MaxPerDest: 1})
	d1, d2 = tb.Outbound(&a, 0), tb.Outbound(&b, 0)
	require.NotEqual(t, d1.Ext, d2.Ext)
	require.True(t, tb.Apply(&d1.Update, 0))
	require.False(t, tb.Apply(&d2.Update, 0))
	require.Equal(t, uint64(1), tb.Metrics().ErrorPortAllocation)
	checkTable(t, tb, 0)
}

func TestApplyFromAnotherTable(t *testing.T) {
	scratch := newTable(t, Options{Seed: 1})
	tb := newTable(t, Options{Seed: 2})
	p := udpOut(inst, 5000, remote, 53)
	d := scratch.Outbound(&p, 0)
	require.True(t, tb.Apply(&d.Update, 0))
	d2, _ := out(tb, p, sec)
	require.Equal(t, VerdictTranslated, d2.Verdict)
	require.Equal(t, d.Ext, d2.Ext)
	checkTable(t, tb, sec)
}

func TestPortChoiceIsDeterministic(t *testing.T) {
	ports := func(seed uint64) []uint16 {
		tb := newTable(t, Options{Seed: seed})
		var ps []uint16
		for i := range 20 {
			d, _ := out(tb, tcpOut(inst, uint16(30000+i), remote, 443, TCPSyn), 0)
			ps = append(ps, d.Ext)
		}
		return ps
	}
	require.Equal(t, ports(0), ports(0))
	require.Equal(t, ports(7), ports(7))
	require.NotEqual(t, ports(7), ports(8))
}

func TestReapBudget(t *testing.T) {
	tb := newTable(t, Options{IdleTimeout: 10 * time.Second})
	for i := range 200 {
		out(tb, udpOut(inst, uint16(1000+i), netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}).String(), 53), 0)
	}
	// Inserts reap a few entries on their own, but nothing had expired then.
	require.Equal(t, 200, tb.Len())
	n := tb.Reap(10*sec, 2)
	require.LessOrEqual(t, n, 2*2*numShards)
	require.Positive(t, n)
	require.Equal(t, 200-n, tb.Len())
	require.Equal(t, 200-n, tb.Reap(10*sec, 1<<20))
	require.Equal(t, 0, tb.Len())
	checkTable(t, tb, 10*sec)
	// The free slots are reused.
	out(tb, udpOut(inst, 1, remote, 53), 11*sec)
	checkTable(t, tb, 11*sec)
}

func TestVerdictString(t *testing.T) {
	for v := range numVerdicts {
		require.NotEmpty(t, v.String())
		require.NotContains(t, v.String(), "verdict(")
	}
	require.Equal(t, "verdict(200)", Verdict(200).String())
	require.Equal(t, "new-mapping", VerdictNewMapping.String())
	require.True(t, strings.HasPrefix(op(9).String(), "op("))
	require.Equal(t, "create", Update{op: opCreate}.String())
}

// A table of thousands of mappings with staggered deadlines stays consistent through partial
// reaps, new mappings that replace expired ones, and closes: the indexes grow, wrap around and
// shift back.
func TestLargeTableConsistency(t *testing.T) {
	tb := newTable(t, Options{PortMin: 1024, PortMax: 1279, IdleTimeout: 1000 * time.Second})
	r := uint64(1)
	next := func(n int) int {
		r = r*6364136223846793005 + 1442695040888963407
		return int(r>>33) % n
	}
	now := int64(0)
	for round := range 20 {
		for range 500 {
			now += sec / 4
			p := Packet{Proto: ProtoTCP, TCPFlags: TCPSyn, Src: netip.AddrFrom4([4]byte{10, 0, byte(next(4)), byte(next(256))}),
				SrcPort: uint16(next(1 << 16)), Dst: netip.AddrFrom4([4]byte{203, 0, 113, byte(next(5))}), DstPort: 443}
			if d, ok := out(tb, p, now); ok && next(3) == 0 {
				p.TCPFlags = TCPRst
				out(tb, p, now)
			} else if !ok {
				require.Equal(t, VerdictErrorPortAllocation, d.Verdict)
			}
		}
		tb.Reap(now, next(300))
		checkTable(t, tb, now)
		if round == 10 {
			now += 900 * sec
		}
	}
	require.Greater(t, tb.Metrics().ErrorPortAllocation, uint64(0), "five destinations of 256 ports should fill up")
	tb.Reap(now+1000*sec, 1<<30)
	checkTable(t, tb, now+1000*sec)
	require.Equal(t, 0, tb.Len())
	require.Equal(t, int64(0), tb.Metrics().ActiveConnectionCount)
}
