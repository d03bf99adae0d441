package scenarios

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gwBase is a lab with every kind of gateway. Line numbers matter to the error tests: they
// replace one line (a marker comment or a field) and expect the error there.
const gwBase = `name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    internet_gateway: true
    vpn_gateway: corp
    subnets:
      public:  {cidr: 10.0.1.0/24, route_table: public, map_public_ip_on_launch: true}
      private: {cidr: 10.0.2.0/24}
    nat_gateways:
      nat-a: {subnet: public, elastic_ip: 203.0.113.20}
      nat-p: {subnet: main/private, private: true}
    route_tables:
      main:
        routes:
          - {destination: 0.0.0.0/0, target: nat/nat-a}
      public:
        routes:
          - {destination: 0.0.0.0/0, target: igw}
          - {destination: 192.168.0.0/16, target: vgw}
          - {destination: 10.1.0.0/16, target: peering/main-other}
          - {destination: 10.0.2.0/24, target: nat/nat-p}
  other:
    cidr: 10.1.0.0/16
    subnets:
      a: {cidr: 10.1.1.0/24}
peerings:
  main-other: {requester: main, accepter: other}
on_prem:
  corp:
    cidr: 192.168.0.0/16
    hosts: {office: 192.168.1.10, dc: {ip: 192.168.2.10}}
internet:
  hosts: {client: 203.0.113.10, api: {ip: 198.51.100.20}}
instances:
  web-1: {subnet: main/public}
  web-2: {subnet: main/public, elastic_ip: 203.0.113.50}
  web-3: {subnet: main/public, public_ip: false}
  app: {subnet: main/private}
  db: {subnet: other/a}
expect:
  - {from: client, to: web-1@public, proto: tcp, port: 80, result: allow}
  - {from: office, to: app, proto: icmp, result: allow}
  - {from: app, to: dc, proto: udp, port: 53, result: allow}
`

func TestGatewaysModel(t *testing.T) {
	sc := mustParse(t, gwBase)
	assert.Empty(t, sc.Warnings)
	main := sc.VPC("main")
	assert.True(t, main.InternetGateway)
	assert.Equal(t, "corp", main.VPNGateway)
	require.Len(t, main.NATGateways, 2)
	assert.Equal(t, NATGateway{Name: "nat-a", VPC: "main", Subnet: "main/public", ElasticIP: netip.MustParseAddr("203.0.113.20"), Pos: Pos{"t.yaml", 11, 7}}, *main.NATGateways[0])
	assert.Equal(t, NATGateway{Name: "nat-p", VPC: "main", Subnet: "main/private", Private: true, Pos: Pos{"t.yaml", 12, 7}}, *main.NATGateways[1])
	assert.Same(t, main.NATGateways[1], main.NATGateway("nat-p"))
	assert.Nil(t, main.NATGateway("nope"))

	// The table named main is the main table and comes first; the VPC has AWS's default ACL.
	require.Len(t, main.RouteTables, 2)
	assert.Same(t, main.RouteTable("main"), main.RouteTables[0])
	assert.Same(t, main.MainTable(), main.RouteTables[0])
	assert.True(t, main.RouteTables[0].Main && !main.RouteTables[0].Implicit)
	var targets []RouteTarget
	for _, r := range main.RouteTable("public").Routes {
		targets = append(targets, RouteTarget{Kind: r.Target.Kind, Name: r.Target.Name})
	}
	assert.Equal(t, []RouteTarget{{Kind: "igw"}, {Kind: "vgw"}, {Kind: "peering", Name: "main-other"}, {Kind: "nat", Name: "nat-p"}}, targets)
	assert.Equal(t, Pos{"t.yaml", 19, 46}, main.RouteTable("public").Routes[0].Target.Pos)
	require.Len(t, main.NetworkACLs, 1)
	assert.True(t, main.NetworkACLs[0].Implicit)

	other := sc.VPC("other")
	assert.True(t, other.RouteTables[0].Implicit, "a VPC without tables has AWS's main table")
	assert.Empty(t, other.RouteTables[0].Routes)

	require.Len(t, sc.Peerings, 1)
	p := sc.Peering("main-other")
	assert.Equal(t, Peering{Name: "main-other", Requester: "main", Accepter: "other", Pos: Pos{"t.yaml", 28, 3}}, *p)
	assert.Equal(t, "other", p.Peer("main"))
	assert.Equal(t, "main", p.Peer("other"))
	assert.Equal(t, "", p.Peer("third"))
	assert.Nil(t, sc.Peering("nope"))

	require.Len(t, sc.OnPrem, 1)
	corp := sc.OnPremNetwork("corp")
	assert.Equal(t, netip.MustParsePrefix("192.168.0.0/16"), corp.CIDR)
	assert.Equal(t, []*Host{
		{Name: "office", IP: netip.MustParseAddr("192.168.1.10"), Pos: Pos{"t.yaml", 32, 13}},
		{Name: "dc", IP: netip.MustParseAddr("192.168.2.10"), Pos: Pos{"t.yaml", 32, 35}},
	}, corp.Hosts)
	net, h := sc.OnPremHost("dc")
	assert.Same(t, corp, net)
	assert.Same(t, corp.Hosts[1], h)
	net, h = sc.OnPremHost("client")
	assert.Nil(t, net)
	assert.Nil(t, h, "internet hosts are not on-prem hosts")
	assert.Nil(t, sc.OnPremNetwork("nope"))

	assert.Equal(t, netip.MustParseAddr("203.0.113.10"), sc.Host("client").IP, "a host's bare address")
	assert.Equal(t, netip.MustParseAddr("198.51.100.20"), sc.Host("api").IP, "a host as {ip: ...}")

	// map_public_ip_on_launch gives eth0 a public IP unless the file opts out or gives an EIP.
	pub := func(name string) bool { return sc.Instance(name).ENIs[0].PublicIP }
	assert.True(t, pub("web-1"))
	assert.False(t, pub("web-2"), "an Elastic IP replaces the automatic public IP")
	assert.False(t, pub("web-3"), "public_ip: false opts out")
	assert.False(t, pub("app"))
	for name, want := range map[string]bool{"web-1": true, "web-2": true, "web-3": false, "app": false} {
		assert.Equal(t, want, sc.HasPublicAddress(sc.Instance(name), 0), name)
	}
	assert.False(t, sc.HasPublicAddress(sc.Instance("web-1"), 1), "no eth1")
}

