package tfimport

import (
	"encoding/json"
	"strings"
	"testing"
)

// tres is one resource of a hand-made test plan.
type tres struct {
	module  string // "module.net", "" for root
	typ     string
	name    string
	index   any
	values  map[string]any
	unknown []string
	exprs   map[string]any // nil: no configuration block (only for extra instances of one resource)
	forEach []string
}

// refs is a configuration expression with references.
func refs(r ...string) map[string]any {
	l := make([]any, len(r))
	for i, s := range r {
		l[i] = s
	}
	return map[string]any{"references": l}
}

func constant(v any) map[string]any { return map[string]any{"constant_value": v} }

// idOf is the reference list Terraform writes for ADDR.id.
func idOf(addr string) map[string]any { return refs(addr+".id", addr) }

// testPlan is a plan in the shape of `terraform show -json`.
type testPlan struct {
	version string
	res     []tres
	calls   map[string]map[string]any // module call name -> expressions
	outputs map[string]map[string][]string
	vars    map[string]any
}

func (p testPlan) json(t testing.TB) []byte {
	t.Helper()
	mods := map[string][]any{}
	var changes []any
	root := map[string]any{"resources": []any{}}
	cfgMod := func(module string) map[string]any {
		m := root
		for _, seg := range moduleSegments(module) {
			calls, _ := m["module_calls"].(map[string]any)
			if calls == nil {
				calls = map[string]any{}
				m["module_calls"] = calls
			}
			c, _ := calls[seg.name].(map[string]any)
			if c == nil {
				c = map[string]any{"source": "./" + seg.name, "expressions": p.calls[seg.name], "module": map[string]any{"resources": []any{}}}
				if outs := p.outputs[seg.name]; outs != nil {
					o := map[string]any{}
					for k, r := range outs {
						o[k] = map[string]any{"expression": refs(r...)}
					}
					c["module"].(map[string]any)["outputs"] = o
				}
				calls[seg.name] = c
			}
			m = c["module"].(map[string]any)
		}
		return m
	}
	for _, r := range p.res {
		addr := r.typ + "." + r.name
		if k := keyString(r.index); k != "" {
			addr += "[" + k + "]"
		}
		if r.module != "" {
			addr = r.module + "." + addr
		}
		unk := map[string]any{"id": true}
		for _, u := range r.unknown {
			unk[u] = true
		}
		if r.values == nil {
			r.values = map[string]any{}
		}
		pr := map[string]any{"address": addr, "mode": "managed", "type": r.typ, "name": r.name, "provider_name": "registry.terraform.io/hashicorp/aws", "values": r.values, "sensitive_values": map[string]any{}}
		ch := map[string]any{"address": addr, "mode": "managed", "type": r.typ, "name": r.name, "change": map[string]any{"actions": []any{"create"}, "before": nil, "after": r.values, "after_unknown": unk}}
		if r.index != nil {
			pr["index"], ch["index"] = r.index, r.index
		}
		if r.module != "" {
			ch["module_address"] = r.module
		}
		mods[r.module] = append(mods[r.module], pr)
		changes = append(changes, ch)
		if r.exprs != nil {
			m := cfgMod(r.module)
			c := map[string]any{"address": r.typ + "." + r.name, "mode": "managed", "type": r.typ, "name": r.name, "expressions": r.exprs}
			if r.forEach != nil {
				c["for_each_expression"] = refs(r.forEach...)
			}
			m["resources"] = append(m["resources"].([]any), c)
		}
	}
	for name := range p.calls {
		cfgMod("module." + name)
	}
	rootVals := map[string]any{"resources": mods[""]}
	var kids []any
	for m, rs := range mods {
		if m != "" {
			kids = append(kids, map[string]any{"address": m, "resources": rs})
		}
	}
	if kids != nil {
		rootVals["child_modules"] = kids
	}
	v := p.version
	if v == "" {
		v = "1.2"
	}
	vars := map[string]any{}
	for k, x := range p.vars {
		vars[k] = map[string]any{"value": x}
	}
	out := map[string]any{"format_version": v, "terraform_version": "1.9.5", "variables": vars,
		"planned_values": map[string]any{"root_module": rootVals}, "resource_changes": changes,
		"configuration": map[string]any{"root_module": root}}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vpcAndSubnets is a VPC with two subnets, the base of many test plans.
func vpcAndSubnets(extra ...tres) []tres {
	return append([]tres{
		{typ: "aws_vpc", name: "main", values: map[string]any{"cidr_block": "10.0.0.0/16"}, exprs: map[string]any{}},
		{typ: "aws_subnet", name: "a", values: map[string]any{"cidr_block": "10.0.1.0/24"}, unknown: []string{"vpc_id"}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}},
		{typ: "aws_subnet", name: "b", values: map[string]any{"cidr_block": "10.0.2.0/24"}, unknown: []string{"vpc_id"}, exprs: map[string]any{"vpc_id": idOf("aws_vpc.main")}},
	}, extra...)
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
