package scenarios

import (
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustParse(t *testing.T, src string) *Scenario {
	t.Helper()
	sc, err := Parse("t.yaml", []byte(src))
	require.NoError(t, err)
	require.NotNil(t, sc)
	return sc
}

func TestMinimalScenario(t *testing.T) {
	sc := mustParse(t, "name: t\n")
	assert.Equal(t, "t", sc.Name)
	assert.Equal(t, "t.yaml", sc.File)
	assert.Equal(t, DefaultSettings(), sc.Settings)
	assert.Empty(t, sc.VPCs)
	assert.Empty(t, sc.Warnings)
}

func TestImplicitDefaultGroup(t *testing.T) {
	sc := mustParse(t, vpcHead+"    security_groups:\n      web: {}\ninstances:\n  x: {subnet: main/a}\n")
	v := sc.VPCs[0]
	require.Len(t, v.SecurityGroups, 2)
	def := v.SecurityGroups[0]
	assert.Equal(t, DefaultGroup, def.Name, "the default group comes first")
	assert.True(t, def.Implicit)
	assert.True(t, def.IngressDefaulted)
	assert.True(t, def.EgressDefaulted)
	assert.Equal(t, v.Pos, def.Pos)
	require.Len(t, def.Ingress, 1)
	assert.Equal(t, "all::sg=default", def.Ingress[0].String(), "inbound: all from the group itself")
	require.Len(t, def.Egress, 1)
	assert.Equal(t, "all::0.0.0.0/0", def.Egress[0].String(), "outbound: all IPv4")

	web := v.SecurityGroups[1]
	assert.False(t, web.Implicit)
	assert.False(t, web.IngressDefaulted)
	assert.Empty(t, web.Ingress, "a new group has no inbound rules")
	assert.NotNil(t, web.Ingress)
	assert.True(t, web.EgressDefaulted)
	require.Len(t, web.Egress, 1)
	assert.Equal(t, "all::0.0.0.0/0", web.Egress[0].String())

	assert.Equal(t, []string{DefaultGroup}, sc.Instances[0].ENIs[0].SecurityGroups, "an ENI without groups gets the default group")
}

func TestDefaultGroupOverride(t *testing.T) {
	sc := mustParse(t, vpcHead+`    security_groups:
      web: {egress: []}
      default:
        description: mine
        ingress:
          - {proto: tcp, ports: 22, cidr: 10.0.0.0/16}
`)
	v := sc.VPCs[0]
	require.Len(t, v.SecurityGroups, 2)
	def, web := v.SecurityGroups[0], v.SecurityGroups[1]
	assert.Equal(t, DefaultGroup, def.Name, "the default group comes first even when the file lists it later")
	assert.False(t, def.Implicit)
	assert.Equal(t, "mine", def.Description)
	assert.False(t, def.IngressDefaulted)
	require.Len(t, def.Ingress, 1)
	assert.Equal(t, "tcp:22:10.0.0.0/16", def.Ingress[0].String())
	assert.True(t, def.EgressDefaulted, "egress left out keeps AWS's allow-all")
	assert.Equal(t, 10, def.Pos.Line)

	assert.False(t, web.EgressDefaulted)
	assert.Empty(t, web.Egress, "egress: [] means no outbound rules")

	sc = mustParse(t, vpcHead+"    security_groups:\n      default: {egress: []}\n")
	def = sc.VPCs[0].SecurityGroups[0]
	assert.True(t, def.IngressDefaulted, "ingress left out keeps the self-reference")
	assert.Equal(t, "all::sg=default", def.Ingress[0].String())
	assert.Empty(t, def.Egress)
}

func TestRuleForms(t *testing.T) {
	sc := mustParse(t, "prefix_lists:\n  corp: {entries: [198.51.100.0/24]}\n"+rulesFile(
		"{proto: tcp, ports: 80, cidr: 0.0.0.0/0, description: web}",
		`{proto: tcp, ports: "443", cidr: 0.0.0.0/0}`,
		"{proto: udp, ports: 1024-65535, group: web}",
		"{proto: tcp, ports: all, group: default}",
		"{proto: udp, ports: 0-65535, cidr: 10.0.0.0/8}",
		"{proto: icmp, icmp_type: 8, cidr: 0.0.0.0/0}",
		"{proto: icmp, icmp_type: 3, icmp_code: 4, cidr: 0.0.0.0/0}",
		"{proto: icmp, icmp_type: all, cidr: 10.0.0.0/8}",
		`{proto: icmpv6, cidr: "::/0"}`,
		`{proto: icmpv6, icmp_type: 128, icmp_code: 0, cidr: "2001:db8::/32"}`,
		"{proto: all, prefix_list: corp}",
		"{proto: -1, cidr: 192.0.2.0/24}",
		`{proto: "-1", cidr: 192.0.2.1/32}`,
		"{proto: 6, ports: 8080, cidr: 10.0.0.0/8}",
		`{proto: "17", ports: 53, cidr: 10.0.0.0/8}`,
		"{proto: 47, cidr: 10.0.0.0/8}",
		"{proto: 0, cidr: 10.0.0.0/8}",
	))
	var got []string
	for _, r := range sc.VPCs[0].Group("web").Ingress {
		got = append(got, r.String())
	}
	assert.Equal(t, []string{
		"tcp:80:0.0.0.0/0",
		"tcp:443:0.0.0.0/0",
		"udp:1024-65535:sg=web",
		"tcp:all:sg=default",
		"udp:all:10.0.0.0/8",
		"icmp:8:0.0.0.0/0",
		"icmp:3/4:0.0.0.0/0",
		"icmp:all:10.0.0.0/8",
		"icmpv6:all:::/0",
		"icmpv6:128/0:2001:db8::/32",
		"all::pl=corp",
		"all::192.0.2.0/24",
		"all::192.0.2.1/32",
		"tcp:8080:10.0.0.0/8",
		"udp:53:10.0.0.0/8",
		"47::10.0.0.0/8",
		"0::10.0.0.0/8",
	}, got)
	r := sc.VPCs[0].Group("web").Ingress
	assert.Equal(t, Rule{Proto: 6, FromPort: 80, ToPort: 80, CIDR: netip.MustParsePrefix("0.0.0.0/0"), Description: "web",
		Pos: Pos{"t.yaml", 13, 13}}, *r[0])
	assert.Equal(t, [2]int{0, 65535}, [2]int{r[3].FromPort, r[3].ToPort})
	assert.Equal(t, [2]int{8, -1}, [2]int{r[5].FromPort, r[5].ToPort}, "icmp_code left out is -1 (any)")
	assert.Equal(t, [2]int{-1, -1}, [2]int{r[8].FromPort, r[8].ToPort}, "icmpv6 without a type is all types and codes")
	assert.Equal(t, [2]int{-1, -1}, [2]int{r[15].FromPort, r[15].ToPort}, "protocols without ports have -1")
	assert.Empty(t, sc.Warnings)
}

func TestWarnings(t *testing.T) {
	sc := mustParse(t, "name: t\nprefix_lists:\n  corp: {entries: [198.51.100.7/24]}\n"+strings.TrimPrefix(rulesFile(
		"{proto: tcp, ports: 22, cidr: 203.0.113.7/24}",
		"{proto: all, ports: 80, cidr: 10.0.0.0/8}",
		"{proto: 50, icmp_type: 3, cidr: 10.0.0.0/8}",
		`{proto: icmp, icmp_type: 8, cidr: "2001:db8::/32"}`,
		"{proto: icmpv6, icmp_type: 128, cidr: 10.0.0.0/8}",
	), "name: t\n"))
	var got []string
	for _, w := range sc.Warnings {
		got = append(got, w.String())
	}
	assert.Equal(t, []string{
		"t.yaml:3:20: prefix list corp: entry 198.51.100.7/24 has host bits set; canonicalised to 198.51.100.0/24, as AWS does",
		"t.yaml:13:43: security group main/web: ingress rule 1: cidr 203.0.113.7/24 has host bits set; canonicalised to 203.0.113.0/24, as AWS does",
		"t.yaml:14:33: security group main/web: ingress rule 2: ports is ignored for protocol all: AWS allows all ports there",
		"t.yaml:15:36: security group main/web: ingress rule 3: icmp_type or icmp_code is ignored for protocol 50: AWS allows all ports there",
		"t.yaml:16:47: security group main/web: ingress rule 4: icmp is IPv4 only, so with the IPv6 cidr 2001:db8::/32 it never matches; use icmpv6",
		"t.yaml:17:51: security group main/web: ingress rule 5: icmpv6 is IPv6 only, so with the IPv4 cidr 10.0.0.0/8 it never matches; use icmp",
	}, got)
	rules := sc.VPCs[0].Group("web").Ingress
	assert.Equal(t, "tcp:22:203.0.113.0/24", rules[0].String(), "the model holds the canonical CIDR")
	assert.Equal(t, "all::10.0.0.0/8", rules[1].String(), "ignored ports are not kept")
	assert.Equal(t, [2]int{-1, -1}, [2]int{rules[2].FromPort, rules[2].ToPort})
	assert.Equal(t, netip.MustParsePrefix("198.51.100.0/24"), sc.PrefixList("corp").Entries[0])
}

func TestVPCOverlappingSimulatedInternetWarns(t *testing.T) {
	sc := mustParse(t, "name: t\nvpcs:\n  v: {cidr: 198.51.0.0/16}\n")
	require.Len(t, sc.Warnings, 1)
	assert.Contains(t, sc.Warnings[0].String(), "t.yaml:3:13: vpc v: cidr 198.51.0.0/16 overlaps 198.51.100.0/24, which the simulated internet uses")
}

func TestInstancesAndENIs(t *testing.T) {
	sc := mustParse(t, vpcHead+`  other:
    cidr: 10.0.0.0/16
    subnets:
      c: {cidr: 10.0.1.0/24}
instances:
  short: {subnet: a, ip: 10.0.1.10, source_dest_check: false}
  router:
    type: c5.large
    enis:
      - {subnet: main/a, ip: 10.0.1.5, secondary_ips: [10.0.1.6, 10.0.1.7], description: inside}
      - {subnet: other/c, ip: 10.0.1.10, source_dest_check: false}
    user_data: |
      sysctl -w net.ipv4.ip_forward=1
`)
	require.Len(t, sc.Instances, 2)
	short := sc.Instances[0]
	assert.Equal(t, "short", short.Name)
	assert.Equal(t, Pos{"t.yaml", 13, 3}, short.Pos)
	require.Len(t, short.ENIs, 1)
	e := short.ENIs[0]
	assert.Equal(t, "main/a", e.Subnet, "a bare subnet name found in one VPC is qualified")
	assert.Equal(t, "main", e.VPCName())
	assert.Equal(t, netip.MustParseAddr("10.0.1.10"), e.IP)
	assert.False(t, e.SourceDestCheck)
	assert.Equal(t, short.Pos, e.Pos, "a shorthand ENI is where its instance is")

	r := sc.Instance("router")
	assert.Equal(t, "c5.large", r.Type)
	assert.Equal(t, "sysctl -w net.ipv4.ip_forward=1\n", r.UserData)
	require.Len(t, r.ENIs, 2)
	assert.True(t, r.ENIs[0].SourceDestCheck, "the check is on unless the file turns it off")
	assert.Equal(t, "inside", r.ENIs[0].Description)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.0.1.6"), netip.MustParseAddr("10.0.1.7")}, r.ENIs[0].SecondaryIPs)
	assert.False(t, r.ENIs[1].SourceDestCheck)
	assert.Equal(t, "other/c", r.ENIs[1].Subnet)
	assert.Equal(t, Pos{"t.yaml", 17, 9}, r.ENIs[0].Pos)
	assert.Equal(t, Pos{"t.yaml", 18, 9}, r.ENIs[1].Pos)
	// The same address in two VPCs is fine: they are separate networks.
	assert.Equal(t, short.ENIs[0].IP, r.ENIs[1].IP)
}

func TestSubnetRoomCountsExactly(t *testing.T) {
	// A /28 has 16 addresses, 5 reserved: 11 ENIs fit, fixed and automatic together.
	var lines []string
	for i := 0; i < 9; i++ {
		lines = append(lines, "  i"+string(rune('a'+i))+": {subnet: main/b}")
	}
	lines = append(lines, "  f: {subnet: main/b, ip: 10.0.2.14, secondary_ips: [10.0.2.13]}")
	mustParse(t, instancesFile(lines...))
	lines = append(lines, "  g: {subnet: main/b}")
	_, err := Parse("t.yaml", []byte(instancesFile(lines...)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is full: it has 11 usable addresses, 2 of them fixed, and g.eth0 is ENI 10 of 10")
}

func TestRuleQuotasPerFamily(t *testing.T) {
	var rules []string
	for i := 0; i < 60; i++ {
		rules = append(rules, "{proto: tcp, ports: "+strconv.Itoa(i+1)+", cidr: 10.0.0.0/8}",
			"{proto: tcp, ports: "+strconv.Itoa(i+1)+`, cidr: "2001:db8::/32"}`)
	}
	mustParse(t, rulesFile(rules...)) // 60 IPv4 and 60 IPv6 entries: both at the limit
	raised := strings.Replace(rulesFile(append(rules, "{proto: udp, ports: 1, cidr: 10.0.0.0/8}")...), "name: t\n", "name: t\nsettings: {rules_per_security_group: 61}\n", 1)
	mustParse(t, raised)
}

func TestSettings(t *testing.T) {
	sc := mustParse(t, "name: t\nsettings: {security_groups_per_eni: 16, rules_per_security_group: 62}\n")
	assert.Equal(t, Settings{SecurityGroupsPerENI: 16, RulesPerSecurityGroup: 62}, sc.Settings)
	sc = mustParse(t, "name: t\nsettings: {security_groups_per_eni: 2}\n")
	assert.Equal(t, Settings{SecurityGroupsPerENI: 2, RulesPerSecurityGroup: 60}, sc.Settings)
	// Six groups on an ENI need the setting.
	src := vpcHead + "    security_groups: {g1: {}, g2: {}, g3: {}, g4: {}, g5: {}}\ninstances:\n  x: {subnet: main/a, security_groups: [g1, g2, g3, g4, g5, default]}\n"
	_, err := Parse("t.yaml", []byte(src))
	require.Error(t, err)
	mustParse(t, strings.Replace(src, "name: t\n", "name: t\nsettings: {security_groups_per_eni: 6}\n", 1))
}

func TestProbes(t *testing.T) {
	sc := mustParse(t, instancesFile("  x: {subnet: main/a}", "  y:", "    enis: [{subnet: main/a}, {subnet: main/b}]")+`expect:
  - {from: x, to: y.eth1, proto: tcp, port: 5432, result: allow, timeout: 1500ms, description: why}
  - {from: y.eth0, to: 203.0.113.9, proto: icmp, result: deny}
  - {from: x, to: "2001:db8::1", proto: udp, port: 53, result: deny}
`)
	require.Len(t, sc.Expect, 3)
	assert.Equal(t, Probe{From: "x", To: "y.eth1", Proto: "tcp", Port: 5432, Result: "allow", Timeout: 1500 * time.Millisecond,
		Description: "why", Pos: Pos{"t.yaml", 13, 5}}, *sc.Expect[0])
	assert.Equal(t, "203.0.113.9", sc.Expect[1].To)
	assert.Zero(t, sc.Expect[1].Port)
}

func TestFullTestdataUsesEveryField(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	require.NoError(t, err)
	sc, d, err := parse("testdata/full.yaml", data)
	require.NoError(t, err)
	for kind, fields := range formatSpec() {
		for _, f := range fields {
			assert.True(t, d.seen[kind+"."+f.name], "testdata/full.yaml does not use %s.%s", kind, f.name)
		}
	}
	assert.Len(t, sc.Warnings, 5, "%v", sc.Warnings)
	assert.Equal(t, Clock{Speed: 2.5}, sc.Clock)
	assert.Equal(t, Hypervisor{Scrub: false, MemoryPool: 512 << 20, DiskPool: 2 << 30}, sc.Hypervisor)
	assert.Equal(t, 4, sc.PrefixList("corp").MaxEntries)
	assert.Equal(t, 1, sc.PrefixList("v6").MaxEntries, "max_entries defaults to the number of entries")
	assert.True(t, sc.PrefixList("v6").IPv6())
}
