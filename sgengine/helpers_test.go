package sgengine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	ip  = netip.MustParseAddr
	pfx = netip.MustParsePrefix
)

const sec = int64(time.Second)

func tcpRule(from, to int, cidr string) Rule {
	return Rule{Proto: ProtoTCP, FromPort: from, ToPort: to, CIDR: pfx(cidr)}
}

func allRule(cidr string) Rule { return Rule{Proto: ProtoAll, CIDR: pfx(cidr)} }

func tcp(src string, sport uint16, dst string, dport uint16, flags uint8) Flow {
	return Flow{Src: ip(src), Dst: ip(dst), Proto: ProtoTCP, SrcPort: sport, DstPort: dport, TCPFlags: flags}
}

func udp(src string, sport uint16, dst string, dport uint16) Flow {
	return Flow{Src: ip(src), Dst: ip(dst), Proto: ProtoUDP, SrcPort: sport, DstPort: dport}
}

func icmp(src, dst string, typ, code uint8, id uint16) Flow {
	f := Flow{Src: ip(src), Dst: ip(dst), Proto: ProtoICMP, ICMPType: typ, ICMPCode: code, ICMPID: id}
	if f.Src.Is6() {
		f.Proto = ProtoICMPv6
	}
	return f
}

func mustCompile(t testing.TB, cfg *Config) *Policy {
	t.Helper()
	p, err := Compile(cfg)
	require.NoError(t, err)
	return p
}

// harness plays the engine for one ENI: evaluate, then apply whatever the verdict.
type harness struct {
	t   *testing.T
	p   *Policy
	eni uint32
	ct  *Conntrack
	now int64
}

func newHarness(t *testing.T, cfg *Config) *harness {
	return &harness{t: t, p: mustCompile(t, cfg), eni: cfg.ENIs[0].Index, ct: NewConntrack()}
}

func (h *harness) send(dir Direction, f Flow) Decision {
	h.t.Helper()
	d := h.p.Evaluate(h.eni, dir, &f, h.ct, h.now)
	if !h.ct.Apply(&d.Update, h.now) {
		d.Allowed = false
	}
	return d
}

func (h *harness) out(f Flow) Decision { return h.send(DirEgress, f) }
func (h *harness) in(f Flow) Decision  { return h.send(DirIngress, f) }

func (h *harness) at(s float64) *harness {
	h.now = int64(s * float64(sec))
	return h
}

// expect checks the verdict and reason of a decision.
func expect(t *testing.T, d Decision, allowed bool, r Reason, msg string) {
	t.Helper()
	require.Equal(t, allowed, d.Allowed, "%s: allowed (reason %v)", msg, d.Reason)
	require.Equal(t, r, d.Reason, "%s: reason", msg)
}
