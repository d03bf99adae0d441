package lab

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/probe"
)

// ProbeSpec builds the real-traffic probe from "from" (an instance, instance.ethN, or an
// internet or on-premises host) to "to" (anything ResolveTarget takes), with a listener in the
// namespace of whoever holds the destination. The runner's probes and trace --live share it, so
// both send exactly the same packets.
func (l *Lab) ProbeSpec(from, to, proto string, port int, timeout time.Duration) (probe.Spec, error) {
	s := probe.Spec{Proto: proto, Port: port, Timeout: timeout}
	name, _, _ := strings.Cut(from, ".")
	if ns, a, ok := l.Plan.HostNamespace(from); ok {
		// A host of the simulated internet or of an on-premises network sends from its own
		// address in its network's namespace.
		s.FromNS, s.FromAddr = hypervisor.NSPath(l.Plan.Lab, ns), a
	} else if l.Plan.Instance(name) == nil {
		return s, fmt.Errorf("no instance or host %q", from)
	} else {
		s.FromNS = hypervisor.NSPath(l.Plan.Lab, name)
	}
	dst, err := l.ResolveTarget(to)
	if err != nil {
		return s, err
	}
	s.Dst = dst
	if proto != "icmp" {
		owner := l.OwnerOf(dst)
		if n, public := strings.CutSuffix(to, "@public"); public {
			owner, _, _ = strings.Cut(n, ".") // the listener is the instance behind the public address
		}
		if owner != "" {
			s.ToNS = hypervisor.NSPath(l.Plan.Lab, owner)
		}
	}
	return s, nil
}

// OwnerOf names the instance, or the internet's or an on-premises network's namespace, holding
// address a; "" when none does.
func (l *Lab) OwnerOf(a netip.Addr) string {
	st := l.Engine.State()
	for _, e := range st.ENIs {
		if e.Present && e.Identity.Owns(a) {
			return e.Instance
		}
	}
	return ""
}
