package lab

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/mac"
)

// heldConn is a TCP connection from one instance to an echo server in another, kept open so a
// test can check whether it still works after a rule change.
type heldConn struct {
	c  net.Conn
	ln net.Listener
}

// hold starts an echo server on port in to and connects to it from from.
func hold(t *testing.T, l *Lab, from, to string, port int) (*heldConn, error) {
	t.Helper()
	dst, err := l.ResolveTarget(to)
	if err != nil {
		t.Fatal(err)
	}
	h := &heldConn{}
	if err := hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, to), func() error {
		var err error
		h.ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.ln.Close() })
	go func() {
		for {
			c, err := h.ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	err = hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, from), func() error {
		var err error
		h.c, err = net.DialTimeout("tcp4", net.JoinHostPort(dst.String(), fmt.Sprint(port)), time.Second)
		return err
	})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { h.c.Close() })
	return h, nil
}

var echoSeq atomic.Int64

// echo sends a token over the held connection and reports whether it came back in time.
func (h *heldConn) echo() bool {
	tok := []byte(fmt.Sprintf("tok-%08d", echoSeq.Add(1)))
	h.c.SetDeadline(time.Now().Add(time.Second))
	if _, err := h.c.Write(tok); err != nil {
		return false
	}
	got := make([]byte, len(tok))
	_, err := io.ReadFull(h.c, got)
	return err == nil && string(got) == string(tok)
}

// The documented example of aws-semantics.md §1.2: 22 from one address (tracked), 80 from
// anywhere with all outbound open (untracked), ICMP from anywhere (always tracked). The client's
// private /32 stands in for the documentation's 203.0.113.1/32.
const trackingLab = `
name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
    security_groups:
      server:
        ingress:
          - {proto: tcp, ports: 22, cidr: 10.0.1.10/32}
          - {proto: tcp, ports: 80, cidr: 0.0.0.0/0}
          - {proto: icmp, icmp_type: -1, cidr: 0.0.0.0/0}
      client:
        ingress: []
instances:
  client: {subnet: main/a, ip: 10.0.1.10, security_groups: [client]}
  server: {subnet: main/a, ip: 10.0.1.20, security_groups: [server]}
`

func TestRevokeKeepsTrackedCutsUntracked(t *testing.T) {
	l := upLab(t, "track", trackingLab)
	ssh, err := hold(t, l, "client", "server", 22)
	if err != nil {
		t.Fatalf("ssh connect: %v", err)
	}
	web, err := hold(t, l, "client", "server", 80)
	if err != nil {
		t.Fatalf("http connect: %v", err)
	}
	if !ssh.echo() || !web.echo() {
		t.Fatal("held connections do not work before the revoke")
	}
	server := l.Plan.Instance("server").ENIs[0]
	if n := l.Engine.Conntrack(server).Len(); n != 1 {
		t.Errorf("server conntrack has %d entries, want 1 (ssh tracked, http untracked)", n)
	}
	if err := l.Revoke("server", "ingress", "tcp:22:10.0.1.10/32"); err != nil {
		t.Fatal(err)
	}
	if err := l.Revoke("server", "ingress", "tcp:80:0.0.0.0/0"); err != nil {
		t.Fatal(err)
	}
	if !ssh.echo() {
		t.Error("the tracked SSH session was cut by the revoke")
	}
	if web.echo() {
		t.Error("the untracked HTTP session survived the revoke")
	}
	if dialOK(t, l, "client", "10.0.1.20:22") {
		t.Error("a new SSH session was accepted after the revoke")
	}
	// ICMP is always tracked, and still allowed by its rule.
	if r := probeOK(t, l, "client", "server", "icmp", 0); !r.Completed {
		t.Errorf("ping: %s", r.Detail)
	}
	if d := l.Engine.Counters(server).Drops[fabric.ReasonSGIngress].Load(); d == 0 {
		t.Error("no security-group-ingress drops counted on the server")
	}
	// Nothing was answered: AWS drops silently, so the client saw no RST (it timed out).
	if err := l.Revoke("server", "ingress", "tcp:22:10.0.1.10/32"); err == nil {
		t.Error("revoking a rule that is not there succeeded")
	}
}

func TestRemovingOutboundAllMakesEverythingTracked(t *testing.T) {
	l := upLab(t, "allt", trackingLab)
	if err := l.Revoke("server", "egress", "all::0.0.0.0/0"); err != nil {
		t.Fatal(err)
	}
	// Port 80 is now tracked: the reply leaves by the conntrack entry, not by a rule.
	web, err := hold(t, l, "client", "server", 80)
	if err != nil {
		t.Fatalf("http with no outbound rules: %v", err)
	}
	if !web.echo() {
		t.Fatal("replies of a tracked flow did not pass with no outbound rule")
	}
	if n := l.Engine.Conntrack(l.Plan.Instance("server").ENIs[0]).Len(); n != 1 {
		t.Errorf("server conntrack has %d entries, want 1", n)
	}
	if err := l.Revoke("server", "ingress", "tcp:80:0.0.0.0/0"); err != nil {
		t.Fatal(err)
	}
	if !web.echo() {
		t.Error("a tracked HTTP session was cut by the revoke")
	}
}

