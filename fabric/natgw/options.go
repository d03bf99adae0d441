package natgw

import (
	"fmt"
	"net/netip"
	"time"
)

// Defaults of Options, from AWS's documentation of NAT gateways except where marked.
const (
	DefaultPortMin     = 1024
	DefaultPortMax     = 65535
	DefaultIdleTimeout = 350 * time.Second
	// DefaultTCPClosedTimeout is how long a mapping outlives the FINs in both directions or a
	// RST; AWS does not document it [U]. It leaves room for the last ACK and retransmissions.
	DefaultTCPClosedTimeout = 30 * time.Second
	// DefaultMaxPerDest is AWS's 55,000 simultaneous connections per unique destination per
	// address.
	DefaultMaxPerDest = 55000
	// defaultSeed is used when Options.Seed is zero, so that port choices are reproducible.
	defaultSeed = 0x6e61_7467_775f_7365
)

// Options configure a Table. Zero fields take their defaults.
type Options struct {
	// PublicAddr is the address flows are translated to: the gateway's private IP (the
	// internet gateway maps it to the Elastic IP). Its family is the family of every flow the
	// table translates.
	PublicAddr netip.Addr
	// PortMin and PortMax bound the external ports and ICMP identifiers; default 1024-65535.
	PortMin, PortMax uint16
	// IdleTimeout: a mapping without packets for this long expires; default 350 s.
	IdleTimeout time.Duration
	// TCPClosedTimeout replaces IdleTimeout once a TCP connection saw FINs both ways or a
	// RST; default 30 s.
	TCPClosedTimeout time.Duration
	// MaxPerDest is the number of live mappings one destination (protocol, remote address,
	// remote port) may have; default 55,000. A value above the size of the port range means
	// the port range is the limit.
	MaxPerDest int
	// Seed perturbs the hashes that pick ports and place entries; 0 is a fixed default.
	Seed uint64
}

// withDefaults returns o with every zero field set to its default, or an error naming the
// first invalid field.
func (o Options) withDefaults() (Options, error) {
	if !o.PublicAddr.IsValid() || o.PublicAddr.Is4In6() || o.PublicAddr.Zone() != "" {
		return o, fmt.Errorf("natgw: public address %v is not usable; want a plain IPv4 (or IPv6) address without zone", o.PublicAddr)
	}
	if o.PortMin == 0 {
		o.PortMin = DefaultPortMin
	}
	if o.PortMax == 0 {
		o.PortMax = DefaultPortMax
	}
	if o.PortMin > o.PortMax {
		return o, fmt.Errorf("natgw: port range %d-%d is reversed; want PortMin <= PortMax", o.PortMin, o.PortMax)
	}
	if o.IdleTimeout < 0 || o.TCPClosedTimeout < 0 {
		return o, fmt.Errorf("natgw: timeouts must not be negative (IdleTimeout %v, TCPClosedTimeout %v); 0 means the default",
			o.IdleTimeout, o.TCPClosedTimeout)
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.TCPClosedTimeout == 0 {
		o.TCPClosedTimeout = DefaultTCPClosedTimeout
	}
	if o.MaxPerDest < 0 {
		return o, fmt.Errorf("natgw: MaxPerDest %d is negative; want 1 or more (0 means %d)", o.MaxPerDest, DefaultMaxPerDest)
	}
	if o.MaxPerDest == 0 {
		o.MaxPerDest = DefaultMaxPerDest
	}
	if o.Seed == 0 {
		o.Seed = defaultSeed
	}
	return o, nil
}
