package scenarios

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vpcHead is the start of many test files: one VPC with two subnets. Lines 1-7.
const vpcHead = `name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
      b: {cidr: 10.0.2.0/28}
`

// groupHead adds a group web whose ingress rules follow from line 11 on (column 11 for flow
// mappings after "      - ").
const groupHead = vpcHead + `    security_groups:
      web:
        ingress:
`

// rulesFile makes a file whose ingress rule i (0-based) is on line 11+i.
func rulesFile(rules ...string) string {
	var b strings.Builder
	b.WriteString(groupHead)
	for _, r := range rules {
		b.WriteString("          - " + r + "\n")
	}
	return b.String()
}

// instancesFile makes a file whose instance i (0-based) is on line 9+i (after vpcHead and
// "instances:").
func instancesFile(instances ...string) string {
	return vpcHead + "instances:\n" + strings.Join(instances, "\n") + "\n"
}

func TestBadFiles(t *testing.T) {
	many := func(n int, rule func(i int) string) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, rule(i))
		}
		return out
	}
	tcpRule := func(i int) string { return fmt.Sprintf("{proto: tcp, ports: %d, cidr: 10.0.0.0/16}", i+1) }
	tcp6Rule := func(i int) string { return fmt.Sprintf(`{proto: tcp, ports: %d, cidr: "2001:db8::/32"}`, i+1) }
	autoInstances := func(n int) []string {
		return many(n, func(i int) string { return fmt.Sprintf("  i%d: {subnet: main/b}", i) })
	}
	cases := []struct {
		name, src, at, msg string
	}{
		// YAML structure
		{"empty file", "", "1:1", "the file is empty"},
		{"comments only", "# nothing\n", "1:1", "the file is empty"},
		{"syntax", "name: [a\n", "1", "YAML syntax"},
		{"tabs", "name: t\n\tvpcs: {}\n", "2", "YAML syntax"},
		{"second document", "name: a\n---\nname: b\n", "2:1", "a second YAML document"},
		{"root not a mapping", "- a\n", "1:1", "want a mapping with the fields name, description"},
		{"unknown top field", "name: t\nvpc: {}\n", "2:1", `unknown field "vpc" (did you mean "vpcs"?); valid fields here: name, description, settings, vpcs, peerings, on_prem, prefix_lists, instances, internet, flow_logs, clock, hypervisor, expect, matrix, steps`},
		{"duplicate key", "name: t\nname: u\n", "2:1", `duplicate key "name" (first at line 1)`},
		{"missing name", "description: x\n", "1:1", `missing required field "name"`},
		{"name of wrong type", "name: [a]\n", "1:7", "name: want a string, not a list"},
		{"name as number", "name: 12\n", "1:7", "want a string, not the number 12"},
		{"merge key", "name: t\n<<: {description: x}\n", "2:1", "merge keys (<<) are not supported"},
		{"null list", groupHead + "        egress:\n", "11:16", "want a list, not null (an empty value) (write [] for an empty one"},
		{"null map", "name: t\nvpcs:\n", "2:6", "write {} for an empty one"},
		{"duplicate vpc", "name: t\nvpcs:\n  a: {cidr: 10.0.0.0/16}\n  a: {cidr: 10.1.0.0/16}\n", "4:3", `duplicate name "a" (first at line 3)`},
		{"bool wanted", instancesFile("  x: {subnet: main/a, source_dest_check: no}"), "9:42", "source_dest_check: want true or false, not \"no\""},
		{"integer wanted", "name: t\nsettings: {security_groups_per_eni: five}\n", "2:37", "want an integer"},

		// names
		{"bad scenario name", "name: Web_1\n", "1:7", "want 1-31 characters of a-z, 0-9"},
		{"long name", "name: " + strings.Repeat("a", 32) + "\n", "1:7", "want 1-31 characters"},
		{"trailing hyphen", "name: web-\n", "1:7", "starting and ending with a letter or digit"},
		{"double hyphen", "name: a--b\n", "1:7", `without "--"`},
		{"bad vpc name", "name: t\nvpcs:\n  Main: {cidr: 10.0.0.0/16}\n", "3:3", "vpc name: \"Main\""},
		{"bad instance name", instancesFile("  web.1: {subnet: main/a}"), "9:3", "instance name"},
		{"group named sg-", vpcHead + "    security_groups:\n      sg-web: {}\n", "9:7", `start with "sg-"`},

		// settings
		{"groups per eni", "name: t\nsettings: {security_groups_per_eni: 17}\n", "2:37", "security_groups_per_eni 17: want 1-16"},
		{"product", "name: t\nsettings: {security_groups_per_eni: 16, rules_per_security_group: 70}\n", "2:67", "16 × rules_per_security_group 70 = 1120; AWS allows at most 1000"},
		{"rules per group", "name: t\nsettings: {rules_per_security_group: 0}\n", "2:38", "rules_per_security_group 0: want 1-1000"},
		{"unknown setting", "name: t\nsettings: {groups: 1}\n", "2:12", "valid fields here: security_groups_per_eni, rules_per_security_group"},

		// VPC and subnet CIDRs
		{"vpc cidr missing", "name: t\nvpcs:\n  main: {}\n", "3:9", `vpc main: missing required field "cidr"`},
		{"vpc host bits", "name: t\nvpcs:\n  main: {cidr: 10.0.0.1/16}\n", "3:16", "10.0.0.1/16 has host bits set, which AWS refuses; did you mean 10.0.0.0/16?"},
		{"vpc too big", "name: t\nvpcs:\n  main: {cidr: 10.0.0.0/8}\n", "3:16", "want a prefix length from /16 to /28"},
		{"vpc too small", "name: t\nvpcs:\n  main: {cidr: 10.0.0.0/29}\n", "3:16", "/16 to /28"},
		{"vpc ipv6", "name: t\nvpcs:\n  main: {cidr: \"2001:db8::/56\"}\n", "3:16", "want an IPv4 CIDR"},
		{"vpc loopback", "name: t\nvpcs:\n  main: {cidr: 127.0.0.0/16}\n", "3:16", "(loopback); use a private range"},
		{"vpc link-local", "name: t\nvpcs:\n  main: {cidr: 169.254.0.0/16}\n", "3:16", "link-local"},
		{"vpc cidr garbage", "name: t\nvpcs:\n  main: {cidr: 10.0.0.0-16}\n", "3:16", "want a CIDR such as 10.0.0.0/16"},
		{"subnet outside", "name: t\nvpcs:\n  main:\n    cidr: 10.0.0.0/16\n    subnets:\n      a: {cidr: 10.1.0.0/24}\n", "6:17", "subnet main/a: cidr 10.1.0.0/24 is outside its VPC's 10.0.0.0/16"},
		{"subnet bigger than vpc", "name: t\nvpcs:\n  main:\n    cidr: 10.0.0.0/24\n    subnets:\n      a: {cidr: 10.0.0.0/16}\n", "6:17", "outside its VPC"},
		{"subnet overlap", vpcHead + "      c: {cidr: 10.0.1.128/25}\n", "8:17", "overlaps subnet main/a (10.0.1.0/24, line 6)"},
		{"subnet host bits", "name: t\nvpcs:\n  main:\n    cidr: 10.0.0.0/16\n    subnets:\n      a: {cidr: 10.0.1.1/24}\n", "6:17", "did you mean 10.0.1.0/24?"},
		{"subnet too small", "name: t\nvpcs:\n  main:\n    cidr: 10.0.0.0/16\n    subnets:\n      a: {cidr: 10.0.1.0/29}\n", "6:17", "/16 to /28"},
		{"no suggestion for a far name", "name: t\nsubnetz: 1\nzzz: 2\n", "3:1", `unknown field "zzz"; valid`},
		{"unknown field alone in its rule", rulesFile("{proto: tcp, port: 80, cidr: 0.0.0.0/0}"), "11:26", `unknown field "port" (did you mean "ports"?)`},
		{"subnet unknown field", "name: t\nvpcs:\n  main:\n    cidr: 10.0.0.0/16\n    subnets:\n      a: {cidr: 10.0.1.0/24, az: x}\n", "6:30", `unknown field "az"; valid fields here: cidr`},

		// security group rules
		{"rule reversed", rulesFile("{proto: tcp, ports: 70-60, cidr: 0.0.0.0/0}"), "11:33", "port range 70-60 is reversed"},
		{"rule port too big", rulesFile("{proto: tcp, ports: 65536, cidr: 0.0.0.0/0}"), "11:33", "ports are 0-65535"},
		{"rule bad ports", rulesFile("{proto: udp, ports: http, cidr: 0.0.0.0/0}"), "11:33", `ports "http": want a port (80), a range (1024-65535) or all`},
		{"rule tcp without ports", rulesFile("{proto: tcp, cidr: 0.0.0.0/0}"), "11:13", "tcp rules need ports"},
		{"rule udp by number without ports", rulesFile("{proto: 17, cidr: 0.0.0.0/0}"), "11:13", "udp rules need ports"},
		{"rule icmp without type", rulesFile("{proto: icmp, cidr: 0.0.0.0/0}"), "11:13", "icmp rules need icmp_type"},
		{"rule icmp code without type", rulesFile(`{proto: icmpv6, icmp_code: 0, cidr: "::/0"}`), "11:40", "icmp_code needs icmp_type"},
		{"rule icmp type -1 code 0", rulesFile("{proto: icmp, icmp_type: -1, icmp_code: 0, cidr: 0.0.0.0/0}"), "11:53", "AWS wants the code -1 too"},
		{"rule icmp type 256", rulesFile("{proto: icmp, icmp_type: 256, cidr: 0.0.0.0/0}"), "11:38", "icmp_type 256: want a type 0-255"},
		{"rule icmp with ports", rulesFile("{proto: icmp, ports: 8, cidr: 0.0.0.0/0}"), "11:34", "icmp rules take icmp_type and icmp_code, not ports"},
		{"rule tcp with icmp_type", rulesFile("{proto: tcp, ports: 1, icmp_type: 8, cidr: 0.0.0.0/0}"), "11:47", "icmp_type applies to icmp and icmpv6 only"},
		{"rule two targets", rulesFile("{proto: all, cidr: 0.0.0.0/0, group: web}"), "11:50", "give only one of cidr, group and prefix_list, not both cidr and group"},
		{"rule no target", rulesFile("{proto: all}"), "11:13", "want one of cidr, group or prefix_list"},
		{"rule missing group", rulesFile("{proto: all, group: nope}"), "11:33", `group "nope" is not a security group of vpc main; groups there: default, web`},
		{"rule missing prefix list", rulesFile("{proto: all, prefix_list: corp}"), "11:39", `no prefix list "corp"; prefix lists: none`},
		{"rule bad proto", rulesFile("{proto: tcpp, ports: 1, cidr: 0.0.0.0/0}"), "11:21", `protocol "tcpp": want tcp, udp, icmp, icmpv6, all (or -1), or a protocol number 0-255`},
		{"rule proto 256", rulesFile("{proto: 256, cidr: 0.0.0.0/0}"), "11:21", `protocol "256"`},
		{"rule proto as list", rulesFile("{proto: [tcp], cidr: 0.0.0.0/0}"), "11:21", "proto: want tcp, udp"},
		{"rule bare address", rulesFile("{proto: all, cidr: 203.0.113.1}"), "11:32", "for one address write 203.0.113.1/32"},
		{"rule unknown field", rulesFile("{proto: all, cidr: 0.0.0.0/0, port: 80}"), "11:43", `unknown field "port" (did you mean "ports"?); valid fields here: proto, ports, icmp_type, icmp_code, cidr, group, prefix_list, description`},
		{"rule duplicate", rulesFile("{proto: tcp, ports: 22, cidr: 10.0.0.0/8}", "{proto: tcp, ports: 22, cidr: 10.1.2.3/8}"), "12:13", "duplicates ingress rule 1 (line 11); AWS refuses it (InvalidPermission.Duplicate)"},
		{"rule description charset", rulesFile(`{proto: all, cidr: 0.0.0.0/0, description: "café"}`), "11:56", `character 'é' is not allowed`},
		{"group description too long", vpcHead + "    security_groups:\n      web: {description: " + strings.Repeat("x", 256) + "}\n", "9:26", "256 characters; AWS allows at most 255"},
		{"rules over the limit", rulesFile(many(61, tcpRule)...), "71:13", "has 61 IPv4 ingress entries here, over the limit of 60 (RulesPerSecurityGroupLimitExceeded"},
		{"ipv6 rules over the limit", rulesFile(many(61, tcp6Rule)...), "71:13", "61 IPv6 ingress entries"},
		{"group references count for both families", rulesFile(append(many(60, tcp6Rule), "{proto: all, group: web}")...), "71:13", "61 IPv6"},
		{"prefix list counts as max_entries", "prefix_lists:\n  big: {entries: [192.0.2.0/24], max_entries: 55}\n" + rulesFile(append(many(6, tcpRule), "{proto: all, prefix_list: big}")...), "19:13", "61 IPv4 ingress entries"},
		{"egress limit too", strings.Replace(rulesFile(many(61, tcpRule)...), "ingress:", "egress:", 1), "71:13", "61 IPv4 egress entries"},

		// prefix lists
		{"prefix list over max", "name: t\nprefix_lists:\n  p: {entries: [10.0.0.0/8, 10.1.0.0/16], max_entries: 1}\n", "3:56", "2 entries but max_entries is 1; raise max_entries"},
		{"prefix list mixed", "name: t\nprefix_lists:\n  p: {entries: [10.0.0.0/8, \"2001:db8::/32\"]}\n", "3:29", "another address family"},
		{"prefix list duplicate", "name: t\nprefix_lists:\n  p: {entries: [10.0.0.0/8, 10.0.0.0/8]}\n", "3:29", "is already entry 1"},
		{"prefix list mapped", "name: t\nprefix_lists:\n  p: {entries: [\"::ffff:10.0.0.0/104\"]}\n", "3:17", "IPv4-mapped IPv6 prefix"},
		{"prefix list empty", "name: t\nprefix_lists:\n  p: {entries: []}\n", "3:3", "max_entries 0: want 1-1000"},
		{"prefix list no entries", "name: t\nprefix_lists:\n  p: {max_entries: 3}\n", "3:6", `missing required field "entries"`},

		// instances and ENIs
		{"enis and shorthand", instancesFile("  x:", "    enis: [{subnet: main/a}]", "    ip: 10.0.1.10"), "11:9", "ip cannot be used together with enis: (line 10); with enis, give ip in the eth0 entry"},
		{"no subnet at all", instancesFile("  x: {type: t3.micro}"), "9:3", "want subnet: (for one ENI) or an enis: list"},
		{"shorthand without subnet", instancesFile("  x: {ip: 10.0.1.10}"), "9:11", "ip needs subnet: too"},
		{"nine enis", instancesFile("  x:", "    enis:", strings.Repeat("      - {subnet: main/a}\n", 9)), "19:9", "9 ENIs; an instance has at most 8"},
		{"empty enis", instancesFile("  x: {enis: []}"), "9:3", "has no ENI"},
		{"eni without subnet", instancesFile("  x:", "    enis: [{ip: 10.0.1.10}]"), "10:12", `eth0: missing required field "subnet"`},
		{"unknown subnet", instancesFile("  x: {subnet: main/c}"), "9:15", `no subnet "main/c"; want vpc/subnet, one of: main/a, main/b`},
		{"unknown bare subnet", instancesFile("  x: {subnet: c}"), "9:15", `no subnet "c"`},
		{"ambiguous bare subnet", vpcHead + "  other:\n    cidr: 10.0.0.0/16\n    subnets:\n      a: {cidr: 10.0.1.0/24}\ninstances:\n  x: {subnet: a}\n", "13:15", `subnet "a" is in more than one VPC; write one of main/a, other/a`},
		{"ip outside subnet", instancesFile("  x: {subnet: main/a, ip: 10.0.2.10}"), "9:27", "10.0.2.10 is outside subnet main/a (10.0.1.0/24)"},
		{"ip network", instancesFile("  x: {subnet: main/a, ip: 10.0.1.0}"), "9:27", "10.0.1.0 is reserved by AWS in subnet main/a (10.0.1.0/24)"},
		{"ip router", instancesFile("  x: {subnet: main/a, ip: 10.0.1.1}"), "9:27", "use 10.0.1.4 to 10.0.1.254"},
		{"ip dns", instancesFile("  x: {subnet: main/a, ip: 10.0.1.2}"), "9:27", "reserved by AWS"},
		{"ip future", instancesFile("  x: {subnet: main/a, ip: 10.0.1.3}"), "9:27", "reserved by AWS"},
		{"ip broadcast", instancesFile("  x: {subnet: main/a, ip: 10.0.1.255}"), "9:27", "reserved by AWS"},
		{"ip broadcast /28", instancesFile("  x: {subnet: main/b, ip: 10.0.2.15}"), "9:27", "use 10.0.2.4 to 10.0.2.14"},
		{"ip garbage", instancesFile("  x: {subnet: main/a, ip: 10.0.1}"), "9:27", `want an IP address such as 10.0.1.10, not "10.0.1"`},
		{"ip ipv6", instancesFile(`  x: {subnet: main/a, ip: "2001:db8::1"}`), "9:27", "want an IPv4 address"},
		{"ip twice", instancesFile("  x: {subnet: main/a, ip: 10.0.1.10}", "  y: {subnet: main/a, ip: 10.0.1.10}"), "10:27", "10.0.1.10 is already used by x.eth0 (line 9)"},
		{"secondary same as primary", instancesFile("  x: {subnet: main/a, ip: 10.0.1.10, secondary_ips: [10.0.1.10]}"), "9:54", "already used by x.eth0"},
		{"secondary reserved", instancesFile("  x: {subnet: main/a, secondary_ips: [10.0.1.255]}"), "9:39", "reserved by AWS"},
		{"subnet full", instancesFile(autoInstances(12)...), "20:17", "subnet main/b (10.0.2.0/28) is full: it has 11 usable addresses, 0 of them fixed, and i11.eth0 is ENI 12 of 12"},
		{"subnet full with fixed", instancesFile(append(autoInstances(10), "  f1: {subnet: main/b, ip: 10.0.2.4}", "  f2: {subnet: main/b, ip: 10.0.2.5}")...), "18:16", "2 of them fixed, and i9.eth0 is ENI 10 of 10"},
		{"unknown group", instancesFile("  x: {subnet: main/a, security_groups: [web]}"), "9:41", `no security group "web" in vpc main (the ENI's subnet is main/a); groups there: default`},
		{"group twice", instancesFile("  x: {subnet: main/a, security_groups: [default, default]}"), "9:50", `security group "default" is listed twice`},
		{"six groups", vpcHead + "    security_groups: {g1: {}, g2: {}, g3: {}, g4: {}, g5: {}, g6: {}}\ninstances:\n  x: {subnet: main/a, security_groups: [g1, g2, g3, g4, g5, g6]}\n", "10:40", "6 security groups; an ENI has at most 5"},
		{"instance type", instancesFile("  x: {subnet: main/a, type: T3.Micro}"), "9:29", `type "T3.Micro": want an instance type name such as t3.micro`},
		{"user data too big", instancesFile("  x: {subnet: main/a, user_data: " + strings.Repeat("x", 16385) + "}"), "9:34", "user_data is 16385 bytes; AWS allows 16384"},
		{"instance unknown field", instancesFile("  x: {subnet: main/a, ami: ami-1}"), "9:23", `unknown field "ami"; valid fields here: type, user_data, enis, subnet, ip`},

		// probes
		{"probe unknown instance", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: db, proto: icmp, result: allow}\n", "11:19", `to "db": no instance "db"`},
		{"probe from ip", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: 10.0.1.4, to: x, proto: icmp, result: allow}\n", "11:12", `from "10.0.1.4": want an instance name or instance.ethN, e.g. web-1.eth0`},
		{"probe eth out of range", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x.eth1, proto: icmp, result: allow}\n", "11:19", "instance x has 1 ENIs (eth0 to eth0)"},
		{"probe bad eth", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x.eth01, proto: icmp, result: allow}\n", "11:19", "want an instance name or instance.ethN"},
		{"probe tcp without port", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x, proto: tcp, result: allow}\n", "11:5", "tcp probes need port: 1-65535"},
		{"probe icmp with port", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x, proto: icmp, port: 1, result: allow}\n", "11:41", "icmp probes take no port"},
		{"probe port out of range", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x, proto: udp, port: 70000, result: allow}\n", "11:40", "port 70000: want 1-65535"},
		{"probe result", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x, proto: icmp, result: maybe}\n", "11:43", `result "maybe": want allow or deny`},
		{"probe proto", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x, proto: sctp, port: 1, result: deny}\n", "11:29", `proto "sctp": want tcp, udp or icmp`},
		{"probe timeout", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x, proto: icmp, result: deny, timeout: 2 seconds}\n", "11:58", "want a duration such as 2s or 500ms"},
		{"probe negative timeout", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x, proto: icmp, result: deny, timeout: -1s}\n", "11:58", "want a positive duration"},
		{"probe missing result", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x, proto: icmp}\n", "11:5", `expect 1: missing required field "result"`},
		{"probe port as string", instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x, proto: tcp, port: \"80\", result: deny}\n", "11:40", `port: want an integer, not "80"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc, err := Parse("t.yaml", []byte(c.src))
			require.Error(t, err, "the file was accepted")
			assert.Nil(t, sc)
			var list ErrorList
			require.True(t, errors.As(err, &list), "want an ErrorList, got %T", err)
			want := "t.yaml:" + c.at + ": "
			for _, e := range list {
				if strings.HasPrefix(e.Error(), want) && strings.Contains(e.Msg, c.msg) {
					return
				}
			}
			t.Errorf("no error at %s containing %q; got:\n%v", c.at, c.msg, err)
		})
	}
}

func TestErrorsAreCollectedInFileOrder(t *testing.T) {
	_, err := Parse("t.yaml", []byte("name: T\nvpcs:\n  main: {cidr: 10.0.0.0/8, x: 1}\n  Other: {cidr: 10.1.0.0/16}\n"))
	var list ErrorList
	require.True(t, errors.As(err, &list))
	// Decoding stops before validation, so the unknown field is reported first, alone.
	require.Len(t, list, 1, "%v", err)
	assert.Equal(t, "t.yaml:3:28: vpc main: unknown field \"x\"; valid fields here: cidr, subnets, security_groups, internet_gateway, vpn_gateway, nat_gateways, route_tables, network_acls", list[0].Error())

	_, err = Parse("t.yaml", []byte("name: T\nvpcs:\n  main: {cidr: 10.0.0.0/8}\n  Other: {cidr: 10.1.0.0/16}\n"))
	require.True(t, errors.As(err, &list))
	require.Len(t, list, 3, "%v", err)
	for i, at := range []string{"t.yaml:1:7", "t.yaml:3:16", "t.yaml:4:3"} {
		assert.True(t, strings.HasPrefix(list[i].Error(), at+": "), "error %d: %v", i, list[i])
	}
	var one *Error
	require.True(t, errors.As(err, &one), "errors.As finds the first *Error")
	assert.Equal(t, 1, one.Pos.Line)
	assert.Equal(t, 3, strings.Count(err.Error(), "\n")+1)
}

func TestErrorCountIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: t\ninstances:\n")
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "  i%d: {subnet: main/nope}\n", i)
	}
	_, err := Parse("t.yaml", []byte(b.String()))
	var list ErrorList
	require.True(t, errors.As(err, &list))
	assert.Len(t, list, maxErrors+1)
	assert.Contains(t, list[maxErrors].Msg, "and 150 more errors")
}

func TestAliasExpansionIsBounded(t *testing.T) {
	// 100 VPCs share (by alias) 100 groups that share 100 rules: a few hundred lines that would
	// make the decoder walk a million rules without its node budget.
	var b strings.Builder
	b.WriteString("name: t\nvpcs:\n  v0:\n    cidr: 10.0.0.0/16\n    security_groups: &g\n      g0:\n        ingress: &r\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&b, "          - {proto: tcp, ports: %d, cidr: 10.0.0.0/16}\n", i+1)
	}
	for i := 1; i < 100; i++ {
		fmt.Fprintf(&b, "      g%d: {ingress: *r}\n", i)
	}
	for i := 1; i < 100; i++ {
		fmt.Fprintf(&b, "  v%d: {cidr: 10.0.0.0/16, security_groups: *g}\n", i)
	}
	start := time.Now()
	_, err := Parse("t.yaml", []byte(b.String()))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "expands to more than")
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestAliasesAreFollowed(t *testing.T) {
	sc, err := Parse("t.yaml", []byte(vpcHead+`    security_groups:
      web:
        ingress: &common
          - {proto: tcp, ports: 22, cidr: 10.0.0.0/16}
      app:
        ingress: *common
instances:
  x: {subnet: main/a, security_groups: &groups [web, app]}
  y: {subnet: main/b, security_groups: *groups}
`))
	require.NoError(t, err)
	v := sc.VPCs[0]
	require.Len(t, v.Group("app").Ingress, 1)
	assert.Equal(t, "tcp:22:10.0.0.0/16", v.Group("app").Ingress[0].String())
	assert.Equal(t, []string{"web", "app"}, sc.Instance("y").ENIs[0].SecurityGroups)
	// Rules are distinct objects even when the file shares them, so positions and later edits
	// stay per group.
	assert.NotSame(t, v.Group("app").Ingress[0], v.Group("web").Ingress[0])
}

func TestMisspeltFieldIsTheOnlyError(t *testing.T) {
	_, err := Parse("t.yaml", []byte(rulesFile("{proto: tcp, port: 80, cidr: 0.0.0.0/0}")))
	var list ErrorList
	require.True(t, errors.As(err, &list))
	assert.Len(t, list, 1, "a rule with a misspelt field is not also told it lacks ports: %v", err)
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"port", "ports", 1}, {"cdir", "cidr", 2}, {"abc", "", 3}, {"kitten", "sitting", 3}} {
		assert.Equal(t, c.d, editDistance(c.a, c.b), "%q %q", c.a, c.b)
		assert.Equal(t, c.d, editDistance(c.b, c.a), "%q %q", c.b, c.a)
	}
}
