package sgengine_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ec2sim/ec2sim/sgengine"
)

// The engine's side: compile once per change, evaluate every packet, apply the update.
func Example() {
	cfg := &sgengine.Config{
		Groups: []sgengine.Group{{ID: "sg-web", Name: "web",
			Ingress: []sgengine.Rule{{Proto: sgengine.ProtoTCP, FromPort: 22, ToPort: 22,
				CIDR: netip.MustParsePrefix("203.0.113.0/24")}},
			// No egress rules: only conntrack lets anything out.
		}},
		ENIs: []sgengine.ENIConfig{{Index: 0, Groups: []string{"sg-web"},
			PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.0.10")}}},
	}
	policy, err := sgengine.Compile(cfg)
	if err != nil {
		panic(err)
	}
	ct := sgengine.NewConntrack() // one per ENI, kept across policy changes
	now := int64(time.Second)     // the engine's monotonic clock

	syn := sgengine.Flow{Src: netip.MustParseAddr("203.0.113.5"), Dst: netip.MustParseAddr("10.0.0.10"),
		Proto: sgengine.ProtoTCP, SrcPort: 50000, DstPort: 22, TCPFlags: sgengine.TCPSyn}
	d := policy.Ingress(0, &syn, ct, now)
	info, _ := policy.Rule(d.Rule)
	fmt.Println(d.Allowed, d.Reason, info, d.Update.Op(), d.Update.State())
	ct.Apply(&d.Update, now)

	synAck := sgengine.Flow{Src: syn.Dst, Dst: syn.Src, Proto: sgengine.ProtoTCP,
		SrcPort: 22, DstPort: 50000, TCPFlags: sgengine.TCPSyn | sgengine.TCPAck}
	d = policy.Egress(0, &synAck, ct, now)
	fmt.Println(d.Allowed, d.Reason, ct.Len())
	ct.Apply(&d.Update, now)
	// Output:
	// true rule-allowed sg-web ingress rule 0 (tcp 22 203.0.113.0/24) create tcp-syn-sent
	// true tracked-reply 1
}

// The middlebox caveat: the engine sets Flow.Forwarded on the hops where the packet's peer is
// not the ENI across the hop (here, the web server's packets reach the app through a firewall
// appliance), and a group reference no longer admits the peer.
func ExampleFlow_forwarded() {
	cfg := &sgengine.Config{
		Groups: []sgengine.Group{
			{ID: "sg-web"},
			{ID: "sg-app", Ingress: []sgengine.Rule{
				{Proto: sgengine.ProtoTCP, FromPort: 8080, ToPort: 8080, Group: "sg-web"},
				{Proto: sgengine.ProtoTCP, FromPort: 8080, ToPort: 8080, CIDR: netip.MustParsePrefix("10.0.1.0/24")},
			}},
		},
		ENIs: []sgengine.ENIConfig{
			{Index: 0, Groups: []string{"sg-app"}, PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.2.20")}},
			{Index: 1, Groups: []string{"sg-web"}, PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.1.10")}},
		},
	}
	policy, err := sgengine.Compile(cfg)
	if err != nil {
		panic(err)
	}
	syn := sgengine.Flow{Src: netip.MustParseAddr("10.0.1.10"), Dst: netip.MustParseAddr("10.0.2.20"),
		Proto: sgengine.ProtoTCP, SrcPort: 50000, DstPort: 8080, TCPFlags: sgengine.TCPSyn}
	for _, fwd := range []bool{false, true} {
		syn.Forwarded = fwd
		d := policy.Ingress(0, &syn, nil, 0)
		info, _ := policy.Rule(d.Rule)
		fmt.Printf("forwarded=%v: %v by %v\n", fwd, d.Allowed, info)
	}
	// Output:
	// forwarded=false: true by sg-app ingress rule 0 (tcp 8080 sg-web)
	// forwarded=true: true by sg-app ingress rule 1 (tcp 8080 10.0.1.0/24)
}