func TestGatewaysFormatRoundTrip(t *testing.T) {
	sc := mustParse(t, gwBase)
	out, err := Format(sc)
	require.NoError(t, err)
	back, err := Parse("t.yaml", out)
	require.NoError(t, err, "%s", out)
	assert.Equal(t, withoutPositions(sc), withoutPositions(back), "%s", out)
	for _, want := range []string{
		"    vpn_gateway: corp\n",
		"      nat-a: {subnet: public, elastic_ip: 203.0.113.20}\n",
		"      nat-p: {subnet: private, private: true}\n",
		"  main-other: {requester: main, accepter: other}\n",
		"      office: 192.168.1.10\n",
		"    client: 203.0.113.10\n",
		"  web-1: {subnet: main/public}\n",
		"  web-3: {subnet: main/public, public_ip: false}\n",
	} {
		assert.Contains(t, string(out), want)
	}
	assert.NotContains(t, string(out), "network_acls", "AWS's default ACL is left out")
}

func TestGatewayErrors(t *testing.T) {
	cases := []struct {
		name, old, new, at, msg string
	}{
		// NAT gateways
		{"nat subnet missing", "nat-a: {subnet: public,", "nat-a: {subnet: nope,", "11:23", `NAT gateway main/nat-a: no subnet "nope" in vpc main (InvalidSubnetID.NotFound); subnets there: public, private`},
		{"nat subnet of another vpc", "nat-a: {subnet: public,", "nat-a: {subnet: other/a,", "11:23", `NAT gateway main/nat-a: subnet "other/a" is not in vpc main; a NAT gateway is in a subnet of its own VPC: public, private`},
		{"private nat with eip", "{subnet: main/private, private: true}", "{subnet: main/private, private: true, elastic_ip: 203.0.113.21}", "12:64", "NAT gateway main/nat-p: a private NAT gateway has no Elastic IP"},
		{"public nat without igw", "    internet_gateway: true\n", "", "10:7", "NAT gateway main/nat-a: a public NAT gateway needs an internet gateway, and vpc main has none (Gateway.NotAttached)"},
		{"nat eip outside documentation ranges", "elastic_ip: 203.0.113.20", "elastic_ip: 8.8.8.8", "11:43", "NAT gateway main/nat-a: elastic_ip 8.8.8.8: the simulated internet uses the documentation ranges only"},
		{"nat eip taken", "elastic_ip: 203.0.113.20", "elastic_ip: 203.0.113.50", "11:43", "NAT gateway main/nat-a: elastic_ip 203.0.113.50 is already used by instance web-2: eth0 (line 37); a public address has one holder"},
		{"nat name", "      nat-a:", "      Nat-a:", "11:7", `NAT gateway name: "Nat-a"`},
		{"nat unknown field", "private: true}", "privat: true}", "12:37", `unknown field "privat" (did you mean "private"?); valid fields here: subnet, elastic_ip, private`},
		{"nat without subnet", "nat-p: {subnet: main/private, private: true}", "nat-p: {private: true}", "12:14", `NAT gateway main/nat-p: missing required field "subnet"`},

		// routes to gateways
		{"nat route to a missing gateway", "target: nat/nat-a}", "target: nat/nat-b}", "16:46", `target nat/nat-b: no NAT gateway "nat-b" in vpc main; NAT gateways there: nat-a, nat-p`},
		{"nat route without a name", "target: nat/nat-a}", "target: nat}", "16:46", "target nat needs the gateway's name: nat/NAME"},
		{"vgw without a vpn gateway", "    vpn_gateway: corp\n", "", "19:51", "target vgw: vpc main has no VPN gateway (set vpn_gateway: NETWORK, naming an on_prem network)"},
		{"vgw with a name", "target: vgw}", "target: vgw/corp}", "20:51", "target vgw takes no name (a VPC has one VPN gateway)"},
		{"igw with a name", "target: igw}", "target: igw/x}", "19:46", "target igw takes no name"},
		{"peering missing", "target: peering/main-other}", "target: peering/nope}", "21:48", `target peering/nope: no peering "nope"; peerings: main-other`},
		{"peering without a name", "target: peering/main-other}", "target: peering}", "21:48", "target peering needs the connection's name: peering/NAME"},
		{"subnet route to igw", "{destination: 10.1.0.0/16, target: peering/main-other}", "{destination: 10.0.2.0/24, target: igw}", "21:27", "10.0.2.0/24 is a subnet's CIDR, more specific than the local route; AWS refuses it with target igw (only an instance, an ENI or a NAT gateway may take such a route)"},
		{"inside the vpc, not a subnet", "{destination: 10.0.2.0/24, target: nat/nat-p}", "{destination: 10.0.3.0/24, target: nat/nat-p}", "22:27", "10.0.3.0/24 is inside the VPC's 10.0.0.0/16, more specific than the local route, and not a subnet's CIDR; AWS refuses it"},
		{"the vpc's cidr", "{destination: 10.0.2.0/24, target: nat/nat-p}", "{destination: 10.0.0.0/16, target: nat/nat-p}", "22:27", "10.0.0.0/16 is the VPC's CIDR, which the local route already covers; AWS refuses a second route to it"},

		// VPN gateways and on-prem networks
		{"vpn gateway to nowhere", "vpn_gateway: corp", "vpn_gateway: crop", "6:18", `vpc main: vpn_gateway "crop": no on-prem network "crop"; want the name of a network under on_prem: (corp)`},
		{"on-prem overlaps a vpc", "cidr: 192.168.0.0/16", "cidr: 10.0.0.0/8", "31:11", "on-prem network corp: cidr 10.0.0.0/8 overlaps vpc main (10.0.0.0/16); a VPN cannot route between overlapping networks"},
		{"on-prem host bits", "cidr: 192.168.0.0/16", "cidr: 192.168.0.1/16", "31:11", "on-prem network corp: cidr 192.168.0.1/16 has host bits set; did you mean 192.168.0.0/16?"},
		{"on-prem in the documentation ranges", "cidr: 192.168.0.0/16", "cidr: 198.51.100.0/24", "31:11", "overlaps 198.51.100.0/24, which the simulated internet uses"},
		{"on-prem loopback", "cidr: 192.168.0.0/16", "cidr: 127.0.0.0/8", "31:11", "(loopback)"},
		{"on-prem ipv6", "cidr: 192.168.0.0/16", `cidr: "fd00::/8"`, "31:11", "want an IPv4 CIDR"},
		{"on-prem host outside", "office: 192.168.1.10", "office: 192.169.1.10", "32:21", "on-prem host office: 192.169.1.10 is outside its network corp (192.168.0.0/16)"},
		{"on-prem host twice", "dc: {ip: 192.168.2.10}", "dc: {ip: 192.168.1.10}", "32:44", "on-prem host dc: 192.168.1.10 is already host office's"},
		{"on-prem host not an address", "office: 192.168.1.10", "office: [192.168.1.10]", "32:21", "on-prem host office: want an address such as 203.0.113.10, or {ip: ADDRESS}, not a list"},
		{"on-prem host unknown field", "dc: {ip: 192.168.2.10}", "dc: {ip: 192.168.2.10, mac: x}", "32:58", `on-prem host dc: unknown field "mac"; valid fields here: ip`},
		{"on-prem without cidr", "    cidr: 192.168.0.0/16\n", "", "31:5", `on-prem network corp: missing required field "cidr"`},

		// peerings
		{"peering to a missing vpc", "accepter: other}", "accepter: othr}", "28:43", `peering main-other: accepter "othr": no such VPC; VPCs: main, other`},
		{"peering with itself", "accepter: other}", "accepter: main}", "28:43", "requester and accepter are both vpc main; a peering connects two different VPCs"},
		{"peering overlapping vpcs", "    cidr: 10.1.0.0/16\n    subnets:\n      a: {cidr: 10.1.1.0/24}", "    cidr: 10.0.0.0/16\n    subnets:\n      a: {cidr: 10.0.1.0/24}", "28:43", "vpc main (10.0.0.0/16) and vpc other (10.0.0.0/16) overlap; AWS refuses to peer VPCs with overlapping CIDRs"},
		{"peering twice", "  main-other: {requester: main, accepter: other}\n", "  main-other: {requester: main, accepter: other}\n  again: {requester: other, accepter: main}\n", "29:3", "peering again: vpc main and vpc other are already peered by main-other (line 28); AWS allows one active peering per pair (VpcPeeringConnectionAlreadyExists)"},
		{"peering without accepter", "{requester: main, accepter: other}", "{requester: main}", "28:15", `peering main-other: missing required field "accepter"`},

		// one namespace of names
		{"host named like an instance", "client: 203.0.113.10", "app: 203.0.113.10", "34:11", "internet host app: the name is already used by instance app (line 39); instances, internet hosts, on-prem networks and on-prem hosts share one set of names"},
		{"on-prem host named like an internet host", "office: 192.168.1.10", "client: 192.168.1.10", "32:13", "on-prem host client: the name is already used by internet host client (line 34)"},
		{"on-prem network named like an instance", "  corp:\n", "  db:\n", "30:3", "on-prem network db: the name is already used by instance db"},
		{"host named internet", "client: 203.0.113.10", "internet: 203.0.113.10", "34:11", `internet host internet: the name "internet" is reserved for the simulated internet`},
		{"instance named internet", "  db: {subnet: other/a}", "  internet: {subnet: other/a}", "40:3", `instance internet: the name "internet" is reserved`},

		// public addresses
		{"internet host outside the documentation ranges", "client: 203.0.113.10", "client: 8.8.8.8", "34:19", "internet host client: ip 8.8.8.8: the simulated internet uses the documentation ranges only: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24"},
		{"eip taken by a host", "elastic_ip: 203.0.113.50}", "elastic_ip: 203.0.113.10}", "37:44", "instance web-2: eth0: elastic_ip 203.0.113.10 is already used by internet host client (line 34); a public address has one holder (Resource.AlreadyAssociated)"},
		{"public_ip and elastic_ip", "elastic_ip: 203.0.113.50}", "elastic_ip: 203.0.113.50, public_ip: true}", "37:44", "instance web-2: eth0: give public_ip or elastic_ip, not both"},
		{"public_ip on eth1", "  app: {subnet: main/private}", "  app:\n    enis: [{subnet: main/private}, {subnet: main/public, public_ip: true}]", "40:69", "instance app: eth1: public_ip: AWS assigns an automatic public IP to eth0 only; give eth1 an elastic_ip instead"},
		{"public_ip with two enis", "  app: {subnet: main/private}", "  app:\n    enis: [{subnet: main/private, public_ip: true}, {subnet: main/public}]", "40:46", "instance app: eth0: public_ip: AWS assigns no automatic public IP to an instance launched with more than one network interface (it has 2)"},

		// probes
		{"probe to a host's public address", "to: web-1@public", "to: web-3@public", "42:24", `to "web-3@public": instance web-3 has no public address`},
		{"probe from nowhere", "{from: office,", "{from: home,", "43:12", `from "home": no instance "home"; want an instance name or instance.ethN, or an internet or on-prem host`},
		{"probe to nowhere", "to: dc,", "to: dcc,", "44:21", `to "dcc": no instance "dcc"; want an instance name, instance.ethN, INSTANCE@public, an internet or on-prem host, or an IP address`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, 1, strings.Count(gwBase, c.old), "the change must apply once: %q", c.old)
			src := strings.Replace(gwBase, c.old, c.new, 1)
			_, err := Parse("t.yaml", []byte(src))
			require.Error(t, err, "%s", src)
			assert.Contains(t, err.Error(), "t.yaml:"+c.at+": ", "%s", err)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

func TestPeeringRouteOfOtherVPCs(t *testing.T) {
	src := strings.Replace(gwBase, "target: peering/main-other}", "target: peering/x}", 1)
	src = strings.Replace(src, "peerings:\n", "  third: {cidr: 10.2.0.0/16}\npeerings:\n  x: {requester: other, accepter: third}\n", 1)
	_, err := Parse("t.yaml", []byte(src))
	require.Error(t, err)
	assert.Equal(t, "t.yaml:21:48: route table main/public: route 3: target peering/x connects vpc other and vpc third, not vpc main", err.Error())
}

func TestGatewayWarnings(t *testing.T) {
	for _, c := range []struct{ name, old, new, want string }{
		{"peering route outside the peer", "{destination: 10.1.0.0/16, target: peering/main-other}", "{destination: 172.16.0.0/12, target: peering/main-other}",
			"t.yaml:21:27: route table main/public: route 3: 172.16.0.0/12 is outside vpc other (10.1.0.0/16): a peering carries only traffic for the peer VPC's addresses (no edge-to-edge routing), so this traffic is dropped"},
		{"on-prem not connected", "    vpn_gateway: corp\n    subnets:", "    subnets:", ""}, // a vgw route then fails; see below
		{"mapping with two ENIs", "  app: {subnet: main/private}", "  app:\n    enis: [{subnet: main/public}, {subnet: main/private}]",
			"t.yaml:40:21: instance app: eth0: subnet main/public maps public IPs on launch, but AWS assigns none to an instance launched with 2 network interfaces; give eth0 an elastic_ip for a public address"},
		{"public address without igw", "  db: {subnet: other/a}", "  db: {subnet: other/a, public_ip: true}",
			"t.yaml:40:36: instance db: eth0: a public address in VPC other, which has no internet gateway: it will not reach the internet (AWS allows it)"},
	} {
		if c.want == "" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(gwBase, c.old, c.new, 1)
			require.Equal(t, 1, strings.Count(gwBase, c.old))
			sc := mustParse(t, src)
			var got []string
			for _, w := range sc.Warnings {
				got = append(got, w.String())
			}
			assert.Equal(t, []string{c.want}, got)
		})
	}
	// An on-prem network that no VPC connects to.
	src := strings.Replace(strings.Replace(gwBase, "    vpn_gateway: corp\n", "", 1), "          - {destination: 192.168.0.0/16, target: vgw}\n", "", 1)
	src = strings.Replace(src, "  - {from: office, to: app, proto: icmp, result: allow}\n  - {from: app, to: dc, proto: udp, port: 53, result: allow}\n", "", 1)
	sc := mustParse(t, src)
	require.Len(t, sc.Warnings, 1)
	assert.Equal(t, "t.yaml:28:3: on-prem network corp: no VPC connects to it (vpn_gateway: corp on a VPC), so nothing reaches it", sc.Warnings[0].String())
	// The same with a web-1 that has two ENIs: no public IP from the mapping, so web-1@public fails.
	two := strings.Replace(gwBase, "  web-1: {subnet: main/public}", "  web-1:\n    enis: [{subnet: main/public}, {subnet: main/private}]", 1)
	_, err := Parse("t.yaml", []byte(two))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `to "web-1@public": instance web-1 has no public address`)
}

