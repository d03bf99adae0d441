package natgw_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ec2sim/ec2sim/fabric/natgw"
)

// An instance opens a connection through the gateway, the reply comes back to it, and after
// 350 idle seconds the gateway answers the instance's next segment with a RST.
func Example() {
	t, err := natgw.New(natgw.Options{PublicAddr: netip.MustParseAddr("10.0.1.5"), PortMin: 1024, PortMax: 1024})
	if err != nil {
		panic(err)
	}
	inst, web := netip.MustParseAddr("10.0.2.10"), netip.MustParseAddr("203.0.113.7")
	now := int64(0)

	syn := natgw.Packet{Proto: natgw.ProtoTCP, Src: inst, Dst: web, SrcPort: 40000, DstPort: 443, TCPFlags: natgw.TCPSyn}
	d := t.Outbound(&syn, now)
	fmt.Println(d.Verdict, d.Ext, t.Apply(&d.Update, now))

	synAck := natgw.Packet{Proto: natgw.ProtoTCP, Src: web, Dst: t.PublicAddr(), SrcPort: 443, DstPort: d.Ext, TCPFlags: natgw.TCPSyn | natgw.TCPAck}
	d = t.Inbound(&synAck, now)
	fmt.Println(d.Verdict, d.Flow.Inside, d.Flow.InsidePort, t.Apply(&d.Update, now))

	now += int64(350 * time.Second)
	ack := syn
	ack.TCPFlags = natgw.TCPAck
	d = t.Outbound(&ack, now)
	fmt.Println(d.Verdict, d.Verdict.Resets(), t.Apply(&d.Update, now))
	fmt.Printf("%+v\n", t.Metrics())
	// Output:
	// new-mapping 1024 true
	// translated 10.0.2.10 40000 true
	// idle-timeout-reset true false
	// {ActiveConnectionCount:0 ConnectionAttemptCount:1 ConnectionEstablishedCount:1 ErrorPortAllocation:0 IdleTimeoutCount:1 PacketsDropCount:1}
}
