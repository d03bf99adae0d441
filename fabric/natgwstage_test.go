package fabric

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/sgengine"
)

// The NAT gateway fixture: testState plus a NAT gateway in subnet a (ENI 5, 10.0.1.20, Elastic
// IP 203.0.113.20) and the internet (ENI 6, 198.51.100.20). Subnet b (db) routes 0/0 to the
// gateway; subnet a routes 0/0 to the internet gateway.
const (
	natGW    = 5
	natInet  = 6
	natEIP   = "203.0.113.20"
	natGWIP  = "10.0.1.20"
	natInetA = "198.51.100.20"
)

func natState(t *testing.T, aclA *ACLState) *State {
	t.Helper()
	st := testState(t)
	ip := netip.MustParseAddr
	st.VPCs[0].IGW = true
	st.IGWMAC = mac.HW{2, 0, 0, 0, 0, 0xee}
	st.ENIs = append(st.ENIs,
		ENIState{Kind: KindNATGW, Present: true, ID: "eni-nat", Instance: "nat-a", Name: "nat-a", Subnet: 0,
			Identity: mac.Identity{MAC: mac.HW{2, 0, 0, 0, 0, 0x20}, Addrs: []netip.Addr{ip(natGWIP)}}, PublicIP: ip(natEIP)},
		ENIState{Kind: KindInternet, Present: true, ID: "internet", Instance: "internet", Name: "eth0",
			Identity: mac.Identity{MAC: mac.HW{2, 0, 0, 0, 0, 0x30}, Addrs: []netip.Addr{ip(natInetA)}, SourceDestCheck: true}})
	n := st.clone()
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	local := RouteEntry{Dest: st.VPCs[0].CIDR, Kind: TargetLocal, Name: "local"}
	n.RouteTables = []RouteTableState{
		NewRouteTable("public", "rtb-public", []RouteEntry{local, {Dest: any4, Kind: TargetIGW, Name: "igw"}}),
		NewRouteTable("private", "rtb-private", []RouteEntry{local, {Dest: any4, Kind: TargetNATGW, Index: natGW, Name: "nat/nat-a"}}),
	}
	n.ACLs = []ACLState{DefaultACL("default", "acl-default")}
	n.Subnets[0].RouteTable, n.Subnets[1].RouteTable = 0, 1
	if aclA != nil {
		n.ACLs = append(n.ACLs, *aclA)
		n.Subnets[0].ACL = 1
	}
	if err := n.index(); err != nil {
		t.Fatal(err)
	}
	return withGroups(t, n)
}

func natTracking(st *State) *Tracking {
	tr := &Tracking{NAT: NewNATTables(st), Now: 1}
	for range st.ENIs {
		tr.Tables = append(tr.Tables, sgengine.NewConntrack())
	}
	return tr
}

// apply applies every update a verdict carries, as the engine does.
func apply(tr *Tracking, v *Verdict) {
	if v.EgressDone {
		tr.Tables[v.In].Apply(&v.Egress.Update, tr.Now)
	}
	if v.IngressDone {
		tr.Tables[v.Out].Apply(&v.Ingress.Update, tr.Now)
	}
	if v.NAT.Done {
		applyNAT(tr, v)
	}
}

