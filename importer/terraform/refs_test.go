package tfimport

import (
	"errors"
	"reflect"
	"testing"
)

func TestSplitTraversal(t *testing.T) {
	for in, want := range map[string][]string{
		"aws_vpc.main.id":                      {"aws_vpc", "main", "id"},
		`module.net["a.b"].aws_subnet.x[0].id`: {"module", `net["a.b"]`, "aws_subnet", "x[0]", "id"},
		"module.net[0].module.inner.out":       {"module", "net[0]", "module", "inner", "out"},
		`data.aws_vpc.d.tags["Name"]`:          {"data", "aws_vpc", "d", `tags["Name"]`},
		`aws_subnet.x["k\"q"].id`:              {"aws_subnet", `x["k\"q"]`, "id"},
		"":                                     nil,
	} {
		if got := splitTraversal(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitTraversal(%q) = %q, want %q", in, got, want)
		}
	}
}

// refPlan is a plan with resources in the root and in module net (count and for_each), and a
// module sg that takes the VPC as a variable.
func refPlan(t *testing.T) *Plan {
	t.Helper()
	p := testPlan{
		calls: map[string]map[string]any{
			"net": {"cidr": constant("10.0.0.0/16")},
			"sg":  {"vpc_id": refs("module.net.vpc_id", "module.net"), "fixed": constant("vpc-0abc"), "flag": constant(true)},
		},
		outputs: map[string]map[string][]string{
			"net": {"vpc_id": {"aws_vpc.this.id", "aws_vpc.this"}, "subnet_ids": {"aws_subnet.s"}, "data_out": {"data.aws_vpc.x.id"}},
		},
		vars: map[string]any{"root_vpc": "vpc-0abc", "live": "vpc-0a1b2c"},
		res: []tres{
			{module: "module.net", typ: "aws_vpc", name: "this", values: map[string]any{"cidr_block": "10.0.0.0/16"}, exprs: map[string]any{}},
			{module: "module.net", typ: "aws_subnet", name: "s", index: 0.0, exprs: map[string]any{"vpc_id": idOf("aws_vpc.this")}},
			{module: "module.net", typ: "aws_subnet", name: "s", index: 1.0},
			{module: "module.net", typ: "aws_subnet", name: "f", index: "a", exprs: map[string]any{}},
			{module: "module.net", typ: "aws_subnet", name: "f", index: "b"},
			{module: "module.sg", typ: "aws_security_group", name: "g", exprs: map[string]any{}},
			{typ: "aws_instance", name: "i", index: 1.0, exprs: map[string]any{}},
			{typ: "aws_route_table_association", name: "fe", index: "b", exprs: map[string]any{}, forEach: []string{"module.net.f_ids"}},
			{typ: "aws_vpc", name: "existing", values: map[string]any{"id": "vpc-0a1b2c", "default_route_table_id": "rtb-0a1b2c"}, exprs: map[string]any{}},
		},
	}
	plan, err := Read("refs.json", p.json(t))
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestResolveReferences(t *testing.T) {
	p := refPlan(t)
	rv := resolver{p: p}
	cases := []struct {
		name      string
		from      string // the resource the expression belongs to
		expr      map[string]any
		value     any
		many      bool
		want      []string
		notInPlan bool // when want is nil: the kind of error
	}{
		{"resource in the same module", `module.net.aws_subnet.s[0]`, idOf("aws_vpc.this"), nil, false, []string{"module.net.aws_vpc.this"}, false},
		{"module output", "aws_instance.i[1]", refs("module.net.vpc_id", "module.net"), nil, false, []string{"module.net.aws_vpc.this"}, false},
		{"module variable fed by another module's output", "module.sg.aws_security_group.g", refs("var.vpc_id"), nil, false, []string{"module.net.aws_vpc.this"}, false},
		{"list output picked by count.index", "aws_instance.i[1]", refs("module.net.subnet_ids", "module.net", "count.index"), nil, false, []string{"module.net.aws_subnet.s[1]"}, false},
		{"list output picked by a literal index", "aws_instance.i[1]", refs("module.net.subnet_ids[0]", "module.net.subnet_ids", "module.net"), nil, false, []string{"module.net.aws_subnet.s[0]"}, false},
		{"explicit index wins over the implied bare reference", "aws_instance.i[1]", refs(`module.net.aws_subnet.f["b"].id`, `module.net.aws_subnet.f["b"]`, "module.net.aws_subnet.f"), nil, false, nil, true},
		{"splat into a list attribute", "aws_instance.i[1]", refs("module.net.subnet_ids", "module.net"), nil, true, []string{"module.net.aws_subnet.s[0]", "module.net.aws_subnet.s[1]"}, false},
		{"ambiguous count without an index", `aws_route_table_association.fe["b"]`, refs("module.net.subnet_ids", "module.net"), nil, false, nil, false},
		{"data source", "aws_instance.i[1]", refs("data.aws_vpc.d.id", "data.aws_vpc.d"), nil, false, nil, true},
		{"data source behind a module output", "aws_instance.i[1]", refs("module.net.data_out", "module.net"), nil, false, nil, true},
		{"missing module output", "aws_instance.i[1]", refs("module.net.nope", "module.net"), nil, false, nil, true},
		{"module output seen from inside another module", "module.sg.aws_security_group.g", refs("module.net.vpc_id", "module.net"), nil, false, nil, true},
		{"a parameter variable beside a resource", "module.sg.aws_security_group.g", refs("var.flag", "var.vpc_id"), nil, false, []string{"module.net.aws_vpc.this"}, false},
		{"a local beside a resource", "aws_instance.i[1]", refs("local.x", "module.net.vpc_id", "module.net"), nil, false, []string{"module.net.aws_vpc.this"}, false},
		{"a data source beside a resource", "aws_instance.i[1]", refs("data.aws_vpc.d.id", "module.net.vpc_id", "module.net"), nil, false, nil, true},
		{"a parameter variable alone", "module.sg.aws_security_group.g", refs("var.flag"), nil, false, nil, true},
		{"local value", "aws_instance.i[1]", refs("local.vpc"), nil, false, nil, false},
		{"no reference and no value", "aws_instance.i[1]", nil, nil, false, nil, false},
		{"root variable holding the id of a resource of the plan", "aws_instance.i[1]", refs("var.live"), nil, false, []string{"aws_vpc.existing"}, false},
		{"known id of an existing resource", "aws_instance.i[1]", nil, "rtb-0a1b2c", false, []string{"aws_vpc.existing"}, false},
		{"known id not in the plan", "aws_instance.i[1]", nil, "vpc-0zzz", false, nil, true},
		{"module variable set to a constant id", "module.sg.aws_security_group.g", refs("var.fixed"), nil, false, nil, true},
		{"root variable with an id not in the plan", "aws_instance.i[1]", refs("var.root_vpc"), nil, false, nil, true},
		{"resource that does not exist", "aws_instance.i[1]", idOf("aws_vpc.nope"), nil, false, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := p.byAddr[c.from]
			if r == nil {
				t.Fatalf("no resource %s in the test plan", c.from)
			}
			got, err := rv.lookup(r, c.expr, c.value, c.many)
			var addrs []string
			for _, g := range got {
				addrs = append(addrs, g.Addr)
			}
			if c.want != nil {
				if err != nil || !reflect.DeepEqual(addrs, c.want) {
					t.Errorf("got %v, %v; want %v", addrs, err, c.want)
				}
				return
			}
			var re *refError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, %v; want a refError", addrs, err)
			}
			if re.notInPlan != c.notInPlan {
				t.Errorf("error %q: notInPlan %v, want %v", re, re.notInPlan, c.notInPlan)
			}
		})
	}
}

