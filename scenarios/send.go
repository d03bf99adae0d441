package scenarios

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// SendStep sends one crafted packet from inside an instance — spoofed source IP or MAC, a
// forged SYN-ACK, IP fragments, another IP protocol — and checks at the destination, with a
// capture in its namespace, whether it arrives and with which source address.
type SendStep struct {
	From   string // instance or instance.ethN: the interface it leaves by
	To     string // as a probe's to
	Packet string // one of SendPackets; default udp
	Port   int    // destination port (udp, syn, syn-ack, fragments, sctp); default 9
	// SrcIP and SrcMAC spoof the source; zero = the sender's own.
	SrcIP  netip.Addr
	SrcMAC string
	// Arrives is the expectation; SeenSrc, when valid, is the source address the destination
	// must see (a NAT on the way rewrites it).
	Arrives bool
	SeenSrc netip.Addr
	Timeout time.Duration // how long the capture waits; 0 = the runner's default
}

// SendPackets are the kinds of crafted packets a send step makes.
func SendPackets() []string { return []string{"udp", "syn", "syn-ack", "fragments", "gre", "sctp"} }

// DefaultSendPort is a send step's destination port when it gives none (discard).
const DefaultSendPort = 9

func (d *decoder) send(what string, n *yaml.Node) *SendStep {
	s := &SendStep{Packet: "udp"}
	d.object(n, kSendStep, what, func(f string, _, v *yaml.Node) {
		d.mark(s, f, v)
		switch f {
		case "from":
			s.From, _ = d.str(v, what+": from")
		case "to":
			s.To, _ = d.str(v, what+": to")
		case "packet":
			s.Packet, _ = d.str(v, what+": packet")
		case "port":
			s.Port, _ = d.integer(v, what+": port")
		case "src_ip":
			s.SrcIP, _ = d.addr(v, what+": src_ip")
		case "src_mac":
			s.SrcMAC, _ = d.str(v, what+": src_mac")
		case "arrives":
			s.Arrives, _ = d.boolean(v, what+": arrives")
		case "seen_src":
			s.SeenSrc, _ = d.addr(v, what+": seen_src")
		case "timeout":
			s.Timeout, _ = d.duration(v, what+": timeout")
		}
	})
	return s
}

func (v *validator) send(what string, s *SendStep, at Pos) {
	inst, _, _ := strings.Cut(s.From, ".")
	if v.sc.Instance(inst) == nil {
		v.p.errorf(v.where(s, "from", at), "%s: from %q: want an instance (name or name.ethN) to send from", what, s.From)
	} else {
		v.endpoint(what, "from", s.From, v.where(s, "from", at), false)
	}
	v.endpoint(what, "to", s.To, v.where(s, "to", at), true)
	if !slices.Contains(SendPackets(), s.Packet) {
		v.p.errorf(v.where(s, "packet", at), "%s: packet %q: want one of %s", what, s.Packet, strings.Join(SendPackets(), ", "))
	}
	if s.Port < 0 || s.Port > 65535 {
		v.p.errorf(v.where(s, "port", at), "%s: port %d: want 1-65535", what, s.Port)
	}
	if s.Port != 0 && s.Packet == "gre" {
		v.p.errorf(v.where(s, "port", at), "%s: gre has no ports", what)
	}
	for _, a := range []struct {
		field string
		ip    netip.Addr
	}{{"src_ip", s.SrcIP}, {"seen_src", s.SeenSrc}} {
		if a.ip.IsValid() && !a.ip.Is4() {
			v.p.errorf(v.where(s, a.field, at), "%s: %s %s: crafted packets are IPv4", what, a.field, a.ip)
		}
	}
	if s.SrcMAC != "" {
		if hw, err := net.ParseMAC(s.SrcMAC); err != nil || len(hw) != 6 {
			v.p.errorf(v.where(s, "src_mac", at), "%s: src_mac %q: want a MAC address such as 02:00:00:00:00:99", what, s.SrcMAC)
		}
	}
	if s.SeenSrc.IsValid() && !s.Arrives {
		v.p.errorf(v.where(s, "seen_src", at), "%s: seen_src with arrives: false; a packet that does not arrive has no source to see", what)
	}
	if s.Timeout < 0 || s.Timeout > maxProbeTimeout {
		v.p.errorf(v.where(s, "timeout", at), "%s: timeout %s: want a positive duration up to %s", what, s.Timeout, maxProbeTimeout)
	}
}
