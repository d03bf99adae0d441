package hypervisor

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

// TestTAPOutsideNetpoller checks that an ENI's TAP is non-blocking but not in the Go runtime's
// netpoller, whose edge-triggered epoll set would wake a runtime thread for every frame queued
// on it (see openTAP): a file the netpoller does not hold has no deadlines.
func TestTAPOutsideNetpoller(t *testing.T) {
	lab := testLab(t)
	inst := create(t, twoENIs(lab, "nopoll"))
	for _, f := range inst.TAPs {
		if err := f.SetReadDeadline(time.Now().Add(time.Second)); !errors.Is(err, os.ErrNoDeadline) {
			t.Errorf("%s: SetReadDeadline = %v, want os.ErrNoDeadline (the TAP is in the netpoller)", f.Name(), err)
		}
		rc, err := f.SyscallConn()
		must(t, err)
		flags, ferr := 0, error(nil)
		must(t, rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }))
		if ferr != nil || flags&unix.O_NONBLOCK == 0 {
			t.Errorf("%s: flags %#x (%v), want O_NONBLOCK: the engine's reader must not block in read", f.Name(), flags, ferr)
		}
	}
}

// TestTAPCarriesFrames plays the VPC on an instance's TAPs: it answers the instance's ARP for
// its gateway, reads the datagram the instance then sends, and delivers datagrams to sockets
// inside through both ENIs.
func TestTAPCarriesFrames(t *testing.T) {
	lab := testLab(t)
	inst := create(t, twoENIs(lab, "web"))
	eth0MAC, eth1MAC := macHW(0x10), macHW(0x20)
	tap0, tap1 := inst.TAPs[0], inst.TAPs[1]

	var out, in0, in1 *net.UDPConn
	must(t, RunIn(inst.NSPath, func() error {
		var err error
		if out, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 0, 1, 1), Port: 7777}); err != nil {
			return err
		}
		if in0, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 0, 1, 10), Port: 5000}); err != nil {
			return err
		}
		in1, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 0, 2, 10), Port: 5001})
		return err
	}))
	defer out.Close()
	defer in0.Close()
	defer in1.Close()

	// Instance -> TAP: the first datagram to the gateway makes the kernel ask for its MAC.
	_, err := out.Write([]byte("hello"))
	must(t, err)
	hdr, p, err := readFrame(t, tap0, 2*time.Second, func(p gopacket.Packet) bool { return p.Layer(layers.LayerTypeARP) != nil })
	must(t, err)
	arp := p.Layer(layers.LayerTypeARP).(*layers.ARP)
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if arp.Operation != layers.ARPRequest || !net.IP(arp.DstProtAddress).Equal(net.IPv4(10, 0, 1, 1)) ||
		!net.IP(arp.SourceProtAddress).Equal(net.IPv4(10, 0, 1, 10)) || eth.SrcMAC.String() != eth0MAC.String() {
		t.Fatalf("ARP %+v from %s, want who-has 10.0.1.1 tell 10.0.1.10 from %s", arp, eth.SrcMAC, eth0MAC)
	}
	if hdr != (vnetHdr{}) {
		t.Errorf("virtio-net header of an ARP frame %+v, want all zero", hdr)
	}

	// TAP -> instance: the VPC's answer, then the queued datagram comes out.
	writeFrame(t, tap0,
		&layers.Ethernet{SrcMAC: gwMAC, DstMAC: eth0MAC, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPReply, SourceHwAddress: gwMAC, SourceProtAddress: net.IPv4(10, 0, 1, 1).To4(),
			DstHwAddress: eth0MAC, DstProtAddress: net.IPv4(10, 0, 1, 10).To4()})
	hdr, p, err = readFrame(t, tap0, 2*time.Second, udpTo(7777))
	must(t, err)
	eth = p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if eth.DstMAC.String() != gwMAC.String() || !bytes.Equal(p.ApplicationLayer().Payload(), []byte("hello")) {
		t.Errorf("datagram to %s with %q, want to %s with hello", eth.DstMAC, p.ApplicationLayer().Payload(), gwMAC)
	}
	// Checksum offload is on: the kernel leaves the UDP checksum to the "NIC".
	if hdr.Flags != vnetNeedsCsum || hdr.CsumStart != 14+20 || hdr.CsumOffset != 6 || hdr.GSOType != gsoNone {
		t.Errorf("virtio-net header %+v, want NEEDS_CSUM at 34+6 without GSO", hdr)
	}

	// Datagrams from the "internet" through each ENI; eth1's source is routed via eth0, which
	// loose reverse-path filtering allows.
	writeFrame(t, tap0, udpFrame(gwMAC, eth0MAC, "198.51.100.7", "10.0.1.10", 9999, 5000, []byte("world"))...)
	writeFrame(t, tap1, udpFrame(gwMAC, eth1MAC, "198.51.100.8", "10.0.2.10", 9998, 5001, []byte("other"))...)
	for _, c := range []struct {
		conn       *net.UDPConn
		from, want string
	}{{in0, "198.51.100.7:9999", "world"}, {in1, "198.51.100.8:9998", "other"}} {
		must(t, c.conn.SetReadDeadline(time.Now().Add(2*time.Second)))
		buf := make([]byte, 100)
		n, from, err := c.conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("%s: %v", c.conn.LocalAddr(), err)
		}
		if string(buf[:n]) != c.want || from.String() != c.from {
			t.Errorf("%s got %q from %s, want %q from %s", c.conn.LocalAddr(), buf[:n], from, c.want, c.from)
		}
	}
}

