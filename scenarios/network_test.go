package scenarios

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const netBase = `name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24, route_table: rt, network_acl: acl}
      b: {cidr: 10.0.2.0/24}
    route_tables:
      rt:
        routes:
ROUTES
    network_acls:
      acl:
        ingress:
INGRESS
        egress: []
instances:
  fw: {subnet: main/b}
`

func netFile(routes, ingress string) string {
	if routes == "" {
		routes = "          - {destination: 10.0.2.0/24, target: instance/fw}"
	}
	if ingress == "" {
		ingress = "          - {rule: 100, action: allow, proto: tcp, ports: 443, cidr: 0.0.0.0/0}"
	}
	return strings.Replace(strings.Replace(netBase, "ROUTES", routes, 1), "INGRESS", ingress, 1)
}

func TestNetworkModel(t *testing.T) {
	sc := mustParse(t, netFile("", `          - {rule: 100, action: allow, proto: tcp, ports: 443, cidr: 0.0.0.0/0}
          - {rule: 90, action: deny, proto: icmp, icmp_type: 8, cidr: 10.0.1.77/16}
          - {rule: 200, action: allow, proto: all, cidr: 10.0.0.0/16}`))
	v := sc.VPCs[0]
	require.Len(t, v.RouteTables, 2, "the implicit main table first, then rt")
	assert.Equal(t, RouteTable{Name: "main", VPC: "main", Main: true, Routes: []*Route{}, Implicit: true, Pos: v.Pos}, *v.RouteTables[0])
	rt := v.RouteTables[1]
	assert.False(t, rt.Main)
	assert.Equal(t, "instance", rt.Routes[0].Target.Kind)
	assert.Equal(t, "fw", rt.Routes[0].Target.Name)
	assert.Equal(t, netip.MustParsePrefix("10.0.2.0/24"), rt.Routes[0].Destination)
	require.Len(t, v.NetworkACLs, 2, "the implicit default ACL first, then acl")
	def := v.NetworkACLs[0]
	assert.True(t, def.Default && def.Implicit)
	assert.Equal(t, "default", def.Name)
	for _, dir := range [][]*ACLEntry{def.Ingress, def.Egress} {
		require.Len(t, dir, 1)
		assert.Equal(t, ACLEntry{Number: 100, Allow: true, Proto: ProtoAll, FromPort: 0, ToPort: 65535, ICMPType: -1, ICMPCode: -1,
			CIDR: netip.MustParsePrefix("0.0.0.0/0"), Pos: v.Pos}, *dir[0], "AWS's default ACL: rule 100 allows all IPv4")
	}
	acl := v.NetworkACLs[1]
	assert.False(t, acl.Default || acl.Implicit)
	require.Len(t, acl.Ingress, 3)
	assert.Equal(t, ACLEntry{Number: 100, Allow: true, Proto: ProtoTCP, FromPort: 443, ToPort: 443, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0"), Pos: acl.Ingress[0].Pos}, *acl.Ingress[0])
	assert.Equal(t, 8, acl.Ingress[1].ICMPType)
	assert.Equal(t, -1, acl.Ingress[1].ICMPCode)
	assert.False(t, acl.Ingress[1].Allow)
	assert.Equal(t, netip.MustParsePrefix("10.0.0.0/16"), acl.Ingress[1].CIDR, "host bits cleared")
	require.Len(t, sc.Warnings, 1)
	assert.Contains(t, sc.Warnings[0].Msg, "canonicalised to 10.0.0.0/16")
	assert.Equal(t, 0, acl.Ingress[2].FromPort)
	assert.Equal(t, 65535, acl.Ingress[2].ToPort)
	assert.NotNil(t, acl.Egress)
	assert.Empty(t, acl.Egress)
	assert.Equal(t, "rt", v.Subnets[0].RouteTable)
	assert.Equal(t, "acl", v.Subnets[0].NetworkACL)
	assert.Equal(t, "", v.Subnets[1].RouteTable, "no association: the main table")
}

func TestNetworkErrors(t *testing.T) {
	cases := []struct {
		name, routes, ingress, want string
	}{
		{"rule number too big", "", "          - {rule: 32767, action: allow, proto: all, cidr: 0.0.0.0/0}", "15:20: network ACL main/acl: ingress rule 32767: rule numbers are 1 to 32766"},
		{"rule number zero", "", "          - {rule: 0, action: allow, proto: all, cidr: 0.0.0.0/0}", "rule numbers are 1 to 32766"},
		{"duplicate rule", "", "          - {rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0}\n          - {rule: 100, action: deny, proto: all, cidr: 10.0.0.0/8}", "16:20: network ACL main/acl: ingress rule 100 is given twice"},
		{"bad action", "", "          - {rule: 100, action: permit, proto: all, cidr: 0.0.0.0/0}", `action "permit": want allow or deny`},
		{"tcp without ports", "", "          - {rule: 100, action: allow, proto: tcp, cidr: 0.0.0.0/0}", "tcp entries need ports"},
		{"reversed ports", "", "          - {rule: 100, action: allow, proto: tcp, ports: 90-80, cidr: 0.0.0.0/0}", "reversed"},
		{"icmp code without type", "", "          - {rule: 100, action: allow, proto: icmp, icmp_code: 4, cidr: 0.0.0.0/0}", "icmp_code needs icmp_type"},
		{"missing cidr", "", "          - {rule: 100, action: allow, proto: all}", "cidr"},
		{"unknown route target", "          - {destination: 10.9.0.0/16, target: router}", "", `11:48: route table main/rt: route 1: target "router": want igw, nat/NAME, instance/NAME, eni/INSTANCE.ethN, vgw, peering/NAME or blackhole`},
		{"missing instance", "          - {destination: 10.0.2.0/24, target: instance/nope}", "", `no instance "nope"`},
		{"eni without ethN", "          - {destination: 10.0.2.0/24, target: eni/fw}", "", "want eni/INSTANCE.ethN"},
		{"igw without a gateway", "          - {destination: 0.0.0.0/0, target: igw}", "", "VPC main has no internet gateway (set internet_gateway: true)"},
		{"no such nat gateway", "          - {destination: 0.0.0.0/0, target: nat/n1}", "", `11:46: route table main/rt: route 1: target nat/n1: no NAT gateway "n1" in vpc main; NAT gateways there: none (define them under nat_gateways:)`},
		{"more specific than local", "          - {destination: 10.0.2.128/25, target: instance/fw}", "", "more specific than the local route"},
		{"subnet route to blackhole", "          - {destination: 10.0.2.0/24, target: blackhole}", "", "more specific than the local route"},
		{"vpc cidr", "          - {destination: 10.0.0.0/16, target: blackhole}", "", "the local route already covers"},
		{"link-local", "          - {destination: 169.254.169.0/24, target: blackhole}", "", "inside 169.254.168.0/22, which AWS reserves"},
		{"duplicate route", "          - {destination: 10.9.0.0/16, target: blackhole}\n          - {destination: 10.9.0.0/16, target: instance/fw}", "", "RouteAlreadyExists"},
		{"host bits in route", "          - {destination: 10.9.0.1/16, target: blackhole}", "", "has host bits set; write 10.9.0.0/16"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(netFile(c.routes, c.ingress)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	// Associations must name existing objects.
	src := strings.Replace(netFile("", ""), "route_table: rt, network_acl: acl", "route_table: nope, network_acl: none", 1)
	_, err := Parse("t.yaml", []byte(src))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `route_table "nope": no such route table in VPC main (tables: main, rt)`)
	assert.Contains(t, err.Error(), `network_acl "none": no such network ACL`)
	// Two main tables.
	src = strings.Replace(netFile("", ""), "      rt:\n", "      main: {main: true}\n      other: {main: true}\n      rt:\n", 1)
	_, err = Parse("t.yaml", []byte(src))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already has a main route table (main)")
	// The quota, and the setting that raises it.
	var many []string
	for i := 1; i <= 21; i++ {
		many = append(many, fmt.Sprintf("          - {rule: %d, action: allow, proto: all, cidr: 10.0.0.0/8}", 100+i))
	}
	_, err = Parse("t.yaml", []byte(netFile("", strings.Join(many, "\n"))))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "21 IPv4 and 0 IPv6 ingress rules; the limit is 20")
	mustParse(t, strings.Replace(netFile("", strings.Join(many, "\n")), "name: t\n", "name: t\nsettings: {network_acl_rules_per_direction: 40}\n", 1))
}

func TestNetworkFormatRoundTrip(t *testing.T) {
	sc := mustParse(t, netFile("          - {destination: 10.0.2.0/24, target: eni/fw.eth0}\n          - {destination: 172.16.0.0/12, target: blackhole}",
		"          - {rule: 100, action: allow, proto: tcp, ports: 1024-65535, cidr: 0.0.0.0/0}\n          - {rule: 110, action: deny, proto: icmp, icmp_type: 3, icmp_code: 4, cidr: 192.0.2.0/24}\n          - {rule: 120, action: allow, proto: 47, cidr: 10.0.0.0/8}"))
	out, err := Format(sc)
	require.NoError(t, err)
	back, err := Parse("t.yaml", out)
	require.NoError(t, err, string(out))
	assert.Equal(t, len(sc.VPCs[0].NetworkACL("acl").Ingress), len(back.VPCs[0].NetworkACL("acl").Ingress))
	for i, e := range sc.VPCs[0].NetworkACL("acl").Ingress {
		b := back.VPCs[0].NetworkACL("acl").Ingress[i]
		e2, b2 := *e, *b
		e2.Pos, b2.Pos = Pos{}, Pos{}
		assert.Equal(t, e2, b2)
	}
	assert.Equal(t, sc.VPCs[0].RouteTable("rt").Routes[0].Target.String(), back.VPCs[0].RouteTable("rt").Routes[0].Target.String())
	assert.Equal(t, withoutPositions(sc), withoutPositions(back))
	assert.NotContains(t, string(out), "default", "the implicit default ACL is not written")
	assert.Contains(t, string(out), "network_acl: acl")
}

func TestConntrackSettings(t *testing.T) {
	base := "name: t\nSETTINGS\nvpcs:\n  main:\n    cidr: 10.0.0.0/16\n    subnets:\n      a: {cidr: 10.0.1.0/24}\ninstances:\n  x: {subnet: main/a, connection_tracking: {tcp_established_timeout: 3600}}\n"
	sc := mustParse(t, strings.Replace(base, "SETTINGS", "settings: {conntrack: {udp_timeout: 45, udp_stream_timeout: 120, related_icmp: true, allowance: 10}}", 1))
	c := sc.Settings.Conntrack
	assert.Equal(t, ConntrackSettings{UDP: 45 * time.Second, UDPStream: 120 * time.Second, RelatedICMP: true, Allowance: 10}, c)
	require.NotNil(t, sc.Instances[0].ENIs[0].ConnTracking)
	assert.Equal(t, time.Hour, sc.Instances[0].ENIs[0].ConnTracking.TCPEstablished)
	for spec, want := range map[string]string{
		"settings: {conntrack: {udp_timeout: 61}}":             "udp_timeout 61: want 30-60 seconds",
		"settings: {conntrack: {tcp_established_timeout: 59}}": "tcp_established_timeout 59: want 60-432000",
		"settings: {conntrack: {udp_stream_timeout: 181}}":     "udp_stream_timeout 181: want 60-180",
		"settings: {conntrack: {allowance: -1}}":               "allowance -1",
		"settings: {conntrack: {udp_timeout: 30s}}":            "udp_timeout",
		"settings: {conntrack: {tcp_timeout: 30}}":             `unknown field "tcp_timeout"`,
	} {
		_, err := Parse("t.yaml", []byte(strings.Replace(base, "SETTINGS", spec, 1)))
		require.Error(t, err, spec)
		assert.Contains(t, err.Error(), want, spec)
	}
	_, err := Parse("t.yaml", []byte(strings.Replace(strings.Replace(base, "SETTINGS", "", 1), "tcp_established_timeout: 3600", "udp_timeout: 5", 1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "instance x: eth0: connection_tracking: udp_timeout 5: want 30-60")
}
