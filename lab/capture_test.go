package lab

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/sys/unix"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/scenarios"
)

// capScenario has one path of each kind a capture must label: delivered across subnets, dropped
// by the destination subnet's NACL, dropped by the destination's group.
const capScenario = `
name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
      b: {cidr: 10.0.2.0/24, network_acl: strict}
    network_acls:
      strict:
        ingress:
          - {rule: 100, action: allow, proto: udp, ports: 7000, cidr: 0.0.0.0/0}
          - {rule: 110, action: allow, proto: udp, ports: 7002, cidr: 0.0.0.0/0}
          - {rule: 120, action: allow, proto: tcp, ports: all, cidr: 0.0.0.0/0}
          - {rule: 130, action: allow, proto: icmp, cidr: 0.0.0.0/0}
        egress:
          - {rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0}
    security_groups:
      db:
        ingress:
          - {proto: udp, ports: 7000, cidr: 10.0.0.0/16}
          - {proto: tcp, ports: 5432, cidr: 10.0.0.0/16}
          - {proto: icmp, icmp_type: -1, cidr: 10.0.0.0/16}
instances:
  web: {subnet: main/a, ip: 10.0.1.10}
  db:  {subnet: main/b, ip: 10.0.2.10, security_groups: [db]}
  app: {subnet: main/a, ip: 10.0.1.20}
`

// capPort is a channel-backed Port, like fabric's test port.
type capPort struct {
	in, out chan []byte
	closed  chan struct{}
	once    sync.Once
}

func newCapPort() *capPort {
	return &capPort{in: make(chan []byte, 256), out: make(chan []byte, 256), closed: make(chan struct{})}
}

func (p *capPort) Read(b []byte) (int, error) {
	select {
	case f := <-p.in:
		return copy(b, f), nil
	case <-p.closed:
		return 0, os.ErrClosed
	}
}

func (p *capPort) Write(b []byte) (int, error) {
	select {
	case p.out <- append([]byte(nil), b...):
		return len(b), nil
	case <-p.closed:
		return 0, os.ErrClosed
	}
}

func (p *capPort) Close() error { p.once.Do(func() { close(p.closed) }); return nil }

// capUnitLab is a lab without namespaces: the plan's engine with channel ports on every ENI,
// enough to exercise captures without root.
func capUnitLab(t testing.TB, yaml string) (*Lab, []*capPort) {
	t.Helper()
	sc, err := scenarios.Parse("capture.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(sc, capName("capu"))
	if err != nil {
		t.Fatal(err)
	}
	l := &Lab{Plan: plan, Engine: fabric.NewEngine(plan.State), done: make(chan struct{})}
	ports := make([]*capPort, len(plan.State.ENIs))
	for i := range ports {
		ports[i] = newCapPort()
		if err := l.Engine.Attach(uint32(i), ports[i]); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		l.downOnce.Do(func() { close(l.done) })
		l.Engine.Close()
	})
	return l, ports
}

