package nacl_test

import (
	"fmt"
	"net/netip"

	"github.com/ec2sim/ec2sim/nacl"
)

func Example() {
	acl := nacl.NewCustom("acl-1", "web")
	for _, line := range []string{
		"100 allow tcp 80 0.0.0.0/0 in",
		"110 allow tcp 443 0.0.0.0/0 in",
		"140 allow tcp 32768-65535 0.0.0.0/0 out",
	} {
		e, err := nacl.ParseEntry(line)
		if err != nil {
			panic(err)
		}
		acl.Entries = append(acl.Entries, e)
	}
	c, _, err := nacl.Compile(acl, nacl.Limits{})
	if err != nil {
		panic(err)
	}
	client, server := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("10.0.1.5")
	for _, p := range []struct {
		egress bool
		pkt    nacl.Packet
	}{
		{false, nacl.Packet{Src: client, Dst: server, Proto: 6, SrcPort: 50123, DstPort: 443, HasPorts: true}},
		{true, nacl.Packet{Src: server, Dst: client, Proto: 6, SrcPort: 443, DstPort: 50123, HasPorts: true}},
		{false, nacl.Packet{Src: client, Dst: server, Proto: 6, SrcPort: 50123, DstPort: 139, HasPorts: true}},
		{true, nacl.Packet{Src: server, Dst: client, Proto: 6, SrcPort: 443, DstPort: 4000, HasPorts: true}},
	} {
		r := c.Evaluate(p.egress, &p.pkt)
		fmt.Println(r, r.Rule)
	}
	// Output:
	// rule 110 allow 110
	// rule 140 allow 140
	// rule * deny 32767
	// rule * deny 32767
}
