package fabric

import (
	"bytes"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/mac"
)

// chanPort is a Port backed by channels, like wireguard-go's tuntest: the test writes frames the
// "instance" sends into in and reads what the engine delivers from out.
type chanPort struct {
	in     chan []byte
	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func newChanPort() *chanPort {
	return &chanPort{in: make(chan []byte, 16), out: make(chan []byte, 16), closed: make(chan struct{})}
}

func (p *chanPort) Read(b []byte) (int, error) {
	select {
	case f := <-p.in:
		return copy(b, f), nil
	case <-p.closed:
		return 0, os.ErrClosed
	}
}

func (p *chanPort) Write(b []byte) (int, error) {
	select {
	case p.out <- append([]byte(nil), b...):
		return len(b), nil
	case <-p.closed:
		return 0, os.ErrClosed
	}
}

func (p *chanPort) Close() error { p.once.Do(func() { close(p.closed) }); return nil }

func (p *chanPort) expect(t *testing.T) []byte {
	t.Helper()
	select {
	case f := <-p.out:
		return f
	case <-time.After(2 * time.Second):
		t.Fatal("no frame delivered")
		return nil
	}
}

func (p *chanPort) expectNone(t *testing.T) {
	t.Helper()
	select {
	case f := <-p.out:
		t.Fatalf("unexpected frame delivered: % x", f)
	case <-time.After(100 * time.Millisecond):
	}
}

// frame serialises layers behind a vnet header with the given first byte (flags), so the test can
// check that the engine passes the header through untouched.
func frame(t *testing.T, vnetFlags byte, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, packet.VnetHdrLen)
	hdr[0] = vnetFlags
	return append(hdr, buf.Bytes()...)
}

func udpFrame(t *testing.T, src, dst mac.HW, sip, dip string) []byte {
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr(src[:]), DstMAC: net.HardwareAddr(dst[:]), EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(sip).To4(), DstIP: net.ParseIP(dip).To4()}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 53}
	udp.SetNetworkLayerForChecksum(ip)
	return frame(t, 0, eth, ip, udp, gopacket.Payload("hello"))
}

func TestEngineForwardsAnswersARPAndDrops(t *testing.T) {
	st := testState(t)
	e := NewEngine(st)
	ports := make([]*chanPort, len(st.ENIs))
	for i := range ports {
		ports[i] = newChanPort()
		if err := e.Attach(uint32(i), ports[i]); err != nil {
			t.Fatal(err)
		}
	}
	defer e.Close()
	web, db := st.ENIs[0].Identity.MAC, st.ENIs[2].Identity.MAC
	router := st.VPCs[0].RouterMAC

	// ARP for the router is answered on the asking port, with a zero vnet header.
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: layers.ARPRequest, SourceHwAddress: web[:], SourceProtAddress: net.ParseIP("10.0.1.10").To4(),
		DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP("10.0.1.1").To4()}
	ports[0].in <- frame(t, 0, &layers.Ethernet{SrcMAC: web[:], DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP}, arp)
	reply := ports[0].expect(t)
	pkt := gopacket.NewPacket(reply[packet.VnetHdrLen:], layers.LayerTypeEthernet, gopacket.Default)
	al, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
	if !ok || al.Operation != layers.ARPReply || !bytes.Equal(al.SourceHwAddress, router[:]) || !bytes.Equal(al.DstProtAddress, net.ParseIP("10.0.1.10").To4()) {
		t.Fatalf("bad ARP reply: %v", pkt)
	}
	if !bytes.Equal(reply[:packet.VnetHdrLen], make([]byte, packet.VnetHdrLen)) {
		t.Errorf("ARP reply vnet header not zero: % x", reply[:packet.VnetHdrLen])
	}

	// A routed frame arrives at db with the router as source MAC and db's MAC as destination;
	// the vnet header and the IP packet are untouched.
	f := udpFrame(t, web, router, "10.0.1.10", "10.0.2.10")
	f[0] = 1 // NEEDS_CSUM: must pass through
	ports[0].in <- f
	got := ports[2].expect(t)
	if got[0] != 1 {
		t.Errorf("vnet header changed: % x", got[:packet.VnetHdrLen])
	}
	eth := got[packet.VnetHdrLen:]
	if !bytes.Equal(eth[0:6], db[:]) || !bytes.Equal(eth[6:12], router[:]) {
		t.Errorf("MACs not rewritten: dst % x src % x", eth[0:6], eth[6:12])
	}
	if !bytes.Equal(eth[12:], f[packet.VnetHdrLen+12:]) {
		t.Error("payload changed in transit")
	}

	// A spoofed source is dropped and counted on the sender.
	ports[0].in <- udpFrame(t, web, router, "10.0.1.77", "10.0.2.10")
	ports[2].expectNone(t)
	if n := e.Counters(0).Drops[ReasonBadSourceIP].Load(); n != 1 {
		t.Errorf("spoofed-source drops = %d, want 1", n)
	}
	if n := e.Counters(2).TxPackets.Load(); n != 1 {
		t.Errorf("db tx packets = %d, want 1", n)
	}

	// A new snapshot takes effect on the next frame.
	st2, _ := st.WithSourceDestCheck(0, false)
	if err := e.Publish(st2); err != nil {
		t.Fatal(err)
	}
	ports[0].in <- udpFrame(t, web, router, "10.0.1.77", "10.0.2.10")
	ports[2].expect(t)
}

func TestEngineCloseEndsReaders(t *testing.T) {
	st := testState(t)
	e := NewEngine(st)
	p := newChanPort()
	if err := e.Attach(0, p); err != nil {
		t.Fatal(err)
	}
	if err := e.Attach(0, newChanPort()); err == nil {
		t.Error("second Attach to the same ENI succeeded")
	}
	done := make(chan struct{})
	go func() { e.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return")
	}
}
