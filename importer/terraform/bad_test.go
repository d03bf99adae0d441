package tfimport

import (
	"strings"
	"testing"
)

// Bad input is an error naming the file and, where there is one, the resource address and the
// bad value; nothing is returned to write.
func TestBadInput(t *testing.T) {
	sg := func(vpcRef map[string]any) tres {
		return tres{typ: "aws_security_group", name: "web", values: map[string]any{"name": "web", "ingress": []any{}, "egress": []any{}}, unknown: []string{"vpc_id"}, exprs: map[string]any{"vpc_id": vpcRef}}
	}
	cases := []struct {
		name string
		data string
		want []string
	}{
		{"malformed JSON", "{\n  \"format_version\": \"1.2\",\n  \"planned_values\": {,}\n}", []string{"p.json:3:22:", "malformed JSON"}},
		{"truncated JSON", "{\n  \"format_version\": \"1.2\",\n  \"planned_values\": {", []string{"p.json:3:", "ends inside a value"}},
		{"wrong type", `{"format_version": 1.2}`, []string{"p.json:1:", "format_version", "string"}},
		{"two objects", `{"format_version": "1.2", "planned_values": {}} {}`, []string{"p.json:1:", "after the plan object"}},
		{"format major 2", `{"format_version": "2.0", "planned_values": {}}`, []string{"p.json:", `format_version "2.0" is not supported`, "0.x and 1.x"}},
		{"no format_version", `{"planned_values": {}}`, []string{"p.json:", "no format_version"}},
		{"a state, not a plan", `{"format_version": "1.0", "values": {}}`, []string{"p.json:", "not a plan"}},
		{"overlapping subnets", string(testPlan{res: append(vpcAndSubnets(), tres{typ: "aws_subnet", name: "c", values: map[string]any{"cidr_block": "10.0.1.128/25"}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}})}.json(t)),
			[]string{"p.json: aws_subnet.c: cidr_block 10.0.1.128/25 overlaps 10.0.1.0/24 (aws_subnet.a)"}},
		{"subnet outside its VPC", string(testPlan{res: append(vpcAndSubnets(), tres{typ: "aws_subnet", name: "c", values: map[string]any{"cidr_block": "10.9.0.0/24"}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}})}.json(t)),
			[]string{"p.json: aws_subnet.c: cidr_block 10.9.0.0/24 is not inside the CIDR 10.0.0.0/16 of its VPC aws_vpc.main"}},
		{"overlapping peered VPCs", string(testPlan{res: append(vpcAndSubnets(),
			tres{typ: "aws_vpc", name: "other", values: map[string]any{"cidr_block": "10.0.0.0/20"}, exprs: map[string]any{}},
			tres{typ: "aws_vpc_peering_connection", name: "p", exprs: map[string]any{"vpc_id": idOf("aws_vpc.main"), "peer_vpc_id": idOf("aws_vpc.other")}})}.json(t)),
			[]string{"p.json: aws_vpc_peering_connection.p: peers VPCs", "aws_vpc.main", "aws_vpc.other", "overlap"}},
		{"host bits in a VPC CIDR", string(testPlan{res: []tres{{typ: "aws_vpc", name: "main", values: map[string]any{"cidr_block": "10.0.0.1/16"}, exprs: map[string]any{}}}}.json(t)),
			[]string{"p.json: aws_vpc.main: cidr_block 10.0.0.1/16 has host bits set; AWS wants 10.0.0.0/16"}},
		{"a VPC too large", string(testPlan{res: []tres{{typ: "aws_vpc", name: "main", values: map[string]any{"cidr_block": "10.0.0.0/8"}, exprs: map[string]any{}}}}.json(t)),
			[]string{"p.json: aws_vpc.main: cidr_block 10.0.0.0/8", "/16 to /28"}},
		{"bad protocol", string(testPlan{res: vpcAndSubnets(tres{typ: "aws_security_group_rule", name: "r", values: map[string]any{"type": "ingress", "protocol": "tcpp", "from_port": 1, "to_port": 2, "cidr_blocks": []any{"0.0.0.0/0"}},
			exprs: map[string]any{"security_group_id": refs("aws_vpc.main.default_security_group_id", "aws_vpc.main")}})}.json(t)),
			[]string{"p.json: aws_security_group_rule.r: protocol: protocol \"tcpp\""}},
		{"duplicate NACL rule number", string(testPlan{res: vpcAndSubnets(tres{typ: "aws_network_acl", name: "n", values: map[string]any{"ingress": []any{
			map[string]any{"rule_no": 100, "action": "allow", "protocol": "-1", "cidr_block": "0.0.0.0/0"},
			map[string]any{"rule_no": 100, "action": "deny", "protocol": "-1", "cidr_block": "10.0.0.0/8"}}}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}})}.json(t)),
			[]string{"p.json: aws_network_acl.n: rule number 100 is used twice", "NetworkAclEntryAlreadyExists"}},
		{"reference to a data source", string(testPlan{res: vpcAndSubnets(sg(refs("data.aws_vpc.default.id", "data.aws_vpc.default")))}.json(t)),
			[]string{"p.json: 1 values cannot be resolved", "aws_security_group.web: vpc_id references data.aws_vpc.default.id, a data source", "nothing was written"}},
		{"reference to a resource not in the plan", string(testPlan{res: vpcAndSubnets(sg(idOf("aws_vpc.gone")))}.json(t)),
			[]string{"aws_security_group.web: vpc_id references aws_vpc.gone.id, which is not in the plan"}},
		{"a literal id", string(testPlan{res: vpcAndSubnets(tres{typ: "aws_security_group", name: "web", values: map[string]any{"vpc_id": "vpc-0abc"}, exprs: map[string]any{"vpc_id": constant("vpc-0abc")}})}.json(t)),
			[]string{`aws_security_group.web: vpc_id is "vpc-0abc", an object that is not in the plan`}},
		{"a root variable", string(testPlan{vars: map[string]any{"vpc": "vpc-0abc"}, res: vpcAndSubnets(sg(refs("var.vpc")))}.json(t)),
			[]string{`aws_security_group.web: vpc_id is the root variable var.vpc = "vpc-0abc"`}},
		{"two interfaces at device index 0", string(testPlan{res: vpcAndSubnets(
			tres{typ: "aws_instance", name: "i", exprs: map[string]any{"subnet_id": idOf("aws_subnet.a")}},
			tres{typ: "aws_network_interface", name: "n", exprs: map[string]any{"subnet_id": idOf("aws_subnet.b")}},
			tres{typ: "aws_network_interface_attachment", name: "att", values: map[string]any{"device_index": 0}, exprs: map[string]any{"instance_id": idOf("aws_instance.i"), "network_interface_id": idOf("aws_network_interface.n")}})}.json(t)),
			[]string{"p.json: aws_network_interface.n: takes device index 0 of instance aws_instance.i, which another interface (its own subnet_id's) already has"}},
		{"an instance in the default VPC", string(testPlan{res: vpcAndSubnets(tres{typ: "aws_instance", name: "i", exprs: map[string]any{}})}.json(t)),
			[]string{"aws_instance.i: subnet_id is not set", "default VPC"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Import("p.json", []byte(c.data), Options{})
			if err == nil {
				t.Fatalf("no error; yaml:\n%s", res.YAML)
			}
			if !contains(err.Error(), c.want...) {
				t.Errorf("error %q\nwant it to contain %q", err, c.want)
			}
			if res != nil && res.YAML != nil {
				t.Errorf("an error, and YAML to write as well")
			}
		})
	}
}