func capName(prefix string) string {
	b := make([]byte, 3)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func capENI(l *Lab, inst string) uint32 { return l.Plan.Instance(inst).ENIs[0] }

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func capUDP(t testing.TB, srcMAC, dstMAC mac.HW, src, dst string, port int, payload string) []byte {
	eth := &layers.Ethernet{SrcMAC: srcMAC[:], DstMAC: dstMAC[:], EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	udp := &layers.UDP{SrcPort: 40000, DstPort: layers.UDPPort(port)}
	udp.SetNetworkLayerForChecksum(ip)
	return serialize(t, eth, ip, udp, gopacket.Payload(payload))
}

func capARP(t testing.TB, srcMAC mac.HW, src, target string) []byte {
	eth := &layers.Ethernet{SrcMAC: srcMAC[:], DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: srcMAC[:], SourceProtAddress: net.ParseIP(src).To4(),
		DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP(target).To4()}
	return serialize(t, eth, arp)
}

// settled sums what the engine counts after it has observed a frame: frames delivered and
// frames dropped. The ARP answers it writes are not counted; the test reads them instead.
func settled(l *Lab) uint64 {
	var n uint64
	for i := range l.Engine.State().ENIs {
		c := l.Engine.Counters(uint32(i))
		n += c.TxPackets.Load()
		for r := range c.Drops {
			n += c.Drops[r].Load()
		}
	}
	return n
}

// inject sends a frame from ENI i's port and waits until the engine has dealt with it.
func inject(t testing.TB, l *Lab, ports []*capPort, i uint32, frame []byte, reply bool) {
	t.Helper()
	before := settled(l)
	ports[i].in <- append(make([]byte, packet.VnetHdrLen), frame...)
	if reply {
		select {
		case <-ports[i].out:
			return
		case <-time.After(2 * time.Second):
			t.Fatal("no ARP answer")
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for settled(l) == before {
		if time.Now().After(deadline) {
			t.Fatal("the engine did not deal with the frame")
		}
		time.Sleep(time.Millisecond)
	}
}

// capFile is a pcapng capture read back with gopacket's reader.
type capFile struct {
	ifaces            []CaptureInterface
	received, dropped []uint64
}

func readAll(t testing.TB, b []byte) (*capFile, []*CapturedFrame) {
	t.Helper()
	cf := &capFile{}
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{StatisticsCallback: func(i int, st pcapgo.NgInterfaceStatistics) {
		for len(cf.received) <= i {
			cf.received, cf.dropped = append(cf.received, 0), append(cf.dropped, 0)
		}
		cf.received[i], cf.dropped[i] = st.PacketsReceived, st.PacketsDropped
	}})
	if err != nil {
		t.Fatal(err)
	}
	var out []*CapturedFrame
	for {
		f, err := NextCapturedFrame(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", len(out)+1, err)
		}
		out = append(out, f)
	}
	for i := range r.NInterfaces() {
		ni, _ := r.Interface(i)
		ci := SplitInterfaceName(ni.Name)
		ci.Description = ni.Description
		cf.ifaces = append(cf.ifaces, ci)
		if ni.LinkType != layers.LinkTypeEthernet {
			t.Errorf("interface %d link type %v", i, ni.LinkType)
		}
	}
	return cf, out
}

func TestCaptureLabelsEveryPath(t *testing.T) {
	l, ports := capUnitLab(t, capScenario)
	st := l.Engine.State()
	web, db := capENI(l, "web"), capENI(l, "db")
	webMAC, dbMAC, router := st.ENIs[web].Identity.MAC, st.ENIs[db].Identity.MAC, st.VPCs[0].RouterMAC
	var buf bytes.Buffer
	var verdicts strings.Builder
	stop, err := l.Capture("web,db", &buf, CaptureOptions{Verdicts: &verdicts})
	if err != nil {
		t.Fatal(err)
	}
	sent := [][]byte{
		capARP(t, webMAC, "10.0.1.10", "10.0.1.1"),
		capUDP(t, webMAC, router, "10.0.1.10", "10.0.2.10", 7000, "ok"),
		capUDP(t, webMAC, router, "10.0.1.99", "10.0.2.10", 7000, "spoofed"),
		capUDP(t, webMAC, router, "10.0.1.10", "10.0.2.10", 7001, "nacl"),
		capUDP(t, webMAC, router, "10.0.1.10", "10.0.2.10", 7002, "sg"),
	}
	inject(t, l, ports, web, sent[0], true)
	for _, f := range sent[1:] {
		inject(t, l, ports, web, f, false)
	}
	delivered := <-ports[db].out
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	cr, frames := readAll(t, buf.Bytes())
	want := []struct {
		iface   int
		out     bool
		comment string
		data    []byte // nil: the frame as sent
	}{
		{0, true, "out arp-reply arp-answered stage l2", sent[0]},
		{0, false, "in generated arp-reply", nil},
		{0, true, "out deliver", sent[1]},
		{1, false, "in deliver", delivered[packet.VnetHdrLen:]},
		{0, true, "out drop spoofed-source-ip stage source-check", sent[2]},
		{0, true, "out drop network-acl-inbound stage nacl-inbound rule *", sent[3]},
		{1, false, "in drop network-acl-inbound stage nacl-inbound rule *", sent[3]},
		{0, true, "out drop security-group-ingress stage sg-ingress", sent[4]},
		{1, false, "in drop security-group-ingress stage sg-ingress", sent[4]},
	}
	if len(frames) != len(want) {
		for _, f := range frames {
			t.Logf("%d %v %s", f.Interface, f.Outbound, f.Comment)
		}
		t.Fatalf("%d frames captured, want %d", len(frames), len(want))
	}
	for i, w := range want {
		f := frames[i]
		if f.Interface != w.iface || f.Outbound != w.out || f.Comment != w.comment {
			t.Errorf("frame %d: interface %d outbound %v %q, want %d %v %q", i+1, f.Interface, f.Outbound, f.Comment, w.iface, w.out, w.comment)
		}
		if w.data != nil && !bytes.Equal(f.Data, w.data) {
			t.Errorf("frame %d (%s): bytes differ from what the wire carried:\n got % x\nwant % x", i+1, f.Comment, f.Data, w.data)
		}
	}
	// The generated ARP answer names the router's MAC, as the engine's own answer does.
	p := gopacket.NewPacket(frames[1].Data, layers.LayerTypeEthernet, gopacket.Default)
	if a, ok := p.Layer(layers.LayerTypeARP).(*layers.ARP); !ok || !bytes.Equal(a.SourceHwAddress, router[:]) || a.Operation != layers.ARPReply {
		t.Errorf("generated ARP reply: %v", p)
	}
	// Delivered across subnets: the receiver's copy has the router's MAC rewrite, not the sender's.
	if !bytes.Equal(frames[3].Data[0:6], dbMAC[:]) || !bytes.Equal(frames[3].Data[6:12], router[:]) {
		t.Errorf("delivered frame MACs %x -> %x, want router %x -> db %x", frames[3].Data[6:12], frames[3].Data[0:6], router, dbMAC)
	}
	ifs := cr.ifaces
	if len(ifs) != 2 || ifs[0].Name != "web.eth0" || ifs[0].ENI != st.ENIs[web].ID || ifs[1].Name != "db.eth0" {
		t.Errorf("interfaces %+v", ifs)
	}
	if !slices.Equal(cr.received, []uint64{6, 3}) || !slices.Equal(cr.dropped, []uint64{0, 0}) {
		t.Errorf("statistics: received %v dropped %v, want [6 3] [0 0]", cr.received, cr.dropped)
	}
	lines := strings.Split(strings.TrimSpace(verdicts.String()), "\n")
	if len(lines) != len(want) || !strings.HasSuffix(lines[4], " web.eth0 out drop spoofed-source-ip stage source-check") || !strings.HasPrefix(lines[4], "5 ") {
		t.Errorf("companion view:\n%s", verdicts.String())
	}
	// Stopping removed the capture from the engine: no observer is left to pay for.
	if p := l.obs.list.Load(); p != nil && len(*p) != 0 {
		t.Errorf("%d observers left after stop", len(*p))
	}
}

func TestCaptureTargets(t *testing.T) {
	l, _ := capUnitLab(t, capScenario)
	st := l.Engine.State()
	for _, c := range []struct {
		target string
		want   []string
		err    string
	}{
		{"web", []string{"web.eth0"}, ""},
		{"db.eth0", []string{"db.eth0"}, ""},
		{st.ENIs[capENI(l, "db")].ID, []string{"db.eth0"}, ""},
		{"web, db,web", []string{"web.eth0", "db.eth0"}, ""},
		{"nope", nil, `no instance "nope"`},
		{"web.eth3", nil, `has no ENI "eth3"`},
		{"eni-0000", nil, "no ENI eni-0000"},
		{"internet", nil, "has no internet"},
		{"", nil, "capture target is empty"},
	} {
		_, ifs, err := l.captureTargets(c.target)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.target, err, c.err)
			}
			continue
		}
		var names []string
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		if err != nil || !slices.Equal(names, c.want) {
			t.Errorf("%q: %v %v, want %v", c.target, names, err, c.want)
		}
	}
	if _, err := l.Capture("web", io.Discard, CaptureOptions{Format: "erf"}); err == nil || !strings.Contains(err.Error(), "want pcapng or pcap") {
		t.Errorf("bad format: %v", err)
	}
	if _, err := l.Capture("web", io.Discard, CaptureOptions{Count: -1}); err == nil {
		t.Error("negative count accepted")
	}
}