func TestNATGatewayDecide(t *testing.T) {
	st := natState(t, nil)
	tr := natTracking(st)
	db := &st.ENIs[2]
	syn := tcpTo(st, 2, 0, natInetA, 443, true)
	syn.TCPFlags = packet.TCPSyn
	var v Verdict
	Decide(syn, 2, st, tr, &v)
	if v.Action != Deliver || v.Out != natInet || v.SetSrc != netip.MustParseAddr(natEIP) || v.NAT.Rewrite != natOut || v.NAT.Port < 1024 {
		t.Fatalf("outbound SYN: %v %v out %d src %v port %d; hops %v", v.Action, v.Reason, v.Out, v.SetSrc, v.NAT.Port, pathResult(st, &v).Hops)
	}
	var ev [MaxFlowEvents]FlowEvent
	n := FlowEvents(st, syn, &v, &ev)
	gwIP, remote := netip.MustParseAddr(natGWIP), netip.MustParseAddr(natInetA)
	want := []FlowEvent{
		{ENI: 2, Egress: true, Accept: true, Src: db.Identity.Addrs[0], Dst: remote, TrafficPath: 1},
		{ENI: natGW, Accept: true, Src: db.Identity.Addrs[0], Dst: remote},
		{ENI: natGW, Egress: true, Accept: true, Src: gwIP, Dst: remote, TrafficPath: 8, Ports: true, SrcPort: v.NAT.Port, DstPort: 443},
	}
	if n != len(want) {
		t.Fatalf("outbound events %+v, want %+v", ev[:n], want)
	}
	for k := range want {
		if ev[k] != want[k] {
			t.Errorf("outbound event %d: %+v, want %+v", k, ev[k], want[k])
		}
	}
	ext := v.NAT.Port
	apply(tr, &v)

	// The reply from the internet to the Elastic IP and the chosen port reaches db's port 40000.
	inet := &st.ENIs[natInet]
	reply := &packet.Parsed{Kind: packet.KindIPv4, SrcMAC: packet.MAC(inet.Identity.MAC), DstMAC: packet.MAC(st.IGWMAC),
		Src: remote, Dst: netip.MustParseAddr(natEIP), Proto: 6, HasPorts: true, SrcPort: 443, DstPort: ext, TCPFlags: packet.TCPSyn | packet.TCPAck}
	tr.Now = 2
	Decide(reply, natInet, st, tr, &v)
	if v.Action != Deliver || v.Out != 2 || v.SetDst != db.Identity.Addrs[0] || v.NAT.Rewrite != natIn || v.NAT.Port != 40000 {
		t.Fatalf("reply: %v %v out %d dst %v port %d; hops %v", v.Action, v.Reason, v.Out, v.SetDst, v.NAT.Port, pathResult(st, &v).Hops)
	}
	n = FlowEvents(st, reply, &v, &ev)
	want = []FlowEvent{
		{ENI: natGW, Accept: true, Src: remote, Dst: gwIP},
		{ENI: natGW, Egress: true, Accept: true, Src: remote, Dst: db.Identity.Addrs[0], TrafficPath: 1, Ports: true, SrcPort: 443, DstPort: 40000},
		{ENI: 2, Accept: true, Src: remote, Dst: db.Identity.Addrs[0], Ports: true, SrcPort: 443, DstPort: 40000},
	}
	if n != len(want) {
		t.Fatalf("reply events %+v, want %+v", ev[:n], want)
	}
	for k := range want {
		if ev[k] != want[k] {
			t.Errorf("reply event %d: %+v, want %+v", k, ev[k], want[k])
		}
	}
	apply(tr, &v)

	// Nothing gets in unasked: another port, or the right port from another host's port.
	for _, c := range []struct{ sport, dport uint16 }{{443, 22}, {444, ext}} {
		in := *reply
		in.SrcPort, in.DstPort, in.TCPFlags = c.sport, c.dport, packet.TCPSyn
		Decide(&in, natInet, st, tr, &v)
		if v.Action != Drop || v.Reason != ReasonNATNoMapping {
			t.Errorf("unsolicited %d -> %d: %v %v", c.sport, c.dport, v.Action, v.Reason)
		}
	}

	// TCP fragments are dropped.
	frag := *syn
	frag.Fragment, frag.FirstFragment = true, true
	Decide(&frag, 2, st, tr, &v)
	if v.Action != Drop || v.Reason != ReasonNATFragment {
		t.Errorf("TCP fragment: %v %v", v.Action, v.Reason)
	}

	// After 350 s of silence the next segment gets a RST.
	ack := *syn
	ack.TCPFlags = packet.TCPAck
	tr.Now = 2 + int64(351*time.Second)
	Decide(&ack, 2, st, tr, &v)
	if v.Action != ReplyReset || v.Reason != ReasonNATIdleTimeout {
		t.Errorf("segment after the idle timeout: %v %v", v.Action, v.Reason)
	}

	if a := testing.AllocsPerRun(100, func() { Decide(syn, 2, st, tr, &v) }); a != 0 {
		t.Errorf("Decide through the NAT gateway allocates %v", a)
	}
}