func TestBadName(t *testing.T) {
	_, err := Import("p.json", testPlan{res: vpcAndSubnets()}.json(t), Options{Name: "My_Lab"})
	if err == nil || !contains(err.Error(), `scenario name "My_Lab"`, `"my-lab"`) {
		t.Errorf("got %v", err)
	}
}

// --partial writes what could be imported, and says so in the scenario.
func TestPartial(t *testing.T) {
	data := testPlan{res: vpcAndSubnets(tres{typ: "aws_security_group", name: "web", values: map[string]any{"name": "web"}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.gone")}},
		tres{typ: "aws_security_group_rule", name: "r", values: map[string]any{"type": "ingress", "protocol": "-1", "cidr_blocks": []any{"10.0.0.0/8"}}, exprs: map[string]any{"security_group_id": idOf("aws_security_group.web")}})}.json(t)
	res, err := Import("p.json", data, Options{Partial: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Scenario.Description, "PARTIAL import") || len(res.Report.Problems) != 1 || !res.Report.Problems[0].NotInPlan {
		t.Errorf("description %q, problems %v", res.Scenario.Description, res.Report.Problems)
	}
	if res.Scenario.VPC("main").Group("web") != nil {
		t.Error("the group whose VPC is unresolved was imported anyway")
	}
	if len(res.Report.Skipped) != 1 || res.Report.Skipped[0].Address != "aws_security_group_rule.r" || !strings.Contains(res.Report.Skipped[0].Text, "depends on a resource that was not imported") {
		t.Errorf("the rule of the group that was left out is not reported: %v", res.Report.Skipped)
	}
}

// A value written through a local (the terraform-aws-modules/vpc way: vpc_id = local.vpc_id) is
// taken to be the only resource that fits, and the report says so; with two that fit, it stays
// unresolved.
func TestUniqueFallback(t *testing.T) {
	subnet := tres{typ: "aws_subnet", name: "c", values: map[string]any{"cidr_block": "10.0.3.0/24"}, unknown: []string{"vpc_id"}, exprs: map[string]any{"vpc_id": refs("local.vpc_id")}}
	res, err := Import("u.json", testPlan{res: vpcAndSubnets(subnet)}.json(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scenario.Subnet("main/c") == nil {
		t.Fatal("subnet c not imported")
	}
	found := false
	for _, n := range res.Report.Notes {
		found = found || (n.Address == "aws_subnet.c" && contains(n.Text, "local.vpc_id", "taken to be aws_vpc.main, the only aws_vpc in the plan"))
	}
	if !found {
		t.Errorf("the guess is not reported: %v", res.Report.Notes)
	}
	two := append(vpcAndSubnets(subnet), tres{typ: "aws_vpc", name: "other", values: map[string]any{"cidr_block": "10.1.0.0/16"}, exprs: map[string]any{}})
	if _, err := Import("u.json", testPlan{res: two}.json(t), Options{}); err == nil || !contains(err.Error(), "aws_subnet.c: vpc_id references local.vpc_id") {
		t.Errorf("two VPCs: %v", err)
	}
}

// Attributes written as blocks (a group's ingress) have their references joined in the plan's
// configuration: one open rule takes them, two open rules naming two groups cannot be told apart.
func TestJoinedBlockReferences(t *testing.T) {
	sg := func(name string) tres {
		return tres{typ: "aws_security_group", name: name, values: map[string]any{"ingress": []any{}, "egress": []any{}}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}}
	}
	open := func(port int) map[string]any {
		return map[string]any{"protocol": "tcp", "from_port": port, "to_port": port, "cidr_blocks": []any{}, "self": false} // security_groups unknown: omitted
	}
	db := func(ingress []any, joinedRefs ...string) tres {
		return tres{typ: "aws_security_group", name: "db", values: map[string]any{"ingress": ingress, "egress": []any{}},
			exprs: map[string]any{"vpc_id": idOf("aws_vpc.main"), "ingress": refs(joinedRefs...)}}
	}
	one := vpcAndSubnets(sg("web"), sg("app"), db([]any{open(5432), map[string]any{"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": []any{"10.0.0.0/8"}, "security_groups": []any{}}},
		"aws_security_group.web.id", "aws_security_group.web", "aws_security_group.app.id", "aws_security_group.app"))
	res, err := Import("j.json", testPlan{res: one}.json(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := res.Scenario.VPC("main").Group("db")
	if !hasRule(g.Ingress, 6, 5432, 5432, "", "web") || !hasRule(g.Ingress, 6, 5432, 5432, "", "app") || !hasRule(g.Ingress, 6, 22, 22, "10.0.0.0/8", "") || len(g.Ingress) != 3 {
		t.Errorf("one open rule takes both groups, the known rule keeps its CIDR: %v", g.Ingress)
	}
	two := vpcAndSubnets(sg("web"), sg("app"), db([]any{open(5432), open(6379)},
		"aws_security_group.web.id", "aws_security_group.web", "aws_security_group.app.id", "aws_security_group.app"))
	if _, err := Import("j.json", testPlan{res: two}.json(t), Options{}); err == nil || !contains(err.Error(), "aws_security_group.db: ingress has 2 rules naming groups this plan creates") {
		t.Errorf("two open rules, two groups: %v", err)
	}
}
