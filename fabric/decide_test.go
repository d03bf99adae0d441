package fabric

import (
	"net/netip"
	"testing"

	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/mac"
)

// testState is a VPC 10.0.0.0/16 with subnets a (10.0.1.0/24) and b (10.0.2.0/24) and ENIs:
// 0 web (a, .10), 1 app (a, .11), 2 db (b, .10), 3 router eth0 (a, .5), 4 router eth1 (b, .5).
func testState(t testing.TB) *State {
	ip := netip.MustParseAddr
	hw := func(n byte) mac.HW { return mac.HW{2, 0, 0, 0, 0, n} }
	st := &State{
		VPCs: []VPCState{{Name: "main", CIDR: netip.MustParsePrefix("10.0.0.0/16"), RouterMAC: hw(0xfe)}},
		Subnets: []SubnetState{
			{Name: "main/a", CIDR: netip.MustParsePrefix("10.0.1.0/24"), Router: ip("10.0.1.1"), DNS: ip("10.0.1.2")},
			{Name: "main/b", CIDR: netip.MustParsePrefix("10.0.2.0/24"), Router: ip("10.0.2.1"), DNS: ip("10.0.2.2")},
		},
	}
	add := func(name string, sub uint32, a string, n byte) {
		st.ENIs = append(st.ENIs, ENIState{Present: true, ID: name, Instance: name, Name: "eth0", Subnet: sub,
			Identity: mac.Identity{MAC: hw(n), Addrs: []netip.Addr{ip(a)}, SourceDestCheck: true}})
	}
	add("web", 0, "10.0.1.10", 1)
	add("app", 0, "10.0.1.11", 2)
	add("db", 1, "10.0.2.10", 3)
	add("router0", 0, "10.0.1.5", 4)
	add("router1", 1, "10.0.2.5", 5)
	if err := st.index(); err != nil {
		t.Fatal(err)
	}
	return st
}

func ipPkt(srcMAC, dstMAC mac.HW, src, dst string) *packet.Parsed {
	return &packet.Parsed{Kind: packet.KindIPv4, SrcMAC: packet.MAC(srcMAC), DstMAC: packet.MAC(dstMAC),
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: 6, SrcPort: 40000, DstPort: 80, HasPorts: true}
}

func arpReq(srcMAC mac.HW, sender, target string) *packet.Parsed {
	return &packet.Parsed{Kind: packet.KindARP, SrcMAC: packet.MAC(srcMAC), DstMAC: packet.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		ARPOp: 1, ARPSenderMAC: packet.MAC(srcMAC), ARPSenderIP: netip.MustParseAddr(sender), ARPTargetIP: netip.MustParseAddr(target)}
}

