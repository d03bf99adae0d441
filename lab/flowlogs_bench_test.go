package lab

import (
	"testing"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/scenarios"
)

// BenchmarkFlowLogObserve is the flow-log observer's cost per delivered UDP packet (the work
// `make bench`'s flowlog figure adds to every frame), with no namespaces: a planned lab's engine
// decides a synthetic frame once and the observer is fed it repeatedly.
func BenchmarkFlowLogObserve(b *testing.B) {
	sc, err := scenarios.Parse("bench.yaml", []byte(twoSubnets))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := NewPlan(sc, "flbench")
	if err != nil {
		b.Fatal(err)
	}
	l := &Lab{Plan: plan, Engine: fabric.NewEngine(plan.State), done: make(chan struct{}), FlowLogDir: b.TempDir()}
	defer close(l.done)
	if _, err := l.CreateFlowLog(FlowLogSpec{Resource: "vpc/main", Interval: 1e9}); err != nil {
		b.Fatal(err)
	}
	defer l.flows.close()
	st := plan.State
	web, db := &st.ENIs[plan.Instance("web").ENIs[0]], &st.ENIs[plan.Instance("db").ENIs[0]]
	p := packet.Parsed{Kind: packet.KindIPv4, SrcMAC: packet.MAC(web.Identity.MAC), DstMAC: packet.MAC(st.VPCs[0].RouterMAC),
		Src: web.Identity.Addrs[0], Dst: db.Identity.Addrs[0], Proto: 17, TTL: 64, TotalLen: 92, HasPorts: true, SrcPort: 40000, DstPort: 5201}
	var v fabric.Verdict
	fabric.Decide(&p, plan.Instance("web").ENIs[0], st, l.Engine.Tracking(), &v)
	if v.Action != fabric.Deliver {
		b.Fatalf("the frame was not delivered: %s", v.Reason)
	}
	frame := make([]byte, 106)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.flows.Observe(v.In, frame, packet.VnetHdr{}, &p, &v, int64(i))
	}
}