// TestTAPTSO shakes hands with a TCP client inside the instance and checks that its data comes
// out of the TAP as GSO super-frames larger than the MTU, which needs both IFF_VNET_HDR and
// TUNSETOFFLOAD.
func TestTAPTSO(t *testing.T) {
	lab := testLab(t)
	inst := create(t, twoENIs(lab, "tso"))
	addNeighbour(t, nsHandle(t, inst), "eth0", "10.0.1.1", gwMAC)
	tap := inst.TAPs[0]
	eth0MAC := macHW(0x10)

	conns := make(chan net.Conn, 1)
	go func() {
		var c net.Conn
		err := RunIn(inst.NSPath, func() error {
			var err error
			c, err = net.DialTimeout("tcp4", "10.0.1.1:8080", 3*time.Second)
			return err
		})
		if err != nil {
			t.Error(err)
		}
		conns <- c
	}()
	_, p, err := readFrame(t, tap, 2*time.Second, func(p gopacket.Packet) bool {
		tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		return ok && tcp.SYN && !tcp.ACK && tcp.DstPort == 8080
	})
	must(t, err)
	syn := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IPv4(10, 0, 1, 1).To4(), DstIP: net.IPv4(10, 0, 1, 10).To4()}
	synack := &layers.TCP{SrcPort: 8080, DstPort: syn.SrcPort, Seq: 1000, Ack: syn.Seq + 1, SYN: true, ACK: true, Window: 65535,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x23, 0x01}}, // 8961
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		}}
	must(t, synack.SetNetworkLayerForChecksum(ip))
	writeFrame(t, tap, &layers.Ethernet{SrcMAC: gwMAC, DstMAC: eth0MAC, EthernetType: layers.EthernetTypeIPv4}, ip, synack)

	conn := <-conns
	if conn == nil {
		t.FailNow()
	}
	defer conn.Close()
	go func() {
		_ = conn.SetWriteDeadline(time.Now().Add(3 * time.Second))
		_, _ = conn.Write(make([]byte, 256<<10)) // blocks once the window is full; we never ACK
	}()
	hdr, p, err := readFrame(t, tap, 2*time.Second, func(p gopacket.Packet) bool {
		tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		return ok && len(tcp.Payload) > 0
	})
	must(t, err)
	if hdr.GSOType != gsoTCPv4 || hdr.GSOSize == 0 || len(p.Data()) <= 14+9001 || hdr.Flags != vnetNeedsCsum {
		t.Errorf("first data frame: %d bytes, virtio-net header %+v; want a TCPv4 GSO frame over the MTU needing a checksum", len(p.Data()), hdr)
	}
	t.Logf("first data frame %d bytes, gso_size %d", len(p.Data()), hdr.GSOSize)
}

