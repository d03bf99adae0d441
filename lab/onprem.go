package lab

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/hypervisor"
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

// OutsideStatus is a network outside the VPCs: the simulated internet or an on-premises network.
type OutsideStatus struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"` // internet or on-prem
	Namespace string   `json:"namespace"`
	Hosts     []string `json:"hosts"` // "name address"
	// Via says how the VPCs reach it: the VPN gateways connected to an on-premises network.
	Via []string `json:"via,omitempty"`
}

func (l *Lab) outsideStatus(st *fabric.State) []OutsideStatus {
	var out []OutsideStatus
	sc := l.Plan.Scenario
	if st.Internet != fabric.NoENI {
		o := OutsideStatus{Name: scenarios.InternetName, Kind: "internet", Namespace: hypervisor.NSName(l.Plan.Lab, scenarios.InternetName)}
		if sc.Internet != nil {
			for _, h := range sc.Internet.Hosts {
				o.Hosts = append(o.Hosts, h.Name+" "+h.IP.String())
			}
		}
		out = append(out, o)
	}
	for i, op := range st.OnPrem {
		o := OutsideStatus{Name: op.Name, Kind: "on-prem", Namespace: hypervisor.NSName(l.Plan.Lab, op.Name)}
		if n := sc.OnPremNetwork(op.Name); n != nil {
			for _, h := range n.Hosts {
				o.Hosts = append(o.Hosts, h.Name+" "+h.IP.String())
			}
		}
		for _, v := range st.VPCs {
			if v.HasVGW && v.VGW == uint32(i) {
				o.Via = append(o.Via, fmt.Sprintf("%s of vpc %s", op.ID, v.Name))
			}
		}
		out = append(out, o)
	}
	return out
}

// writeOutside prints the outside networks under the instances of `ec2sim status` and `up`.
func writeOutside(w io.Writer, nets []OutsideStatus) {
	for _, o := range nets {
		label := "on-prem network " + o.Name
		if o.Kind == "internet" {
			label = "the internet"
		}
		fmt.Fprintf(w, "%s (exec name %s, namespace %s): %s", label, o.Name, o.Namespace, strings.Join(o.Hosts, ", "))
		if len(o.Via) > 0 {
			fmt.Fprintf(w, "; via VPN gateway %s", strings.Join(o.Via, ", "))
		}
		fmt.Fprintln(w)
	}
}
