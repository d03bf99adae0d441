package probe

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// pair makes two namespaces joined by a veth pair (10.99.0.1 and 10.99.0.2), with no engine in
// between, so the probes themselves are tested against plain kernels.
func pair(t *testing.T) (string, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces")
	}
	b := make([]byte, 3)
	rand.Read(b)
	sfx := hex.EncodeToString(b)
	names := []string{"ec2sim-probetest-a-" + sfx, "ec2sim-probetest-b-" + sfx}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	var handles []netns.NsHandle
	for _, n := range names {
		h, err := netns.NewNamed(n)
		if err != nil {
			t.Fatal(err)
		}
		handles = append(handles, h)
		n := n
		t.Cleanup(func() { netns.DeleteNamed(n) })
	}
	netns.Set(orig)
	ha, _ := netlink.NewHandleAt(handles[0])
	defer ha.Close()
	hb, _ := netlink.NewHandleAt(handles[1])
	defer hb.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "p0"}, PeerName: "p1", PeerNamespace: netlink.NsFd(handles[1])}
	if err := ha.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	for i, h := range []*netlink.Handle{ha, hb} {
		l, err := h.LinkByName([]string{"p0", "p1"}[i])
		if err != nil {
			t.Fatal(err)
		}
		addr, _ := netlink.ParseAddr([]string{"10.99.0.1/24", "10.99.0.2/24"}[i])
		h.AddrAdd(l, addr)
		h.LinkSetUp(l)
		lo, _ := h.LinkByName("lo")
		h.LinkSetUp(lo)
	}
	for _, h := range handles {
		h.Close()
	}
	return filepath.Join("/run/netns", names[0]), filepath.Join("/run/netns", names[1])
}

func TestProbesOverAPlainLink(t *testing.T) {
	a, b := pair(t)
	dst := netip.MustParseAddr("10.99.0.2")
	for _, proto := range []string{"tcp", "udp", "icmp"} {
		r, err := Run(Spec{FromNS: a, ToNS: b, Dst: dst, Proto: proto, Port: 7100, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Completed {
			t.Errorf("%s over a plain link: %s", proto, r.Detail)
		}
	}
	// Without a listener the exchange does not complete: the kernel refuses (TCP RST, ICMP port
	// unreachable for UDP), which a probe reports as not completed.
	for _, proto := range []string{"tcp", "udp"} {
		r, err := Run(Spec{FromNS: a, Dst: dst, Proto: proto, Port: 7101, Timeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if r.Completed {
			t.Errorf("%s with no listener completed", proto)
		}
	}
	// An address nobody has: nothing comes back.
	r, err := Run(Spec{FromNS: a, Dst: netip.MustParseAddr("10.99.0.77"), Proto: "icmp", Timeout: 500 * time.Millisecond})
	if err != nil || r.Completed {
		t.Errorf("ping to nobody: %+v %v", r, err)
	}
	// From a second address of the source namespace (as the internet's hosts send): it must be
	// used, so a source address the namespace does not hold fails to bind.
	for _, proto := range []string{"tcp", "udp", "icmp"} {
		r, err := Run(Spec{FromNS: a, FromAddr: netip.MustParseAddr("10.99.0.1"), ToNS: b, Dst: dst, Proto: proto, Port: 7102, Timeout: 2 * time.Second})
		if err != nil || !r.Completed {
			t.Errorf("%s from 10.99.0.1: %+v %v", proto, r, err)
		}
	}
	if r, err := Run(Spec{FromNS: a, FromAddr: netip.MustParseAddr("10.99.0.9"), ToNS: b, Dst: dst, Proto: "tcp", Port: 7103, Timeout: 500 * time.Millisecond}); err == nil && r.Completed {
		t.Error("a probe from an address the namespace does not hold completed")
	}
	// A protocol the prober does not speak is an error, not a verdict.
	if _, err := Run(Spec{FromNS: a, Dst: dst, Proto: "sctp"}); err == nil {
		t.Error("unknown protocol accepted")
	}
}

func TestEchoRequestChecksum(t *testing.T) {
	msg := echoRequest(0x1234, 1, []byte("abc"))
	var sum uint32
	for i := 0; i+1 < len(msg); i += 2 {
		sum += uint32(msg[i])<<8 | uint32(msg[i+1])
	}
	sum += uint32(msg[len(msg)-1]) << 8
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	if sum != 0xffff {
		t.Errorf("checksum does not verify: %#x", sum)
	}
}
