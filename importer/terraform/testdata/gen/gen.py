# Generates the plan fixtures of importer/terraform in the shape of `terraform show -json`:
#   cd importer/terraform/testdata && for f in basic modules peering twotier; do python3 gen/$f.py > $f.json; done
# Generates realistic `terraform show -json` plan fixtures for importer/terraform tests.
import json, sys

class Plan:
    def __init__(self):
        self.modules = {}   # module addr ("" root) -> list of planned resources
        self.changes = []
        self.cfg = {"provider_config": {"aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws",
                     "expressions": {"region": {"constant_value": "eu-west-1"}}}},
                    "root_module": {"resources": []}}
    def cfgmod(self, path):
        m = self.cfg["root_module"]
        for name in path:
            m = m.setdefault("module_calls", {})[name]["module"]
        return m
    def call(self, parent, name, source, exprs, count=None):
        m = self.cfgmod(parent)
        c = {"source": source, "expressions": exprs, "module": {"resources": []}}
        if count is not None:
            c["count_expression"] = {"constant_value": count}
        m.setdefault("module_calls", {})[name] = c
    def output(self, path, name, refs):
        self.cfgmod(path).setdefault("outputs", {})[name] = {"expression": {"references": refs}}
    def config(self, path, typ, name, exprs, count=None, for_each=None):
        c = {"address": f"{typ}.{name}", "mode": "managed", "type": typ, "name": name,
             "provider_config_key": "aws" if not path else path[-1] + ":aws", "expressions": exprs, "schema_version": 1}
        if count is not None:
            c["count_expression"] = {"constant_value": count} if isinstance(count, int) else {"references": count}
        if for_each is not None:
            c["for_each_expression"] = {"references": for_each}
        self.cfgmod(path)["resources"].append(c)
    def res(self, typ, name, values, unknown=(), module="", index=None, exprs=None, path=None, count=None, actions=("create",), for_each=None):
        if exprs is not None:
            exprs = joinattrs(typ, exprs)
        addr = f"{typ}.{name}"
        if index is not None:
            addr += f"[{json.dumps(index)}]"
        if module:
            addr = module + "." + addr
        unk = {}
        for u in list(unknown) + ["id", "arn"]:
            unk[u] = True
        v = {k: x for k, x in values.items()}
        r = {"address": addr, "mode": "managed", "type": typ, "name": name,
             "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 1,
             "values": v, "sensitive_values": {}}
        if index is not None:
            r["index"] = index
        if actions != ("delete",):
            self.modules.setdefault(module, []).append(r)
        ch = {"address": addr, "mode": "managed", "type": typ, "name": name,
              "provider_name": "registry.terraform.io/hashicorp/aws",
              "change": {"actions": list(actions), "before": v if actions == ("delete",) else None, "after": None if actions == ("delete",) else v, "after_unknown": {} if actions == ("delete",) else unk,
                         "before_sensitive": False, "after_sensitive": {}}}
        if module:
            ch["module_address"] = module
        if index is not None:
            ch["index"] = index
        self.changes.append(ch)
        if exprs is not None:
            self.config(path or [], typ, name, exprs, count, for_each)
        return addr
    def dump(self, version="1.2"):
        def mod(addr):
            m = {"resources": self.modules.get(addr, [])}
            kids = sorted(a for a in self.modules if a and a != addr and a.startswith(addr + ".module." if addr else "module.")
                          and a.count("module.") == addr.count("module.") + 1)
            if kids:
                m["child_modules"] = [dict(address=k, **mod(k)) for k in kids]
            return m
        out = {"format_version": version, "terraform_version": "1.9.5",
               "planned_values": {"root_module": mod("")},
               "resource_changes": self.changes,
               "configuration": self.cfg,
               "timestamp": "2026-11-20T10:00:00Z", "errored": False}
        return json.dumps(out, indent=2) + "\n"

def ref(*r): return {"references": list(r)}
def const(v): return {"constant_value": v}
def idref(a): return ref(a + ".id", a)


# The AWS provider's attributes written as blocks: Terraform's configuration JSON gives them as one
# expression, either constant blocks or the references of all blocks joined.
ATTR_BLOCKS = {"aws_security_group": ["ingress", "egress"], "aws_default_security_group": ["ingress", "egress"],
               "aws_route_table": ["route"], "aws_default_route_table": ["route"],
               "aws_network_acl": ["ingress", "egress"], "aws_default_network_acl": ["ingress", "egress"]}

def joinattrs(typ, exprs):
    out = dict(exprs)
    for attr in ATTR_BLOCKS.get(typ, []):
        blocks = exprs.get(attr)
        if not isinstance(blocks, list):
            continue
        refs = []
        for b in blocks:
            for e in b.values():
                for r in e.get("references", []):
                    if r not in refs:
                        refs.append(r)
        if refs:
            out[attr] = {"references": refs}
        else:
            out[attr] = {"constant_value": [{k: e["constant_value"] for k, e in b.items()} for b in blocks]}
    return out
