package tfimport

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/scenarios"
)

func importFixture(t *testing.T, name string, opts Options) *Result {
	t.Helper()
	path := filepath.Join("testdata", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(path, data, opts)
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	return res
}

// Every fixture imports without unresolved values, and its YAML loads again to the same model.
func TestFixturesImportAndLoad(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) < 3 {
		t.Fatalf("want at least 3 fixtures, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			res := importFixture(t, filepath.Base(f), Options{})
			if len(res.Report.Problems) > 0 {
				t.Errorf("problems: %v", res.Report.Problems)
			}
			for _, s := range res.Report.Skipped {
				if strings.Contains(s.Text, "left out") {
					t.Errorf("a fully resolved plan left out %s: %s", s.Address, s.Text)
				}
			}
			again, err := scenarios.Parse("again.yaml", res.YAML)
			if err != nil {
				t.Fatalf("YAML does not load: %v\n%s", err, res.YAML)
			}
			y2, err := scenarios.Format(again)
			if err != nil || string(y2) != string(res.YAML) {
				t.Errorf("format(parse(yaml)) differs from yaml (err %v):\n%s\n---\n%s", err, res.YAML, y2)
			}
		})
	}
}

func group(t *testing.T, sc *scenarios.Scenario, vpc, name string) *scenarios.SecurityGroup {
	t.Helper()
	v := sc.VPC(vpc)
	if v == nil {
		t.Fatalf("no vpc %s", vpc)
	}
	g := v.Group(name)
	if g == nil {
		t.Fatalf("no group %s/%s", vpc, name)
	}
	return g
}

func hasRule(rules []*scenarios.Rule, proto, from, to int, cidr, grp string) bool {
	for _, r := range rules {
		if r.Proto == proto && r.FromPort == from && r.ToPort == to && r.Group == grp && (cidr == "" || r.CIDR == netip.MustParsePrefix(cidr)) {
			return true
		}
	}
	return false
}

func TestBasicFixture(t *testing.T) {
	res := importFixture(t, "basic.json", Options{Name: "shop"})
	sc := res.Scenario
	if sc.Name != "shop" || len(sc.VPCs) != 1 || len(sc.Instances) != 2 {
		t.Fatalf("name %q, %d vpcs, %d instances", sc.Name, len(sc.VPCs), len(sc.Instances))
	}
	v := sc.VPC("main")
	if !v.InternetGateway || len(v.Subnets) != 2 || v.Subnet("public") == nil || !v.Subnet("public").MapPublicIP {
		t.Errorf("vpc main: igw %v, subnets %v", v.InternetGateway, v.Subnets)
	}
	if s := v.Subnet("private"); s.RouteTable != "private" || s.NetworkACL != "private" {
		t.Errorf("private subnet associations: %q %q", s.RouteTable, s.NetworkACL)
	}
	if n := v.NATGateway("nat"); n == nil || n.Subnet != "main/public" || n.ElasticIP != netip.MustParseAddr("198.51.100.10") {
		t.Errorf("nat gateway: %+v", n)
	}
	if rt := v.RouteTable("private"); rt == nil || len(rt.Routes) != 1 || rt.Routes[0].Target.String() != "nat/nat" {
		t.Errorf("private table: %+v", rt)
	}
	if rt := v.RouteTable("public"); rt == nil || len(rt.Routes) != 1 || rt.Routes[0].Target.Kind != "igw" {
		t.Errorf("public table: %+v", rt)
	}
	db := group(t, sc, "main", "db")
	if !hasRule(db.Ingress, 6, 5432, 5432, "", "web") || !hasRule(db.Ingress, 1, 8, -1, "", "web") || len(db.Egress) != 0 || db.EgressDefaulted {
		t.Errorf("db group: ingress %v egress %v", db.Ingress, db.Egress)
	}
	web := group(t, sc, "main", "web")
	if !hasRule(web.Ingress, 6, 80, 80, "0.0.0.0/0", "") || !hasRule(web.Ingress, 6, 22, 22, "203.0.113.0/24", "") || !hasRule(web.Egress, -1, -1, -1, "0.0.0.0/0", "") {
		t.Errorf("web group: ingress %v egress %v", web.Ingress, web.Egress)
	}
	acl := v.NetworkACL("private")
	if acl == nil || len(acl.Ingress) != 3 || len(acl.Egress) != 1 || acl.Ingress[2].Number != 120 || acl.Ingress[2].Proto != 1 {
		t.Errorf("acl: %+v", acl)
	}
	dbi, webi := sc.Instance("db"), sc.Instance("web")
	if dbi.ENIs[0].IP != netip.MustParseAddr("10.0.2.10") || dbi.Type != "t3.small" {
		t.Errorf("db instance: %+v", dbi.ENIs[0])
	}
	if e := webi.ENIs[0]; e.ElasticIP != netip.MustParseAddr("198.51.100.11") || e.PublicIP || e.IP.IsValid() {
		t.Errorf("web eth0: %+v (want the Elastic IP, no auto public IP, an IPAM address)", e)
	}
	if got := res.Report.Unmodelled; got["aws_s3_bucket"] != 1 || got["aws_cloudwatch_log_group"] != 1 || len(got) != 2 {
		t.Errorf("unmodelled: %v", got)
	}
	for _, m := range res.Report.Mapped {
		if strings.Contains(m.Address, "aws_instance.old") {
			t.Errorf("a resource being deleted was imported: %v", m)
		}
	}
	for _, p := range res.Report.PublicIPs {
		if !scenarios.InDocumentationRange(netip.MustParseAddr(p.Assigned)) {
			t.Errorf("public address outside the documentation ranges: %v", p)
		}
	}
}

