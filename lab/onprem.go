package lab

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/scenarios"
)

// On-premises networks: each is a namespace named after the network, holding its hosts'
// addresses on one interface, attached to the engine like the simulated internet and reached
// through the VPN gateways of the VPCs that name it (vpn_gateway: NETWORK).

// planOnPrem adds an attachment per on-premises network to st and connects each VPC's VPN
// gateway to its network.
func planOnPrem(sc *scenarios.Scenario, labName string, st *fabric.State, macs *mac.MACs) {
	idx := map[string]uint32{}
	st.OnPrem = nil
	for _, o := range sc.OnPrem {
		e := fabric.ENIState{Kind: fabric.KindOnPrem, Present: true, ID: "onprem-" + o.Name, Instance: o.Name, Name: "eth0",
			Identity: mac.Identity{MAC: macs.Next(), SourceDestCheck: true}}
		for _, h := range o.Hosts {
			e.Identity.Addrs = append(e.Identity.Addrs, h.IP)
		}
		if len(e.Identity.Addrs) == 0 {
			// A network with no declared hosts still has one, so that its namespace has an
			// address to send from: the first usable address of its CIDR.
			e.Identity.Addrs = []netip.Addr{o.CIDR.Addr().Next()}
		}
		idx[o.Name] = uint32(len(st.OnPrem))
		st.OnPrem = append(st.OnPrem, fabric.OnPremState{Name: o.Name, ID: awsID("vgw", labName, o.Name), CIDR: o.CIDR,
			ENI: uint32(len(st.ENIs)), MAC: macs.Next()})
		st.ENIs = append(st.ENIs, e)
	}
	for i, v := range sc.VPCs {
		if oi, ok := idx[v.VPNGateway]; ok {
			st.VPCs[i].HasVGW, st.VPCs[i].VGW = true, oi
		}
	}
}

// startOnPrem creates the namespace of every on-premises network and attaches it.
func (l *Lab) startOnPrem() error {
	st := l.Plan.State
	for _, o := range st.OnPrem {
		if err := l.startGatewayNS(o.Name, o.ENI); err != nil {
			return fmt.Errorf("on-prem network %s: %w", o.Name, err)
		}
	}
	return nil
}

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

// Namespace names the network namespace that sends for name: the namespace of the internet or
// on-premises network of a host, else the instance's own (name or name.ethN).
func (p *Plan) Namespace(name string) string {
	if ns, _, ok := p.HostNamespace(name); ok {
		return ns
	}
	inst, _, _ := strings.Cut(name, ".")
	return inst
}

// onPremTarget resolves an on-premises network's name (or NAME.eth0) to its attachment, so that
// capture can record what crosses its VPN gateway.
func onPremTarget(st *fabric.State, t string) (uint32, bool) {
	name := strings.TrimSuffix(t, ".eth0")
	for _, o := range st.OnPrem {
		if o.Name == name {
			return o.ENI, true
		}
	}
	return 0, false
}