// each.value in a for_each resource follows the for_each collection, taking this instance's key.
func TestResolveEachValue(t *testing.T) {
	p := testPlan{res: []tres{
		{typ: "aws_vpc", name: "v", values: map[string]any{"cidr_block": "10.0.0.0/16"}, exprs: map[string]any{}},
		{typ: "aws_subnet", name: "s", index: "a", exprs: map[string]any{}},
		{typ: "aws_subnet", name: "s", index: "b"},
		{typ: "aws_route_table_association", name: "x", index: "b", exprs: map[string]any{"subnet_id": refs("each.value.id", "each.value")}, forEach: []string{"aws_subnet.s"}},
	}}
	plan, err := Read("e.json", p.json(t))
	if err != nil {
		t.Fatal(err)
	}
	r := plan.byAddr[`aws_route_table_association.x["b"]`]
	got, err := resolver{p: plan}.lookup(r, expression(r.cfgExprs(), "subnet_id"), nil, false)
	if err != nil || len(got) != 1 || got[0].Addr != `aws_subnet.s["b"]` {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestMatchBlock(t *testing.T) {
	blocks := []map[string]any{
		{"from_port": constant(22.0), "protocol": constant("tcp"), "cidr_blocks": constant([]any{"10.0.0.0/8"})},
		{"from_port": constant(5432.0), "protocol": constant("tcp"), "security_groups": idOf("aws_security_group.web")},
		{"from_port": constant(5432.0), "protocol": constant("tcp"), "security_groups": idOf("aws_security_group.app")},
	}
	used := make([]bool, len(blocks))
	first := matchBlock(map[string]any{"from_port": 5432.0, "protocol": "tcp"}, blocks, used)
	second := matchBlock(map[string]any{"from_port": "5432", "protocol": "tcp"}, blocks, used)
	none := matchBlock(map[string]any{"from_port": 5432.0, "protocol": "tcp"}, blocks, used)
	ssh := matchBlock(map[string]any{"from_port": 22.0, "protocol": "tcp", "cidr_blocks": []any{"10.0.0.0/8"}}, blocks, used)
	if first == nil || second == nil || none != nil || ssh == nil || references(first["security_groups"].(map[string]any))[0] != "aws_security_group.web.id" ||
		references(second["security_groups"].(map[string]any))[0] != "aws_security_group.app.id" {
		t.Errorf("first %v second %v third %v ssh %v", first, second, none, ssh)
	}
}
