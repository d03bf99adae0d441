package flowlog

import (
	"net/netip"
	"time"
)

// IP protocol numbers that the exemption and flag rules need.
const (
	protoTCP = 6
	protoUDP = 17
)

// ENI is what a flow log needs to know about one network interface. The engine builds one per
// ENI when the fabric snapshot changes and passes the same pointer with every packet; the
// aggregator keeps the pointer for the records of the window, so it must not be modified after
// it has been passed to Record or Watch (build a new one instead).
type ENI struct {
	InterfaceID string // eni-...
	AccountID   string
	InstanceID  string // "" (printed "-") for a requester-managed ENI such as a NAT gateway's
	VPCID       string
	SubnetID    string

	// PrimaryIPv4 is the ENI's primary private IPv4 address: what srcaddr (egress) or dstaddr
	// (ingress) show whenever the packet's own address is not one of the ENI's IPv6 addresses.
	PrimaryIPv4 netip.Addr
	// IPv6 lists the ENI's IPv6 addresses, which srcaddr and dstaddr show as they are.
	IPv6 []netip.Addr

	Region          string
	AZID            string
	SublocationType string
	SublocationID   string

	// Exempt is the traffic AWS does not log for this ENI (its VPC's DNS resolver, its subnet's
	// router); Record drops what it matches.
	Exempt Exemptions
}

// Tuple is a packet's addresses, ports and protocol as they are in its headers.
type Tuple struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // 0 for protocols without ports (ICMP records show 0 0)
	Proto            uint8
}

// Observation is what the engine knows about one packet (or one offloaded super-frame) on one
// ENI. A packet that crosses two monitored ENIs is two observations: egress on the sender's,
// ingress on the receiver's.
type Observation struct {
	ENI   *ENI
	Tuple Tuple
	// Packets is how many packets the observation stands for (the segments of a TSO
	// super-frame); 0 counts as 1.
	Packets uint32
	// Bytes is the IP length of all those packets, headers included.
	Bytes uint64
	// TCPHeaderFlags is byte 13 of the TCP header as sent; it is mapped with LogTCPFlags.
	TCPHeaderFlags uint8
	Action         Action
	Direction      Direction
	// TrafficPath is where egress traffic goes; ignored (and printed "-") for ingress.
	TrafficPath TrafficPath
	// PktSrcAWSService and PktDstAWSService name an AWS service's address range ("S3"); ec2sim
	// simulates none, so the engine leaves them empty.
	PktSrcAWSService string
	PktDstAWSService string
	// Time is when the packet was seen; the zero time means "now" by the aggregator's clock.
	Time time.Time
}

// ifaceAddr is the address that srcaddr (egress) or dstaddr (ingress) shows for the ENI's side
// of a packet. AWS's "Flow log limitations": traffic to a secondary private IPv4 address shows
// the primary one; traffic to or from an address that is none of the ENI's (forwarding, a NAT
// gateway) shows the primary private IPv4; "the IPv4 address of the network interface is always
// its private IPv4 address". Only an IPv6 address of the ENI's own appears as it is.
func (e *ENI) ifaceAddr(pkt netip.Addr) netip.Addr {
	if pkt.Is6() && !pkt.Is4In6() {
		for _, a := range e.IPv6 {
			if a == pkt {
				return pkt
			}
		}
	}
	if e.PrimaryIPv4.IsValid() {
		return e.PrimaryIPv4
	}
	// An IPv6-only ENI has no private IPv4 to show; the packet's address is the best there is.
	return pkt
}

// RecordAddrs returns srcaddr and dstaddr for a packet with addresses src and dst seen in
// direction d on ENI e: the remote side is the packet's address, the ENI's side is its own
// address as ifaceAddr explains.
func RecordAddrs(e *ENI, d Direction, src, dst netip.Addr) (srcaddr, dstaddr netip.Addr) {
	switch d {
	case Ingress:
		return src, e.ifaceAddr(dst)
	case Egress:
		return e.ifaceAddr(src), dst
	}
	return src, dst
}

// Exemptions are the per-ENI addresses whose traffic flow logs omit; the link-local services
// (instance metadata, Time Sync, Windows activation) are fixed and always exempt.
type Exemptions struct {
	// AmazonDNS is the VPC's resolver, the VPC's base address plus two. Traffic to a DNS server
	// of your own is logged.
	AmazonDNS netip.Addr
	// Router and RouterIPv6 are the reserved addresses of the default VPC router in the ENI's
	// subnet (base plus one).
	Router     netip.Addr
	RouterIPv6 netip.Addr
}

// isExemptService reports whether a is one of the link-local service addresses AWS does not
// log: 169.254.169.254 (instance metadata) and .123 (Time Sync) are named in "Flow log
// limitations"; .253 is the Amazon DNS resolver's link-local address and .250 and .251 the
// Windows licence activation servers; fd00:ec2::254, ::123 and ::253 are the IPv6 forms.
func isExemptService(a netip.Addr) bool {
	if a.Is4() {
		b := a.As4()
		if b[0] != 169 || b[1] != 254 || b[2] != 169 {
			return false
		}
		switch b[3] {
		case 123, 250, 251, 253, 254:
			return true
		}
		return false
	}
	b := a.As16()
	if b != [16]byte{0xfd, 0x00, 0x0e, 0xc2, 14: b[14], 15: b[15]} {
		return false
	}
	switch uint16(b[14])<<8 | uint16(b[15]) {
	case 0x0123, 0x0253, 0x0254:
		return true
	}
	return false
}

// Exempt reports whether AWS leaves traffic with tuple t out of flow logs: DHCP (and DHCPv6),
// traffic to or from the Amazon DNS resolver, instance metadata, Time Sync, Windows licence
// activation, and the default router's reserved address. The docs say "traffic to" the router
// and "traffic generated by instances when they contact" the resolver; the replies belong to the
// same exchange, so both directions are exempt.
func Exempt(t Tuple, ex *Exemptions) bool {
	if t.Proto == protoUDP {
		switch {
		case t.SrcPort == 68 && t.DstPort == 67, t.SrcPort == 67 && t.DstPort == 68,
			t.SrcPort == 546 && t.DstPort == 547, t.SrcPort == 547 && t.DstPort == 546:
			return true
		}
	}
	for _, a := range [2]netip.Addr{t.Src, t.Dst} {
		if !a.IsValid() {
			continue
		}
		if a == ex.AmazonDNS || a == ex.Router || a == ex.RouterIPv6 {
			return true
		}
		if isExemptService(a) {
			return true
		}
	}
	return false
}