// TestTAPUSO checks UDP segmentation offload where the kernel accepted it (Linux 6.2+).
func TestTAPUSO(t *testing.T) {
	lab := testLab(t)
	inst := create(t, twoENIs(lab, "uso"))
	if inst.Offloads&OffloadUSO4 == 0 {
		t.Skip("the kernel did not accept TUN_F_USO4")
	}
	addNeighbour(t, nsHandle(t, inst), "eth0", "10.0.1.1", gwMAC)
	var c *net.UDPConn
	must(t, RunIn(inst.NSPath, func() error {
		var err error
		c, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(10, 0, 1, 1), Port: 9})
		return err
	}))
	defer c.Close()
	rc, err := c.SyscallConn()
	must(t, err)
	var serr error
	must(t, rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT, 1000) }))
	must(t, serr)
	_, err = c.Write(make([]byte, 4000))
	must(t, err)
	hdr, p, err := readFrame(t, inst.TAPs[0], 2*time.Second, udpTo(9))
	must(t, err)
	if hdr.GSOType != gsoUDPL4 || hdr.GSOSize != 1000+8 && hdr.GSOSize != 1000 || len(p.Data()) != 14+20+8+4000 {
		t.Errorf("frame of %d bytes with virtio-net header %+v; want one UDP_L4 GSO frame of 4042 bytes", len(p.Data()), hdr)
	}
}

// TestApplianceAsymmetricRouting forwards through an instance whose user data turns on
// forwarding: a packet arrives on eth1 from a source the instance routes via eth0 and leaves
// on eth0. Loose reverse-path filtering lets it through; with strict filtering it is dropped,
// which the second half checks so that the first half can fail.
func TestApplianceAsymmetricRouting(t *testing.T) {
	lab := testLab(t)
	spec := twoENIs(lab, "nat")
	spec.UserData = "echo 1 > /proc/sys/net/ipv4/ip_forward"
	inst := create(t, spec)
	addNeighbour(t, nsHandle(t, inst), "eth0", "10.0.1.1", gwMAC)
	eth1MAC := macHW(0x20)
	peerMAC := net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}

	writeFrame(t, inst.TAPs[1], udpFrame(peerMAC, eth1MAC, "10.0.1.50", "198.51.100.7", 1234, 53, []byte("q"))...)
	_, p, err := readFrame(t, inst.TAPs[0], 2*time.Second, udpTo(53))
	if err != nil {
		t.Fatalf("not forwarded out of eth0: %v", err)
	}
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	if ip.TTL != 63 || ip.SrcIP.String() != "10.0.1.50" || eth.DstMAC.String() != gwMAC.String() {
		t.Errorf("forwarded packet TTL %d from %s to MAC %s; want TTL 63 from 10.0.1.50 to the gateway %s", ip.TTL, ip.SrcIP, eth.DstMAC, gwMAC)
	}

	must(t, RunIn(inst.NSPath, func() error {
		for _, p := range []string{"/proc/sys/net/ipv4/conf/all/rp_filter", "/proc/sys/net/ipv4/conf/eth1/rp_filter"} {
			if err := os.WriteFile(p, []byte("1"), 0o644); err != nil {
				return err
			}
		}
		return nil
	}))
	writeFrame(t, inst.TAPs[1], udpFrame(peerMAC, eth1MAC, "10.0.1.50", "198.51.100.7", 1234, 54, []byte("q"))...)
	if _, _, err := readFrame(t, inst.TAPs[0], 300*time.Millisecond, udpTo(54)); !isTimeout(err) {
		t.Errorf("with strict rp_filter the packet should be dropped; read: %v", err)
	}
}

// TestTAPCloseRemovesNIC checks that the TAPs are not persistent and that Close ends a reader
// waiting as the engine's pumps wait, which the engine relies on to stop them.
func TestTAPCloseRemovesNIC(t *testing.T) {
	lab := testLab(t)
	inst := create(t, twoENIs(lab, "nic"))
	h := nsHandle(t, inst)
	// A reader waiting the way the engine's does (fabric/fastread.go: poll(2) with a timeout,
	// the descriptor held by Control) learns of the Close within one timeout.
	rc, err := inst.TAPs[1].SyscallConn()
	must(t, err)
	readErr := make(chan error, 1)
	go func() {
		for {
			if err := rc.Control(func(fd uintptr) {
				unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 50)
			}); err != nil {
				readErr <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	must(t, inst.TAPs[1].Close())
	select {
	case err := <-readErr:
		// Control fails only on a closed file ("use of closed file").
		t.Logf("waiting reader ended: %v", err)
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not end a waiting reader")
	}
	if _, err := h.LinkByName("eth1"); err == nil {
		t.Error("eth1 outlived its TAP file")
	}
	if _, err := h.LinkByName("eth0"); err != nil {
		t.Errorf("eth0: %v", err)
	}
}