func TestModulesFixture(t *testing.T) {
	sc := importFixture(t, "modules.json", Options{}).Scenario
	v := sc.VPC("net-this")
	if v == nil || v.CIDR.String() != "10.1.0.0/16" || !v.InternetGateway || len(v.Subnets) != 4 {
		t.Fatalf("vpc: %+v", v)
	}
	for _, c := range []struct{ inst, subnet string }{{"app-0", "net-this/net-private-0"}, {"app-1", "net-this/net-private-1"}, {"bastion", "net-this/net-public-a"}} {
		in := sc.Instance(c.inst)
		if in == nil || in.ENIs[0].Subnet != c.subnet || len(in.ENIs[0].SecurityGroups) != 1 || in.ENIs[0].SecurityGroups[0] != "app-sg" {
			t.Errorf("instance %s: %+v", c.inst, in)
		}
	}
	if !sc.Instance("bastion").ENIs[0].PublicIP {
		t.Error("bastion: associate_public_ip_address lost")
	}
	for _, s := range []string{"net-public-a", "net-public-b"} {
		if v.Subnet(s).RouteTable != "net-public" {
			t.Errorf("subnet %s: route table %q (for_each association through each.value)", s, v.Subnet(s).RouteTable)
		}
	}
	g := group(t, sc, "net-this", "app-sg")
	if !hasRule(g.Ingress, 6, 8080, 8080, "", "app-sg") || !hasRule(g.Ingress, 6, 22, 22, "10.1.100.0/24", "") {
		t.Errorf("app-sg ingress from the configuration's blocks: %v", g.Ingress)
	}
	if rt := v.RouteTable("net-public"); rt == nil || len(rt.Routes) != 1 || rt.Routes[0].Target.Kind != "igw" {
		t.Errorf("net-public routes (a set unknown until apply, read from configuration): %+v", rt)
	}
}