// TestNATGatewayNACL: the gateway subnet's NACL applies to what the gateway forwards; without
// the ephemeral ports inbound, replies die at the gateway's subnet.
func TestNATGatewayNACL(t *testing.T) {
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	acl := NewACL("public", "acl-public",
		[]ACLEntry{{Number: 100, Allow: true, Proto: -1, CIDR: netip.MustParsePrefix("10.0.0.0/16")}},
		[]ACLEntry{{Number: 100, Allow: true, Proto: -1, CIDR: any4}})
	st := natState(t, &acl)
	res, err := Trace(st, TraceSpec{From: 2, Dst: netip.MustParseAddr(natInetA), Proto: 6, SrcPort: 40000, DstPort: 443})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Forward.Reachable || res.Return == nil || res.Return.Reachable {
		t.Fatalf("forward %v, return %+v; want the return refused", res.Forward.Reachable, res.Return)
	}
	if len(res.Return.Blockers) == 0 || res.Return.Blockers[0].Code != "SUBNET_ACL_RESTRICTION" {
		t.Errorf("return blockers %+v, want the public subnet's NACL", res.Return.Blockers)
	}
	st = natState(t, nil)
	res, err = Trace(st, TraceSpec{From: 2, Dst: netip.MustParseAddr(natInetA), Proto: 6, SrcPort: 40000, DstPort: 443})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Forward.Reachable || res.Return == nil || !res.Return.Reachable {
		t.Fatalf("without the NACL: forward %+v return %+v", res.Forward, res.Return)
	}
	if !hasHop(res.Forward.Hops, "nat-gateway") || !hasHop(res.Return.Hops, "nat-gateway") {
		t.Errorf("trace does not show the gateway: %s / %s", hopsText(res.Forward.Hops), hopsText(res.Return.Hops))
	}
	// From the internet nothing reaches the gateway's address.
	res, err = Trace(st, TraceSpec{From: natInet, Dst: netip.MustParseAddr(natEIP), Proto: 6, SrcPort: 40000, DstPort: 22})
	if err != nil {
		t.Fatal(err)
	}
	if res.Forward.Reachable || len(res.Forward.Blockers) == 0 || res.Forward.Blockers[0].Code != "EC2SIM_NAT_GATEWAY_NO_MAPPING" {
		t.Errorf("inbound to the gateway: %+v", res.Forward)
	}
}

func hasHop(hs []Hop, stage string) bool {
	for _, h := range hs {
		if h.Stage == stage {
			return true
		}
	}
	return false
}