func TestForgedSynAckAndBareAckDropped(t *testing.T) {
	l := upLab(t, "forge", trackingLab)
	st := l.Engine.State()
	client := st.ENIs[l.Plan.Instance("client").ENIs[0]]
	server := l.Plan.Instance("server").ENIs[0]
	// From the client (with root), SYN-ACK and bare ACK segments to an ephemeral port of the
	// server, as if answering a connection the server never opened.
	before := l.Engine.Counters(server).Drops[fabric.ReasonSGIngress].Load()
	for _, flags := range []string{"SA", "A"} {
		sendRaw(t, l, "client", tcpFrame(t, client.Identity.MAC, client.Identity.MAC, st.VPCs[0].RouterMAC, "10.0.1.10", "10.0.1.20", 443, 45678, flags))
	}
	time.Sleep(200 * time.Millisecond)
	if got := l.Engine.Counters(server).Drops[fabric.ReasonSGIngress].Load() - before; got != 2 {
		t.Errorf("forged segments dropped at the server's group: %d, want 2", got)
	}
	if n := l.Engine.Counters(server).TxPackets.Load(); n != 0 {
		t.Errorf("%d frames were delivered to the server", n)
	}
}

// tcpFrame builds a TCP segment with the given flags; dstMAC is the router's (the segment is
// sent via the router, to an address in the same subnet, which the router forwards).
func tcpFrame(t *testing.T, srcMAC, _, dstMAC mac.HW, src, dst string, sport, dport int, flags string) []byte {
	eth := &layers.Ethernet{SrcMAC: srcMAC[:], DstMAC: dstMAC[:], EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1000, Ack: 2000, Window: 1000}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		}
	}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const udpLab = `
name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
    security_groups:
      client:
        ingress: []
      server:
        ingress:
          - {proto: udp, ports: 5353, cidr: 10.0.1.10/32}
        egress: []
instances:
  client: {subnet: main/a, ip: 10.0.1.10, security_groups: [client]}
  server: {subnet: main/a, ip: 10.0.1.20, security_groups: [server]}
`

// TestUDPReplyRefusedAfterIdleTimeout drives the engine's clock by hand: a UDP reply passes
// within the 30 s idle timeout and is refused after it.
func TestUDPReplyRefusedAfterIdleTimeout(t *testing.T) {
	l := upLab(t, "udpto", udpLab)
	// The server has no outbound rules: only conntrack lets its answer out.
	u := newUDPPair(t, l, 6003)
	exchange := u.exchange
	now, server, cl := u.now, u.srv, u.cl
	late := func(after time.Duration) bool {
		now.Add(int64(after))
		server.WriteTo([]byte("late"), cl.LocalAddr())
		cl.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		buf := make([]byte, 100)
		n, err := cl.Read(buf)
		return err == nil && string(buf[:n]) == "late"
	}
	if !exchange("q1", 29*time.Second) {
		t.Fatal("a reply 29 s after the query was refused (UDP timeout is 30 s)")
	}
	// One request-response: the UDP timeout (30 s) applies from the last packet.
	if late(31 * time.Second) {
		t.Error("a reply after 31 s idle passed")
	}
	// Two request-response exchanges make a stream: 180 s.
	if !exchange("q2", 0) || !exchange("q3", 0) {
		t.Fatal("prompt replies were refused")
	}
	if !late(100 * time.Second) {
		t.Error("a UDP stream's reply after 100 s idle was refused (stream timeout is 180 s)")
	}
	if late(181 * time.Second) {
		t.Error("a UDP stream's reply after 181 s idle passed")
	}
	if d := l.Engine.Counters(l.Plan.Instance("server").ENIs[0]).Drops[fabric.ReasonSGEgress].Load(); d == 0 {
		t.Error("the late reply was not counted as a security-group egress drop")
	}
}