func TestPeeringFixture(t *testing.T) {
	res := importFixture(t, "peering.json", Options{})
	sc := res.Scenario
	if len(sc.Peerings) != 1 || sc.Peerings[0].Requester != "a" || sc.Peerings[0].Accepter != "b" {
		t.Fatalf("peerings: %+v", sc.Peerings)
	}
	a, b := sc.VPC("a"), sc.VPC("b")
	if m := a.MainTable(); m == nil || m.Name != "main" || len(m.Routes) != 1 || m.Routes[0].Target.String() != "peering/ab" {
		t.Errorf("a's main table (aws_default_route_table): %+v", m)
	}
	if m := b.MainTable(); m == nil || m.Name != "b" || len(m.Routes) != 2 {
		t.Errorf("b's main table (aws_main_route_table_association): %+v", m)
	}
	if rt := a.RouteTable("a-app"); rt == nil || rt.Routes[0].Target.String() != "eni/fw.eth1" {
		t.Errorf("middlebox route: %+v", rt)
	}
	fw := sc.Instance("fw")
	if fw == nil || len(fw.ENIs) != 2 || fw.ENIs[1].IP != netip.MustParseAddr("10.10.1.50") || fw.ENIs[0].SourceDestCheck || fw.ENIs[1].SourceDestCheck {
		t.Errorf("fw: %+v", fw)
	}
	if e := sc.Instance("app-a").ENIs[0]; e.IP != netip.MustParseAddr("10.10.1.10") || e.Subnet != "a/a-app" {
		t.Errorf("app-a eth0 from its network_interface block: %+v", e)
	}
	if e := sc.Instance("app-b").ENIs[0]; e.ElasticIP != netip.MustParseAddr("198.51.100.10") {
		t.Errorf("app-b Elastic IP via aws_eip_association: %+v", e)
	}
	if acl := a.NetworkACL("a-fw"); acl == nil || acl.Ingress[0].Number != 50 || acl.Ingress[0].Allow || a.Subnet("a-fw").NetworkACL != "a-fw" {
		t.Errorf("a-fw acl: %+v", acl)
	}
	if d := b.NetworkACL("default"); d == nil || d.Implicit || len(d.Ingress) != 1 {
		t.Errorf("b default acl: %+v", d)
	}
	ga := group(t, sc, "a", "default")
	if ga.Implicit || !hasRule(ga.Ingress, -1, -1, -1, "", "default") {
		t.Errorf("a default group: %+v", ga)
	}
	gb := group(t, sc, "b", "b-app")
	if !hasRule(gb.Egress, -1, -1, -1, "0.0.0.0/0", "") || !hasRule(gb.Ingress, 6, 443, 443, "2001:db8::/32", "") {
		t.Errorf("b-app: %v / %v", gb.Ingress, gb.Egress)
	}
	if len(res.Report.Warnings) != 0 {
		t.Errorf("warnings: %v", res.Report.Warnings)
	}
	if res.Report.Unmodelled["aws_ec2_transit_gateway"] != 1 {
		t.Errorf("unmodelled: %v", res.Report.Unmodelled)
	}
	found := false
	for _, s := range res.Report.Skipped {
		found = found || (s.Address == "aws_route.a_to_tgw" && strings.Contains(s.Text, "transit_gateway_id"))
	}
	if !found {
		t.Errorf("route to the transit gateway not reported: %v", res.Report.Skipped)
	}
}

