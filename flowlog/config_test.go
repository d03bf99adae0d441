package flowlog

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func validConfig() Config {
	return Config{ResourceType: ResourceVPC, ResourceID: "vpc-1", Destination: Destination{Path: "/tmp/x.log"}}
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, (&Config{ResourceType: ResourceSubnet, ResourceID: "subnet-1", TrafficType: TrafficReject,
		MaxAggregationInterval: 60, TestAggregationInterval: 5 * time.Second, LogFormat: "${srcaddr}",
		Destination: Destination{Path: "x", Encoding: EncodingJSON}}).Validate())
	require.NoError(t, (&Config{ResourceType: ResourceENI, ResourceID: "web-eth0", Destination: Destination{Path: "x"}}).Validate(),
		"lab names without an AWS prefix are fine")

	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.ResourceType = "vpc" }, `flow log on vpc "vpc-1": resource type "vpc": want VPC, Subnet or NetworkInterface`},
		{func(c *Config) { c.ResourceID = "" }, "no resource ID: give the ID of the VPC"},
		{func(c *Config) { c.ResourceID = "subnet-1" }, `resource ID "subnet-1" looks like a Subnet ID but the resource type is VPC`},
		{func(c *Config) { c.TrafficType = "all" }, `traffic type "all": want ACCEPT, REJECT or ALL`},
		{func(c *Config) { c.MaxAggregationInterval = 300 }, "max aggregation interval 300 s: want 60 or 600"},
		{func(c *Config) { c.TestAggregationInterval = 90 * time.Second }, "test aggregation interval 1m30s: want whole seconds from 1s to 60s"},
		{func(c *Config) { c.TestAggregationInterval = 500 * time.Millisecond }, "test aggregation interval 500ms"},
		{func(c *Config) { c.LogFormat = "${srcaddr} ${dst}" }, `unknown flow log field "dst"`},
		{func(c *Config) { c.Destination.Path = "" }, "no destination file"},
		{func(c *Config) { c.Destination.Encoding = "parquet" }, `destination encoding "parquet": want text or json`},
		{func(c *Config) { c.Timestamps = 9 }, "timestamp mode 9"},
		{func(c *Config) { c.MaxFlows = -3 }, "max flows -3"},
		{func(c *Config) { c.ID = "fl-123"; c.MaxAggregationInterval = 1 }, "flow log fl-123: max aggregation interval 1 s"},
	} {
		cfg := validConfig()
		c.edit(&cfg)
		require.ErrorContains(t, cfg.Validate(), c.want)
	}

	// Every problem is reported at once.
	cfg := Config{ResourceType: "x", TrafficType: "y"}
	err := cfg.Validate()
	require.Len(t, strings.Split(err.Error(), "\n"), 3, err.Error())
}

func TestConfigWindowAndFormat(t *testing.T) {
	c := validConfig()
	require.Equal(t, time.Minute, c.Window(), "Nitro: 60 s whatever the maximum")
	c.MaxAggregationInterval = 600
	require.Equal(t, time.Minute, c.Window())
	c.TestAggregationInterval = 2 * time.Second
	require.Equal(t, 2*time.Second, c.Window())
	f, err := c.Format()
	require.NoError(t, err)
	require.Equal(t, DefaultFormat(), f)
	o := c.AggregatorOptions(nil)
	require.Equal(t, 2*time.Second, o.Window)
}

func TestConfigCovers(t *testing.T) {
	e := &ENI{InterfaceID: "eni-1", VPCID: "vpc-1", SubnetID: "subnet-1"}
	for _, c := range []struct {
		rt   ResourceType
		id   string
		want bool
	}{
		{ResourceVPC, "vpc-1", true},
		{ResourceVPC, "vpc-2", false},
		{ResourceSubnet, "subnet-1", true},
		{ResourceSubnet, "subnet-2", false},
		{ResourceENI, "eni-1", true},
		{ResourceENI, "eni-2", false},
		{"bogus", "eni-1", false},
	} {
		cfg := Config{ResourceType: c.rt, ResourceID: c.id}
		require.Equal(t, c.want, cfg.Covers(e), "%s %s", c.rt, c.id)
	}
}

