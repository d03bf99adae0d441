package route

import (
	"errors"
	"fmt"
	"net/netip"
)

// The ranges AWS keeps for its own services: no route may point into them, and nothing is
// forwarded to them.
var (
	reserved4 = netip.MustParsePrefix("169.254.168.0/22")
	reserved6 = netip.MustParsePrefix("fd00:ec2::/32")
)

// Reserved says whether a destination lies in 169.254.168.0/22 or fd00:ec2::/32, which AWS
// never routes: the instance's link-local services (IMDS, DNS, time) answer there before any
// route table is consulted. It does not allocate.
func Reserved(a netip.Addr) bool {
	if a.Is4() {
		b := a.As4()
		return b[0] == 169 && b[1] == 254 && b[2]&0xfc == 168
	}
	b := a.As16()
	return b[0] == 0xfd && b[1] == 0 && b[2] == 0x0e && b[3] == 0xc2
}

// middleboxKinds are the targets AWS allows for a route more specific than local.
func middleboxKind(k TargetKind) bool { return k == NATGW || k == ENI || k == GWLBEndpoint }

// Check validates a table against AWS's rules (see the package documentation) and returns
// every error joined, each naming the table and the route.
func Check(t Table, vpc VPC) error {
	var errs []error
	for _, c := range vpc.CIDRs {
		if !c.IsValid() || c.Masked() != c {
			errs = append(errs, fmt.Errorf("%s: VPC CIDR %s: want a canonical CIDR such as %s", t.label(), c, c.Masked()))
		}
	}
	type key struct {
		dest   netip.Prefix
		origin Origin
	}
	seen := map[key]bool{}
	for _, r := range t.Routes {
		bad := func(format string, args ...any) {
			errs = append(errs, errors.New(t.label()+": route "+r.String()+": "+fmt.Sprintf(format, args...)))
		}
		if !r.Dest.IsValid() {
			bad("no destination: want a CIDR such as 0.0.0.0/0 or ::/0")
			continue
		}
		if m := r.Dest.Masked(); m != r.Dest {
			bad("destination %s has host bits set: did you mean %s?", r.Dest, m)
			continue
		}
		if !r.Target.Kind.valid() {
			bad("target kind %v: want local, igw, eigw, nat, eni, instance, vgw, peering, tgw, gwlbe or blackhole", r.Target.Kind)
			continue
		}
		if r.Target.needsID() && r.Target.ID == "" {
			bad("the %s target has no ID", kindInfo[r.Target.Kind].name)
		}
		if r.State > StateBlackhole {
			bad("state %v: want active or blackhole", r.State)
		}
		k := key{r.Dest, r.Origin}
		if seen[k] {
			bad("duplicate destination %s: a table has one %s route per destination", r.Dest, r.Origin)
		}
		seen[k] = true
		isVPCCIDR := false
		for _, c := range vpc.CIDRs {
			isVPCCIDR = isVPCCIDR || c == r.Dest
		}
		switch r.Origin {
		case OriginLocal:
			if r.Target.Kind != Local {
				bad("a local route's target is local; AWS's local routes cannot be changed")
			}
			if !isVPCCIDR {
				bad("no VPC CIDR is %s: local routes come from the VPC's CIDRs %v", r.Dest, vpc.CIDRs)
			}
			continue
		case Static, Propagated:
			if r.Target.Kind == Local {
				bad("only the VPC's own local routes target local")
				continue
			}
			if r.Origin == Propagated && r.Target.Kind != VGW {
				bad("propagated routes come from a virtual private gateway, not %s", describe(r.Target))
			}
		default:
			bad("origin %v: want static, local or propagated", r.Origin)
			continue
		}
		if isVPCCIDR {
			bad("%s is the VPC CIDR of a local route, which cannot be replaced", r.Dest)
			continue
		}
		if reserved4.Overlaps(r.Dest) && r.Dest.Bits() >= reserved4.Bits() || reserved6.Overlaps(r.Dest) && r.Dest.Bits() >= reserved6.Bits() {
			bad("%s lies in a range AWS reserves for its services (169.254.168.0/22, fd00:ec2::/32)", r.Dest)
		}
		if r.Target.Kind == EgressOnlyIGW && r.Dest.Addr().Is4() {
			bad("an egress-only internet gateway routes IPv6 only")
		}
		for _, c := range vpc.CIDRs {
			if c.Bits() >= r.Dest.Bits() || !c.Contains(r.Dest.Addr()) {
				continue
			}
			// More specific than this local route: a middlebox route to a whole subnet only.
			isSubnet := false
			for _, s := range vpc.Subnets {
				isSubnet = isSubnet || s == r.Dest
			}
			if !isSubnet {
				bad("%s is more specific than the local route %s; AWS allows that only for a whole subnet's CIDR (subnets: %v)", r.Dest, c, vpc.Subnets)
			} else if !middleboxKind(r.Target.Kind) {
				bad("a route more specific than the local route %s must target a NAT gateway, a network interface or a Gateway Load Balancer endpoint, not %s", c, describe(r.Target))
			}
		}
	}
	for _, c := range vpc.CIDRs {
		if !seen[key{c, OriginLocal}] {
			errs = append(errs, fmt.Errorf("%s: no local route for the VPC CIDR %s (NewTable and SyncLocal add them)", t.label(), c))
		}
	}
	return errors.Join(errs...)
}

// describe names a target for errors: "internet gateway igw-1".
func describe(t Target) string {
	if t.ID == "" {
		return kindInfo[t.Kind].name
	}
	return kindInfo[t.Kind].name + " " + t.ID
}
