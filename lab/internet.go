package lab

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/scenarios"
)

// publicPool hands out auto-assigned public IPs from the documentation ranges, skipping the
// addresses the scenario gives to Elastic IPs and internet hosts.
type publicPool struct {
	used map[netip.Addr]bool
	next netip.Addr
}

func newPublicPool(sc *scenarios.Scenario) *publicPool {
	p := &publicPool{used: map[netip.Addr]bool{}, next: netip.MustParseAddr("203.0.113.100")}
	if sc.Internet != nil {
		for _, h := range sc.Internet.Hosts {
			p.used[h.IP] = true
		}
	}
	for _, in := range sc.Instances {
		for _, e := range in.ENIs {
			if e.ElasticIP.IsValid() {
				p.used[e.ElasticIP] = true
			}
		}
	}
	for _, v := range sc.VPCs {
		for _, g := range v.NATGateways {
			if g.ElasticIP.IsValid() {
				p.used[g.ElasticIP] = true
			}
		}
	}
	return p
}

func (p *publicPool) take() (netip.Addr, error) {
	for ; scenarios.InDocumentationRange(p.next); p.next = p.next.Next() {
		a := p.next
		if !p.used[a] && a.As4()[3] != 0 && a.As4()[3] != 255 {
			p.used[a] = true
			p.next = p.next.Next()
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no public addresses left in 203.0.113.100-254")
}

// planInternet gives ENIs their public addresses and, when the scenario has an internet or an
// internet gateway, adds the internet's attachment to st.
func planInternet(sc *scenarios.Scenario, st *fabric.State, macs *mac.MACs, eniOf func(in, k int) uint32) error {
	pool := newPublicPool(sc)
	for ii, in := range sc.Instances {
		for k, e := range in.ENIs {
			if !sc.HasPublicAddress(in, k) {
				continue
			}
			a := e.ElasticIP
			if !a.IsValid() {
				var err error
				if a, err = pool.take(); err != nil {
					return fmt.Errorf("%s: instance %s: %w", e.Pos, in.Name, err)
				}
			}
			st.ENIs[eniOf(ii, k)].PublicIP = a
		}
	}
	igw := false
	for i, v := range sc.VPCs {
		st.VPCs[i].IGW = v.InternetGateway
		igw = igw || v.InternetGateway
	}
	if sc.Internet == nil && !igw {
		return nil
	}
	st.IGWMAC = macs.Next()
	inet := fabric.ENIState{Kind: fabric.KindInternet, Present: true, ID: "internet", Instance: scenarios.InternetName, Name: "eth0",
		Identity: mac.Identity{MAC: macs.Next(), SourceDestCheck: true}}
	if sc.Internet != nil {
		for _, h := range sc.Internet.Hosts {
			inet.Identity.Addrs = append(inet.Identity.Addrs, h.IP)
		}
	}
	if len(inet.Identity.Addrs) == 0 {
		// An internet with no declared hosts still has one, so that gateways have somewhere to
		// send to; 198.51.100.1 is a documentation address.
		inet.Identity.Addrs = []netip.Addr{netip.MustParseAddr("198.51.100.1")}
	}
	st.ENIs = append(st.ENIs, inet)
	return nil
}

// startInternet creates the simulated internet's namespace: one interface holding every host's
// address, MTU 1500, and a default route out of it. The engine answers its ARP for any address
// with the internet gateway's MAC, as the internet's routers would forward everything there.
func (l *Lab) startInternet() error {
	st := l.Plan.State
	if st.Internet == fabric.NoENI {
		return nil
	}
	if err := l.startGatewayNS(scenarios.InternetName, st.Internet); err != nil {
		return fmt.Errorf("the internet: %w", err)
	}
	return nil
}

// startGatewayNS creates the namespace of a network outside the VPCs (the internet, an
// on-premises network) for attachment eni: one interface holding every host's address, MTU
// 1500, a default route out of it (the engine answers ARP for everything else with the
// gateway's MAC), and attaches it to the engine.
func (l *Lab) startGatewayNS(name string, eni uint32) error {
	e := &l.Plan.State.ENIs[eni]
	spec := hypervisor.InstanceSpec{Lab: l.Plan.Lab, Name: name, Hostname: name,
		ENIs: []hypervisor.ENISpec{{Name: "eth0", MAC: e.Identity.MAC, Addr: netip.PrefixFrom(e.Identity.Addrs[0], 32), MTU: fabric.InternetMTU}}}
	inst, err := hypervisor.CreateInstance(spec)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.instances[name] = inst
	l.mu.Unlock()
	err = hypervisor.RunIn(inst.NSPath, func() error {
		link, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		for _, a := range e.Identity.Addrs[1:] {
			if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(32, 32)}}); err != nil {
				return fmt.Errorf("address %s: %w", a, err)
			}
		}
		_, all, _ := net.ParseCIDR("0.0.0.0/0")
		return netlink.RouteReplace(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: all, Scope: netlink.SCOPE_LINK})
	})
	if err != nil {
		return err
	}
	return l.Engine.Attach(eni, inst.TAPs[0])
}

// publicOf resolves "instance@public" to the instance's public or Elastic IP.
func (p *Plan) publicOf(st *fabric.State, target string) (netip.Addr, bool, error) {
	name, ok := strings.CutSuffix(target, "@public")
	if !ok {
		return netip.Addr{}, false, nil
	}
	idx, err := p.eniIndex(st, name)
	if err != nil {
		return netip.Addr{}, true, err
	}
	a := st.ENIs[idx].PublicIP
	if !a.IsValid() {
		return netip.Addr{}, true, fmt.Errorf("%s has no public address", name)
	}
	return a, true, nil
}