func TestExempt(t *testing.T) {
	ex := &Exemptions{
		AmazonDNS:  netip.MustParseAddr("10.0.0.2"),
		Router:     netip.MustParseAddr("10.0.1.1"),
		RouterIPv6: netip.MustParseAddr("2001:db8:0:1::1"),
	}
	me := netip.MustParseAddr("10.0.1.10")
	me6 := netip.MustParseAddr("2001:db8:0:1::10")
	tcp := func(dst string, port uint16) Tuple {
		return Tuple{Src: me, Dst: netip.MustParseAddr(dst), SrcPort: 40000, DstPort: port, Proto: 6}
	}
	udp := func(src, dst string, sp, dp uint16) Tuple {
		return Tuple{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp, Proto: 17}
	}
	for _, c := range []struct {
		name string
		t    Tuple
		want bool
	}{
		{"Amazon DNS query", udp("10.0.1.10", "10.0.0.2", 40000, 53), true},
		{"Amazon DNS reply", udp("10.0.0.2", "10.0.1.10", 53, 40000), true},
		{"Amazon DNS link-local", udp("10.0.1.10", "169.254.169.253", 40000, 53), true},
		{"own DNS server is logged", udp("10.0.1.10", "10.0.1.53", 40000, 53), false},
		{"instance metadata", tcp("169.254.169.254", 80), true},
		{"metadata reply", Tuple{Src: netip.MustParseAddr("169.254.169.254"), Dst: me, SrcPort: 80, DstPort: 40000, Proto: 6}, true},
		{"metadata IPv6", Tuple{Src: me6, Dst: netip.MustParseAddr("fd00:ec2::254"), Proto: 6}, true},
		{"Time Sync", udp("10.0.1.10", "169.254.169.123", 123, 123), true},
		{"Time Sync IPv6", Tuple{Src: me6, Dst: netip.MustParseAddr("fd00:ec2::123"), Proto: 17}, true},
		{"other fd00:ec2:: address", Tuple{Src: me6, Dst: netip.MustParseAddr("fd00:ec2::1:254"), Proto: 17}, false},
		{"Windows activation", tcp("169.254.169.250", 1688), true},
		{"other link-local", tcp("169.254.169.1", 80), false},
		{"DHCP request", udp("0.0.0.0", "255.255.255.255", 68, 67), true},
		{"DHCP reply", udp("10.0.1.99", "255.255.255.255", 67, 68), true},
		{"DHCPv6", udp("fe80::1", "ff02::1:2", 546, 547), true},
		{"UDP 67 to 53 is not DHCP", udp("10.0.1.10", "10.0.2.10", 67, 53), false},
		{"TCP 68 to 67 is not DHCP", Tuple{Src: me, Dst: netip.MustParseAddr("10.0.2.10"), SrcPort: 68, DstPort: 67, Proto: 6}, false},
		{"ping the router", Tuple{Src: me, Dst: netip.MustParseAddr("10.0.1.1"), Proto: 1}, true},
		{"router IPv6", Tuple{Src: me6, Dst: netip.MustParseAddr("2001:db8:0:1::1"), Proto: 58}, true},
		{"another subnet's router is a plain address here", tcp("10.0.2.1", 80), false},
		{"ordinary traffic", tcp("10.0.2.20", 443), false},
		{"internet", tcp("203.0.113.5", 443), false},
	} {
		require.Equal(t, c.want, Exempt(c.t, ex), c.name)
	}
	// No exemption addresses configured: an invalid address never matches.
	require.False(t, Exempt(Tuple{Proto: 6}, &Exemptions{}))
}

func TestRecordAddrs(t *testing.T) {
	v6a, v6b := netip.MustParseAddr("2001:db8::a"), netip.MustParseAddr("2001:db8::b")
	e := &ENI{PrimaryIPv4: netip.MustParseAddr("10.0.0.5"), IPv6: []netip.Addr{v6a}}
	remote := netip.MustParseAddr("198.51.100.1")
	remote6 := netip.MustParseAddr("2001:db8:ffff::1")
	for _, c := range []struct {
		name     string
		d        Direction
		src, dst netip.Addr
		ws, wd   netip.Addr
	}{
		{"ingress to primary", Ingress, remote, e.PrimaryIPv4, remote, e.PrimaryIPv4},
		{"ingress to secondary shows primary", Ingress, remote, netip.MustParseAddr("10.0.0.6"), remote, e.PrimaryIPv4},
		{"ingress forwarded shows primary", Ingress, remote, netip.MustParseAddr("10.9.9.9"), remote, e.PrimaryIPv4},
		{"egress from secondary shows primary", Egress, netip.MustParseAddr("10.0.0.6"), remote, e.PrimaryIPv4, remote},
		{"egress forwarded shows primary", Egress, remote6, remote, e.PrimaryIPv4, remote},
		{"ingress to own IPv6", Ingress, remote6, v6a, remote6, v6a},
		{"egress from own IPv6", Egress, v6a, remote6, v6a, remote6},
		{"IPv6 not the ENI's shows primary IPv4", Ingress, remote6, v6b, remote6, e.PrimaryIPv4},
		{"no direction leaves the packet's", DirectionNone, remote, v6b, remote, v6b},
	} {
		s, d := RecordAddrs(e, c.d, c.src, c.dst)
		require.Equal(t, [2]netip.Addr{c.ws, c.wd}, [2]netip.Addr{s, d}, c.name)
	}
	v6only := &ENI{IPv6: []netip.Addr{v6a}}
	_, d := RecordAddrs(v6only, Ingress, remote6, v6b)
	require.Equal(t, v6b, d, "an IPv6-only ENI has no private IPv4 to show")
}

func TestEnumStrings(t *testing.T) {
	for _, s := range []string{"ACCEPT", "REJECT", "-"} {
		a, err := ParseAction(s)
		require.NoError(t, err)
		require.Equal(t, s, a.String())
	}
	for _, s := range []string{"OK", "NODATA", "SKIPDATA", "-"} {
		v, err := ParseLogStatus(s)
		require.NoError(t, err)
		require.Equal(t, s, v.String())
	}
	for _, s := range []string{"ingress", "egress", "-"} {
		v, err := ParseDirection(s)
		require.NoError(t, err)
		require.Equal(t, s, v.String())
	}
	for _, s := range []string{"IPv4", "IPv6", "EFA", "-"} {
		v, err := ParseAddrType(s)
		require.NoError(t, err)
		require.Equal(t, s, v.String())
	}
	for o := Recorded; o <= NotCovered; o++ {
		require.NotContains(t, o.String(), "outcome(")
	}
	require.Equal(t, "outcome(99)", Outcome(99).String())
}
