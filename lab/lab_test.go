package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/probe"
	"github.com/ec2sim/ec2sim/scenarios"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and TAP devices")
	}
	if testing.Short() {
		t.Skip("root namespace test skipped in -short mode")
	}
}

// uniqueName gives a lab name no other test (or parallel run) uses.
func uniqueName(prefix string) string {
	b := make([]byte, 3)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// upLab brings up a lab from YAML text and tears it down when the test ends, checking that nothing
// is left on the machine.
func upLab(t *testing.T, prefix, yaml string) *Lab {
	t.Helper()
	needRoot(t)
	name := uniqueName(prefix)
	sc, err := scenarios.Parse(t.Name()+".yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(sc, name)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Up(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Down(); err != nil {
			t.Errorf("down: %v", err)
		}
		if left, _ := hypervisor.ListLabObjects(name); len(left) > 0 {
			t.Errorf("left behind after down: %v", left)
		}
	})
	return l
}

const twoSubnets = `
name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
      b: {cidr: 10.0.2.0/24}
instances:
  web: {subnet: main/a, ip: 10.0.1.10}
  app: {subnet: main/a, ip: 10.0.1.11}
  db:  {subnet: main/b, ip: 10.0.2.10}
`

func probeOK(t *testing.T, l *Lab, from, to, proto string, port int) probe.Result {
	t.Helper()
	dst, err := l.ResolveTarget(to)
	if err != nil {
		t.Fatal(err)
	}
	toInst, _, _ := strings.Cut(to, ".")
	s := probe.Spec{FromNS: hypervisor.NSPath(l.Plan.Lab, from), Dst: dst, Proto: proto, Port: port, Timeout: 1500 * time.Millisecond}
	if proto != "icmp" && l.Plan.Instance(toInst) != nil {
		s.ToNS = hypervisor.NSPath(l.Plan.Lab, toInst)
	}
	r, err := probe.Run(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestPingAndTCPWithinAndAcrossSubnets(t *testing.T) {
	l := upLab(t, "conn", twoSubnets)
	for _, c := range []struct{ from, to, proto string }{
		{"web", "app", "icmp"}, {"web", "app", "tcp"}, {"web", "app", "udp"},
		{"web", "db", "icmp"}, {"web", "db", "tcp"}, {"db", "web", "udp"},
	} {
		if r := probeOK(t, l, c.from, c.to, c.proto, 5432); !r.Completed {
			t.Errorf("%s -> %s %s: %s", c.from, c.to, c.proto, r.Detail)
		}
	}
	// No TTL decrement inside the VPC: the reply to a ping across subnets still has TTL 64.
	out, err := hypervisor.Command(l.Plan.Lab, "web", "ping", "-c1", "-W2", "10.0.2.10").CombinedOutput()
	if err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ttl=64") {
		t.Errorf("TTL was decremented across subnets:\n%s", out)
	}
	// An address nobody holds gets nothing back.
	if r := probeOK(t, l, "web", "10.0.2.99", "icmp", 0); r.Completed {
		t.Error("ping to an unassigned address was answered")
	}
	// GSO super-frames pass intact: an 8 MiB transfer over TCP exercises TSO through the engine.
	if err := bulkTCP(l, "web", "db", 8*1024*1024); err != nil {
		t.Error(err)
	}
}

// bulkTCP sends n bytes from one instance to another over TCP and checks they all arrive.
func bulkTCP(l *Lab, from, to string, n int) error {
	dst, err := l.ResolveTarget(to)
	if err != nil {
		return err
	}
	return bulkTCPTo(l, from, hypervisor.NSPath(l.Plan.Lab, to), dst.String(), n)
}

// sendRaw writes one Ethernet frame out of an instance's eth0 with an AF_PACKET socket, as a
// compromised instance with root would.
func sendRaw(t *testing.T, l *Lab, inst string, frame []byte) {
	t.Helper()
	err := hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, inst), func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Sendto(fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func udpFrame(t *testing.T, srcMAC, dstMAC mac.HW, src, dst string, port int, payload string) []byte {
	eth := &layers.Ethernet{SrcMAC: srcMAC[:], DstMAC: dstMAC[:], EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	udp := &layers.UDP{SrcPort: 40000, DstPort: layers.UDPPort(port)}
	udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listenUDP opens a UDP socket inside inst and returns a channel of the payloads it receives.
func listenUDP(t *testing.T, l *Lab, inst string, port int) <-chan string {
	t.Helper()
	var pc net.PacketConn
	if err := hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, inst), func() error {
		var err error
		pc, err = net.ListenPacket("udp4", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	ch := make(chan string, 16)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				close(ch)
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return ch
}

func received(ch <-chan string, want string, d time.Duration) bool {
	deadline := time.After(d)
	for {
		select {
		case s, ok := <-ch:
			if !ok {
				return false
			}
			if s == want {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// spoofLab admits the VPC by CIDR on db: with web's check off, its packets from another
// address are forwarded traffic, which a group reference would not admit (the middlebox caveat).
var spoofLab = strings.Replace(twoSubnets, "instances:", `    security_groups:
      lab:
        ingress:
          - {proto: all, cidr: 10.0.0.0/16}
instances:`, 1) + "\n"

func TestSpoofedSourceIPAndMACNeverArrive(t *testing.T) {
	l := upLab(t, "spoof", strings.Replace(spoofLab, "db:  {subnet: main/b, ip: 10.0.2.10}", "db:  {subnet: main/b, ip: 10.0.2.10, security_groups: [lab]}", 1))
	st := l.Engine.State()
	web := st.ENIs[l.Plan.Instance("web").ENIs[0]].Identity.MAC
	app := st.ENIs[l.Plan.Instance("app").ENIs[0]].Identity.MAC
	router := st.VPCs[0].RouterMAC
	got := listenUDP(t, l, "db", 7000)

	// The control: a well-formed raw frame from web does arrive, so the test can fail.
	sendRaw(t, l, "web", udpFrame(t, web, router, "10.0.1.10", "10.0.2.10", 7000, "honest"))
	if !received(got, "honest", 2*time.Second) {
		t.Fatal("an honest raw frame did not arrive: the spoofing checks below prove nothing")
	}
	sendRaw(t, l, "web", udpFrame(t, web, router, "10.0.1.11", "10.0.2.10", 7000, "spoofed-ip"))
	sendRaw(t, l, "web", udpFrame(t, app, router, "10.0.1.10", "10.0.2.10", 7000, "spoofed-mac"))
	sendRaw(t, l, "web", udpFrame(t, app, router, "10.0.1.11", "10.0.2.10", 7000, "spoofed-both"))
	if received(got, "spoofed-ip", 500*time.Millisecond) {
		t.Error("a frame with a spoofed source IP arrived")
	}
	if received(got, "spoofed-mac", 300*time.Millisecond) {
		t.Error("a frame with a spoofed source MAC arrived")
	}
	c := l.Engine.Counters(l.Plan.Instance("web").ENIs[0])
	if c.Drops[fabric.ReasonBadSourceIP].Load() == 0 || c.Drops[fabric.ReasonBadSourceMAC].Load() < 2 {
		t.Errorf("drop counters: ip=%d mac=%d", c.Drops[fabric.ReasonBadSourceIP].Load(), c.Drops[fabric.ReasonBadSourceMAC].Load())
	}
	// Turning the check off lets the spoofed IP through, never the spoofed MAC.
	if err := l.SetSourceDestCheck("web", false); err != nil {
		t.Fatal(err)
	}
	sendRaw(t, l, "web", udpFrame(t, web, router, "10.0.1.11", "10.0.2.10", 7000, "spoofed-ip-2"))
	if !received(got, "spoofed-ip-2", 2*time.Second) {
		t.Error("with the check off, a packet from another source IP did not arrive")
	}
	sendRaw(t, l, "web", udpFrame(t, app, router, "10.0.1.10", "10.0.2.10", 7000, "spoofed-mac-2"))
	if received(got, "spoofed-mac-2", 500*time.Millisecond) {
		t.Error("with the check off, a spoofed source MAC arrived")
	}
}

const routerLab = `
name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
      b: {cidr: 10.0.2.0/24}
    security_groups:
      lab:
        ingress:
          - {proto: all, cidr: 10.0.0.0/16}
instances:
  client:
    subnet: main/a
    ip: 10.0.1.10
    security_groups: [lab]
    user_data: ip route add 10.0.2.0/24 via 10.0.1.5
  server:
    subnet: main/b
    ip: 10.0.2.10
    security_groups: [lab]
    user_data: ip route add 10.0.1.0/24 via 10.0.2.5
  router:
    enis:
      - {subnet: main/a, ip: 10.0.1.5, security_groups: [lab]}
      - {subnet: main/b, ip: 10.0.2.5, security_groups: [lab]}
    user_data: sysctl -qw net.ipv4.ip_forward=1
`

func TestRouterInstanceNeedsSourceDestCheckOff(t *testing.T) {
	l := upLab(t, "rtr", routerLab)
	// With the check on (the default), the router's ENIs refuse traffic that is not theirs.
	if r := probeOK(t, l, "client", "server", "tcp", 8080); r.Completed {
		t.Fatal("traffic through a router instance with the check on was delivered")
	}
	for _, e := range []string{"router", "router.eth1"} {
		if err := l.SetSourceDestCheck(e, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, proto := range []string{"tcp", "icmp", "udp"} {
		if r := probeOK(t, l, "client", "server", proto, 8080); !r.Completed {
			t.Errorf("%s through the router with the check off: %s", proto, r.Detail)
		}
	}
	// The router really carried it: its ENIs received frames for others.
	if n := l.Engine.Counters(l.Plan.Instance("router").ENIs[1]).RxPackets.Load(); n == 0 {
		t.Error("router.eth1 forwarded nothing")
	}
	// Back on, on one ENI only: dropped again.
	if err := l.SetSourceDestCheck("router.eth1", true); err != nil {
		t.Fatal(err)
	}
	if r := probeOK(t, l, "client", "server", "tcp", 8080); r.Completed {
		t.Error("delivered after the check was turned back on for router.eth1")
	}
}

func TestTwoLabsAreIsolated(t *testing.T) {
	// Both labs use the same addresses; each instance must reach its own neighbour only.
	a := upLab(t, "isoa", twoSubnets)
	b := upLab(t, "isob", twoSubnets)
	got := listenUDP(t, b, "db", 7001)
	if r := probeOK(t, a, "web", "db", "udp", 7002); !r.Completed {
		t.Fatalf("lab a's own traffic failed: %s", r.Detail)
	}
	stA := a.Engine.State()
	web := stA.ENIs[a.Plan.Instance("web").ENIs[0]].Identity.MAC
	sendRaw(t, a, "web", udpFrame(t, web, stA.VPCs[0].RouterMAC, "10.0.1.10", "10.0.2.10", 7001, "cross-lab"))
	if received(got, "cross-lab", time.Second) {
		t.Error("a packet from lab a arrived in lab b")
	}
	if a.Engine.State().VPCs[0].RouterMAC == b.Engine.State().VPCs[0].RouterMAC {
		t.Error("two labs share a router MAC")
	}
}

func TestBadScenarioOrFailedBringUpLeavesNothing(t *testing.T) {
	needRoot(t)
	name := uniqueName("fail")
	sc, err := scenarios.Parse("fail.yaml", []byte(`
name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
instances:
  ok1: {subnet: main/a}
  ok2: {subnet: main/a}
  bad: {subnet: main/a, user_data: "echo failing on purpose; exit 3"}
`))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(sc, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Up(context.Background(), plan); err == nil || !strings.Contains(err.Error(), "failing on purpose") {
		t.Fatalf("Up with failing user data: err = %v", err)
	}
	if left, _ := hypervisor.ListLabObjects(name); len(left) > 0 {
		t.Errorf("a failed bring-up left: %v", left)
	}
}
