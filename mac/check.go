package mac

import "net/netip"

// Identity is what the hypervisor knows about one ENI: its MAC, its private addresses (primary
// first), the prefixes delegated to it, and its source/destination check attribute.
type Identity struct {
	MAC             HW
	Addrs           []netip.Addr
	Prefixes        []netip.Prefix
	SourceDestCheck bool
}

// Result is the outcome of an anti-spoofing check.
type Result uint8

const (
	// OK means the check passed.
	OK Result = iota
	// BadSourceMAC means the frame's source MAC is not the ENI's: dropped always, whatever the
	// source/destination check says (AWS: "send traffic only from the MAC ... assigned to them").
	BadSourceMAC
	// BadSourceIP means the packet's source is not one of the ENI's addresses while its
	// source/destination check is on.
	BadSourceIP
	// BadDestIP means the packet's destination is not one of the receiving ENI's addresses while
	// its source/destination check is on.
	BadDestIP
)

var resultNames = [...]string{"ok", "source MAC is not the ENI's", "source IP is not the ENI's (source/dest check on)", "destination IP is not the ENI's (source/dest check on)"}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "unknown"
}

// Owns reports whether a is one of id's addresses or inside one of its delegated prefixes.
func (id *Identity) Owns(a netip.Addr) bool {
	for _, x := range id.Addrs {
		if x == a {
			return true
		}
	}
	for _, p := range id.Prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// CheckSource checks a frame sent by the ENI: its source MAC always, its source IP unless the
// source/destination check is off.
func (id *Identity) CheckSource(srcMAC HW, srcIP netip.Addr) Result {
	if srcMAC != id.MAC {
		return BadSourceMAC
	}
	if id.SourceDestCheck && !id.Owns(srcIP) {
		return BadSourceIP
	}
	return OK
}

// CheckDest checks a packet about to be delivered to the ENI.
func (id *Identity) CheckDest(dstIP netip.Addr) Result {
	if id.SourceDestCheck && !id.Owns(dstIP) {
		return BadDestIP
	}
	return OK
}