func TestCaptureCountAndLabDown(t *testing.T) {
	l, ports := capUnitLab(t, capScenario)
	st := l.Engine.State()
	web := capENI(l, "web")
	webMAC, router := st.ENIs[web].Identity.MAC, st.VPCs[0].RouterMAC
	var buf bytes.Buffer
	c, err := l.startCapture("web", &buf, CaptureOptions{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		inject(t, l, ports, web, capUDP(t, webMAC, router, "10.0.1.10", "10.0.2.10", 7000, fmt.Sprint(i)), false)
	}
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
		t.Fatal("the capture did not end after its count")
	}
	if _, frames := readAll(t, buf.Bytes()); len(frames) != 2 {
		t.Errorf("%d frames with count 2", len(frames))
	}
	// A capture without a count ends when the lab goes down.
	var buf2 bytes.Buffer
	c2, err := l.startCapture("web", &buf2, CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l.downOnce.Do(func() { close(l.done) })
	select {
	case <-c2.done:
	case <-time.After(2 * time.Second):
		t.Fatal("the capture did not end with the lab")
	}
	if cf, frames := readAll(t, buf2.Bytes()); len(frames) != 0 || len(cf.received) != 1 {
		t.Errorf("the capture ended with the lab: %d frames, statistics %v", len(frames), cf.received)
	}
}

// blockedWriter holds every write until released, as a reader that stopped reading would.
type blockedWriter struct {
	release chan struct{}
	buf     bytes.Buffer
}

func (w *blockedWriter) Write(b []byte) (int, error) {
	<-w.release
	return w.buf.Write(b)
}

func TestSlowCaptureDropsAndNeverBlocksTheEngine(t *testing.T) {
	l, ports := capUnitLab(t, capScenario)
	st := l.Engine.State()
	web, db := capENI(l, "web"), capENI(l, "db")
	webMAC, router := st.ENIs[web].Identity.MAC, st.VPCs[0].RouterMAC
	bw := &blockedWriter{release: make(chan struct{})}
	// The header is written at start: let it through, then block.
	go func() { bw.release <- struct{}{} }()
	c, err := l.startCapture("web", bw, CaptureOptions{Queue: 1000})
	if err != nil {
		t.Fatal(err)
	}
	frame := capUDP(t, webMAC, router, "10.0.1.10", "10.0.2.10", 7000, strings.Repeat("x", 400))
	const n = 50
	for range n {
		inject(t, l, ports, web, frame, false)
		<-ports[db].out
	}
	// Every frame went through the engine although the capture's writer was stuck.
	close(bw.release)
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	cr, frames := readAll(t, bw.buf.Bytes())
	if len(cr.dropped) != 1 || cr.dropped[0] == 0 || uint64(len(frames))+cr.dropped[0] != n || cr.received[0] != uint64(len(frames)) {
		t.Errorf("%d frames written, statistics say %v received %v dropped; want them to add up to %d with drops", len(frames), cr.received, cr.dropped, n)
	}
}

// TestCaptureFileRoundTrip: what CaptureWriter writes, gopacket's pcapng reader reads back
// whole — times to the nanosecond, interfaces, directions, comments, statistics.
func TestCaptureFileRoundTrip(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	ifaces := []CaptureInterface{{Name: "a.eth0", ENI: "eni-1", Description: "one"}, {Name: "b.eth1", ENI: "eni-2"}, {Name: "c.eth0", ENI: "eni-3"}}
	var want []CapturedFrame
	base := time.Unix(1700000000, 0)
	for i := range 300 {
		d := make([]byte, rng.IntN(1600))
		for k := range d {
			d[k] = byte(rng.Uint32())
		}
		c := strings.Repeat("v", rng.IntN(7))
		want = append(want, CapturedFrame{Time: base.Add(time.Duration(rng.Int64N(1e15))), Interface: rng.IntN(3), Outbound: i%3 == 0, Comment: c, Data: d})
	}
	var buf bytes.Buffer
	cw, err := NewCaptureWriter(&buf, FormatPcapng, ifaces, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if err := cw.Write(&want[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := cw.Close([]uint64{1, 2, 3}, []uint64{4, 5, 6}); err != nil {
		t.Fatal(err)
	}
	cr, got := readAll(t, buf.Bytes())
	if len(got) != len(want) {
		t.Fatalf("%d frames back, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := &want[i], got[i]
		if !g.Time.Equal(w.Time) || g.Interface != w.Interface || g.Outbound != w.Outbound || g.Comment != w.Comment || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("frame %d: got %v %d %v %q (%d bytes), want %v %d %v %q (%d bytes)", i, g.Time, g.Interface, g.Outbound, g.Comment, len(g.Data), w.Time, w.Interface, w.Outbound, w.Comment, len(w.Data))
		}
	}
	if !slices.Equal(cr.ifaces, ifaces) || !slices.Equal(cr.received, []uint64{1, 2, 3}) || !slices.Equal(cr.dropped, []uint64{4, 5, 6}) {
		t.Errorf("interfaces %+v received %v dropped %v", cr.ifaces, cr.received, cr.dropped)
	}
}

func TestVerdictComments(t *testing.T) {
	for _, c := range []struct {
		f    capFrame
		want string
	}{
		{capFrame{out: true, action: fabric.Deliver, reason: fabric.ReasonDelivered, rule: -1}, "out deliver"},
		{capFrame{action: fabric.Deliver, rule: -1}, "in deliver"},
		{capFrame{out: true, action: fabric.Drop, reason: fabric.ReasonBadSourceIP, stage: fabric.StageSourceCheck, hasStage: true, rule: -1}, "out drop spoofed-source-ip stage source-check"},
		{capFrame{action: fabric.Drop, reason: fabric.ReasonNACLInbound, stage: fabric.StageNACLIn, hasStage: true, rule: 120}, "in drop network-acl-inbound stage nacl-inbound rule 120"},
		{capFrame{action: fabric.Drop, reason: fabric.ReasonNACLOutbound, stage: fabric.StageNACLOut, hasStage: true, rule: 32768}, "in drop network-acl-outbound stage nacl-outbound rule *"},
		{capFrame{out: true, action: fabric.Drop, reason: fabric.ReasonMalformed, rule: -1}, "out drop malformed"},
		{capFrame{out: true, action: fabric.ReplyFragNeeded, reason: fabric.ReasonTooBig, stage: fabric.StageIGW, hasStage: true, rule: -1, mtu: 1500}, "out icmp-frag-needed larger-than-mtu stage internet-gateway mtu 1500"},
		{capFrame{generated: true, action: fabric.ReplyFragNeeded, rule: -1, mtu: 1500}, "in generated icmp-frag-needed mtu 1500"},
	} {
		if got := c.f.comment(); got != c.want {
			t.Errorf("comment %q, want %q", got, c.want)
		}
	}
}

// TestRewriteAddrMatchesRecomputation: the gateway's rewrite, as capture applies it to its copy,
// leaves checksums a full recomputation agrees with.
func TestRewriteAddrMatchesRecomputation(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	for i := range 500 {
		src := net.IPv4(10, 0, 1, byte(rng.IntN(250)+1)).To4()
		dst := net.IPv4(203, 0, 113, byte(rng.IntN(250)+1)).To4()
		eth := &layers.Ethernet{SrcMAC: make([]byte, 6), DstMAC: make([]byte, 6), EthernetType: layers.EthernetTypeIPv4}
		payload := gopacket.Payload(make([]byte, rng.IntN(100)))
		var l4 gopacket.SerializableLayer
		proto := layers.IPProtocolTCP
		ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: src, DstIP: dst, Id: uint16(rng.Uint32())}
		if i%2 == 0 {
			tcp := &layers.TCP{SrcPort: layers.TCPPort(rng.IntN(65535)), DstPort: 80, Seq: rng.Uint32(), SYN: true, Window: 1000}
			tcp.SetNetworkLayerForChecksum(ip)
			l4 = tcp
		} else {
			proto = layers.IPProtocolUDP
			udp := &layers.UDP{SrcPort: layers.UDPPort(rng.IntN(65535)), DstPort: 53}
			udp.SetNetworkLayerForChecksum(ip)
			l4 = udp
		}
		ip.Protocol = proto
		frame := serialize(t, eth, ip, l4, payload)
		var p packet.Parsed
		p.Decode(frame)
		to := netip.AddrFrom4([4]byte{203, 0, 113, byte(rng.IntN(250) + 1)})
		v := fabric.Verdict{}
		if i%4 < 2 {
			v.SetSrc = to
		} else {
			v.SetDst = to
		}
		fabric.Translate(frame, &p, packet.VnetHdr{}, &v)
		// Recompute with gopacket and compare.
		pk := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
		ip2 := pk.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		var ls []gopacket.SerializableLayer
		ls = append(ls, pk.Layer(layers.LayerTypeEthernet).(*layers.Ethernet), ip2)
		if tcp, ok := pk.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			tcp.SetNetworkLayerForChecksum(ip2)
			ls = append(ls, tcp)
		} else {
			udp := pk.Layer(layers.LayerTypeUDP).(*layers.UDP)
			udp.SetNetworkLayerForChecksum(ip2)
			ls = append(ls, udp)
		}
		ls = append(ls, payload)
		if re := serialize(t, ls...); !bytes.Equal(re, frame) {
			t.Fatalf("case %d: rewritten\n% x\nrecomputed\n% x", i, frame, re)
		}
	}
}

// TestObserveWithoutCaptureDoesNotAllocate: a frame on an ENI nobody captures costs the
// capture a few loads, no allocation.
func TestObserveWithoutCaptureDoesNotAllocate(t *testing.T) {
	l, _ := capUnitLab(t, capScenario)
	c, err := l.startCapture("db", io.Discard, CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	web := capENI(l, "web")
	frame, p, v := observed(t, l, web, "10.0.1.10", "10.0.1.20")
	if a := testing.AllocsPerRun(1000, func() { c.Observe(web, frame, packet.VnetHdr{}, p, v, 0) }); a != 0 {
		t.Errorf("%v allocations per frame of an ENI not captured", a)
	}
	if a := testing.AllocsPerRun(1000, func() { l.obs.Observe(web, frame, packet.VnetHdr{}, p, v, 0) }); a != 0 {
		t.Errorf("%v allocations per frame through the fan-out", a)
	}
}

// observed decides one UDP frame from ENI in as the engine would and returns what an observer
// gets.
func observed(t testing.TB, l *Lab, in uint32, src, dst string) ([]byte, *packet.Parsed, *fabric.Verdict) {
	st := l.Engine.State()
	frame := capUDP(t, st.ENIs[in].Identity.MAC, st.VPCs[0].RouterMAC, src, dst, 7000, "bench")
	var p packet.Parsed
	p.Decode(frame)
	var v fabric.Verdict
	fabric.Decide(&p, in, st, l.Engine.Tracking(), &v)
	return frame, &p, &v
}

// BenchmarkEngine measures a frame's trip through the engine (channel ports) with no capture,
// with a capture on another ENI and with one on the sender; the first is the engine's cost when
// nothing observes, which a capture started and stopped leaves unchanged.
func BenchmarkEngine(b *testing.B) {
	for _, mode := range []string{"none", "stopped", "other-eni", "sender"} {
		b.Run(mode, func(b *testing.B) {
			l, ports := capUnitLab(b, capScenario)
			st := l.Engine.State()
			web, db := capENI(l, "web"), capENI(l, "db")
			frame := append(make([]byte, packet.VnetHdrLen), capUDP(b, st.ENIs[web].Identity.MAC, st.VPCs[0].RouterMAC, "10.0.1.10", "10.0.2.10", 7000, "bench")...)
			switch mode {
			case "stopped":
				stop, _ := l.Capture("web", io.Discard, CaptureOptions{})
				stop()
			case "other-eni":
				stop, _ := l.Capture("app", io.Discard, CaptureOptions{})
				defer stop()
			case "sender":
				stop, _ := l.Capture("web", io.Discard, CaptureOptions{})
				defer stop()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				ports[web].in <- frame
				<-ports[db].out
			}
		})
	}
}

// BenchmarkObserve is the capture's own cost per frame, on the engine's goroutine.
func BenchmarkObserve(b *testing.B) {
	l, _ := capUnitLab(b, capScenario)
	web := capENI(l, "web")
	frame, p, v := observed(b, l, web, "10.0.1.10", "10.0.2.10")
	for _, target := range []string{"none", "web"} {
		b.Run(target, func(b *testing.B) {
			if target != "none" {
				stop, _ := l.Capture(target, io.Discard, CaptureOptions{})
				defer stop()
			}
			b.ReportAllocs()
			for range b.N {
				l.obs.Observe(web, frame, packet.VnetHdr{}, p, v, 0)
			}
		})
	}
}

// upCapLab brings up a lab in namespaces from YAML text and takes it down when the test ends,
// checking that nothing is left on the machine.
func upCapLab(t *testing.T, prefix, yaml string) *Lab {
	t.Helper()
	return upLab(t, prefix, yaml)
}

// rawSend writes one Ethernet frame out of an instance's eth0, as a root user inside it could.
func rawSend(t *testing.T, l *Lab, inst string, frame []byte) {
	t.Helper()
	sendRaw(t, l, inst, frame)
}

// tcpConnect opens a TCP connection from one instance to a port another listens on (to is
// the listener's instance, or INSTANCE@public to dial its public address), sends a line and
// closes.
func tcpConnect(t *testing.T, l *Lab, from, to string, port int) {
	t.Helper()
	dst, err := l.ResolveTarget(to)
	to, _, _ = strings.Cut(to, "@")
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	if err := hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, to), func() error {
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	if err := hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, from), func() error {
		c, err := net.DialTimeout("tcp4", net.JoinHostPort(dst.String(), fmt.Sprint(port)), 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("hello"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "hello" {
			t.Fatalf("the server got %q", s)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the server got nothing")
	}
}

// tcpdumpFrames reads a capture file with tcpdump -xx and returns each frame's bytes.
func tcpdumpFrames(t *testing.T, file string) [][]byte {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed (make deps installs it)")
	}
	out, err := exec.Command("tcpdump", "-r", file, "-nn", "-xx").CombinedOutput()
	if err != nil {
		t.Fatalf("tcpdump -r %s: %v\n%s", file, err, out)
	}
	var frames [][]byte
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "\t0x"):
			_, hexPart, _ := strings.Cut(line, ":")
			b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(hexPart), " ", ""))
			if err != nil || len(frames) == 0 {
				t.Fatalf("tcpdump line %q: %v", line, err)
			}
			frames[len(frames)-1] = append(frames[len(frames)-1], b...)
		case len(line) > 15 && line[2] == ':' && line[5] == ':':
			frames = append(frames, nil)
		}
	}
	return frames
}

