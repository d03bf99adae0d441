package route_test

import (
	"fmt"
	"net/netip"

	"github.com/ec2sim/ec2sim/fabric/route"
)

func Example() {
	vpc := route.VPC{
		CIDRs:   []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")},
		Subnets: []netip.Prefix{netip.MustParsePrefix("10.0.1.0/24"), netip.MustParsePrefix("10.0.2.0/24")},
	}
	t := route.NewTable("rtb-app", false, vpc)
	for _, r := range []struct{ dest, target string }{
		{"0.0.0.0/0", "nat-0abc"},
		{"10.0.2.0/24", "eni-0fw"}, // a middlebox in front of the database subnet
		{"10.0.2.0/25", "eni-0fw"}, // refused: not a whole subnet
	} {
		target, _ := route.ParseTarget(r.target)
		if err := t.AddRoute(route.Route{Dest: netip.MustParsePrefix(r.dest), Target: target}, vpc); err != nil {
			fmt.Println(err)
		}
	}
	t.TargetDeleted(route.NATGW, "nat-0abc")
	c, err := route.Compile(t, vpc)
	if err != nil {
		panic(err)
	}
	for _, dst := range []string{"10.0.1.9", "10.0.2.9", "203.0.113.9", "169.254.169.254"} {
		r, ok := c.Lookup(netip.MustParseAddr(dst))
		switch {
		case !ok:
			fmt.Println(dst, "no route")
		case r.Drops():
			fmt.Println(dst, r, "drops")
		default:
			fmt.Println(dst, r)
		}
	}
	// Output:
	// route table "rtb-app": route 10.0.2.0/25 -> eni-0fw: 10.0.2.0/25 is more specific than the local route 10.0.0.0/16; AWS allows that only for a whole subnet's CIDR (subnets: [10.0.1.0/24 10.0.2.0/24])
	// 10.0.1.9 10.0.0.0/16 -> local
	// 10.0.2.9 10.0.2.0/24 -> eni-0fw
	// 203.0.113.9 0.0.0.0/0 -> nat-0abc (blackhole) drops
	// 169.254.169.254 no route
}