func TestDecide(t *testing.T) {
	st := testState(t)
	web, app, db, r0 := st.ENIs[0].Identity.MAC, st.ENIs[1].Identity.MAC, st.ENIs[2].Identity.MAC, st.ENIs[3].Identity.MAC
	router := st.VPCs[0].RouterMAC
	cases := []struct {
		name   string
		in     uint32
		p      *packet.Parsed
		sdcOff []uint32
		action Action
		reason Reason
		out    uint32
		answer mac.HW
	}{
		{"arp for router", 0, arpReq(web, "10.0.1.10", "10.0.1.1"), nil, ReplyARP, ReasonARPAnswered, NoENI, router},
		{"arp for neighbour", 0, arpReq(web, "10.0.1.10", "10.0.1.11"), nil, ReplyARP, ReasonARPAnswered, NoENI, app},
		{"arp for other subnet", 0, arpReq(web, "10.0.1.10", "10.0.2.10"), nil, Drop, ReasonARPUnanswered, NoENI, mac.HW{}},
		{"arp for nobody", 0, arpReq(web, "10.0.1.10", "10.0.1.99"), nil, Drop, ReasonARPUnanswered, NoENI, mac.HW{}},
		{"arp for itself", 0, arpReq(web, "10.0.1.10", "10.0.1.10"), nil, Drop, ReasonARPUnanswered, NoENI, mac.HW{}},
		{"arp from spoofed mac", 0, arpReq(app, "10.0.1.10", "10.0.1.1"), nil, Drop, ReasonBadSourceMAC, NoENI, mac.HW{}},
		{"same subnet", 0, ipPkt(web, app, "10.0.1.10", "10.0.1.11"), nil, Deliver, ReasonDelivered, 1, mac.HW{}},
		{"across subnets via router", 0, ipPkt(web, router, "10.0.1.10", "10.0.2.10"), nil, Deliver, ReasonDelivered, 2, mac.HW{}},
		{"to nobody", 0, ipPkt(web, router, "10.0.1.10", "10.0.2.99"), nil, Drop, ReasonNoDestination, NoENI, mac.HW{}},
		{"outside vpc", 0, ipPkt(web, router, "10.0.1.10", "192.0.2.1"), nil, Drop, ReasonNoRoute, NoENI, mac.HW{}},
		{"to reserved dns", 0, ipPkt(web, router, "10.0.1.10", "10.0.1.2"), nil, Drop, ReasonReservedAddress, NoENI, mac.HW{}},
		{"spoofed source ip", 0, ipPkt(web, router, "10.0.1.99", "10.0.2.10"), nil, Drop, ReasonBadSourceIP, NoENI, mac.HW{}},
		{"spoofed source ip, check off", 0, ipPkt(web, router, "10.0.1.99", "10.0.2.10"), []uint32{0}, Deliver, ReasonDelivered, 2, mac.HW{}},
		{"spoofed source mac", 0, ipPkt(app, router, "10.0.1.10", "10.0.2.10"), nil, Drop, ReasonBadSourceMAC, NoENI, mac.HW{}},
		{"spoofed source mac, check off", 0, ipPkt(app, router, "10.0.1.10", "10.0.2.10"), []uint32{0}, Drop, ReasonBadSourceMAC, NoENI, mac.HW{}},
		{"broadcast ip frame", 0, ipPkt(web, mac.HW{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "10.0.1.10", "10.0.1.255"), nil, Drop, ReasonBroadcast, NoENI, mac.HW{}},
		{"unknown destination mac", 0, ipPkt(web, mac.HW{2, 9, 9, 9, 9, 9}, "10.0.1.10", "10.0.1.11"), nil, Drop, ReasonUnknownDstMAC, NoENI, mac.HW{}},
		{"mac of other subnet", 0, ipPkt(web, db, "10.0.1.10", "10.0.2.10"), nil, Drop, ReasonUnknownDstMAC, NoENI, mac.HW{}},
		// A guest route via the appliance: the frame goes to the appliance's MAC with a
		// destination IP that is not the appliance's.
		{"via appliance, check on", 0, ipPkt(web, r0, "10.0.1.10", "10.0.2.10"), nil, Drop, ReasonBadDestIP, 3, mac.HW{}},
		{"via appliance, check off", 0, ipPkt(web, r0, "10.0.1.10", "10.0.2.10"), []uint32{3}, Deliver, ReasonDelivered, 3, mac.HW{}},
		{"malformed", 0, &packet.Parsed{Kind: packet.KindUnknown}, nil, Drop, ReasonMalformed, NoENI, mac.HW{}},
		{"vlan or other l2", 0, &packet.Parsed{Kind: packet.KindOtherL2, SrcMAC: packet.MAC(web)}, nil, Drop, ReasonNonIP, NoENI, mac.HW{}},
		{"unknown port", 99, ipPkt(web, router, "10.0.1.10", "10.0.2.10"), nil, Drop, ReasonUnknownPort, NoENI, mac.HW{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := st
			for _, i := range c.sdcOff {
				var err error
				if s, err = s.WithSourceDestCheck(i, false); err != nil {
					t.Fatal(err)
				}
			}
			var v Verdict
			Decide(c.p, c.in, s, nil, &v)
			if v.Action != c.action || v.Reason != c.reason {
				t.Fatalf("got %v/%v, want %v/%v (steps %v)", v.Action, v.Reason, c.action, c.reason, v.Steps[:v.NSteps])
			}
			if c.out != NoENI && v.Out != c.out {
				t.Errorf("out = %d, want %d", v.Out, c.out)
			}
			if c.action == ReplyARP && v.ARPAnswer != c.answer {
				t.Errorf("ARP answer %s, want %s", v.ARPAnswer, c.answer)
			}
		})
	}
}

func TestDecideRewritesMACsOnlyWhenRouted(t *testing.T) {
	st := testState(t)
	var v Verdict
	Decide(ipPkt(st.ENIs[0].Identity.MAC, st.VPCs[0].RouterMAC, "10.0.1.10", "10.0.2.10"), 0, st, nil, &v)
	if !v.RewriteMACs || v.SrcMAC != st.VPCs[0].RouterMAC || v.DstMAC != st.ENIs[2].Identity.MAC {
		t.Errorf("routed: rewrite=%v src=%s dst=%s", v.RewriteMACs, v.SrcMAC, v.DstMAC)
	}
	Decide(ipPkt(st.ENIs[0].Identity.MAC, st.ENIs[1].Identity.MAC, "10.0.1.10", "10.0.1.11"), 0, st, nil, &v)
	if v.RewriteMACs {
		t.Error("same-subnet frame had its MACs rewritten")
	}
}

func TestSnapshotsAreImmutable(t *testing.T) {
	st := testState(t)
	n, err := st.WithSourceDestCheck(0, false)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ENIs[0].Identity.SourceDestCheck || n.ENIs[0].Identity.SourceDestCheck {
		t.Fatal("WithSourceDestCheck changed the original or not the copy")
	}
	if _, err := st.WithSourceDestCheck(42, false); err == nil {
		t.Error("no error for a missing ENI")
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	st := testState(t)
	p := ipPkt(st.ENIs[0].Identity.MAC, st.VPCs[0].RouterMAC, "10.0.1.10", "10.0.2.10")
	arp := arpReq(st.ENIs[0].Identity.MAC, "10.0.1.10", "10.0.1.1")
	var v Verdict
	if n := testing.AllocsPerRun(1000, func() { Decide(p, 0, st, nil, &v); Decide(arp, 0, st, nil, &v) }); n != 0 {
		t.Errorf("Decide allocates %v times per packet", n)
	}
}

func BenchmarkDecide(b *testing.B) {
	st := testState(b)
	p := ipPkt(st.ENIs[0].Identity.MAC, st.VPCs[0].RouterMAC, "10.0.1.10", "10.0.2.10")
	var v Verdict
	b.ReportAllocs()
	for b.Loop() {
		Decide(p, 0, st, nil, &v)
	}
}
