package tfimport

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ec2sim/ec2sim/scenarios"
)

// FuzzImport feeds arbitrary bytes to the reader and the builder: nothing may panic, and
// whatever is accepted must be YAML that loads.
func FuzzImport(f *testing.F) {
	// Small hand-made plans: the fuzzer's mutator slows to a crawl on inputs the size of the
	// fixtures (tens of kilobytes), which TestFixturesImportAndLoad covers.
	for _, p := range []testPlan{
		{res: vpcAndSubnets()},
		{res: vpcAndSubnets(
			tres{typ: "aws_security_group", name: "g", values: map[string]any{"ingress": []any{map[string]any{"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": []any{"10.0.0.0/8"}}}}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}},
			tres{typ: "aws_instance", name: "i", values: map[string]any{"private_ip": "10.0.1.10"}, exprs: map[string]any{"subnet_id": idOf("aws_subnet.a"), "vpc_security_group_ids": idOf("aws_security_group.g")}})},
		{calls: map[string]map[string]any{"m": {"v": idOf("aws_vpc.main")}}, outputs: map[string]map[string][]string{"m": {"s": {"aws_subnet.x"}}},
			res: vpcAndSubnets(tres{module: "module.m", typ: "aws_subnet", name: "x", index: 0.0, values: map[string]any{"cidr_block": "10.0.3.0/24"}, exprs: map[string]any{"vpc_id": refs("var.v")}},
				tres{typ: "aws_network_acl", name: "n", values: map[string]any{"egress": []any{map[string]any{"rule_no": 100, "action": "allow", "protocol": "-1", "cidr_block": "0.0.0.0/0"}}},
					exprs: map[string]any{"vpc_id": idOf("aws_vpc.main"), "subnet_ids": refs("module.m.s", "module.m")}})},
	} {
		var b bytes.Buffer
		if err := json.Compact(&b, p.json(f)); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	for _, s := range []string{
		`{}`, `[]`, `{"format_version": "1.2"}`, `{"format_version": "1.2", "planned_values": {"root_module": {}}}`,
		`{"format_version": "1.2", "resource_changes": [{"address": "aws_vpc.v", "type": "aws_vpc", "name": "v", "change": {"actions": ["create"], "after": {"cidr_block": "10.0.0.0/16"}}}]}`,
		`{"format_version": "0.1", "planned_values": {"root_module": {"resources": [{"address": "aws_subnet.s", "type": "aws_subnet", "name": "s", "values": {"vpc_id": "vpc-1"}}]}}}`,
		`{"format_version": "1.2", "planned_values": {}, "configuration": {"root_module": {"module_calls": {"m": {"module": {"outputs": {"o": {"expression": {"references": ["module.m.o"]}}}}}}}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Import("fuzz.json", data, Options{Name: "fuzz", Partial: true})
		if err != nil {
			return
		}
		if _, err := scenarios.Parse("fuzz.yaml", res.YAML); err != nil {
			t.Fatalf("accepted, but the YAML does not load: %v\n%s", err, res.YAML)
		}
	})
}