func TestRoomCountsNATGateways(t *testing.T) {
	// A /28 has 11 usable addresses: ten instances and one NAT gateway fill it.
	src := "name: t\nvpcs:\n  main:\n    cidr: 10.0.0.0/16\n    internet_gateway: true\n    subnets: {s: {cidr: 10.0.0.0/28}}\n    nat_gateways: {n: {subnet: s}}\ninstances:\n"
	for i := 0; i < 10; i++ {
		src += "  i" + string(rune('a'+i)) + ": {subnet: main/s}\n"
	}
	mustParse(t, src)
	_, err := Parse("t.yaml", []byte(strings.Replace(src, "{n: {subnet: s}}", "{n: {subnet: s}, m: {subnet: s}}", 1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "t.yaml:7:48: subnet main/s (10.0.0.0/28) is full: it has 11 usable addresses, 0 of them fixed, and NAT gateway main/m is ENI 12 of 12")
}

func TestMainTableRules(t *testing.T) {
	base := "name: t\nvpcs:\n  v:\n    cidr: 10.0.0.0/16\n    route_tables:\nTABLES"
	parse := func(tables string) (*Scenario, error) {
		return Parse("t.yaml", []byte(strings.Replace(base, "TABLES", tables, 1)))
	}
	// main: true wins over the name; the main table comes first whatever the file's order.
	sc, err := parse("      a: {routes: []}\n      main: {routes: []}\n      b: {main: true, routes: []}\n")
	require.NoError(t, err)
	var names []string
	for _, rt := range sc.VPCs[0].RouteTables {
		names = append(names, rt.Name)
	}
	assert.Equal(t, []string{"b", "a", "main"}, names)
	assert.False(t, sc.VPCs[0].RouteTable("main").Main)
	// main: false on the table named main, with no other main table, is a contradiction.
	_, err = parse("      main: {main: false, routes: []}\n")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "t.yaml:6:20: route table v/main: main: false, but no other table of the VPC says main: true")
	// Without a table named or marked main, AWS's is added, Implicit.
	sc, err = parse("      a: {}\n")
	require.NoError(t, err)
	require.Len(t, sc.VPCs[0].RouteTables, 2)
	assert.True(t, sc.VPCs[0].RouteTables[0].Implicit)
	assert.Equal(t, []*Route{}, sc.VPCs[0].RouteTables[1].Routes, "a table without routes has an empty list")
	// An instance target must have one ENI, as AWS requires.
	src := "name: t\nvpcs:\n  v:\n    cidr: 10.0.0.0/16\n    subnets: {a: {cidr: 10.0.1.0/24}, b: {cidr: 10.0.2.0/24}}\n    route_tables:\n      rt: {routes: [{destination: 10.9.0.0/16, target: instance/fw}]}\ninstances:\n  fw: {enis: [{subnet: v/a}, {subnet: v/b}]}\n"
	_, err = Parse("t.yaml", []byte(src))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "t.yaml:7:56: route table v/rt: route 1: target instance/fw: instance fw has 2 ENIs, and AWS takes an instance as a route target only when it has one (InvalidInstanceID: multiple interfaces attached); name the ENI: eni/fw.ethN")
	mustParse(t, strings.Replace(src, "instance/fw", "eni/fw.eth1", 1))
}

