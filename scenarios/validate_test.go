package scenarios

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// built is a valid scenario made in code, as an importer would make it.
func built() *Scenario {
	p := netip.MustParsePrefix
	return &Scenario{
		Name:       "built",
		Settings:   DefaultSettings(),
		Clock:      Clock{Speed: DefaultClockSpeed},
		Hypervisor: DefaultHypervisor(),
		VPCs: []*VPC{{
			Name: "main", CIDR: p("10.0.0.0/16"),
			Subnets: []*Subnet{{Name: "a", VPC: "main", CIDR: p("10.0.1.0/24")}},
			SecurityGroups: []*SecurityGroup{
				{Name: DefaultGroup, VPC: "main", Ingress: []*Rule{{Proto: -1, FromPort: -1, ToPort: -1, Group: DefaultGroup}},
					Egress: []*Rule{allowAllIPv4(Pos{})}},
				{Name: "web", VPC: "main", Ingress: []*Rule{{Proto: 6, FromPort: 443, ToPort: 443, CIDR: p("0.0.0.0/0")}}, Egress: []*Rule{}},
			},
			// What Parse adds when the file has none: AWS's main route table and default ACL.
			RouteTables: []*RouteTable{{Name: MainRouteTable, VPC: "main", Main: true, Routes: []*Route{}, Implicit: true}},
			NetworkACLs: []*NetworkACL{{Name: DefaultACL, VPC: "main", Default: true, Implicit: true,
				Ingress: []*ACLEntry{allowAllACLEntry(Pos{})}, Egress: []*ACLEntry{allowAllACLEntry(Pos{})}}},
		}},
		Instances: []*Instance{{Name: "x", ENIs: []*ENI{{Subnet: "main/a", IP: netip.MustParseAddr("10.0.1.10"), SourceDestCheck: true, SecurityGroups: []string{"web"}}}}},
		Expect:    []*Probe{{From: "x", To: "10.0.1.10", Proto: "tcp", Port: 443, Result: "allow"}},
	}
}

