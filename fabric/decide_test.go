package fabric

import (
	"github.com/ec2sim/ec2sim/sgengine"
	mrand "math/rand"
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

// withNetwork gives testState's subnet b a custom NACL and a route table of its own.
func withNetwork(t *testing.T, st *State, inB, outB []ACLEntry, routesA []RouteEntry) *State {
	t.Helper()
	n := st.clone()
	n.ACLs = append(append([]ACLState(nil), st.ACLs...), NewACL("b-acl", "acl-b", inB, outB))
	n.Subnets[1].ACL = uint32(len(n.ACLs) - 1)
	if routesA != nil {
		n.RouteTables = append(append([]RouteTableState(nil), st.RouteTables...), NewRouteTable("a-rt", "rtb-a", routesA))
		n.Subnets[0].RouteTable = uint32(len(n.RouteTables) - 1)
	}
	if err := n.index(); err != nil {
		t.Fatal(err)
	}
	return n
}

func tcpTo(st *State, from, to uint32, dst string, port uint16, viaRouter bool) *packet.Parsed {
	dmac := st.ENIs[to].Identity.MAC
	if viaRouter {
		dmac = st.VPCs[0].RouterMAC
	}
	p := ipPkt(st.ENIs[from].Identity.MAC, dmac, st.ENIs[from].Identity.Addrs[0].String(), dst)
	p.DstPort = port
	return p
}

func TestNACLsAtSubnetBoundariesOnly(t *testing.T) {
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	// Subnet b admits 5432 only and lets nothing out; the ephemeral-port return rule is missing.
	st := withNetwork(t, testState(t),
		[]ACLEntry{{Number: 100, Allow: true, Proto: 6, FromPort: 5432, ToPort: 5432, CIDR: any4}, {Number: 90, Allow: false, Proto: 6, FromPort: 5432, ToPort: 5432, CIDR: netip.MustParsePrefix("10.0.1.11/32")}},
		nil, nil)
	var v Verdict
	Decide(tcpTo(st, 0, 2, "10.0.2.10", 5432, true), 0, st, nil, &v)
	if v.Action != Deliver {
		t.Fatalf("5432 into b: %v %v", v.Action, v.Reason)
	}
	// Rule 90 comes first and denies app's address: first match wins, lowest number first.
	Decide(tcpTo(st, 1, 2, "10.0.2.10", 5432, true), 1, st, nil, &v)
	if v.Reason != ReasonNACLInbound || v.Steps[v.NSteps-1].Rule != 90 {
		t.Fatalf("rule 90: %v rule %d", v.Reason, v.Steps[v.NSteps-1].Rule)
	}
	Decide(tcpTo(st, 0, 2, "10.0.2.10", 22, true), 0, st, nil, &v)
	if v.Reason != ReasonNACLInbound || v.Steps[v.NSteps-1].Rule != 32767 {
		t.Fatalf("22 into b: %v rule %d", v.Reason, v.Steps[v.NSteps-1].Rule)
	}
	// The reply leaves b through its outbound rules: none, so the * deny.
	reply := tcpTo(st, 2, 0, "10.0.1.10", 40000, true)
	Decide(reply, 2, st, nil, &v)
	if v.Reason != ReasonNACLOutbound || v.Steps[v.NSteps-1].Rule != 32767 {
		t.Fatalf("reply out of b: %v", v.Reason)
	}
	// Inside subnet a nothing is evaluated, even by a deny-all ACL on a.
	st.Subnets[0].ACL = uint32(len(st.ACLs) - 1)
	Decide(tcpTo(st, 0, 1, "10.0.1.11", 22, true), 0, st, nil, &v)
	if v.Action != Deliver {
		t.Fatalf("inside a subnet: %v %v", v.Action, v.Reason)
	}
}

func TestRouteTargets(t *testing.T) {
	base := testState(t)
	vpc := netip.MustParsePrefix("10.0.0.0/16")
	st := withNetwork(t, base, nil, nil, []RouteEntry{
		{Dest: vpc, Kind: TargetLocal},
		{Dest: netip.MustParsePrefix("10.0.2.0/24"), Kind: TargetENI, Index: 3}, // the appliance's eth0
		{Dest: netip.MustParsePrefix("10.9.0.0/16"), Kind: TargetBlackhole},
	})
	st.Subnets[1].ACL = 0 // back to allow-all for b
	var v Verdict
	Decide(tcpTo(st, 0, 2, "10.0.2.10", 80, true), 0, st, nil, &v)
	if v.Reason != ReasonBadDestIP || v.Out != 3 {
		t.Fatalf("via the appliance with its check on: %v out %d", v.Reason, v.Out)
	}
	st, _ = st.WithSourceDestCheck(3, false)
	Decide(tcpTo(st, 0, 2, "10.0.2.10", 80, true), 0, st, nil, &v)
	if v.Action != Deliver || v.Out != 3 || v.DstMAC != st.ENIs[3].Identity.MAC {
		t.Fatalf("via the appliance: %v out %d", v.Reason, v.Out)
	}
	Decide(tcpTo(st, 0, 1, "10.0.1.11", 80, true), 0, st, nil, &v)
	if v.Action != Deliver || v.Out != 1 {
		t.Fatalf("local: %v out %d", v.Reason, v.Out)
	}
	Decide(tcpTo(st, 0, 2, "10.9.1.1", 80, true), 0, st, nil, &v)
	if v.Reason != ReasonBlackhole {
		t.Fatalf("blackhole: %v", v.Reason)
	}
	Decide(tcpTo(st, 0, 2, "192.0.2.1", 80, true), 0, st, nil, &v)
	if v.Reason != ReasonNoRoute {
		t.Fatalf("no route: %v", v.Reason)
	}
}

// TestRouteLookupAgainstNaiveScan compares the table's lookup with a plain longest-prefix scan.
func TestRouteLookupAgainstNaiveScan(t *testing.T) {
	r := newRand(1)
	for n := 0; n < 200; n++ {
		var routes []RouteEntry
		for k := 0; k < 1+r.Intn(20); k++ {
			a := netip.AddrFrom4([4]byte{10, byte(r.Intn(4)), byte(r.Intn(4)), byte(r.Intn(256))})
			p, _ := a.Prefix(8 + r.Intn(25))
			routes = append(routes, RouteEntry{Dest: p, Kind: TargetENI, Index: uint32(k)})
		}
		tab := NewRouteTable("x", "x", routes)
		for q := 0; q < 200; q++ {
			a := netip.AddrFrom4([4]byte{10, byte(r.Intn(4)), byte(r.Intn(4)), byte(r.Intn(256))})
			best := -1
			for i, rt := range routes {
				if rt.Dest.Contains(a) && (best < 0 || rt.Dest.Bits() > routes[best].Dest.Bits()) {
					best = i
				}
			}
			got := tab.Lookup(a)
			if (best < 0) != (got < 0) || (got >= 0 && tab.Routes[got].Dest.Bits() != routes[best].Dest.Bits()) {
				t.Fatalf("lookup %s: got %v, naive %v", a, got, best)
			}
		}
	}
}

func newRand(seed int64) *mrand.Rand { return mrand.New(mrand.NewSource(seed)) }

// TestCompiledACLMatchesLinear: the compiled NACL evaluator (package nacl) and the plain
// first-match walk agree on random rule sets and packets, and the compiled one is in use.
func TestCompiledACLMatchesLinear(t *testing.T) {
	r := newRand(7)
	protos := []int{-1, 6, 17, 1, 47}
	addr := func() netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(r.Intn(3)), byte(r.Intn(4)), byte(r.Intn(256))})
	}
	for n := 0; n < 300; n++ {
		var in, out []ACLEntry
		used := map[int]bool{}
		for k := 0; k < 1+r.Intn(20); k++ {
			num := 1 + r.Intn(300)
			if used[num] {
				continue
			}
			used[num] = true
			p, _ := addr().Prefix(8 + r.Intn(25))
			e := ACLEntry{Number: num, Allow: r.Intn(2) == 0, Proto: protos[r.Intn(len(protos))], FromPort: 0, ToPort: 65535, ICMPType: -1, ICMPCode: -1, CIDR: p}
			switch e.Proto {
			case 6, 17:
				lo := r.Intn(2000)
				e.FromPort, e.ToPort = lo, lo+r.Intn(2000)
			case 1:
				if r.Intn(2) == 0 {
					e.ICMPType = r.Intn(12)
					if r.Intn(2) == 0 {
						e.ICMPCode = r.Intn(4)
					}
				}
			}
			if r.Intn(2) == 0 {
				in = append(in, e)
			} else {
				out = append(out, e)
			}
		}
		a := NewACL("x", "acl-x", in, out)
		if a.compiled == nil {
			t.Fatalf("rule set %d did not compile: %+v %+v", n, in, out)
		}
		for q := 0; q < 200; q++ {
			f := sgengine.Flow{Src: addr(), Dst: addr(), Proto: uint8(protos[1+r.Intn(len(protos)-1)]), SrcPort: uint16(r.Intn(4000)), DstPort: uint16(r.Intn(4000)), ICMPType: uint8(r.Intn(12)), ICMPCode: uint8(r.Intn(4))}
			for _, eg := range []bool{false, true} {
				ca, cr := a.Evaluate(eg, &f)
				la, lr := a.evaluateLinear(eg, &f)
				if ca != la || cr != lr {
					t.Fatalf("egress=%v %+v: compiled %v rule %d, linear %v rule %d\nin %+v\nout %+v", eg, f, ca, cr, la, lr, in, out)
				}
			}
		}
	}
}
