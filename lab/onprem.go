package lab

import (
	"net/netip"

	"github.com/ec2sim/ec2sim/scenarios"
)

// HostNamespace resolves the name of a host outside the VPCs — a host of the simulated internet
// or of an on-premises network — to the namespace (named like an instance) that holds it and its
// address.
func (p *Plan) HostNamespace(name string) (ns string, a netip.Addr, ok bool) {
	if h := p.Scenario.Host(name); h != nil {
		return scenarios.InternetName, h.IP, true
	}
	if o, h := p.Scenario.OnPremHost(name); h != nil {
		return o.Name, h.IP, true
	}
	return "", netip.Addr{}, false
}