func TestValidateBuiltModel(t *testing.T) {
	require.NoError(t, Validate(built()))

	cases := []struct {
		name   string
		change func(sc *Scenario)
		msg    string
	}{
		{"no default group", func(sc *Scenario) { sc.VPCs[0].SecurityGroups = sc.VPCs[0].SecurityGroups[1:] }, `vpc main: has no "default" security group`},
		{"rule host bits", func(sc *Scenario) { sc.VPCs[0].SecurityGroups[1].Ingress[0].CIDR = netip.MustParsePrefix("10.0.0.1/8") }, "cidr 10.0.0.1/8 has host bits set; want 10.0.0.0/8"},
		{"rule two targets", func(sc *Scenario) { sc.VPCs[0].SecurityGroups[1].Ingress[0].Group = "web" }, "names exactly one of cidr, group and prefix_list (it names 2)"},
		{"ports on all", func(sc *Scenario) { sc.VPCs[0].SecurityGroups[1].Ingress[0].Proto = -1 }, "protocol all has no ports"},
		{"proto 300", func(sc *Scenario) { sc.VPCs[0].SecurityGroups[1].Ingress[0].Proto = 300 }, "protocol 300"},
		{"unqualified subnet", func(sc *Scenario) { sc.Instances[0].ENIs[0].Subnet = "a" }, `no subnet "a"; want vpc/subnet, one of: main/a`},
		{"subnet's vpc", func(sc *Scenario) { sc.VPCs[0].Subnets[0].VPC = "other" }, `its VPC field says "other"`},
		{"vpc twice", func(sc *Scenario) { sc.VPCs = append(sc.VPCs, sc.VPCs[0]) }, "vpc main: defined twice"},
		{"instance twice", func(sc *Scenario) { sc.Instances = append(sc.Instances, sc.Instances[0]) }, "instance x: defined twice"},
		{"no ENI", func(sc *Scenario) { sc.Instances[0].ENIs = nil }, "has no ENI"},
		{"zero settings", func(sc *Scenario) { sc.Settings = Settings{} }, "security_groups_per_eni 0: want 1-16"},
		{"vpc ipv6", func(sc *Scenario) { sc.VPCs[0].CIDR = netip.MustParsePrefix("2001:db8::/56") }, "want an IPv4 CIDR"},
		{"probe proto", func(sc *Scenario) { sc.Expect[0].Proto = "TCP" }, `proto "TCP": want tcp, udp or icmp`},
		{"bad name", func(sc *Scenario) { sc.Name = "" }, `scenario name: "": want 1-31 characters`},
		{"no main table", func(sc *Scenario) { sc.VPCs[0].RouteTables = nil }, "vpc main: the first of its route tables must be its main table"},
		{"main table not first", func(sc *Scenario) {
			v := sc.VPCs[0]
			v.RouteTables = append([]*RouteTable{{Name: "rt", VPC: "main", Routes: []*Route{}}}, v.RouteTables...)
		}, "vpc main: the first of its route tables must be its main table"},
		{"no default ACL", func(sc *Scenario) { sc.VPCs[0].NetworkACLs = nil }, `vpc main: the first of its network ACLs must be its "default" ACL`},
		{"default flag", func(sc *Scenario) { sc.VPCs[0].NetworkACLs[0].Default = false }, "Default is false, but the VPC's default ACL is the one named default"},
		{"acl host bits", func(sc *Scenario) { sc.VPCs[0].NetworkACLs[0].Egress[0].CIDR = netip.MustParsePrefix("10.0.0.1/8") }, "egress rule 100: cidr 10.0.0.1/8 has host bits set; want 10.0.0.0/8"},
		{"acl ports on all", func(sc *Scenario) { sc.VPCs[0].NetworkACLs[0].Ingress[0].ToPort = 80 }, "ports 0-80: protocol all has no ports; want 0-65535"},
		{"acl icmp on tcp", func(sc *Scenario) {
			e := sc.VPCs[0].NetworkACLs[0].Ingress[0]
			e.Proto, e.ICMPType = ProtoTCP, 8
		}, "icmp type 8, code -1 on protocol tcp: want -1 for both"},
		{"acl proto", func(sc *Scenario) { sc.VPCs[0].NetworkACLs[0].Ingress[0].Proto = 256 }, "protocol 256"},
		{"acl no cidr", func(sc *Scenario) { sc.VPCs[0].NetworkACLs[0].Ingress[0].CIDR = netip.Prefix{} }, "want a cidr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := built()
			c.change(sc)
			err := Validate(sc)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

func TestValidatedModelFormats(t *testing.T) {
	out, err := Format(built())
	require.NoError(t, err)
	sc, err := Parse("built.yaml", out)
	require.NoError(t, err, "%s", out)
	assert.Equal(t, withoutPositions(built()), withoutPositions(sc), "%s", out)
}

func TestPosAndErrorStrings(t *testing.T) {
	assert.Equal(t, "f.yaml:3:7", Pos{"f.yaml", 3, 7}.String())
	assert.Equal(t, "f.yaml:3", Pos{"f.yaml", 3, 0}.String())
	assert.Equal(t, "f.yaml", Pos{File: "f.yaml"}.String())
	assert.Equal(t, "f.yaml:3:7: bad", (&Error{Pos{"f.yaml", 3, 7}, "bad"}).Error())
	assert.Equal(t, "bad", (&Error{Msg: "bad"}).Error(), "an error without a place is just its message")
	assert.Equal(t, "f.yaml:1:1: w", Warning{Pos{"f.yaml", 1, 1}, "w"}.String())
	list := ErrorList{{Pos{"f", 1, 1}, "a"}, {Pos{"f", 2, 1}, "b"}}
	assert.Equal(t, "f:1:1: a\nf:2:1: b", list.Error())
	var e *Error
	require.True(t, errors.As(error(list), &e))
	assert.Equal(t, "a", e.Msg)
}

func TestLoad(t *testing.T) {
	_, err := Load("testdata/does-not-exist.yaml")
	assert.ErrorIs(t, err, os.ErrNotExist)

	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, []byte("name: t\ndescription: "+strings.Repeat("x", maxFileSize)+"\n"), 0o644))
	_, err = Load(big)
	require.Error(t, err)
	assert.Contains(t, err.Error(), big+": ")
	assert.Contains(t, err.Error(), "a scenario file is at most")

	_, err = Parse("big.yaml", make([]byte, maxFileSize+1))
	assert.ErrorContains(t, err, "a scenario file is at most")

	sc, err := Load("examples/two-tier.yaml")
	require.NoError(t, err)
	assert.Equal(t, "examples/two-tier.yaml", sc.File)
	assert.Equal(t, "examples/two-tier.yaml", sc.VPCs[0].Pos.File)
}

func TestLookups(t *testing.T) {
	sc, err := Load("testdata/full.yaml")
	require.NoError(t, err)
	assert.Equal(t, "other", sc.VPC("other").Name)
	assert.Nil(t, sc.VPC("nope"))
	assert.Equal(t, "b", sc.Subnet("main/b").Name)
	assert.Nil(t, sc.Subnet("main/c"))
	assert.Nil(t, sc.Subnet("b"), "Subnet takes a qualified name")
	assert.Equal(t, "two", sc.Instance("two").Name)
	assert.Nil(t, sc.Instance("three"))
	assert.Equal(t, "corp", sc.PrefixList("corp").Name)
	assert.Nil(t, sc.PrefixList("nope"))
	assert.Equal(t, "a", sc.VPC("main").Subnet("a").Name)
	assert.Nil(t, sc.VPC("main").Subnet("z"))
	assert.Equal(t, "app-sg", sc.VPC("main").Group("app-sg").Name)
	assert.Nil(t, sc.VPC("other").Group("app-sg"))
	assert.Equal(t, "other", sc.Instance("two").ENIs[1].VPCName())
	assert.Equal(t, "", (&ENI{Subnet: "bare"}).VPCName())
	assert.False(t, sc.PrefixList("corp").IPv6())
	assert.False(t, (&PrefixList{}).IPv6(), "an empty list counts as IPv4")
}