// A plan written for raised quotas imports with the scenario's settings raised to match.
func TestQuotasRaised(t *testing.T) {
	var ingress, acl []any
	for i := 0; i < 70; i++ {
		ingress = append(ingress, map[string]any{"protocol": "tcp", "from_port": 1000 + i, "to_port": 1000 + i, "cidr_blocks": []any{"10.0.0.0/8"}})
	}
	for i := 0; i < 25; i++ {
		acl = append(acl, map[string]any{"rule_no": 100 + i, "action": "allow", "protocol": "tcp", "from_port": 1000 + i, "to_port": 1000 + i, "cidr_block": "10.0.0.0/8"})
	}
	var sgs []any
	res := vpcAndSubnets(
		tres{typ: "aws_security_group", name: "big", values: map[string]any{"ingress": ingress}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}},
		tres{typ: "aws_network_acl", name: "big", values: map[string]any{"ingress": acl}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}})
	for i := 0; i < 7; i++ {
		name := "g" + string(rune('a'+i))
		res = append(res, tres{typ: "aws_security_group", name: name, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}})
		sgs = append(sgs, "aws_security_group."+name+".id", "aws_security_group."+name)
	}
	res = append(res, tres{typ: "aws_instance", name: "i", exprs: map[string]any{"subnet_id": idOf("aws_subnet.a"), "vpc_security_group_ids": map[string]any{"references": sgs}}})
	r, err := Import("q.json", testPlan{res: res}.json(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := r.Scenario.Settings; s.SecurityGroupsPerENI != 7 || s.RulesPerSecurityGroup != 70 || s.NetworkACLRulesPerDirection != 25 {
		t.Errorf("settings %+v; want 7 groups per ENI, 70 rules, 25 NACL rules", s)
	}
}

// The shape of terraform-aws-modules/vpc: vpc_id through a local, lists indexed by count.index,
// flags in expressions, one NAT gateway for all private subnets.
func TestVPCModuleFixture(t *testing.T) {
	res := importFixture(t, "vpcmodule.json", Options{})
	sc := res.Scenario
	v := sc.VPC("vpc-this-0")
	if v == nil || len(v.Subnets) != 4 || !v.InternetGateway || len(v.NATGateways) != 1 || v.NATGateways[0].Subnet != "vpc-this-0/vpc-public-0" {
		t.Fatalf("vpc: %+v", v)
	}
	for _, s := range []string{"vpc-private-0", "vpc-private-1"} {
		if v.Subnet(s).RouteTable != "vpc-private-0" {
			t.Errorf("%s: route table %q", s, v.Subnet(s).RouteTable)
		}
	}
	if rt := v.RouteTable("vpc-private-0"); rt == nil || len(rt.Routes) != 1 || rt.Routes[0].Target.String() != "nat/vpc-this-0" {
		t.Errorf("private table: %+v", rt)
	}
	if e := sc.Instance("web").ENIs[0]; !e.PublicIP || e.Subnet != "vpc-this-0/vpc-public-0" {
		t.Errorf("web: %+v (the public subnet maps a public IP; the plan does not say otherwise)", e)
	}
	if e := sc.Instance("worker").ENIs[0]; e.Subnet != "vpc-this-0/vpc-private-1" || e.PublicIP {
		t.Errorf("worker: %+v", e)
	}
	guesses := 0
	for _, n := range res.Report.Notes {
		if strings.Contains(n.Text, "taken to be") && strings.Contains(n.Text, "the only") {
			guesses++
		}
	}
	if guesses != 8 {
		t.Errorf("%d guesses reported, want 8 (seven vpc_id = local.vpc_id, one allocation_id): %v", guesses, res.Report.Notes)
	}
}

// BenchmarkImport reads, resolves, formats and re-parses the largest fixture.
func BenchmarkImport(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "peering.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Import("peering.json", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// A plan of the size the reachability analysis is measured on imports whole: 100 counted groups
// with a counted rule each ([count.index]), 200 counted instances spread over them with
// element(...[*].id, count.index), which wraps around as Terraform's element does not for us,
// and is therefore reported unresolved for the instances past the 100th.
func TestLargePlan(t *testing.T) {
	cfg := func(i int, e map[string]any) map[string]any {
		if i == 0 {
			return e // one configuration block per resource, as Terraform writes it
		}
		return nil
	}
	res := []tres{
		{typ: "aws_vpc", name: "main", values: map[string]any{"cidr_block": "10.0.0.0/16"}, exprs: map[string]any{}},
		{typ: "aws_subnet", name: "s", values: map[string]any{"cidr_block": "10.0.0.0/22"}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}},
		{typ: "aws_security_group", name: "hub", values: map[string]any{"ingress": []any{}, "egress": []any{}}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}},
	}
	for g := 0; g < 100; g++ {
		res = append(res, tres{typ: "aws_security_group", name: "g", index: float64(g), values: map[string]any{"ingress": []any{}, "egress": []any{}}, exprs: cfg(g, map[string]any{"vpc_id": idOf("aws_vpc.main")})},
			tres{typ: "aws_vpc_security_group_ingress_rule", name: "r", index: float64(g), values: map[string]any{"ip_protocol": "tcp", "from_port": 5432, "to_port": 5432},
				exprs: cfg(g, map[string]any{"security_group_id": refs("aws_security_group.g", "count.index"), "referenced_security_group_id": idOf("aws_security_group.hub")})})
	}
	for i := 0; i < 100; i++ {
		res = append(res, tres{typ: "aws_instance", name: "i", index: float64(i),
			exprs: cfg(i, map[string]any{"subnet_id": idOf("aws_subnet.s"), "vpc_security_group_ids": refs("aws_security_group.g", "count.index")})})
	}
	r, err := Import("large.json", testPlan{res: res}.json(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sc := r.Scenario
	if len(sc.Instances) != 100 || len(sc.VPCs[0].SecurityGroups) != 102 {
		t.Fatalf("%d instances, %d groups", len(sc.Instances), len(sc.VPCs[0].SecurityGroups))
	}
	if g := sc.VPC("main").Group("g-7"); g == nil || len(g.Ingress) != 1 || g.Ingress[0].Group != "hub" {
		t.Errorf("g-7: %+v", g)
	}
	if e := sc.Instance("i-42").ENIs[0]; e.Subnet != "main/s" || len(e.SecurityGroups) != 1 || e.SecurityGroups[0] != "g-42" {
		t.Errorf("i-42: %+v", e)
	}
	notes := 0
	for _, n := range r.Report.Notes {
		if strings.Contains(n.Text, "by count.index") {
			notes++
		}
	}
	if notes != 2 {
		t.Errorf("%d notes on count.index, want one per configuration block and attribute (2): %v", notes, r.Report.Notes)
	}

	// 200 instances over 100 groups: element() wraps, and which group is chosen past the
	// 100th is computed at apply
	for i := 100; i < 200; i++ {
		res = append(res, tres{typ: "aws_instance", name: "i", index: float64(i)})
	}
	r, err = Import("large.json", testPlan{res: res}.json(t), Options{})
	if err == nil || len(r.Report.Problems) != 100 || !contains(r.Report.Problems[0].Message, "computed at apply") {
		t.Errorf("instances past the groups: %v", err)
	}
}

// Rules and routes added to a VPC's default objects by id (aws_vpc.main.default_*_id) keep AWS's
// defaults and add to them.
func TestDefaultObjectsByVPCID(t *testing.T) {
	plan := testPlan{res: vpcAndSubnets(
		tres{typ: "aws_internet_gateway", name: "gw", exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}},
		tres{typ: "aws_route", name: "default", values: map[string]any{"destination_cidr_block": "0.0.0.0/0"},
			exprs: map[string]any{"route_table_id": refs("aws_vpc.main.main_route_table_id", "aws_vpc.main"), "gateway_id": idOf("aws_internet_gateway.gw")}},
		tres{typ: "aws_network_acl_rule", name: "deny_rdp", values: map[string]any{"rule_number": 50, "egress": false, "protocol": "tcp", "rule_action": "deny", "cidr_block": "0.0.0.0/0", "from_port": 3389, "to_port": 3389},
			exprs: map[string]any{"network_acl_id": refs("aws_vpc.main.default_network_acl_id", "aws_vpc.main")}},
		tres{typ: "aws_security_group_rule", name: "ssh", values: map[string]any{"type": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": []any{"203.0.113.0/24"}},
			exprs: map[string]any{"security_group_id": refs("aws_vpc.main.default_security_group_id", "aws_vpc.main")}},
	)}
	res, err := Import("d.json", plan.json(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := res.Scenario.VPC("main")
	if m := v.MainTable(); m == nil || m.Name != "main" || len(m.Routes) != 1 || m.Routes[0].Target.Kind != "igw" {
		t.Errorf("main table: %+v", m)
	}
	if a := v.NetworkACL("default"); a == nil || len(a.Ingress) != 2 || a.Ingress[0].Number != 50 || a.Ingress[1].Number != 100 || len(a.Egress) != 1 {
		t.Errorf("default acl: %+v", a)
	}
	g := v.Group("default")
	if !hasRule(g.Ingress, -1, -1, -1, "", "default") || !hasRule(g.Ingress, 6, 22, 22, "203.0.113.0/24", "") || !hasRule(g.Egress, -1, -1, -1, "0.0.0.0/0", "") {
		t.Errorf("default group: %v / %v", g.Ingress, g.Egress)
	}
}

// An internet gateway attached by aws_internet_gateway_attachment is the VPC's gateway.
func TestIGWAttachment(t *testing.T) {
	plan := testPlan{res: vpcAndSubnets(
		tres{typ: "aws_internet_gateway", name: "gw", exprs: map[string]any{}},
		tres{typ: "aws_internet_gateway_attachment", name: "gw", exprs: map[string]any{"vpc_id": idOf("aws_vpc.main"), "internet_gateway_id": idOf("aws_internet_gateway.gw")}},
		tres{typ: "aws_route_table", name: "pub", values: map[string]any{"route": []any{map[string]any{"cidr_block": "0.0.0.0/0", "nat_gateway_id": ""}}},
			exprs: map[string]any{"vpc_id": idOf("aws_vpc.main"), "route": idOf("aws_internet_gateway.gw")}},
	)}
	res, err := Import("g.json", plan.json(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := res.Scenario.VPC("main")
	if rt := v.RouteTable("pub"); !v.InternetGateway || rt == nil || len(rt.Routes) != 1 || rt.Routes[0].Target.Kind != "igw" {
		t.Errorf("igw %v, table %+v", v.InternetGateway, rt)
	}
}

// The loader's warnings on the imported scenario reach the report.
func TestLoaderWarningsReported(t *testing.T) {
	plan := testPlan{res: vpcAndSubnets(
		tres{typ: "aws_instance", name: "i", exprs: map[string]any{"subnet_id": idOf("aws_subnet.a")}},
		tres{typ: "aws_eip", name: "e", values: map[string]any{"domain": "vpc"}, exprs: map[string]any{"instance": idOf("aws_instance.i")}},
	)}
	res, err := Import("w.json", plan.json(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Report.Warnings) != 1 || !strings.Contains(res.Report.Warnings[0], "internet gateway") {
		t.Errorf("warnings: %v", res.Report.Warnings)
	}
}
