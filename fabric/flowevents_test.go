package fabric

import (
	"net/netip"
	"testing"

	"github.com/ec2sim/ec2sim/sgengine"
)

// TestFlowEventsPingExample is AWS's documented example at the decision level: the security
// group admits inbound ICMP, the subnet's NACL admits inbound but not outbound, so the ENI logs
// an ACCEPT for the request and a REJECT for the reply.
func TestFlowEventsPingExample(t *testing.T) {
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	st := withGroups(t, testState(t))
	// db (ENI 2) admits ICMP by rule; b's NACL admits everything in and nothing out.
	cfg := &sgengine.Config{Groups: []sgengine.Group{
		{ID: "sg-out", Name: "all-out", Egress: []sgengine.Rule{{Proto: -1, CIDR: any4}}},
		{ID: "sg-icmp", Name: "icmp", Ingress: []sgengine.Rule{{Proto: 1, FromPort: -1, ToPort: -1, CIDR: any4}}},
	}}
	for i, e := range st.ENIs {
		cfg.ENIs = append(cfg.ENIs, sgengine.ENIConfig{Index: uint32(i), Groups: []string{"sg-out", "sg-icmp"}, PrivateIPs: e.Identity.Addrs})
	}
	pol, err := sgengine.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st = withNetwork(t, st.WithPolicy(pol), []ACLEntry{{Number: 100, Allow: true, Proto: -1, CIDR: any4}}, nil, nil)
	tr := &Tracking{Tables: []*sgengine.Conntrack{sgengine.NewConntrack(), sgengine.NewConntrack(), sgengine.NewConntrack(), sgengine.NewConntrack(), sgengine.NewConntrack()}, Now: 1}
	req, _ := synthetic(st, TraceSpec{From: 0, Dst: netip.MustParseAddr("10.0.2.10"), Proto: 1, SrcPort: 7}, synFlags)
	var v Verdict
	Decide(&req, 0, st, tr, &v)
	var ev [MaxFlowEvents]FlowEvent
	n := FlowEvents(st, &req, &v, &ev)
	if v.Action != Deliver || n != 2 || !ev[0].Egress || ev[0].ENI != 0 || !ev[0].Accept || ev[1].Egress || ev[1].ENI != 2 || !ev[1].Accept {
		t.Fatalf("request: %v %v events %+v", v.Action, v.Reason, ev[:n])
	}
	tr.Tables[0].Apply(&v.Egress.Update, 1)
	tr.Tables[2].Apply(&v.Ingress.Update, 1)
	reply, _ := synthetic(st, TraceSpec{From: 2, Dst: netip.MustParseAddr("10.0.1.10"), Proto: 1, SrcPort: 7}, replyFlags)
	Decide(&reply, 2, st, tr, &v)
	n = FlowEvents(st, &reply, &v, &ev)
	if v.Reason != ReasonNACLOutbound || n != 1 || ev[0].ENI != 2 || !ev[0].Egress || ev[0].Accept {
		t.Fatalf("reply: %v events %+v", v.Reason, ev[:n])
	}
	// Spoofed sources are the hypervisor's business, not a flow-log record.
	sp := ipPkt(st.ENIs[0].Identity.MAC, st.VPCs[0].RouterMAC, "10.0.1.99", "10.0.2.10")
	Decide(sp, 0, st, tr, &v)
	if n := FlowEvents(st, sp, &v, &ev); n != 0 {
		t.Errorf("spoofed packet logged: %+v", ev[:n])
	}
	if a := testing.AllocsPerRun(100, func() { FlowEvents(st, &req, &v, &ev) }); a != 0 {
		t.Errorf("FlowEvents allocates %v", a)
	}
}