// classicPcap reads the frames of a classic pcap file (tcpdump -w, either byte order).
func classicPcap(t *testing.T, file string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 {
		t.Fatalf("%s: %d bytes, no pcap header", file, len(b))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(b) == 0xa1b2c3d4 || binary.BigEndian.Uint32(b) == 0xa1b23c4d {
		bo = binary.BigEndian
	}
	var frames [][]byte
	for b = b[24:]; len(b) >= 16; {
		n := int(bo.Uint32(b[8:]))
		if 16+n > len(b) {
			break // tcpdump killed mid-write
		}
		frames = append(frames, b[16:16+n])
		b = b[16+n:]
	}
	return frames
}

// TestCaptureLiveTraffic captures web's ENI in pcapng and pcap at once while web pings db,
// opens a TCP connection to it and sends a spoofed frame; the pcapng has the frames in order
// with their verdicts, and tcpdump reads both files frame for frame.
func TestCaptureLiveTraffic(t *testing.T) {
	l := upCapLab(t, "cap", capScenario)
	dir := t.TempDir()
	ngFile, pcapFile := filepath.Join(dir, "web.pcapng"), filepath.Join(dir, "web.pcap")
	ng, err := os.Create(ngFile)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := os.Create(pcapFile)
	if err != nil {
		t.Fatal(err)
	}
	var verdicts strings.Builder
	stopNg, err := l.Capture("web", ng, CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stopPcap, err := l.Capture("web", pc, CaptureOptions{Format: FormatPcap, Verdicts: &verdicts})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := hypervisor.Command(l.Plan.Lab, "web", "ping", "-c1", "-W2", "10.0.2.10").CombinedOutput(); err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	tcpConnect(t, l, "web", "db", 5432)
	st := l.Engine.State()
	spoofed := capUDP(t, st.ENIs[capENI(l, "web")].Identity.MAC, st.VPCs[0].RouterMAC, "10.0.1.99", "10.0.2.10", 7000, "spoofed")
	rawSend(t, l, "web", spoofed)
	time.Sleep(200 * time.Millisecond)
	if err := stopNg(); err != nil {
		t.Fatal(err)
	}
	if err := stopPcap(); err != nil {
		t.Fatal(err)
	}
	ng.Close()
	pc.Close()

	b, err := os.ReadFile(ngFile)
	if err != nil {
		t.Fatal(err)
	}
	_, frames := readAll(t, b)
	t.Logf("%d frames captured on web.eth0", len(frames))
	// The frames that must be there, in this order, among whatever else the kernel sends
	// (ARP, neighbour probes).
	type want struct {
		what    string
		comment string
		match   func(gopacket.Packet) bool
	}
	icmp := func(typ uint8) func(gopacket.Packet) bool {
		return func(p gopacket.Packet) bool {
			i, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			return ok && i.TypeCode.Type() == typ
		}
	}
	tcp := func(syn, ack bool) func(gopacket.Packet) bool {
		return func(p gopacket.Packet) bool {
			s, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			return ok && s.SYN == syn && s.ACK == ack && (s.DstPort == 5432 || s.SrcPort == 5432)
		}
	}
	wants := []want{
		{"echo request", "out deliver", icmp(layers.ICMPv4TypeEchoRequest)},
		{"echo reply", "in deliver", icmp(layers.ICMPv4TypeEchoReply)},
		{"SYN", "out deliver", tcp(true, false)},
		{"SYN-ACK", "in deliver", tcp(true, true)},
		{"spoofed", "out drop spoofed-source-ip stage source-check", func(p gopacket.Packet) bool {
			a, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			return ok && string(a.Payload) == "spoofed"
		}},
	}
	k := 0
	for _, f := range frames {
		p := gopacket.NewPacket(f.Data, layers.LayerTypeEthernet, gopacket.Default)
		if k < len(wants) && wants[k].match(p) {
			if f.Comment != wants[k].comment {
				t.Errorf("%s: comment %q, want %q", wants[k].what, f.Comment, wants[k].comment)
			}
			if f.Outbound != strings.HasPrefix(wants[k].comment, "out") {
				t.Errorf("%s: outbound flag %v", wants[k].what, f.Outbound)
			}
			k++
		}
	}
	if k < len(wants) {
		for _, f := range frames {
			t.Logf("%s %s", f.Comment, gopacket.NewPacket(f.Data, layers.LayerTypeEthernet, gopacket.Default))
		}
		t.Fatalf("%s not captured in order (%d frames)", wants[k].what, len(frames))
	}

	// tcpdump reads the pcapng frame for frame, byte for byte.
	td := tcpdumpFrames(t, ngFile)
	if len(td) != len(frames) {
		t.Fatalf("tcpdump read %d frames from the pcapng, the capture has %d", len(td), len(frames))
	}
	for i := range td {
		if !bytes.Equal(td[i], frames[i].Data) {
			t.Errorf("frame %d: tcpdump read\n% x\nthe capture has\n% x", i+1, td[i], frames[i].Data)
		}
	}
	// Wireshark, where installed, reads the same verdicts and directions out of the file.
	if _, err := exec.LookPath("tshark"); err == nil {
		out, err := exec.Command("tshark", "-r", ngFile, "-T", "fields", "-E", "separator=|", "-e", "frame.packet_flags_direction", "-e", "frame.comment").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		rows := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(rows) != len(frames) {
			t.Fatalf("tshark read %d frames, the capture has %d", len(rows), len(frames))
		}
		for i, row := range rows {
			dir := "0x00000001"
			if frames[i].Outbound {
				dir = "0x00000002"
			}
			if row != dir+"|"+frames[i].Comment {
				t.Errorf("frame %d: tshark says %q, want %q", i+1, row, dir+"|"+frames[i].Comment)
			}
		}
	}
	// And the classic pcap holds the same frames (two captures of one ENI may order frames of
	// different engine goroutines differently, so as a multiset), with one verdict line each.
	tp := tcpdumpFrames(t, pcapFile)
	key := func(fs [][]byte) []string {
		var s []string
		for _, f := range fs {
			s = append(s, hex.EncodeToString(f))
		}
		slices.Sort(s)
		return s
	}
	if !slices.Equal(key(tp), key(td)) {
		t.Errorf("the pcap has %d frames that differ from the pcapng's %d", len(tp), len(td))
	}
	lines := strings.Split(strings.TrimSpace(verdicts.String()), "\n")
	if len(lines) != len(tp) {
		t.Errorf("%d verdict lines for %d frames:\n%s", len(lines), len(tp), verdicts.String())
	}
	if !strings.Contains(verdicts.String(), " web.eth0 out drop spoofed-source-ip stage source-check\n") {
		t.Errorf("the companion view lacks the spoofed frame:\n%s", verdicts.String())
	}
}

// TestCaptureShowsWhatTheInstanceReceives: the frames a capture marks "in deliver" are, byte
// for byte, what tcpdump inside the instance sees arrive — across subnets (the router's MAC
// rewrite) and from the internet (the gateway's address rewrite with its checksums).
func TestCaptureShowsWhatTheInstanceReceives(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed (make deps installs it)")
	}
	src, err := os.ReadFile("../scenarios/suites/internet-gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := upCapLab(t, "capin", string(src))
	dir := t.TempDir()
	inside := filepath.Join(dir, "inside.pcap")
	td := hypervisor.Command(l.Plan.Lab, "web", "tcpdump", "-i", "eth0", "-nn", "-U", "--immediate-mode", "-w", inside, "tcp dst port 80")
	var tderr bytes.Buffer
	td.Stderr = &tderr
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { td.Process.Kill(); td.Wait() })
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(tderr.String(), "listening on"); {
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump did not start: %s", tderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var buf bytes.Buffer
	stop, err := l.Capture("web", &buf, CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// From the internet to web's public address, and from app in the other subnet... app's
	// subnet is private but inside the VPC it reaches web through the router.
	tcpConnect(t, l, scenarios.InternetName, "web@public", 80)
	tcpConnect(t, l, "app", "web", 80)
	time.Sleep(300 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	td.Process.Signal(unix.SIGTERM)
	td.Wait()
	seen := classicPcap(t, inside)
	_, frames := readAll(t, buf.Bytes())
	var delivered [][]byte
	for _, f := range frames {
		p := gopacket.NewPacket(f.Data, layers.LayerTypeEthernet, gopacket.Default)
		if s, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && s.DstPort == 80 && f.Comment == "in deliver" {
			delivered = append(delivered, f.Data)
		}
	}
	if len(seen) < 4 {
		t.Fatalf("tcpdump inside web saw %d frames to port 80, want two connections' worth\n%s", len(seen), tderr.String())
	}
	if len(delivered) != len(seen) {
		t.Fatalf("the capture delivered %d frames to port 80, tcpdump inside saw %d", len(delivered), len(seen))
	}
	// Two connections run on different engine goroutines, so their frames may interleave
	// differently here and in the kernel: compare as multisets.
	hexes := func(fs [][]byte) []string {
		var s []string
		for _, f := range fs {
			s = append(s, hex.EncodeToString(f))
		}
		slices.Sort(s)
		return s
	}
	hs, hd := hexes(seen), hexes(delivered)
	for i := range hs {
		if hs[i] != hd[i] {
			t.Errorf("inside web\n%s\ncapture\n%s", hs[i], hd[i])
		}
	}
}
