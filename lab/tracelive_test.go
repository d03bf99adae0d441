package lab

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/fabric"
)

// liveLab: web may reach db on 5432 (group rule, NACL rule 100); 22 is refused by db's NACL.
const liveLab = `
name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
      b: {cidr: 10.0.2.0/24, network_acl: b-acl}
    network_acls:
      b-acl:
        ingress:
          - {rule: 100, action: allow, proto: tcp, ports: 5432, cidr: 10.0.1.0/24}
          - {rule: 110, action: allow, proto: udp, ports: 53, cidr: 10.0.1.0/24}
        egress:
          - {rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0}
    security_groups:
      db:
        ingress:
          - {proto: tcp, ports: 5432, cidr: 10.0.1.0/24}
          - {proto: tcp, ports: 22, cidr: 10.0.1.0/24}
instances:
  web: {subnet: main/a, ip: 10.0.1.10}
  db:  {subnet: main/b, ip: 10.0.2.10, security_groups: [db]}
`

func TestTraceLiveAgreesWithPrediction(t *testing.T) {
	l := upLab(t, "tlive", liveLab)
	for _, c := range []struct {
		req       TraceRequest
		reachable bool
		dropStage string // the stage the engine drops at, when not reachable
	}{
		{TraceRequest{From: "web", To: "db", Proto: "tcp", Port: 5432}, true, ""},
		{TraceRequest{From: "web", To: "db", Proto: "tcp", Port: 22}, false, "nacl-inbound"},
		{TraceRequest{From: "web", To: "db", Proto: "udp", Port: 53}, false, "sg-ingress"},
		{TraceRequest{From: "web", To: "db", Proto: "icmp"}, false, "nacl-inbound"},
	} {
		lt, err := l.TraceLive(c.req)
		if err != nil {
			t.Fatalf("%+v: %v", c.req, err)
		}
		name := fmt.Sprintf("%s/%d", c.req.Proto, c.req.Port)
		if !lt.Agree {
			t.Errorf("%s: live and predicted differ: %v", name, lt.Differences)
		}
		if lt.Live.Forward == nil {
			t.Fatalf("%s: the engine saw no forward packet (exchange: %s)", name, lt.Exchange)
		}
		if c.reachable {
			if !lt.Completed || lt.Live.Return == nil || !lt.Live.Return.Reachable || !lt.Live.Forward.Reachable {
				t.Errorf("%s: want delivered both ways, got forward %s, return %+v, exchange %s", name, lt.Live.Forward.Verdict, lt.Live.Return, lt.Exchange)
			}
			if lt.SrcPort < 1024 {
				t.Errorf("%s: source port %d is not an ephemeral port", name, lt.SrcPort)
			}
			continue
		}
		hops := lt.Live.Forward.Hops
		if lt.Completed || lt.Live.Forward.Reachable || hops[len(hops)-1].Stage != c.dropStage {
			t.Errorf("%s: want the engine to drop at %s, got %s (exchange %s)", name, c.dropStage, lt.Live.Forward.Verdict, lt.Exchange)
		}
		if lt.Live.Return != nil {
			t.Errorf("%s: a dropped packet got a reply through the engine: %+v", name, lt.Live.Return)
		}
	}
}

// A prediction made on the lab's rules before a NACL change, set against the engine after it,
// must be flagged hop by hop.
func TestTraceLiveFlagsAMismatch(t *testing.T) {
	l := upLab(t, "tlmis", liveLab)
	before := l.Engine.State()
	stale := func(req TraceRequest) (*fabric.TraceResult, error) { return l.Plan.Trace(before, req) }
	if err := l.DeleteACLEntry("b-acl", "ingress", 100); err != nil {
		t.Fatal(err)
	}
	lt, err := l.traceLive(TraceRequest{From: "web", To: "db", Proto: "tcp", Port: 5432}, stale)
	if err != nil {
		t.Fatal(err)
	}
	if lt.Agree || len(lt.Differences) == 0 {
		t.Fatalf("the stale prediction (allowed) and the engine (NACL drop) were not flagged: %+v", lt)
	}
	joined := strings.Join(lt.Differences, "\n")
	for _, want := range []string{"forward: predicted deliver, the engine decided drop: network-acl-inbound", "nacl-inbound", "rule 100", "no such packet"} {
		if !strings.Contains(joined, want) {
			t.Errorf("differences do not mention %q:\n%s", want, joined)
		}
	}
}

func TestComparePaths(t *testing.T) {
	ok := fabric.Hop{Stage: "route", OK: true, Component: "rtb", Detail: "10.0.0.0/16 -> local"}
	drop := fabric.Hop{Stage: "nacl-inbound", OK: false, Component: "acl", Detail: "denied by rule *", Code: "SUBNET_ACL_RESTRICTION"}
	allow := fabric.Hop{Stage: "nacl-inbound", OK: true, Component: "acl", Detail: "allowed by rule 100"}
	reach := &fabric.PathResult{Reachable: true, Verdict: "deliver", Hops: []fabric.Hop{ok, allow}}
	blocked := &fabric.PathResult{Verdict: "drop: network-acl-inbound", Hops: []fabric.Hop{ok, drop}}
	short := &fabric.PathResult{Reachable: true, Verdict: "deliver", Hops: []fabric.Hop{ok}}
	for _, c := range []struct {
		name       string
		pred, live *fabric.PathResult
		want       int
	}{
		{"same", reach, reach, 0},
		{"both nil", nil, nil, 0},
		{"verdict and hop", reach, blocked, 2},
		{"missing live", reach, nil, 1},
		{"unpredicted", nil, reach, 1},
		{"extra hop", reach, short, 1},
	} {
		if got := ComparePaths("forward", c.pred, c.live); len(got) != c.want {
			t.Errorf("%s: %d differences, want %d: %v", c.name, len(got), c.want, got)
		}
	}
}
