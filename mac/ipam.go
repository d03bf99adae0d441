// Package mac assigns the identities of ENIs — locally administered MAC addresses and private IPs
// from a subnet, never one of AWS's reserved addresses — and implements the hypervisor's
// anti-spoofing and source/destination checks on those identities.
package mac

import (
	"fmt"
	"net/netip"
)

// IsReserved reports whether a is one of the five addresses AWS reserves in every IPv4 subnet: the
// network address, .1 (VPC router), .2 (DNS), .3 (future use) and the broadcast address. For IPv6 the
// first four and the last address of the prefix are reserved in the same way.
func IsReserved(subnet netip.Prefix, a netip.Addr) bool {
	subnet = subnet.Masked()
	if !subnet.Contains(a) {
		return false
	}
	first := subnet.Addr()
	for i := 0; i < 4; i++ {
		if a == first {
			return true
		}
		first = first.Next()
	}
	return a == lastAddr(subnet)
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Router returns the VPC router's address in subnet: its base address plus one.
func Router(subnet netip.Prefix) netip.Addr { return subnet.Masked().Addr().Next() }

// IPAM hands out private IPv4 addresses of one subnet: the lowest free address first, never a
// reserved one, never one already in use. It is not safe for concurrent use; the lab model that owns
// it serialises changes.
type IPAM struct {
	prefix netip.Prefix
	used   map[netip.Addr]string
}

// NewIPAM makes an allocator for subnet. The prefix must be canonical (no host bits).
func NewIPAM(subnet netip.Prefix) (*IPAM, error) {
	if !subnet.IsValid() || subnet.Masked() != subnet {
		return nil, fmt.Errorf("subnet %s: want a canonical CIDR such as 10.0.1.0/24", subnet)
	}
	if subnet.Addr().Is4() && (subnet.Bits() < 16 || subnet.Bits() > 28) {
		return nil, fmt.Errorf("subnet %s: IPv4 subnets are /16 to /28", subnet)
	}
	return &IPAM{prefix: subnet, used: map[netip.Addr]string{}}, nil
}

// Prefix is the subnet this allocator serves.
func (m *IPAM) Prefix() netip.Prefix { return m.prefix }

// Reserve claims a for owner, failing when a is outside the subnet, reserved by AWS, or taken.
func (m *IPAM) Reserve(a netip.Addr, owner string) error {
	if !m.prefix.Contains(a) {
		return fmt.Errorf("address %s is outside subnet %s", a, m.prefix)
	}
	if IsReserved(m.prefix, a) {
		return fmt.Errorf("address %s is reserved by AWS in subnet %s (the first four addresses and the last one are reserved); use %s to %s",
			a, m.prefix, m.firstUsable(), lastAddr(m.prefix).Prev())
	}
	if o, ok := m.used[a]; ok {
		return fmt.Errorf("address %s is already used by %s", a, o)
	}
	m.used[a] = owner
	return nil
}

func (m *IPAM) firstUsable() netip.Addr {
	a := m.prefix.Addr()
	for i := 0; i < 4; i++ {
		a = a.Next()
	}
	return a
}

// Allocate claims the lowest free usable address for owner.
func (m *IPAM) Allocate(owner string) (netip.Addr, error) {
	last := lastAddr(m.prefix)
	for a := m.firstUsable(); a.IsValid() && a.Less(last); a = a.Next() {
		if _, ok := m.used[a]; !ok {
			m.used[a] = owner
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %s has no free address left (%d in use)", m.prefix, len(m.used))
}

// Release returns a to the pool; releasing a free address is a no-op.
func (m *IPAM) Release(a netip.Addr) { delete(m.used, a) }

// InUse reports whether a is claimed, and by whom.
func (m *IPAM) InUse(a netip.Addr) (string, bool) {
	o, ok := m.used[a]
	return o, ok
}