func TestDefaultACLOverride(t *testing.T) {
	src := "name: t\nvpcs:\n  v:\n    cidr: 10.0.0.0/16\n    network_acls:\n      web: {}\n      default:\n        ingress: [{rule: 90, action: deny, proto: all, cidr: 192.0.2.0/24}, {rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0}]\n"
	sc := mustParse(t, src)
	acls := sc.VPCs[0].NetworkACLs
	require.Len(t, acls, 2)
	def, web := acls[0], acls[1]
	assert.Equal(t, "default", def.Name, "the default ACL comes first")
	assert.True(t, def.Default)
	assert.False(t, def.Implicit)
	assert.Len(t, def.Ingress, 2)
	require.Len(t, def.Egress, 1, "a direction the default ACL leaves out keeps AWS's rule 100")
	assert.Equal(t, "0.0.0.0/0", def.Egress[0].CIDR.String())
	assert.True(t, def.Egress[0].Allow)
	assert.False(t, web.Default)
	assert.Nil(t, web.Ingress, "a custom ACL without rules denies everything")
	out, err := Format(sc)
	require.NoError(t, err)
	back, err := Parse("t.yaml", out)
	require.NoError(t, err, "%s", out)
	assert.Equal(t, withoutPositions(sc), withoutPositions(back), "%s", out)
}
