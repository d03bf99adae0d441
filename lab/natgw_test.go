package lab

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/scenarios"
)

// natLab is the nat-gateway suite: a private subnet behind a NAT gateway with the Elastic IP
// 203.0.113.20, whose public subnet's NACL admits the ephemeral ports and echo replies.
func natLab(t *testing.T, prefix string) *Lab {
	t.Helper()
	src, err := os.ReadFile("../scenarios/suites/nat-gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return upLab(t, prefix, string(src))
}

// listenIn listens on addr inside namespace ns.
func listenIn(t *testing.T, ns, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	if err := hypervisor.RunIn(ns, func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// dialFrom connects from namespace ns.
func dialFrom(ns, addr string) (net.Conn, error) {
	var c net.Conn
	err := hypervisor.RunIn(ns, func() error {
		var err error
		c, err = (&net.Dialer{Timeout: 2 * time.Second}).Dial("tcp4", addr)
		return err
	})
	return c, err
}

func natGWIndex(t *testing.T, l *Lab) uint32 {
	t.Helper()
	i, err := natGatewayByName(l.Engine.State(), "nat-a")
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// TestNATGatewayRootPath: the internet host sees the gateway's Elastic IP; 4 MiB cross the
// gateway and the internet gateway each way intact; nothing connects in; ICMP fragments are
// dropped while an unfragmented ping passes.
func TestNATGatewayRootPath(t *testing.T) {
	l := natLab(t, "natgw")
	inet := hypervisor.NSPath(l.Plan.Lab, scenarios.InternetName)
	app := hypervisor.NSPath(l.Plan.Lab, "app")
	ln := listenIn(t, inet, "198.51.100.20:443")
	const size = 4 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	want := sha256.Sum256(data)
	type got struct {
		peer string
		sum  [32]byte
		n    int64
		err  error
	}
	ch := make(chan got, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- got{err: err}
			return
		}
		defer c.Close()
		h := sha256.New()
		n, err := io.Copy(h, c)
		var g got
		g.peer, g.n, g.err = c.RemoteAddr().(*net.TCPAddr).IP.String(), n, err
		copy(g.sum[:], h.Sum(nil))
		// Then the same bytes back: the download direction.
		if _, err := c.Write(data); err != nil && g.err == nil {
			g.err = err
		}
		ch <- g
	}()
	c, err := dialFrom(app, "198.51.100.20:443")
	if err != nil {
		t.Fatalf("app -> api through the NAT gateway: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := c.Write(data); err != nil {
		t.Fatalf("upload: %v", err)
	}
	c.(*net.TCPConn).CloseWrite()
	back := sha256.New()
	n, err := io.Copy(back, c)
	g := <-ch
	if g.err != nil {
		t.Fatalf("the internet side: %v", g.err)
	}
	if g.peer != "203.0.113.20" {
		t.Errorf("the internet host saw the connection from %s, want the Elastic IP 203.0.113.20", g.peer)
	}
	if g.n != size || g.sum != want {
		t.Errorf("upload: %d bytes arrived (want %d), digest match %v", g.n, size, g.sum == want)
	}
	if err != nil || n != size || [32]byte(back.Sum(nil)) != want {
		t.Errorf("download: %d bytes (want %d), err %v", n, size, err)
	}

	// Nothing from outside: not to the Elastic IP on any port, not to the gateway's mapping's
	// port from another host port, not to the instance.
	listenIn(t, app, ":8080")
	for _, to := range []string{"203.0.113.20:8080", "203.0.113.20:443", "10.0.2.10:8080"} {
		if c, err := dialFrom(inet, to); err == nil {
			c.Close()
			t.Errorf("the internet connected to %s", to)
		}
	}
	m, _ := l.Engine.NATMetrics(natGWIndex(t, l))
	if m.ConnectionEstablishedCount == 0 || m.PacketsDropCount == 0 {
		t.Errorf("gateway metrics %+v: want an established connection and the refused SYNs counted", m)
	}
	// status --json and /metrics show them.
	st := l.Status()
	if len(st.NATGateways) != 1 || st.NATGateways[0].ElasticIP != "203.0.113.20" || st.NATGateways[0].ConnectionEstablishedCount != m.ConnectionEstablishedCount {
		t.Errorf("status nat_gateways %+v", st.NATGateways)
	}
	var prom strings.Builder
	if err := l.WriteMetrics(&prom); err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf(`ec2sim_natgw_connections_established_total{lab=%q,nat_gateway="nat-a",vpc="main",eni=%q} %d`, l.Plan.Lab, st.NATGateways[0].ENI, m.ConnectionEstablishedCount)
	if !strings.Contains(prom.String(), line) {
		t.Errorf("metrics lack %s:\n%s", line, prom.String())
	}

	// ICMP: a ping fits; one of 10,000 bytes leaves app in fragments, which the gateway drops.
	if out, err := hypervisor.Command(l.Plan.Lab, "app", "ping", "-c1", "-W2", "198.51.100.20").CombinedOutput(); err != nil {
		t.Errorf("ping through the NAT gateway: %v\n%s", err, out)
	}
	if out, err := hypervisor.Command(l.Plan.Lab, "app", "ping", "-c1", "-W2", "-s", "10000", "198.51.100.20").CombinedOutput(); err == nil {
		t.Errorf("a fragmented ping crossed the NAT gateway:\n%s", out)
	}
	if n := l.Engine.Counters(natGWIndex(t, l)).Drops[fabric.ReasonNATFragment].Load(); n == 0 {
		t.Error("no fragment drops counted on the gateway")
	}

	// Path MTU discovery through the NAT gateway and the internet gateway (MTU 1500): app learns
	// the MTU only once its own groups admit ICMP "fragmentation needed" inbound.
	pmtu := func() bool {
		hypervisor.Command(l.Plan.Lab, "app", "ping", "-M", "do", "-s", "3000", "-c1", "-W1", "198.51.100.20").Run()
		out, _ := hypervisor.Command(l.Plan.Lab, "app", "ip", "route", "get", "198.51.100.20").CombinedOutput()
		return strings.Contains(string(out), "mtu 1500")
	}
	if pmtu() {
		t.Error("app learned the path MTU through the NAT gateway without an inbound ICMP rule")
	}
	if err := l.Authorize("default", "ingress", "icmp:3/4:0.0.0.0/0"); err != nil {
		t.Fatal(err)
	}
	if !pmtu() {
		t.Error("with an inbound ICMP 3/4 rule app did not learn the MTU of 1500 through the NAT gateway")
	}
}

// TestNATGatewayIdleTimeoutRST: after 350 s without packets (the engine's clock moved on), the
// next segment the instance sends gets a RST from the gateway, which the instance's kernel
// takes: the connection fails with "connection reset".
func TestNATGatewayIdleTimeoutRST(t *testing.T) {
	l := natLab(t, "natidle")
	var skew atomic.Int64
	start, base := time.Now(), l.Engine.Now()
	l.Engine.SetClock(func() int64 { return base + int64(time.Since(start)) + skew.Load() })
	inet := hypervisor.NSPath(l.Plan.Lab, scenarios.InternetName)
	ln := listenIn(t, inet, "198.51.100.20:443")
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	c, err := dialFrom(hypervisor.NSPath(l.Plan.Lab, "app"), "198.51.100.20:443")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := <-accepted
	if srv == nil {
		t.Fatal("no connection accepted")
	}
	defer srv.Close()
	if _, err := c.Write([]byte("before")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	srv.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := srv.Read(buf); err != nil {
		t.Fatalf("before the timeout: %v", err)
	}
	skew.Store(int64(351 * time.Second))
	c.Write([]byte("after"))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = c.Read(buf)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after the idle timeout the instance read %v, want connection reset", err)
	}
	gw := natGWIndex(t, l)
	if n := l.Engine.Counters(gw).Drops[fabric.ReasonNATIdleTimeout].Load() + l.Engine.Counters(gw).Drops[fabric.ReasonNATNoMapping].Load(); n == 0 {
		t.Error("the refused segment was not counted on the gateway")
	}
}

// TestNATGatewayICMPError: the internet host's "port unreachable" for a datagram the gateway
// sent comes back through the internet gateway and the NAT gateway with its quote translated
// to the instance's own address and port, so the instance's connected UDP socket learns
// "connection refused" — when its security group admits ICMP 3/3; AWS relates no ICMP error
// to a connection by itself.
func TestNATGatewayICMPError(t *testing.T) {
	l := upLab(t, "naticmp", `
name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    internet_gateway: true
    subnets:
      public:  {cidr: 10.0.1.0/24, route_table: public}
      private: {cidr: 10.0.2.0/24, route_table: private}
    nat_gateways:
      nat-a: {subnet: public}
    route_tables:
      public:
        routes:
          - {destination: 0.0.0.0/0, target: igw}
      private:
        routes:
          - {destination: 0.0.0.0/0, target: nat/nat-a}
    security_groups:
      unreachable:
        ingress:
          - {proto: icmp, icmp_type: 3, icmp_code: 3, cidr: 0.0.0.0/0}
instances:
  app: {subnet: main/private, ip: 10.0.2.10, security_groups: [unreachable]}
internet:
  hosts:
    api: {ip: 198.51.100.20}
`)
	err := hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, "app"), func() error {
		c, err := net.Dial("udp4", "198.51.100.20:9")
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Write([]byte("anyone?")); err != nil {
			return err
		}
		_, err = c.Read(make([]byte, 16))
		return err
	})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("reading after a datagram to a closed port through the NAT gateway: %v, want connection refused", err)
	}
}