// TestNATGatewayEngine runs frames through the engine: the translation on the wire with valid
// checksums, the reply back, and the RST after an idle timeout driven by the engine's clock.
func TestNATGatewayEngine(t *testing.T) {
	st := natState(t, nil)
	e := NewEngine(st)
	var now atomic.Int64
	now.Store(1)
	e.SetClock(now.Load)
	ports := map[uint32]*chanPort{2: newChanPort(), natInet: newChanPort()}
	for i, p := range ports {
		if err := e.Attach(i, p); err != nil {
			t.Fatal(err)
		}
	}
	defer e.Close()
	db, inet := st.ENIs[2].Identity.MAC, st.ENIs[natInet].Identity.MAC
	tcpFrame := func(src, dst mac.HW, sip, dip string, sport, dport uint16, syn, ack bool) []byte {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr(src[:]), DstMAC: net.HardwareAddr(dst[:]), EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(sip).To4(), DstIP: net.ParseIP(dip).To4()}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: syn, ACK: ack, Seq: 100, Ack: 5000, Window: 1000}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		return frame(t, 0, eth, ip, tcp, gopacket.Payload("x"))
	}
	decode := func(b []byte) (*layers.IPv4, *layers.TCP) {
		t.Helper()
		pk := gopacket.NewPacket(b[packet.VnetHdrLen:], layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			t.Fatalf("not TCP/IPv4: %v", pk)
		}
		// Serialising again with computed checksums must give the same bytes.
		_ = tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, ip, tcp, gopacket.Payload(tcp.Payload)); err != nil {
			t.Fatal(err)
		}
		onWire := b[packet.VnetHdrLen+packet.EthHdrLen:]
		onWire = onWire[:min(len(onWire), int(ip.Length))] // without the Ethernet padding
		if got := buf.Bytes(); string(got) != string(onWire) {
			t.Errorf("checksums wrong after translation:\n got % x\nwant % x", onWire, got)
		}
		return ip, tcp
	}
	ports[2].in <- tcpFrame(db, st.VPCs[0].RouterMAC, "10.0.2.10", natInetA, 40000, 443, true, false)
	ip, tcp := decode(ports[natInet].expect(t))
	if ip.SrcIP.String() != natEIP || tcp.SrcPort < 1024 || tcp.DstPort != 443 {
		t.Fatalf("on the internet: %v:%d -> %v:%d", ip.SrcIP, tcp.SrcPort, ip.DstIP, tcp.DstPort)
	}
	ext := uint16(tcp.SrcPort)
	rf := tcpFrame(inet, st.IGWMAC, natInetA, natEIP, 443, ext, true, true)
	ports[natInet].in <- rf
	ip, tcp = decode(ports[2].expect(t))
	if ip.DstIP.String() != "10.0.2.10" || tcp.DstPort != 40000 || ip.SrcIP.String() != natInetA {
		t.Fatalf("back at db: %v:%d -> %v:%d", ip.SrcIP, tcp.SrcPort, ip.DstIP, tcp.DstPort)
	}
	if m, ok := e.NATMetrics(natGW); !ok || m.ActiveConnectionCount != 1 || m.ConnectionEstablishedCount != 1 {
		t.Errorf("metrics %+v", m)
	}
	// Unsolicited: nothing arrives.
	ports[natInet].in <- tcpFrame(inet, st.IGWMAC, natInetA, natEIP, 443, 22, true, false)
	ports[2].expectNone(t)

	now.Add(int64(351 * time.Second))
	ports[2].in <- tcpFrame(db, st.VPCs[0].RouterMAC, "10.0.2.10", natInetA, 40000, 443, false, true)
	ip, tcp = decode(ports[2].expect(t))
	if !tcp.RST || ip.SrcIP.String() != natInetA || tcp.SrcPort != 443 || tcp.DstPort != 40000 || tcp.Seq != 5000 {
		t.Errorf("after the idle timeout: %v:%d -> %v:%d RST=%v seq=%d", ip.SrcIP, tcp.SrcPort, ip.DstIP, tcp.DstPort, tcp.RST, tcp.Seq)
	}
	ports[natInet].expectNone(t)
	if got := e.Counters(natGW).Drops[ReasonNATIdleTimeout].Load(); got != 1 {
		t.Errorf("idle-timeout drops on the gateway: %d", got)
	}
}

// TestCloneKeepsTheInternetGateway: a change of an ENI attribute (a NAT instance's
// source/dest check) must not lose the internet gateway's MAC, or the internet's ARP for every
// public address is answered with a zero MAC and all internet traffic stops.
func TestCloneKeepsTheInternetGateway(t *testing.T) {
	st := natState(t, nil)
	n, err := st.WithSourceDestCheck(0, false)
	if err != nil {
		t.Fatal(err)
	}
	if n.IGWMAC != st.IGWMAC || n.Internet != st.Internet {
		t.Errorf("after WithSourceDestCheck: IGW MAC %v internet %d, want %v %d", n.IGWMAC, n.Internet, st.IGWMAC, st.Internet)
	}
}

