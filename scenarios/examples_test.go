package scenarios

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rulesOf gives a direction's rules in the one-line form, for compact expectations.
func rulesOf(rules []*Rule) []string {
	out := []string{}
	for _, r := range rules {
		out = append(out, r.String())
	}
	return out
}

type groupSummary struct {
	name             string
	ingress, egress  []string
	egressDefaulted  bool
	ingressDefaulted bool
	implicit         bool
}

func summarize(v *VPC) []groupSummary {
	var out []groupSummary
	for _, g := range v.SecurityGroups {
		out = append(out, groupSummary{g.Name, rulesOf(g.Ingress), rulesOf(g.Egress), g.EgressDefaulted, g.IngressDefaulted, g.Implicit})
	}
	return out
}

type eniSummary struct {
	subnet string
	ip     string
	check  bool
	groups []string
}

func enisOf(in *Instance) []eniSummary {
	var out []eniSummary
	for _, e := range in.ENIs {
		ip := ""
		if e.IP.IsValid() {
			ip = e.IP.String()
		}
		out = append(out, eniSummary{e.Subnet, ip, e.SourceDestCheck, e.SecurityGroups})
	}
	return out
}

func probesOf(sc *Scenario) []string {
	var out []string
	for _, p := range sc.Expect {
		s := p.From + " " + p.To + " " + p.Proto
		if p.Port != 0 {
			s += "/" + strconv.Itoa(p.Port)
		}
		out = append(out, s+" "+p.Result)
	}
	return out
}

func TestExampleTwoTier(t *testing.T) {
	sc, err := Load("examples/two-tier.yaml")
	require.NoError(t, err)
	assert.Empty(t, sc.Warnings)
	assert.Equal(t, "two-tier", sc.Name)
	require.Len(t, sc.VPCs, 1)
	v := sc.VPCs[0]
	assert.Equal(t, netip.MustParsePrefix("10.0.0.0/16"), v.CIDR)
	require.Len(t, v.Subnets, 2)
	assert.Equal(t, []string{"main/web", "main/db"}, []string{v.Subnets[0].Qualified(), v.Subnets[1].Qualified()})
	assert.Equal(t, netip.MustParsePrefix("10.0.2.0/24"), v.Subnets[1].CIDR)
	assert.Equal(t, []groupSummary{
		{DefaultGroup, []string{"all::sg=default"}, []string{"all::0.0.0.0/0"}, true, true, true},
		{"web-sg", []string{"tcp:80:0.0.0.0/0", "icmp:8:10.0.0.0/16"}, []string{"all::0.0.0.0/0"}, true, false, false},
		{"db-sg", []string{"tcp:5432:sg=web-sg"}, []string{"all::0.0.0.0/0"}, true, false, false},
	}, summarize(v))
	assert.Equal(t, "postgres from the web tier", v.Group("db-sg").Ingress[0].Description)
	require.Len(t, sc.Instances, 3)
	assert.Equal(t, []eniSummary{{"main/web", "", true, []string{"web-sg"}}}, enisOf(sc.Instances[0]))
	assert.Equal(t, []eniSummary{{"main/web", "", true, []string{"web-sg"}}}, enisOf(sc.Instances[1]))
	assert.Equal(t, []eniSummary{{"main/db", "10.0.2.10", true, []string{"db-sg"}}}, enisOf(sc.Instances[2]))
	assert.Equal(t, "t3.micro", sc.Instance("db-1").Type)
	assert.Equal(t, []string{
		"web-1 db-1 tcp/5432 allow", "web-2 db-1 tcp/5432 allow", "web-1 db-1 tcp/22 deny", "web-1 db-1 icmp deny",
		"db-1 web-1 tcp/80 allow", "db-1 web-2 icmp allow", "web-1 web-2 tcp/80 allow",
	}, probesOf(sc))
	assert.Equal(t, Pos{"examples/two-tier.yaml", 30, 5}, sc.Expect[0].Pos)
}

func TestExampleRouterInstance(t *testing.T) {
	sc, err := Load("examples/router-instance.yaml")
	require.NoError(t, err)
	assert.Empty(t, sc.Warnings)
	assert.Equal(t, []eniSummary{
		{"main/left", "10.0.1.5", false, []string{"lab"}},
		{"main/right", "10.0.2.5", false, []string{"lab"}},
	}, enisOf(sc.Instance("router")))
	assert.Equal(t, []eniSummary{
		{"main/left", "10.0.1.6", true, []string{"lab"}},
		{"main/right", "10.0.2.6", true, []string{"lab"}},
	}, enisOf(sc.Instance("checked")))
	assert.Equal(t, "sysctl -qw net.ipv4.ip_forward=1\n", sc.Instance("router").UserData)
	assert.Contains(t, sc.Instance("left-host").UserData, "ip route add 10.0.2.20/32 via 10.0.1.5\n")
	assert.Equal(t, []string{"all::10.0.0.0/16"}, rulesOf(sc.VPCs[0].Group("lab").Ingress))
	assert.Len(t, sc.Expect, 4)
}