// dialOK reports whether a TCP connection from inst to addr completes within a second.
func dialOK(t *testing.T, l *Lab, inst, addr string) bool {
	t.Helper()
	ok := false
	if err := hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, inst), func() error {
		c, err := net.DialTimeout("tcp4", addr, time.Second)
		if err == nil {
			ok = true
			c.Close()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestConntrackAllowance sets a tiny allowance of tracked connections on the server: new
// tracked flows past it are dropped and counted, as Nitro's conntrack_allowance_exceeded.
func TestConntrackAllowance(t *testing.T) {
	l := upLab(t, "allow", trackingLab)
	server := l.Plan.Instance("server").ENIs[0]
	if err := l.changeSG(func(m *sgModel) error { m.cfg.ENIs[server].Allowance = 2; return nil }); err != nil {
		t.Fatal(err)
	}
	// Tracked flows: ping (ICMP is always tracked) uses one entry per echo id.
	a, err := hold(t, l, "client", "server", 22)
	if err != nil {
		t.Fatal(err)
	}
	if r := probeOK(t, l, "client", "server", "icmp", 0); !r.Completed {
		t.Fatalf("second tracked flow refused: %s", r.Detail)
	}
	if dialOK(t, l, "client", "10.0.1.20:22") {
		t.Error("a third tracked flow was accepted past an allowance of 2")
	}
	ct := l.Engine.Conntrack(server)
	if ct.AllowanceExceeded() == 0 {
		t.Error("conntrack_allowance_exceeded did not rise")
	}
	if l.Engine.Counters(server).Drops[fabric.ReasonConntrackAllowance].Load() == 0 {
		t.Error("no conntrack-allowance-exceeded drop counted")
	}
	// Untracked flows consume nothing: port 80 still works.
	if r := probeOK(t, l, "client", "server", "tcp", 80); !r.Completed {
		t.Errorf("an untracked flow was refused at the allowance: %s", r.Detail)
	}
	if !a.echo() {
		t.Error("an existing tracked flow stopped at the allowance")
	}
	st := l.Status()
	if e := st.Instances[1].ENIs[0]; e.Conntrack != 2 || e.AllowanceExceed == 0 {
		t.Errorf("status: conntrack %d, exceeded %d", e.Conntrack, e.AllowanceExceed)
	}
}

// TestConntrackSettingsFromScenario: UDP timeouts come from the lab's settings and the ENI's
// connection_tracking (45 s here, not AWS's 30 s default), the allowance from the settings.
func TestConntrackSettingsFromScenario(t *testing.T) {
	src := strings.Replace(udpLab, "  server: {subnet: main/a, ip: 10.0.1.20, security_groups: [server]}",
		"  server: {subnet: main/a, ip: 10.0.1.20, security_groups: [server], connection_tracking: {udp_timeout: 45}}", 1)
	// Both ends track the flow: the client with the lab's 60 s, the server with its own 45 s.
	src = strings.Replace(src, "name: t\n", "name: t\nsettings: {conntrack: {allowance: 7, udp_timeout: 60}}\n", 1)
	l := upLab(t, "ctset", src)
	server := l.Plan.Instance("server").ENIs[0]
	if got := l.Engine.State().SG.Allowance(server); got != 7 {
		t.Errorf("allowance %d, want 7", got)
	}
	u := newUDPPair(t, l, 6004)
	replyAfter := u.exchange
	now := u.now
	if !replyAfter("q1", 40*time.Second) {
		t.Error("a reply after 40 s was refused with 45 s and 60 s UDP timeouts")
	}
	now.Add(int64(10 * time.Minute)) // let the flow expire on both sides
	if replyAfter("q2", 50*time.Second) {
		t.Error("a reply after 50 s passed the server's 45 s UDP timeout: its connection_tracking was ignored")
	}
}

// udpPair is a UDP client in "client" talking to a server socket on 5353 in "server", with the
// engine's clock driven by hand.
type udpPair struct {
	now *atomic.Int64
	srv net.PacketConn
	cl  *net.UDPConn
	t   *testing.T
}

func newUDPPair(t *testing.T, l *Lab, clientPort int) *udpPair {
	t.Helper()
	u := &udpPair{now: &atomic.Int64{}, t: t}
	u.now.Store(int64(time.Hour))
	l.Engine.SetClock(u.now.Load)
	if err := hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, "server"), func() error {
		var err error
		u.srv, err = net.ListenPacket("udp4", ":5353")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.srv.Close() })
	if err := hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, "client"), func() error {
		var err error
		u.cl, err = net.DialUDP("udp4", &net.UDPAddr{Port: clientPort}, &net.UDPAddr{IP: net.ParseIP("10.0.1.20"), Port: 5353})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.cl.Close() })
	return u
}

// exchange sends query q, lets advance pass on the engine's clock, answers it and reports
// whether the answer came back.
func (u *udpPair) exchange(q string, advance time.Duration) bool {
	u.cl.Write([]byte(q))
	buf := make([]byte, 100)
	u.srv.SetReadDeadline(time.Now().Add(time.Second))
	n, from, err := u.srv.ReadFrom(buf)
	if err != nil || string(buf[:n]) != q {
		u.t.Fatalf("query %q did not reach the server: %v", q, err)
	}
	u.now.Add(int64(advance))
	u.srv.WriteTo([]byte("re:"+q), from)
	u.cl.SetReadDeadline(time.Now().Add(time.Second))
	n, err = u.cl.Read(buf)
	return err == nil && string(buf[:n]) == "re:"+q
}
