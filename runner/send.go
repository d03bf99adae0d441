package runner

import (
	"fmt"
	"net"
	"strings"

	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/probe"
	"github.com/ec2sim/ec2sim/scenarios"
)

// sendStep sends a crafted packet and compares what the destination's capture saw with the
// step's expectation.
func sendStep(l *lab.Lab, s *scenarios.SendStep, opts Options) (expected, observed, detail string, passed bool, err error) {
	c, err := craftFor(l, s, opts)
	if err != nil {
		return "", "", "", false, err
	}
	expected = "no arrival"
	if s.Arrives {
		expected = "arrives"
		if s.SeenSrc.IsValid() {
			expected += " from " + s.SeenSrc.String()
		}
	}
	r, err := probe.Send(c)
	if err != nil {
		return expected, "", "", false, err
	}
	observed = "no arrival"
	if r.Arrived {
		observed = "arrives from " + r.SeenSrc.String()
	}
	passed = r.Arrived == s.Arrives && (!s.SeenSrc.IsValid() || r.SeenSrc == s.SeenSrc)
	return expected, observed, r.Detail, passed, nil
}

// craftFor turns a send step into the packet: the sender's interface and MACs from the lab's
// state (frames go to the VPC router's MAC, which routes them as it routes the instance's own
// traffic), the capture in the namespace that holds the destination.
func craftFor(l *lab.Lab, s *scenarios.SendStep, opts Options) (probe.Craft, error) {
	c := probe.Craft{Kind: s.Packet, Port: uint16(s.Port), Timeout: s.Timeout}
	if c.Port == 0 {
		c.Port = scenarios.DefaultSendPort
	}
	if c.Timeout == 0 {
		c.Timeout = opts.Timeout
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	name, eth, _ := strings.Cut(s.From, ".")
	ip := l.Plan.Instance(name)
	if ip == nil {
		return c, fmt.Errorf("no instance %q", name)
	}
	k := 0
	if eth != "" {
		fmt.Sscanf(eth, "eth%d", &k)
	}
	if k >= len(ip.ENIs) {
		return c, fmt.Errorf("instance %s has no %s", name, eth)
	}
	st := l.Engine.State()
	e := &st.ENIs[ip.ENIs[k]]
	c.FromNS, c.FromIf = hypervisor.NSPath(l.Plan.Lab, name), fmt.Sprintf("eth%d", k)
	c.SrcMAC, c.DstMAC = packet.MAC(e.Identity.MAC), packet.MAC(st.VPCs[e.VPC].RouterMAC)
	c.Src = e.Identity.Addrs[0]
	if s.SrcIP.IsValid() {
		c.Src = s.SrcIP
	}
	if s.SrcMAC != "" {
		hw, err := net.ParseMAC(s.SrcMAC)
		if err != nil {
			return c, err
		}
		c.SrcMAC = packet.MAC(hw)
	}
	dst, err := l.ResolveTarget(s.To)
	if err != nil {
		return c, err
	}
	c.Dst = dst
	owner := l.OwnerOf(dst)
	if n, public := strings.CutSuffix(s.To, "@public"); public {
		owner, _, _ = strings.Cut(n, ".")
	}
	if ns, _, ok := l.Plan.HostNamespace(s.To); ok {
		owner = ns
	}
	if owner == "" {
		return c, fmt.Errorf("to %q (%s): no instance, internet or on-premises host holds it, so nothing can capture there", s.To, dst)
	}
	c.CaptureNS = hypervisor.NSPath(l.Plan.Lab, owner)
	return c, nil
}

func sendName(s *scenarios.SendStep) string {
	var spoof []string
	if s.SrcIP.IsValid() {
		spoof = append(spoof, "src "+s.SrcIP.String())
	}
	if s.SrcMAC != "" {
		spoof = append(spoof, "mac "+s.SrcMAC)
	}
	what := s.Packet
	if s.Packet != "gre" {
		port := s.Port
		if port == 0 {
			port = scenarios.DefaultSendPort
		}
		what = fmt.Sprintf("%s/%d", s.Packet, port)
	}
	name := fmt.Sprintf("send %s: %s -> %s", what, s.From, s.To)
	if len(spoof) > 0 {
		name += " (" + strings.Join(spoof, ", ") + ")"
	}
	return name
}
