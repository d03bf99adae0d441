package tfimport

import (
	"errors"
	"fmt"
	"strings"
)

// refError is a value that could not be tied to a resource of the plan. notInPlan: it names an
// object the plan does not create (a data source, a literal id, a root variable); otherwise it is
// merely unknown until apply with nothing in the configuration to follow.
type refError struct {
	msg       string
	notInPlan bool
	// soft: the reference is not to an object (a local, a parameter variable, a count without
	// its index); it matters only when no other reference of the expression names a resource.
	soft bool
}

func (e *refError) Error() string { return e.msg }

// maxRefDepth bounds how many module outputs and input variables one reference is followed
// through; configurations are acyclic, so this only guards against a malformed plan.
const maxRefDepth = 32

// parsedRef is one entry of an expression's references, split into its parts.
type parsedRef struct {
	kind  string // resource, module, var, data, local, skip
	typ   string // resource type, or the module call / variable name
	name  string // resource name, or the module output
	key   string // instance key as written inside brackets, "" when none
	elem  string // for a module output: the element taken from it (module.m.ids[0] -> 0)
	raw   string
	group string // what refs to the same object share, to drop the implied, less specific ones
}

func parseRef(s string) parsedRef {
	parts := splitTraversal(s)
	pr := parsedRef{raw: s, kind: "skip"}
	if len(parts) == 0 {
		return pr
	}
	head, _ := cutKey(parts[0])
	switch head {
	case "count", "each", "self", "path", "terraform":
		return pr
	case "local":
		pr.kind = "local"
		return pr
	case "var":
		if len(parts) > 1 {
			pr.kind, pr.typ = "var", strings.SplitN(parts[1], "[", 2)[0]
			pr.group = "var." + pr.typ
		}
		return pr
	case "data":
		pr.kind = "data"
		return pr
	case "module":
		if len(parts) < 3 {
			return pr // "module.foo" alone is implied by module.foo.OUTPUT
		}
		pr.kind = "module"
		pr.typ, pr.key = cutKey(parts[1])
		pr.name, pr.elem = cutKey(parts[2])
		pr.group = "module." + pr.typ + "." + pr.name
		return pr
	}
	if len(parts) < 2 || !strings.Contains(head, "_") {
		return pr
	}
	pr.kind = "resource"
	pr.typ = head
	pr.name, pr.key = cutKey(parts[1])
	pr.group = pr.typ + "." + pr.name
	return pr
}

// resolver follows configuration references to resource instances of a plan.
type resolver struct {
	p *Plan
	// byIndex, when set, collects the references that were resolved by the referring
	// resource's own index: right for aws_x.y[count.index], wrong for aws_x.y[count.index + 1],
	// and the plan's references do not tell the two apart, so the builder reports it.
	byIndex *[]string
}

// expression returns a resource's configuration expression for attr, or nil.
func expression(exprs map[string]any, attr string) map[string]any {
	if j, ok := exprs[joinedKey].(map[string]any); ok {
		return j
	}
	e, _ := exprs[attr].(map[string]any)
	return e
}

// expressionFor is expression for an attribute of a planned block: joined references only
// stand for what the block does not know, since a known value is the value.
func expressionFor(exprs, vals map[string]any, attr string) map[string]any {
	if joined(exprs) && vals[attr] != nil {
		return nil
	}
	return expression(exprs, attr)
}

// lookup resolves one attribute of r that should name other resources: first through the
// configuration's references (in r's module, with r's index for count.index and each.key), then
// by a known id among the plan's existing resources. many: the attribute is a list (security
// groups, subnet ids), so a reference to a counted resource without an index means all its
// instances.
func (rv resolver) lookup(r *resource, expr map[string]any, value any, many bool) ([]*resource, error) {
	if refs := references(expr); len(refs) > 0 {
		if r.cfg != nil && r.cfg.ForEach != nil && hasEachValue(refs) {
			// for_each = aws_subnet.public with subnet_id = each.value.id: the instance of
			// the for_each collection with this resource's own key, exactly
			rv.byIndex = nil
			return rv.resolveRefs(r.Module, r.Index, references(r.cfg.ForEach), many, true, 0)
		}
		return rv.resolveRefs(r.Module, r.Index, refs, many, false, 0)
	}
	ids := idStrings(value)
	if len(ids) == 0 {
		return nil, &refError{msg: "is known only after apply, and the configuration has no reference to follow"}
	}
	var out []*resource
	for _, id := range ids {
		t := rv.byID(id)
		if t == nil {
			return nil, &refError{msg: fmt.Sprintf("is %q, an object that is not in the plan (an existing resource or a data source): only objects the plan creates or manages can be imported", id), notInPlan: true}
		}
		out = append(out, t)
	}
	return out, nil
}