func TestExampleSecurityGroups(t *testing.T) {
	sc, err := Load("examples/security-groups.yaml")
	require.NoError(t, err)
	assert.Empty(t, sc.Warnings)
	assert.Equal(t, DefaultSettings(), sc.Settings)
	require.Len(t, sc.PrefixLists, 1)
	assert.Equal(t, PrefixList{Name: "corp", Entries: []netip.Prefix{netip.MustParsePrefix("10.0.3.0/28")}, MaxEntries: 5,
		Pos: Pos{"examples/security-groups.yaml", 44, 3}}, *sc.PrefixLists[0])
	assert.Equal(t, []groupSummary{
		{DefaultGroup, []string{"icmp:all:10.0.0.0/16"}, []string{"all::0.0.0.0/0"}, true, false, false},
		{"bastion-sg", []string{"tcp:22:pl=corp"}, []string{"all::0.0.0.0/0"}, true, false, false},
		{"web-sg", []string{"tcp:80:0.0.0.0/0", "tcp:22:sg=bastion-sg"}, []string{"all::0.0.0.0/0"}, true, false, false},
		{"app-sg", []string{"tcp:8000-8099:sg=web-sg"}, []string{}, false, false, false},
		{"metrics-sg", []string{"tcp:9100:10.0.3.0/28"}, []string{}, false, false, false},
	}, summarize(sc.VPCs[0]))
	assert.Equal(t, []eniSummary{{"main/admin", "", true, []string{DefaultGroup}}}, enisOf(sc.Instance("monitor")))
	assert.Equal(t, []eniSummary{{"main/app", "10.0.2.10", true, []string{"app-sg", "metrics-sg"}}}, enisOf(sc.Instance("app")))
}

// TestExamplesFormatBack: an example formats to a file that loads as the same model, so Format can
// write what an importer or the CLI builds.
func TestExamplesFormatBack(t *testing.T) {
	for path, data := range goodFiles(t) {
		sc, err := Parse(path, data)
		require.NoError(t, err, path)
		out, err := Format(sc)
		require.NoError(t, err)
		again, err := Parse(path, out)
		require.NoError(t, err, "%s formatted:\n%s", path, out)
		assert.Equal(t, withoutPositions(sc), withoutPositions(again), path)
		// A formatted file is canonical: AWS's fix-ups (host bits, ignored ports) are gone; what
		// remains are warnings about the lab itself, which the original has too.
		for _, w := range again.Warnings {
			assert.NotContains(t, w.Msg, "canonicalised", path)
			assert.NotContains(t, w.Msg, "ignored", path)
			found := false
			for _, o := range sc.Warnings {
				found = found || o.Msg == w.Msg
			}
			assert.True(t, found, "%s: the formatted file warns %q, the original does not", path, w.Msg)
		}
	}
}

func TestExamplePublicPrivate(t *testing.T) {
	sc, err := Load("examples/public-private.yaml")
	require.NoError(t, err)
	assert.Empty(t, sc.Warnings)
	v := sc.VPC("main")
	assert.True(t, v.InternetGateway)
	require.Len(t, v.NATGateways, 1)
	assert.Equal(t, "main/public", v.NATGateways[0].Subnet)
	assert.False(t, v.NATGateways[0].Private)
	assert.Equal(t, []string{"main", "public"}, tableNames(v), "the main table first")
	assert.Equal(t, RouteTarget{Kind: "nat", Name: "nat-a"}, RouteTarget{Kind: v.MainTable().Routes[0].Target.Kind, Name: v.MainTable().Routes[0].Target.Name})
	assert.Equal(t, []string{"default", "public"}, aclNames(v), "AWS's default ACL, then the file's")
	assert.True(t, v.NetworkACLs[0].Implicit)
	assert.Len(t, v.NetworkACL("public").Ingress, 5)
	assert.Equal(t, "", v.Subnet("private").RouteTable, "the private subnet uses the main table")
	assert.True(t, sc.Instance("web").ENIs[0].PublicIP, "from map_public_ip_on_launch")
	assert.False(t, sc.Instance("app").ENIs[0].PublicIP)
	assert.Equal(t, []string{"client", "admin", "api"}, []string{sc.Internet.Hosts[0].Name, sc.Internet.Hosts[1].Name, sc.Internet.Hosts[2].Name})
	assert.Equal(t, []string{
		"client web@public tcp/80 allow", "client web@public tcp/443 allow", "client web@public tcp/22 deny",
		"admin web@public tcp/22 allow", "client web@public tcp/8080 deny", "web api tcp/443 allow", "app api tcp/443 allow",
		"app api icmp deny", "client 203.0.113.20 tcp/443 deny", "client app tcp/5432 deny", "web app tcp/5432 allow", "web app tcp/22 deny",
	}, probesOf(sc))
}
