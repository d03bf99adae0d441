package lab

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/scenarios"
)

// TestInternetGatewayOneToOneNAT: an internet host reaches the web server by its public IP and
// the server sees the host's real address on its private one; the server's own connection to the
// internet arrives from its public IP. Neither side ever sees the other's translation.
func TestInternetGatewayOneToOneNAT(t *testing.T) {
	src, err := os.ReadFile("../scenarios/suites/internet-gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := upLab(t, "igw", string(src))
	web, _ := l.ResolveTarget("web")
	pub, err := l.ResolveTarget("web@public")
	if err != nil || !scenarios.InDocumentationRange(pub) {
		t.Fatalf("web's public address %v: %v", pub, err)
	}
	inet := hypervisor.NSPath(l.Plan.Lab, scenarios.InternetName)
	accept := func(ns, addr string) (chan [2]string, net.Listener) {
		var ln net.Listener
		if err := hypervisor.RunIn(ns, func() error {
			var err error
			ln, err = net.Listen("tcp4", addr)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ch := make(chan [2]string, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				close(ch)
				return
			}
			ch <- [2]string{c.RemoteAddr().(*net.TCPAddr).IP.String(), c.LocalAddr().(*net.TCPAddr).IP.String()}
			c.Close()
		}()
		return ch, ln
	}
	dial := func(ns, from, to string) error {
		return hypervisor.RunIn(ns, func() error {
			d := net.Dialer{Timeout: 2 * time.Second}
			if from != "" {
				d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
			}
			c, err := d.Dial("tcp4", to)
			if err == nil {
				c.Close()
			}
			return err
		})
	}
	ch, ln := accept(hypervisor.NSPath(l.Plan.Lab, "web"), ":80")
	defer ln.Close()
	if err := dial(inet, "203.0.113.10", net.JoinHostPort(pub.String(), "80")); err != nil {
		t.Fatalf("internet -> web@public: %v", err)
	}
	got := <-ch
	if got[0] != "203.0.113.10" || got[1] != web.String() {
		t.Errorf("the web server saw %s -> %s, want 203.0.113.10 -> %s (its private IP)", got[0], got[1], web)
	}
	ch2, ln2 := accept(inet, "198.51.100.20:443")
	defer ln2.Close()
	if err := dial(hypervisor.NSPath(l.Plan.Lab, "web"), "", "198.51.100.20:443"); err != nil {
		t.Fatalf("web -> internet: %v", err)
	}
	got = <-ch2
	if got[0] != pub.String() {
		t.Errorf("the internet saw the web server as %s, want its public IP %s", got[0], pub)
	}
	// Path MTU discovery through the gateway (MTU 1500): blocked unless the sender's groups admit
	// ICMP "fragmentation needed" inbound, as AWS documents.
	pmtu := func() bool {
		hypervisor.Command(l.Plan.Lab, "web", "ping", "-M", "do", "-s", "3000", "-c1", "-W1", "198.51.100.20").Run()
		out, _ := hypervisor.Command(l.Plan.Lab, "web", "ip", "route", "get", "198.51.100.20").CombinedOutput()
		return strings.Contains(string(out), "mtu 1500")
	}
	if pmtu() {
		t.Error("the path MTU was learned without an inbound ICMP rule")
	}
	if err := l.Authorize("web", "ingress", "icmp:3/4:0.0.0.0/0"); err != nil {
		t.Fatal(err)
	}
	if !pmtu() {
		t.Error("with an inbound ICMP 3/4 rule the sender did not learn the gateway's MTU of 1500")
	}
	// An ICMP error crosses the gateway with its quote translated too: the internet host's UDP
	// socket learns "connection refused" from web's port unreachable, which it can only match to
	// its socket if the quoted packet names web's public address.
	if err := l.Authorize("web", "ingress", "udp:9999:0.0.0.0/0"); err != nil {
		t.Fatal(err)
	}
	var refused bool
	hypervisor.RunIn(inet, func() error {
		c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP("203.0.113.10")}, &net.UDPAddr{IP: pub.AsSlice(), Port: 9999})
		if err != nil {
			return err
		}
		defer c.Close()
		for i := 0; i < 3 && !refused; i++ {
			c.Write([]byte("x"))
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			_, err := c.Read(make([]byte, 10))
			refused = err != nil && strings.Contains(err.Error(), "refused")
		}
		return nil
	})
	if !refused {
		t.Error("the port unreachable from web did not reach the internet host's socket")
	}
	// A large transfer checks that checksums stay right through the translation for TSO frames.
	if err := bulkTCPTo(l, "web", inet, "198.51.100.20", 4*1024*1024); err != nil {
		t.Error(err)
	}
}

// bulkTCPTo sends n bytes from an instance to a listener in namespace ns at addr.
func bulkTCPTo(l *Lab, from, ns, addr string, n int) error {
	var ln net.Listener
	if err := hypervisor.RunIn(ns, func() error {
		var err error
		ln, err = net.Listen("tcp4", net.JoinHostPort(addr, "9001"))
		return err
	}); err != nil {
		return err
	}
	defer ln.Close()
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		var total int64
		buf := make([]byte, 1<<16)
		for {
			k, err := c.Read(buf)
			total += int64(k)
			if err != nil {
				break
			}
		}
		got <- total
	}()
	if err := hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, from), func() error {
		c, err := net.DialTimeout("tcp4", net.JoinHostPort(addr, "9001"), 3*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		_, err = c.Write(make([]byte, n))
		return err
	}); err != nil {
		return err
	}
	if total := <-got; total != int64(n) {
		return &net.OpError{Op: "bulk", Err: os.ErrDeadlineExceeded}
	}
	return nil
}
