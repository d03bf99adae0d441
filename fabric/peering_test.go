package fabric

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/mac"
)

// peeredState: VPCs a 10.0.0.0/16, b 10.1.0.0/16, c 10.2.0.0/16, one subnet and one instance
// (x.10 in 10.N.1.0/24, ENIs 0-2) each; peerings ab (0) and ac (1); a VPN gateway on a to the
// on-premises network dc 192.168.0.0/16 (ENI 3, hosts .1.10 and .1.11). b routes c's CIDR and
// the default route to the ab peering, as a student trying transit and edge-to-edge would.
func peeredState(t testing.TB) *State {
	ip, pfx := netip.MustParseAddr, netip.MustParsePrefix
	hw := func(n byte) mac.HW { return mac.HW{2, 0, 0, 0, 1, n} }
	st := &State{Internet: NoENI}
	for i, n := range []string{"a", "b", "c"} {
		cidr := pfx("10." + string(rune('0'+i)) + ".0.0/16")
		sub := pfx("10." + string(rune('0'+i)) + ".1.0/24")
		st.VPCs = append(st.VPCs, VPCState{Name: n, ID: "vpc-" + n, CIDR: cidr, RouterMAC: hw(0xf0 + byte(i))})
		st.Subnets = append(st.Subnets, SubnetState{Name: n + "/s", ID: "subnet-" + n, VPC: uint32(i), CIDR: sub,
			Router: sub.Addr().Next(), DNS: sub.Addr().Next().Next(), RouteTable: uint32(i), ACL: 0})
		st.ENIs = append(st.ENIs, ENIState{Present: true, ID: "eni-" + n, Instance: n, Name: "eth0", Subnet: uint32(i), VPC: uint32(i),
			Identity: mac.Identity{MAC: hw(byte(i + 1)), Addrs: []netip.Addr{ip("10." + string(rune('0'+i)) + ".1.10")}, SourceDestCheck: true}})
	}
	st.ENIs = append(st.ENIs, ENIState{Kind: KindOnPrem, Present: true, ID: "dc", Instance: "dc", Name: "eth0",
		Identity: mac.Identity{MAC: hw(0x10), Addrs: []netip.Addr{ip("192.168.1.10"), ip("192.168.1.11")}, SourceDestCheck: true}})
	st.OnPrem = []OnPremState{{Name: "dc", ID: "vgw-a", CIDR: pfx("192.168.0.0/16"), ENI: 3, MAC: hw(0x20)}}
	st.VPCs[0].HasVGW, st.VPCs[0].VGW = true, 0
	st.Peerings = []PeeringState{{Name: "ab", ID: "pcx-ab", A: 0, B: 1}, {Name: "ac", ID: "pcx-ac", A: 0, B: 2}}
	local := func(v int) RouteEntry { return RouteEntry{Dest: st.VPCs[v].CIDR, Kind: TargetLocal, Name: "local"} }
	st.RouteTables = []RouteTableState{
		NewRouteTable("a-rt", "rtb-a", []RouteEntry{local(0),
			{Dest: pfx("10.1.0.0/16"), Kind: TargetPeering, Index: 0, Name: "peering/ab"},
			{Dest: pfx("10.2.0.0/16"), Kind: TargetPeering, Index: 1, Name: "peering/ac"},
			{Dest: pfx("192.168.0.0/16"), Kind: TargetVGW, Name: "vgw"}}),
		NewRouteTable("b-rt", "rtb-b", []RouteEntry{local(1),
			{Dest: pfx("10.0.0.0/16"), Kind: TargetPeering, Index: 0, Name: "peering/ab"},
			{Dest: pfx("10.2.0.0/16"), Kind: TargetPeering, Index: 0, Name: "peering/ab"},
			{Dest: pfx("0.0.0.0/0"), Kind: TargetPeering, Index: 0, Name: "peering/ab"}}),
		NewRouteTable("c-rt", "rtb-c", []RouteEntry{local(2),
			{Dest: pfx("10.0.0.0/16"), Kind: TargetPeering, Index: 1, Name: "peering/ac"}}),
	}
	st.ACLs = []ACLState{DefaultACL("default", "acl-all")}
	if err := st.index(); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestPeeringAndVPNGateway(t *testing.T) {
	st := peeredState(t)
	rmac := func(v int) mac.HW { return st.VPCs[v].RouterMAC }
	from := func(i uint32, dst string) *packet.Parsed {
		return ipPkt(st.ENIs[i].Identity.MAC, st.VPCs[st.ENIs[i].VPC].RouterMAC, st.ENIs[i].Identity.Addrs[0].String(), dst)
	}
	onprem := func(src, dst string) *packet.Parsed {
		return ipPkt(st.ENIs[3].Identity.MAC, st.OnPrem[0].MAC, src, dst)
	}
	for _, c := range []struct {
		name   string
		in     uint32
		p      *packet.Parsed
		action Action
		reason Reason
		out    uint32
		srcMAC mac.HW // the MAC the receiver sees the frame from
	}{
		{"a to b over the peering", 0, from(0, "10.1.1.10"), Deliver, ReasonDelivered, 1, rmac(1)},
		{"b to a over the peering", 1, from(1, "10.0.1.10"), Deliver, ReasonDelivered, 0, rmac(0)},
		{"a to c over the other peering", 0, from(0, "10.2.1.10"), Deliver, ReasonDelivered, 2, rmac(2)},
		{"a to an unheld address of b", 0, from(0, "10.1.1.99"), Drop, ReasonNoDestination, NoENI, mac.HW{}},
		{"b to c through a: not transitive", 1, from(1, "10.2.1.10"), Drop, ReasonOutsidePeerVPC, NoENI, mac.HW{}},
		{"b to on-prem through a's VGW: no edge-to-edge", 1, from(1, "192.168.1.10"), Drop, ReasonOutsidePeerVPC, NoENI, mac.HW{}},
		{"b to the internet through a: no edge-to-edge", 1, from(1, "198.51.100.7"), Drop, ReasonOutsidePeerVPC, NoENI, mac.HW{}},
		{"c has no route to b", 2, from(2, "10.1.1.10"), Drop, ReasonNoRoute, NoENI, mac.HW{}},
		{"a to on-prem through its VGW", 0, from(0, "192.168.1.11"), Deliver, ReasonDelivered, 3, st.OnPrem[0].MAC},
		{"on-prem to a through the VGW", 3, onprem("192.168.1.10", "10.0.1.10"), Deliver, ReasonDelivered, 0, rmac(0)},
		{"on-prem to b: b has no VGW to it", 3, onprem("192.168.1.10", "10.1.1.10"), Drop, ReasonNoDestination, NoENI, mac.HW{}},
		{"on-prem spoofing a source", 3, onprem("192.168.1.99", "10.0.1.10"), Drop, ReasonBadSourceIP, NoENI, mac.HW{}},
	} {
		var v Verdict
		Decide(c.p, c.in, st, nil, &v)
		if v.Action != c.action || v.Reason != c.reason || (c.action == Deliver && v.Out != c.out) {
			t.Errorf("%s: got %s/%s to %d, want %s/%s to %d", c.name, v.Action, v.Reason, v.Out, c.action, c.reason, c.out)
			continue
		}
		if c.action == Deliver && (v.SrcMAC != c.srcMAC || v.DstMAC != st.ENIs[c.out].Identity.MAC) {
			t.Errorf("%s: delivered from %s to %s, want from %s to %s", c.name, v.SrcMAC, v.DstMAC, c.srcMAC, st.ENIs[c.out].Identity.MAC)
		}
	}
	// The on-premises network's ARP for any address but its own is answered by the gateway.
	var v Verdict
	Decide(arpReq(st.ENIs[3].Identity.MAC, "192.168.1.10", "10.0.1.10"), 3, st, nil, &v)
	if v.Action != ReplyARP || v.ARPAnswer != st.OnPrem[0].MAC {
		t.Errorf("on-prem ARP: %s %s, want the VGW's MAC %s", v.Action, v.ARPAnswer, st.OnPrem[0].MAC)
	}
}

// TestPeeringDifferential checks Decide over a peering against the naive rule: a packet from a
// to an address is delivered iff the address is in b's CIDR and an ENI of b holds it (a's table
// sends b's CIDR to the peering), whatever the address.
func TestPeeringDifferential(t *testing.T) {
	st := peeredState(t)
	r := newRand(6)
	for range 2000 {
		var a [4]byte
		a[0], a[1], a[2], a[3] = 10, byte(r.Intn(3)+1)%3, byte(r.Intn(2)+1), byte(r.Intn(3)+9)
		dst := netip.AddrFrom4(a)
		var v Verdict
		Decide(ipPkt(st.ENIs[1].Identity.MAC, st.VPCs[1].RouterMAC, "10.1.1.10", dst.String()), 1, st, nil, &v)
		want := NoENI
		if st.VPCs[0].CIDR.Contains(dst) {
			for i, e := range st.ENIs {
				if e.VPC == 0 && e.Kind == KindInstance && e.Identity.Owns(dst) {
					want = uint32(i)
				}
			}
		}
		if local := st.VPCs[1].CIDR.Contains(dst); local {
			continue // b's own addresses are routed locally
		}
		if got := v.Out; (v.Action == Deliver) != (want != NoENI) || (want != NoENI && got != want) {
			t.Fatalf("b -> %s: engine %s/%s to %d, naive model %d", dst, v.Action, v.Reason, got, want)
		}
	}
}

func TestPeeringDecideDoesNotAllocate(t *testing.T) {
	st := peeredState(t)
	p := ipPkt(st.ENIs[0].Identity.MAC, st.VPCs[0].RouterMAC, "10.0.1.10", "10.1.1.10")
	q := ipPkt(st.ENIs[3].Identity.MAC, st.OnPrem[0].MAC, "192.168.1.10", "10.0.1.10")
	var v Verdict
	if n := testing.AllocsPerRun(1000, func() { Decide(p, 0, st, nil, &v); Decide(q, 3, st, nil, &v) }); n != 0 {
		t.Errorf("Decide over a peering and a VGW allocates %v times per packet", n)
	}
}

func TestTraceOverPeeringAndVGW(t *testing.T) {
	st := peeredState(t)
	for _, c := range []struct {
		name      string
		from      uint32
		src, dst  string
		reachable bool
		want      string // in the hops or blockers
	}{
		{"a to b", 0, "", "10.1.1.10", true, "10.1.0.0/16 -> peering/ab"},
		{"b to c is not transitive", 1, "", "10.2.1.10", false, "EC2SIM_OUTSIDE_PEER_VPC"},
		{"a to on-prem", 0, "", "192.168.1.10", true, "VPN gateway vgw-a to on-prem network dc"},
		{"on-prem to a", 3, "192.168.1.11", "10.0.1.10", true, "vpn-gateway"},
	} {
		spec := TraceSpec{From: c.from, Dst: netip.MustParseAddr(c.dst), Proto: 6, SrcPort: 40000, DstPort: 22}
		if c.src != "" {
			spec.Src = netip.MustParseAddr(c.src)
		}
		res, err := Trace(st, spec)
		if err != nil {
			t.Fatal(err)
		}
		got := res.Forward.Reachable && res.Return != nil && res.Return.Reachable
		text := hopsText(res.Forward.Hops)
		if res.Return != nil {
			text += hopsText(res.Return.Hops)
		}
		for _, b := range res.Forward.Blockers {
			text += b.Code + " " + b.Detail + "\n"
		}
		if got != c.reachable || !strings.Contains(text, c.want) {
			t.Errorf("%s: reachable %v (want %v), want %q in:\n%s", c.name, got, c.reachable, c.want, text)
		}
	}
}

// A blocked path to on premises lists the outbound ACL of the subnet it leaves, as it does for a
// path inside the VPC, and never an empty list of blockers.
func TestTraceBlockersThroughVGW(t *testing.T) {
	st := peeredState(t)
	n := st.clone()
	deny := ACLEntry{Number: 50, Allow: false, Proto: -1, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("192.168.0.0/16")}
	all := ACLEntry{Number: 100, Allow: true, Proto: -1, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}
	n.ACLs = append(append([]ACLState(nil), st.ACLs...), NewACL("a-acl", "acl-a", []ACLEntry{all}, []ACLEntry{deny, all}))
	n.Subnets[0].ACL = uint32(len(n.ACLs) - 1)
	if err := n.index(); err != nil {
		t.Fatal(err)
	}
	res, err := Trace(n, TraceSpec{From: 0, Dst: netip.MustParseAddr("192.168.1.10"), Proto: 6, SrcPort: 40000, DstPort: 22})
	if err != nil {
		t.Fatal(err)
	}
	if res.Forward.Reachable || len(res.Forward.Blockers) != 1 || res.Forward.Blockers[0].Code != "SUBNET_ACL_RESTRICTION" {
		t.Errorf("a -> on-prem through a denying ACL: reachable %v, blockers %+v", res.Forward.Reachable, res.Forward.Blockers)
	}
	// A VPC whose VPN gateway is gone: no independent check fails, so Decide's reason is the
	// blocker, not an empty list.
	n = st.clone()
	n.VPCs[0].HasVGW = false
	if err := n.index(); err != nil {
		t.Fatal(err)
	}
	res, err = Trace(n, TraceSpec{From: 0, Dst: netip.MustParseAddr("192.168.1.10"), Proto: 6, SrcPort: 40000, DstPort: 22})
	if err != nil {
		t.Fatal(err)
	}
	if res.Forward.Reachable || len(res.Forward.Blockers) != 1 || res.Forward.Blockers[0].Code != "BAD_STATE_ATTACHMENT" {
		t.Errorf("a -> on-prem without a VPN gateway: reachable %v, blockers %+v", res.Forward.Reachable, res.Forward.Blockers)
	}
}

// A changed snapshot keeps the gateways: the peerings, the on-premises networks and the
// internet gateway's MAC (which clone once forgot, cutting the internet off after a
// source/dest check change).
func TestSnapshotChangeKeepsGateways(t *testing.T) {
	st := peeredState(t)
	st.IGWMAC = mac.HW{2, 0, 0, 0, 9, 9}
	n, err := st.WithSourceDestCheck(0, false)
	if err != nil {
		t.Fatal(err)
	}
	if n.IGWMAC != st.IGWMAC || len(n.Peerings) != 2 || len(n.OnPrem) != 1 {
		t.Fatalf("after a change: IGW MAC %s, %d peerings, %d on-prem networks", n.IGWMAC, len(n.Peerings), len(n.OnPrem))
	}
	var v Verdict
	Decide(ipPkt(n.ENIs[0].Identity.MAC, n.VPCs[0].RouterMAC, "10.0.1.10", "10.1.1.10"), 0, n, nil, &v)
	if v.Action != Deliver {
		t.Errorf("a -> b over the peering after a change: %s %s", v.Action, v.Reason)
	}
}

// Over a peering the outbound ACL of the sender's subnet and the inbound ACL of the receiver's
// subnet apply, each in its own VPC.
func TestPeeringRunsBothSubnetsACLs(t *testing.T) {
	pfx := netip.MustParsePrefix
	all := ACLEntry{Number: 100, Allow: true, Proto: -1, ICMPType: -1, ICMPCode: -1, CIDR: pfx("0.0.0.0/0")}
	deny := func(c string) ACLEntry {
		return ACLEntry{Number: 50, Allow: false, Proto: -1, ICMPType: -1, ICMPCode: -1, CIDR: pfx(c)}
	}
	for _, c := range []struct {
		name        string
		aOut, bIn   []ACLEntry
		reason      Reason
		where, rule int
	}{
		{"both allow", []ACLEntry{all}, []ACLEntry{all}, ReasonDelivered, -1, 0},
		{"a's subnet denies out to b", []ACLEntry{deny("10.1.0.0/16"), all}, []ACLEntry{all}, ReasonNACLOutbound, 0, 50},
		{"b's subnet denies in from a", []ACLEntry{all}, []ACLEntry{deny("10.0.0.0/16"), all}, ReasonNACLInbound, 1, 50},
	} {
		st := peeredState(t)
		st.ACLs = append(st.ACLs, NewACL("a-acl", "acl-a", []ACLEntry{all}, c.aOut), NewACL("b-acl", "acl-b", c.bIn, []ACLEntry{all}))
		st.Subnets[0].ACL, st.Subnets[1].ACL = 1, 2
		if err := st.index(); err != nil {
			t.Fatal(err)
		}
		var v Verdict
		Decide(ipPkt(st.ENIs[0].Identity.MAC, st.VPCs[0].RouterMAC, "10.0.1.10", "10.1.1.10"), 0, st, nil, &v)
		if v.Reason != c.reason {
			t.Errorf("%s: %s %s, want %s", c.name, v.Action, v.Reason, c.reason)
			continue
		}
		if c.where >= 0 {
			s := v.Steps[v.NSteps-1]
			if int(s.Where) != c.where || int(s.Rule) != c.rule {
				t.Errorf("%s: decided by subnet %d rule %d, want subnet %d rule %d", c.name, s.Where, s.Rule, c.where, c.rule)
			}
		}
	}
}

// Flow logs' traffic-path of a sender's egress record: 4 through a peering, 3 through a VPN
// gateway, 1 inside the VPC.
func TestFlowEventsTrafficPathThroughGateways(t *testing.T) {
	st := peeredState(t)
	for _, c := range []struct {
		dst  string
		path uint8
	}{{"10.1.1.10", 4}, {"192.168.1.10", 3}} {
		p := ipPkt(st.ENIs[0].Identity.MAC, st.VPCs[0].RouterMAC, "10.0.1.10", c.dst)
		var v Verdict
		Decide(p, 0, st, nil, &v)
		var ev [MaxFlowEvents]FlowEvent
		n := FlowEvents(st, p, &v, &ev)
		if n == 0 || !ev[0].Egress || ev[0].TrafficPath != c.path {
			t.Errorf("a -> %s: %d events %+v, want an egress record with traffic-path %d", c.dst, n, ev[:n], c.path)
		}
	}
}