// byID finds a resource of the plan whose known id (or VPC default object id) is id.
func (rv resolver) byID(id string) *resource {
	for _, r := range rv.p.resources {
		for _, attr := range []string{"id", "default_route_table_id", "main_route_table_id", "default_network_acl_id", "default_security_group_id", "allocation_id"} {
			if s, ok := r.Values[attr].(string); ok && s == id {
				return r
			}
		}
	}
	return nil
}

func idStrings(v any) []string {
	switch v := v.(type) {
	case string:
		if v != "" {
			return []string{v}
		}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func references(expr map[string]any) []string {
	list, _ := expr["references"].([]any)
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// resolveRefs resolves the references of one expression written in module instance module.
// self is the index of the resource (or module instance) the expression belongs to; indexed
// says the expression picks by it (count.index, each.key, or an element of a module output), so
// that a counted reference means one instance, not all.
func (rv resolver) resolveRefs(module string, self any, refs []string, many, indexed bool, depth int) ([]*resource, error) {
	if depth > maxRefDepth {
		return nil, &refError{msg: "references nest deeper than " + fmt.Sprint(maxRefDepth) + " module levels"}
	}
	var parsed []parsedRef
	keyed := map[string]bool{}
	for _, s := range refs {
		if strings.HasPrefix(s, "count.index") || strings.HasPrefix(s, "each.key") {
			indexed = true
		}
		pr := parseRef(s)
		parsed = append(parsed, pr)
		if pr.key != "" || pr.elem != "" {
			keyed[pr.group] = true
		}
	}
	var out []*resource
	seen := map[*resource]bool{}
	var hardErr, softErr error
	for _, pr := range parsed {
		if pr.kind == "skip" || (pr.key == "" && pr.elem == "" && keyed[pr.group]) {
			continue
		}
		got, err := rv.resolveOne(module, self, pr, many, indexed, depth)
		if err != nil {
			var re *refError
			switch {
			case errors.As(err, &re) && re.soft:
				if softErr == nil {
					softErr = err
				}
			case hardErr == nil:
				hardErr = err
			}
			continue
		}
		for _, t := range got {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	switch {
	case hardErr != nil:
		// one reference leads outside the plan: which one the value takes is not known
		return out, hardErr
	case len(out) == 0 && softErr != nil:
		return nil, softErr
	case len(out) == 0:
		return nil, &refError{msg: fmt.Sprintf("references %s, none of which is a resource", strings.Join(refs, ", "))}
	}
	return out, nil
}

func (rv resolver) resolveOne(module string, self any, pr parsedRef, many, indexed bool, depth int) ([]*resource, error) {
	switch pr.kind {
	case "data":
		return nil, &refError{msg: fmt.Sprintf("references %s, a data source: it reads an existing object that is not in the plan", pr.raw), notInPlan: true}
	case "local":
		return nil, &refError{msg: fmt.Sprintf("references %s: the plan's JSON has no expressions of locals to follow", pr.raw), soft: true}
	case "var":
		return rv.variable(module, pr, many, depth)
	case "module":
		child := join(module, "module."+pr.typ+bracket(pr.key))
		m := rv.p.configModule(child)
		out, ok := m.outputExpr(pr.name)
		if !ok {
			return nil, &refError{msg: fmt.Sprintf("references %s, but module %s has no output %q in the configuration", pr.raw, pr.typ, pr.name), notInPlan: true}
		}
		// An element of a list output (module.net.subnet_ids[0]) or the caller's own index
		// (module.net.subnet_ids[count.index]) picks among the output's instances.
		if pr.elem != "" {
			// a literal element: exact, nothing to report
			self, indexed, rv.byIndex = unquoteKey(pr.elem), true, nil
		}
		return rv.resolveRefs(child, self, references(out), many, indexed, depth+1)
	}
	var all []*resource
	for _, r := range rv.p.resources {
		if r.Type == pr.typ && r.Name == pr.name && moduleMatch(r.Module, module) && (pr.key == "" || keyString(r.Index) == pr.key) {
			all = append(all, r)
		}
	}
	where := ""
	if module != "" {
		where = " in " + module
	}
	switch {
	case len(all) == 0:
		return nil, &refError{msg: fmt.Sprintf("references %s%s, which is not in the plan", pr.raw, where), notInPlan: true}
	case len(all) == 1, many && !indexed:
		return all, nil
	}
	if self != nil && indexed {
		for _, r := range all {
			if keyString(r.Index) == keyString(self) {
				if rv.byIndex != nil {
					*rv.byIndex = append(*rv.byIndex, pr.typ+"."+pr.name)
				}
				return []*resource{r}, nil
			}
		}
	}
	return nil, &refError{msg: fmt.Sprintf("references %s%s, which has %d instances, and which one is chosen is computed at apply", pr.raw, where, len(all)), soft: true}
}

// variable follows an input variable of a child module to the expression its module call
// passes; a root module variable holds a value given from outside, never a resource of the plan.
func (rv resolver) variable(module string, pr parsedRef, many bool, depth int) ([]*resource, error) {
	segs := moduleSegments(module)
	if len(segs) == 0 {
		v := rv.p.variables[pr.typ].Value
		if ids := idStrings(v); len(ids) > 0 && idLike(ids[0]) {
			var out []*resource
			for _, id := range ids {
				t := rv.byID(id)
				if t == nil {
					return nil, &refError{msg: fmt.Sprintf("is the root variable %s = %q, an object that is not in the plan", pr.raw, id), notInPlan: true}
				}
				out = append(out, t)
			}
			return out, nil
		}
		return nil, &refError{msg: fmt.Sprintf("references %s, a root input variable: its value comes from outside the plan", pr.raw), notInPlan: true, soft: true}
	}
	parent := parentModule(module)
	last := segs[len(segs)-1]
	pm := rv.p.configModule(parent)
	if pm == nil {
		return nil, &refError{msg: fmt.Sprintf("references %s, but the configuration of %s is missing", pr.raw, module)}
	}
	expr := expression(pm.ModuleCalls[last.name].Expressions, pr.typ)
	if expr == nil {
		return nil, &refError{msg: fmt.Sprintf("references %s, which module call %s does not set (its default is a value, not a resource of the plan)", pr.raw, last.name), notInPlan: true, soft: true}
	}
	refs := references(expr)
	if len(refs) == 0 {
		if ids := idStrings(expr["constant_value"]); len(ids) > 0 && idLike(ids[0]) {
			return nil, &refError{msg: fmt.Sprintf("is %s = %q, an object that is not in the plan", pr.raw, ids[0]), notInPlan: true}
		}
		return nil, &refError{msg: fmt.Sprintf("references %s, which module call %s sets to a constant, not a resource", pr.raw, last.name), notInPlan: true, soft: true}
	}
	var self any
	if last.key != "" {
		self = unquoteKey(last.key)
	}
	return rv.resolveRefs(parent, self, refs, many, false, depth+1)
}

func (m *cfgModule) outputExpr(name string) (map[string]any, bool) {
	if m == nil {
		return nil, false
	}
	o, ok := m.Outputs[name]
	return o.Expression, ok
}

// moduleMatch reports whether a resource's module instance address matches the module a
// reference is resolved in; a module step written without a key there matches any key.
func moduleMatch(have, want string) bool {
	hs, ws := moduleSegments(have), moduleSegments(want)
	if len(hs) != len(ws) {
		return false
	}
	for i := range hs {
		if hs[i].name != ws[i].name || (ws[i].key != "" && hs[i].key != ws[i].key) {
			return false
		}
	}
	return true
}

func parentModule(module string) string {
	segs := moduleSegments(module)
	var b strings.Builder
	for _, s := range segs[:len(segs)-1] {
		b.WriteString(join("", "module."+s.name+bracket(s.key)))
		b.WriteByte('.')
	}
	return strings.TrimSuffix(b.String(), ".")
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func bracket(key string) string {
	if key == "" {
		return ""
	}
	return "[" + key + "]"
}

// unquoteKey turns a key as written in an address back into an index value: "a" (quoted) is a
// for_each key, 0 a count index.
func unquoteKey(k string) any {
	if strings.HasPrefix(k, `"`) {
		return strings.Trim(k, `"`)
	}
	var f float64
	if _, err := fmt.Sscan(k, &f); err == nil {
		return f
	}
	return k
}

// joinedKey marks the expressions of an element of a set of attributes written as blocks.
const joinedKey = "\x00joined"

// blockSet is the configuration of a resource's set of nested blocks. True nested blocks
// (network_interface, attachment) have expressions per block. The AWS provider's attributes
// written as blocks (a group's ingress and egress, a table's route, an ACL's ingress and egress)
// have one expression: constant blocks when nothing in them is a reference, or else only the
// references of all the blocks together (Terraform joins them), which joined holds.
type blockSet struct {
	blocks []map[string]any
	used   []bool
	joined map[string]any
}

func configBlocks(exprs map[string]any, block string) *blockSet {
	bs := &blockSet{}
	switch v := exprs[block].(type) {
	case []any:
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				bs.blocks = append(bs.blocks, m)
			}
		}
	case map[string]any:
		if _, ok := v["references"]; ok {
			bs.joined = v
			break
		}
		if list, ok := v["constant_value"].([]any); ok {
			for _, e := range list {
				if m, ok := e.(map[string]any); ok {
					blk := map[string]any{}
					for k, x := range m {
						blk[k] = map[string]any{"constant_value": x}
					}
					bs.blocks = append(bs.blocks, blk)
				}
			}
			break
		}
		bs.blocks = append(bs.blocks, v) // a single nested block
	}
	bs.used = make([]bool, len(bs.blocks))
	return bs
}

// match gives the expressions a planned element came from: its own block's, or the joined
// references, which expression hands out for every attribute the element does not know.
func (bs *blockSet) match(elem map[string]any) map[string]any {
	if bs.joined != nil {
		return map[string]any{joinedKey: bs.joined}
	}
	return matchBlock(elem, bs.blocks, bs.used)
}

func joined(exprs map[string]any) bool { return exprs[joinedKey] != nil }

// matchBlock picks the configuration block that an element of a planned set of blocks came from.
// Sets have no order, so blocks are matched by their constant arguments (ports, protocol,
// CIDRs); among equal candidates, the first unused one is taken.
func matchBlock(elem map[string]any, blocks []map[string]any, used []bool) map[string]any {
	for i, b := range blocks {
		if used[i] || !sameConstants(elem, b) {
			continue
		}
		used[i] = true
		return b
	}
	return nil
}

func sameConstants(elem, block map[string]any) bool {
	for k, e := range block {
		em, ok := e.(map[string]any)
		if !ok {
			continue
		}
		c, ok := em["constant_value"]
		if !ok {
			continue
		}
		if fmt.Sprint(normalizeConst(c)) != fmt.Sprint(normalizeConst(elem[k])) {
			return false
		}
	}
	return true
}

// normalizeConst makes a constant and a planned value comparable: an empty list and null are the
// same, and numbers given as strings ("443") equal numbers.
func normalizeConst(v any) any {
	switch v := v.(type) {
	case nil:
		return "[]"
	case []any:
		if len(v) == 0 {
			return "[]"
		}
	case string:
		var f float64
		if _, err := fmt.Sscan(v, &f); err == nil && fmt.Sprint(f) == v {
			return f
		}
	}
	return v
}

// hasEachValue reports whether an expression is written with each.value, and with nothing else
// that could name a resource.
func hasEachValue(refs []string) bool {
	each := false
	for _, s := range refs {
		switch pr := parseRef(s); {
		case strings.HasPrefix(s, "each.value"):
			each = true
		case pr.kind != "skip":
			return false
		}
	}
	return each
}

// idPrefixes are the prefixes of the EC2 ids that network attributes hold.
var idPrefixes = []string{"vpc", "subnet", "sg", "rtb", "acl", "igw", "nat", "eipalloc", "eni", "i", "pcx", "tgw", "vgw", "pl", "vpce", "eigw", "cagw", "lgw"}

// idLike reports whether a variable's value looks like an EC2 id (vpc-0abc...), as opposed to
// a parameter such as a flag or a name.
func idLike(s string) bool {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 || i == len(s)-1 {
		return false
	}
	for _, p := range idPrefixes {
		if s[:i] == p {
			for _, c := range s[i+1:] {
				if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
					return false
				}
			}
			return true
		}
	}
	return false
}