// TestPrivateNATGateway: a private gateway translates to its private address; here db's
// subnet routes subnet a (10.0.1.0/24, a middlebox route) through it, so web sees the
// gateway's address, and web's reply to that address goes back through the gateway's table.
// A private gateway has no way to the internet.
func TestPrivateNATGateway(t *testing.T) {
	st := natState(t, nil)
	n := st.clone()
	n.ENIs[natGW].PublicIP = netip.Addr{}
	local := RouteEntry{Dest: st.VPCs[0].CIDR, Kind: TargetLocal, Name: "local"}
	n.RouteTables = append(append([]RouteTableState(nil), st.RouteTables...),
		NewRouteTable("via-nat", "rtb-via-nat", []RouteEntry{local,
			{Dest: netip.MustParsePrefix("10.0.1.0/24"), Kind: TargetNATGW, Index: natGW, Name: "nat/nat-a"},
			{Dest: netip.MustParsePrefix("0.0.0.0/0"), Kind: TargetNATGW, Index: natGW, Name: "nat/nat-a"}}))
	n.Subnets[1].RouteTable = uint32(len(n.RouteTables) - 1)
	if err := n.index(); err != nil {
		t.Fatal(err)
	}
	st = openGroups(t, n)
	tr := natTracking(st)
	gwIP := netip.MustParseAddr(natGWIP)
	syn := tcpTo(st, 2, 0, "10.0.1.10", 80, true)
	syn.TCPFlags = packet.TCPSyn
	var v Verdict
	Decide(syn, 2, st, tr, &v)
	if v.Action != Deliver || v.Out != 0 || v.SetSrc != gwIP || v.NAT.Rewrite != natOut {
		t.Fatalf("db -> web through the private gateway: %v %v out %d src %v; %s", v.Action, v.Reason, v.Out, v.SetSrc, hopsText(pathResult(st, &v).Hops))
	}
	ext := v.NAT.Port
	var ev [MaxFlowEvents]FlowEvent
	if n := FlowEvents(st, syn, &v, &ev); n != 4 || ev[3].ENI != 0 || ev[3].Src != gwIP || !ev[3].Accept {
		t.Errorf("events %+v, want db egress, gateway in and out, web ingress from the gateway", ev[:n])
	}
	apply(tr, &v)
	reply := tcpTo(st, 0, natGW, natGWIP, ext, true)
	reply.SrcPort, reply.TCPFlags = 80, packet.TCPSyn|packet.TCPAck
	tr.Now = 2
	Decide(reply, 0, st, tr, &v)
	if v.Action != Deliver || v.Out != 2 || v.SetDst != st.ENIs[2].Identity.Addrs[0] || v.NAT.Port != 40000 {
		t.Fatalf("web's reply: %v %v out %d dst %v port %d; %s", v.Action, v.Reason, v.Out, v.SetDst, v.NAT.Port, hopsText(pathResult(st, &v).Hops))
	}
	// The same reply sent to the gateway's MAC, as web's kernel does after ARP (same subnet).
	direct := tcpTo(st, 0, natGW, natGWIP, ext, false)
	direct.SrcPort, direct.TCPFlags = 80, packet.TCPAck
	Decide(direct, 0, st, tr, &v)
	if v.Action != Deliver || v.Out != 2 || !v.RewriteMACs || v.DstMAC != st.ENIs[2].Identity.MAC {
		t.Fatalf("web's reply to the gateway's MAC: %v %v out %d; %s", v.Action, v.Reason, v.Out, hopsText(pathResult(st, &v).Hops))
	}
	if a := testing.AllocsPerRun(100, func() { FlowEvents(st, reply, &v, &ev) }); a != 0 {
		t.Errorf("FlowEvents through the gateway allocates %v", a)
	}
	// To the internet: the gateway's subnet routes 0/0 to the IGW, but a private gateway has
	// no Elastic IP.
	out := tcpTo(st, 2, 0, natInetA, 443, true)
	out.TCPFlags = packet.TCPSyn
	Decide(out, 2, st, tr, &v)
	if v.Action != Drop || v.Reason != ReasonNoPublicIP {
		t.Errorf("private gateway to the internet: %v %v", v.Action, v.Reason)
	}
}

// TestNATGatewayICMPErrors: an ICMP error from the internet about a datagram the gateway sent
// (its quote names the Elastic IP and the gateway's port) reaches the inside host with the
// quote translated back, so that its socket can match it; one about nothing the gateway sent
// is dropped.
func TestNATGatewayICMPErrors(t *testing.T) {
	st := openGroups(t, natState(t, nil)) // AWS admits no related ICMP by itself: a rule must
	tr := natTracking(st)
	dns := tcpTo(st, 2, 0, natInetA, 53, true)
	dns.Proto = 17
	var v Verdict
	Decide(dns, 2, st, tr, &v)
	if v.Action != Deliver {
		t.Fatalf("UDP out: %v %v", v.Action, v.Reason)
	}
	ext := v.NAT.Port
	apply(tr, &v)
	inet := &st.ENIs[natInet]
	eip, remote := netip.MustParseAddr(natEIP), netip.MustParseAddr(natInetA)
	unreach := &packet.Parsed{Kind: packet.KindIPv4, SrcMAC: packet.MAC(inet.Identity.MAC), DstMAC: packet.MAC(st.IGWMAC),
		Src: remote, Dst: eip, Proto: 1, HasICMP: true, ICMPType: 3, ICMPCode: 3,
		HasInner: true, InnerSrc: eip, InnerDst: remote, InnerProto: 17, InnerHasPorts: true, InnerSrcPort: ext, InnerDstPort: 53}
	tr.Now = 2
	Decide(unreach, natInet, st, tr, &v)
	if v.Action != Deliver || v.Out != 2 || v.SetDst != st.ENIs[2].Identity.Addrs[0] || v.NAT.Rewrite != natIn || v.NAT.Port != 40000 {
		t.Fatalf("port unreachable back: %v %v out %d dst %v port %d; %s", v.Action, v.Reason, v.Out, v.SetDst, v.NAT.Port, hopsText(pathResult(st, &v).Hops))
	}
	stray := *unreach
	stray.InnerSrcPort = ext + 1
	Decide(&stray, natInet, st, tr, &v)
	if v.Action != Drop || v.Reason != ReasonNATNoMapping {
		t.Errorf("an error about an unknown flow: %v %v", v.Action, v.Reason)
	}
}

