package hypervisor

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestMain lets tests run this binary as the program that calls Exec, as a process that
// makes instances and crashes, and as a process whose main goroutine holds the main thread.
func TestMain(m *testing.M) {
	if target := os.Getenv("EC2SIM_HV_EXEC"); target != "" {
		lab, inst, _ := strings.Cut(target, "/")
		script := os.Getenv("EC2SIM_HV_EXEC_SCRIPT")
		if script == "" {
			script = "hostname; ls /sys/class/net"
		}
		err := Exec(lab, inst, []string{"sh", "-c", script})
		fmt.Fprintln(os.Stderr, "Exec returned:", err)
		os.Exit(111)
	}
	if lab := os.Getenv(crashEnv); lab != "" {
		crashChild(lab) // never returns
	}
	if os.Getenv(mainThreadEnv) != "" {
		os.Exit(mainThreadChild())
	}
	os.Exit(m.Run())
}

// must stops the test on an error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// contains reports a missing substring.
func contains(t testing.TB, s, sub, what string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%s: %q does not contain %q", what, s, sub)
	}
}

// noLabObjects fails the test if the lab has anything left on the machine.
func noLabObjects(t testing.TB, lab string) {
	t.Helper()
	left, err := ListLabObjects(lab)
	must(t, err)
	if len(left) > 0 {
		t.Errorf("lab %s left %v", lab, left)
	}
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network and UTS namespaces and TAP devices")
	}
}

// testLab returns a lab name unique to this test run and registers a cleanup that removes
// the lab and fails the test if anything of it is left.
func testLab(t testing.TB) string {
	t.Helper()
	needRoot(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	lab := "hvt" + hex.EncodeToString(b)
	t.Cleanup(func() {
		if _, err := DestroyLab(lab); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		noLabObjects(t, lab)
	})
	return lab
}

func mac(last byte) [6]byte { return [6]byte{0x02, 0xec, 0x25, 0x1d, 0x00, last} }

func macHW(last byte) net.HardwareAddr { m := mac(last); return m[:] }

var gwMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}

// twoENIs is a spec like an appliance's: eth0 with the default route, eth1 in another subnet.
func twoENIs(lab, name string) InstanceSpec {
	return InstanceSpec{Lab: lab, Name: name, Hostname: "ip-10-0-1-10", ENIs: []ENISpec{
		{Name: "eth0", MAC: mac(0x10), Addr: netip.MustParsePrefix("10.0.1.10/24"), Gateway: netip.MustParseAddr("10.0.1.1"), MTU: 9001, Default: true},
		{Name: "eth1", MAC: mac(0x20), Addr: netip.MustParsePrefix("10.0.2.10/24"), Gateway: netip.MustParseAddr("10.0.2.1"), MTU: 9001},
	}}
}

func create(t testing.TB, spec InstanceSpec) *Instance {
	t.Helper()
	inst, err := CreateInstance(spec)
	must(t, err)
	t.Cleanup(func() { _ = inst.Destroy() })
	return inst
}

// nsHandle is a netlink handle bound to an instance's network namespace.
func nsHandle(t testing.TB, inst *Instance) *netlink.Handle {
	t.Helper()
	ns, err := netns.GetFromPath(inst.NSPath)
	must(t, err)
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	must(t, err)
	t.Cleanup(h.Close)
	return h
}

// addNeighbour gives the instance a permanent ARP entry, so tests can send without ARP.
func addNeighbour(t testing.TB, h *netlink.Handle, dev string, ip string, hw net.HardwareAddr) {
	t.Helper()
	link, err := h.LinkByName(dev)
	must(t, err)
	must(t, h.NeighAdd(&netlink.Neigh{LinkIndex: link.Attrs().Index, State: netlink.NUD_PERMANENT,
		IP: net.ParseIP(ip), HardwareAddr: hw}))
}

// vnetHdr is struct virtio_net_hdr (little-endian on this host).
type vnetHdr struct {
	Flags, GSOType                         uint8
	HdrLen, GSOSize, CsumStart, CsumOffset uint16
}

const (
	vnetNeedsCsum = 1
	gsoNone       = 0
	gsoTCPv4      = 1
	gsoUDPL4      = 5
)

func parseVnet(b []byte) vnetHdr {
	return vnetHdr{b[0], b[1], binary.LittleEndian.Uint16(b[2:]), binary.LittleEndian.Uint16(b[4:]),
		binary.LittleEndian.Uint16(b[6:]), binary.LittleEndian.Uint16(b[8:])}
}

// readFrame reads frames from a TAP until match accepts one or the timeout passes. TAPs are not
// in the Go netpoller (openTAP), so the deadline is poll(2)'s, as the engine's reader does it.
func readFrame(t testing.TB, f *os.File, timeout time.Duration, match func(gopacket.Packet) bool) (vnetHdr, gopacket.Packet, error) {
	t.Helper()
	buf := make([]byte, VNetHdrLen+65535+14)
	deadline := time.Now().Add(timeout)
	rc, err := f.SyscallConn()
	must(t, err)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return vnetHdr{}, nil, os.ErrDeadlineExceeded
		}
		n := 0
		var rerr error
		if err := rc.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if _, rerr = unix.Poll(fds, int(left.Milliseconds())+1); rerr != nil || fds[0].Revents&unix.POLLIN == 0 {
				return
			}
			n, rerr = unix.Read(int(fd), buf)
		}); err != nil {
			return vnetHdr{}, nil, err
		}
		if rerr == unix.EINTR || rerr == unix.EAGAIN || (rerr == nil && n == 0) {
			continue
		}
		if rerr != nil {
			return vnetHdr{}, nil, rerr
		}
		if n < VNetHdrLen {
			return vnetHdr{}, nil, fmt.Errorf("short read of %d bytes: no virtio-net header", n)
		}
		frame := append([]byte(nil), buf[VNetHdrLen:n]...)
		p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
		if match(p) {
			return parseVnet(buf[:VNetHdrLen]), p, nil
		}
	}
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// writeFrame writes one frame with an all-zero virtio-net header (no offload) into a TAP.
func writeFrame(t testing.TB, f *os.File, ls ...gopacket.SerializableLayer) {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	must(t, gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...))
	_, err := f.Write(append(make([]byte, VNetHdrLen), buf.Bytes()...))
	must(t, err)
}

func udpFrame(srcMAC, dstMAC net.HardwareAddr, src, dst string, sport, dport uint16, payload []byte) []gopacket.SerializableLayer {
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	return []gopacket.SerializableLayer{eth, ip, udp, gopacket.Payload(payload)}
}

func udpTo(port uint16) func(gopacket.Packet) bool {
	return func(p gopacket.Packet) bool {
		u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		return ok && uint16(u.DstPort) == port
	}
}
