package lab

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/probe"
	"github.com/ec2sim/ec2sim/scenarios"
)

// suiteLab brings up a bundled suite under a unique lab name.
func suiteLab(t *testing.T, prefix, file string) *Lab {
	t.Helper()
	needRoot(t)
	b, err := os.ReadFile("../scenarios/suites/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return upLab(t, prefix, string(b))
}

// drops is how many packets the engine dropped for reason r on ENI i.
func drops(l *Lab, i uint32, r fabric.Reason) uint64 { return l.Engine.Counters(i).Drops[r].Load() }

// A peering is not transitive: b routes c's CIDR to the a-b peering, and the engine drops the
// packets there (counted as outside-peer-vpc on b's ENI), while a reaches both peers.
func TestPeeringIsNotTransitive(t *testing.T) {
	l := suiteLab(t, "peer", "vpc-peering.yaml")
	app := l.Plan.Instance("app").ENIs[0]
	if r := probeOK(t, l, "web", "app", "tcp", 22); !r.Completed {
		t.Fatalf("a -> b over the peering: %s", r.Detail)
	}
	if r := probeOK(t, l, "web", "db", "tcp", 5432); !r.Completed {
		t.Fatalf("a -> c over the peering: %s", r.Detail)
	}
	if r := probeOK(t, l, "app", "web", "tcp", 80); !r.Completed {
		t.Fatalf("b -> a, admitted by a group reference across the peering: %s", r.Detail)
	}
	before := drops(l, app, fabric.ReasonOutsidePeerVPC)
	if r := probeOK(t, l, "app", "db", "tcp", 5432); r.Completed {
		t.Fatal("b reached c through a: the peering was transitive")
	}
	if drops(l, app, fabric.ReasonOutsidePeerVPC) == before {
		t.Error("b -> c was not dropped at the peering (no outside-peer-vpc drop counted on b's ENI)")
	}
	// No edge-to-edge: b's default route to the peering does not reach a's internet gateway.
	before = drops(l, app, fabric.ReasonOutsidePeerVPC)
	if r := probeOK(t, l, "app", "198.51.100.20", "icmp", 0); r.Completed {
		t.Fatal("b reached the internet through a's internet gateway")
	}
	if drops(l, app, fabric.ReasonOutsidePeerVPC) == before {
		t.Error("b -> internet was not dropped at the peering")
	}
}

// A route to a peering is refused in a table of a VPC that is not one of its ends, as AWS
// refuses it, and accepted in one that is.
func TestRouteToPeeringNeedsAnEnd(t *testing.T) {
	l := suiteLab(t, "peerrt", "vpc-peering.yaml")
	err := l.AddRoute("b-rt", "10.9.0.0/16", "peering/a-c")
	if err == nil || !strings.Contains(err.Error(), "not an end of peering a-c") {
		t.Errorf("b-rt -> peering/a-c: got %v, want a refusal naming the peering", err)
	}
	if err := l.AddRoute("c-rt", "10.9.0.0/16", "peering/a-c"); err != nil {
		t.Errorf("c-rt -> peering/a-c: %v", err)
	}
}

// An on-premises host and an instance talk both ways through the VPN gateway, and the instance
// sees the host's real address.
func TestOnPremRoundTrip(t *testing.T) {
	l := suiteLab(t, "vpn", "vpn-onprem.yaml")
	spec, err := l.ProbeSpec("office", "app", "tcp", 80, 0)
	if err != nil {
		t.Fatal(err)
	}
	if spec.FromAddr.String() != "192.168.1.10" || spec.FromNS == "" {
		t.Fatalf("office resolves to %s in %q, want 192.168.1.10 in the corp namespace", spec.FromAddr, spec.FromNS)
	}
	if out := l.Status().Outside; len(out) != 1 || out[0].Name != "corp" || len(out[0].Hosts) != 2 || len(out[0].Via) != 1 {
		t.Errorf("status shows the outside networks as %+v, want corp with its two hosts and one VPN gateway", out)
	}
	for _, c := range []struct {
		from, to, proto string
		port            int
		ok              bool
	}{
		{"office", "app", "tcp", 80, true},
		{"app", "office", "tcp", 22, true},
		{"dc", "app", "icmp", 0, true},
		{"office", "iso", "icmp", 0, false}, // in through the VGW, no route back
		{"office", "far", "icmp", 0, false}, // vpc other has no VGW
	} {
		spec, err := l.ProbeSpec(c.from, c.to, c.proto, c.port, 1500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		r, err := probe.Run(spec)
		if err != nil {
			t.Fatal(err)
		}
		if r.Completed != c.ok {
			t.Errorf("%s -> %s %s: completed %v, want %v (%s)", c.from, c.to, c.proto, r.Completed, c.ok, r.Detail)
		}
	}
	// The instance sees the on-premises host's own address (no translation on a VPN): the live
	// trace matches the reply only when app answers 192.168.1.10 itself.
	lt, err := l.TraceLive(TraceRequest{From: "office", To: "app", Proto: "tcp", Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	if !lt.Agree || lt.Live.Return == nil || !lt.Live.Return.Reachable {
		t.Fatalf("live trace office -> app: agree %v, differences %v, exchange %s", lt.Agree, lt.Differences, lt.Exchange)
	}
	if lt.Live.Forward.Hops[0].Stage != "vpn-gateway" {
		t.Errorf("the first hop from on premises is %s, want vpn-gateway", lt.Live.Forward.Hops[0].Stage)
	}
}

// Every probe of the peering and VPN suites, sent for real by trace --live: the engine's
// decisions agree with the prediction hop by hop, and the exchange ends as the suite expects.
func TestTraceLiveAgreesOnGatewaySuites(t *testing.T) {
	for _, file := range []string{"vpc-peering.yaml", "vpn-onprem.yaml"} {
		t.Run(file, func(t *testing.T) {
			l := suiteLab(t, "glive", file)
			for _, p := range l.Plan.Scenario.Expect {
				lt, err := l.TraceLive(TraceRequest{From: p.From, To: p.To, Proto: p.Proto, Port: p.Port})
				if err != nil {
					t.Fatalf("%s -> %s: %v", p.From, p.To, err)
				}
				if !lt.Agree {
					t.Errorf("%s -> %s %s/%d: the engine differs from the prediction: %v", p.From, p.To, p.Proto, p.Port, lt.Differences)
				}
				if lt.Completed != (p.Result == "allow") {
					t.Errorf("%s -> %s %s/%d: exchange %q, the suite expects %s", p.From, p.To, p.Proto, p.Port, lt.Exchange, p.Result)
				}
			}
		})
	}
}

func TestPeeredRef(t *testing.T) {
	sc := &scenarios.Scenario{Peerings: []*scenarios.Peering{{Name: "a-b", Requester: "a", Accepter: "b"}}}
	for _, c := range []struct {
		vpc, ref string
		ok       bool
	}{
		{"a", "web", true}, {"a", "a/web", true}, {"a", "b/app", true}, {"b", "a/web", true},
		{"a", "c/db", false}, {"c", "a/web", false},
	} {
		if err := peeredRef(sc, c.vpc, c.ref); (err == nil) != c.ok {
			t.Errorf("vpc %s referencing %s: %v, want ok=%v", c.vpc, c.ref, err, c.ok)
		}
	}
}