// openGroups gives every ENI of st one group that allows everything in and out.
func openGroups(t *testing.T, st *State) *State {
	t.Helper()
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	cfg := &sgengine.Config{Groups: []sgengine.Group{{ID: "sg-open", Name: "open",
		Ingress: []sgengine.Rule{{Proto: -1, CIDR: any4}}, Egress: []sgengine.Rule{{Proto: -1, CIDR: any4}}}}}
	for i, e := range st.ENIs {
		cfg.ENIs = append(cfg.ENIs, sgengine.ENIConfig{Index: uint32(i), Groups: []string{"sg-open"}, PrivateIPs: e.Identity.Addrs})
	}
	pol, err := sgengine.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st.WithPolicy(pol)
}

// A DF packet too big for the internet, sent through the NAT gateway, is answered with
// "fragmentation needed" to the instance behind the gateway — when that instance's groups admit
// ICMP 3/4, as AWS documents for PMTUD — and dropped without an answer otherwise. The check is
// the sender's, not the gateway's: the cases give the ICMP rule to one of the two only.
func TestNATGatewayFragNeeded(t *testing.T) {
	for _, c := range []struct {
		name      string
		admitting uint32 // the ENI whose groups admit ICMP 3/4
		action    Action
	}{
		{"the sender admits ICMP", 2, ReplyFragNeeded},
		{"only the gateway's ENI admits ICMP", natGW, Drop},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := natState(t, nil)
			any4 := netip.MustParsePrefix("0.0.0.0/0")
			cfg := &sgengine.Config{Groups: []sgengine.Group{
				{ID: "sg-out", Name: "out", Egress: []sgengine.Rule{{Proto: -1, CIDR: any4}}},
				{ID: "sg-pmtud", Name: "pmtud", Ingress: []sgengine.Rule{{Proto: 1, FromPort: 3, ToPort: 4, CIDR: any4}}},
			}}
			for i, e := range st.ENIs {
				groups := []string{"sg-out"}
				if uint32(i) == c.admitting {
					groups = append(groups, "sg-pmtud")
				}
				cfg.ENIs = append(cfg.ENIs, sgengine.ENIConfig{Index: uint32(i), Groups: groups, PrivateIPs: e.Identity.Addrs})
			}
			pol, err := sgengine.Compile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			st = st.WithPolicy(pol)
			tr := natTracking(st)
			syn := tcpTo(st, 2, 0, natInetA, 443, true)
			syn.TCPFlags = packet.TCPSyn
			var v Verdict
			Decide(syn, 2, st, tr, &v) // the connection exists, so the big segment is translated
			apply(tr, &v)
			big := tcpTo(st, 2, 0, natInetA, 443, true)
			big.TCPFlags = packet.TCPAck
			big.DF, big.TotalLen = true, 2000
			tr.Now = 2
			Decide(big, 2, st, tr, &v)
			if v.Action != c.action || v.Reason != ReasonTooBig {
				t.Fatalf("got %v %v, want %v %v; hops %v", v.Action, v.Reason, c.action, ReasonTooBig, pathResult(st, &v).Hops)
			}
			if c.action == ReplyFragNeeded && v.MTU != InternetMTU {
				t.Errorf("MTU %d, want %d", v.MTU, InternetMTU)
			}
		})
	}
}
