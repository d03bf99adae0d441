package tfimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// SupportedMajors are the major versions of the plan JSON format this reader understands: 0
// (Terraform 0.12-0.15) and 1 (Terraform 1.x). Minor versions only add fields, which are ignored,
// as Terraform's format documentation asks of consumers.
var supportedMajors = []int{0, 1}

// rawPlan is the part of `terraform show -json` output that the importer reads.
type rawPlan struct {
	FormatVersion    *string `json:"format_version"`
	TerraformVersion string  `json:"terraform_version"`
	PlannedValues    *struct {
		RootModule *rawModule `json:"root_module"`
	} `json:"planned_values"`
	ResourceChanges []rawChange `json:"resource_changes"`
	Configuration   *struct {
		RootModule *cfgModule `json:"root_module"`
	} `json:"configuration"`
	Variables map[string]rawVar `json:"variables"`
}

type rawVar struct {
	Value any `json:"value"`
}

// rawModule is a module of planned_values: its resources and, recursively, its children.
type rawModule struct {
	Address      string        `json:"address"`
	Resources    []rawResource `json:"resources"`
	ChildModules []rawModule   `json:"child_modules"`
}

type rawResource struct {
	Address string         `json:"address"`
	Mode    string         `json:"mode"`
	Type    string         `json:"type"`
	Name    string         `json:"name"`
	Index   any            `json:"index"`
	Values  map[string]any `json:"values"`
}

type rawChange struct {
	Address       string `json:"address"`
	ModuleAddress string `json:"module_address"`
	Mode          string `json:"mode"`
	Type          string `json:"type"`
	Name          string `json:"name"`
	Index         any    `json:"index"`
	Change        struct {
		Actions      []string       `json:"actions"`
		After        map[string]any `json:"after"`
		AfterUnknown map[string]any `json:"after_unknown"`
	} `json:"change"`
}

// cfgModule is a module of the configuration: resources with their unevaluated expressions,
// calls of child modules and outputs.
type cfgModule struct {
	Resources   []cfgResource        `json:"resources"`
	ModuleCalls map[string]cfgCall   `json:"module_calls"`
	Outputs     map[string]cfgOutput `json:"outputs"`
}

type cfgResource struct {
	Address     string         `json:"address"`
	Mode        string         `json:"mode"`
	Type        string         `json:"type"`
	Name        string         `json:"name"`
	Expressions map[string]any `json:"expressions"`
	ForEach     map[string]any `json:"for_each_expression"`
}

type cfgCall struct {
	Source      string         `json:"source"`
	Expressions map[string]any `json:"expressions"`
	Module      *cfgModule     `json:"module"`
}

type cfgOutput struct {
	Expression map[string]any `json:"expression"`
}

// resource is one resource instance of the plan, with its planned values and the unknown ones.
type resource struct {
	Addr    string // absolute address: module.net.aws_subnet.a[0]
	Module  string // module instance address: module.net, "" for the root
	Type    string
	Name    string
	Index   any // nil, float64 (count) or string (for_each)
	Values  map[string]any
	Unknown map[string]any // after_unknown: the attributes known only after apply
	cfg     *cfgResource   // the configuration block, nil when the plan has none
}

// Plan is a read plan: its resource instances in a stable order, and the configuration that
// references are resolved through.
type Plan struct {
	File          string
	FormatVersion string
	resources     []*resource
	byAddr        map[string]*resource
	root          *cfgModule
	variables     map[string]rawVar
}

// Read parses the JSON of `terraform show -json` for a plan. Errors name the file, and for
// malformed JSON the line and column.
func Read(file string, data []byte) (*Plan, error) {
	var raw rawPlan
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonError(file, data, err)
	}
	if tok, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("%s:%s: unexpected %v after the plan object; want one JSON object, as `terraform show -json` writes", file, lineCol(data, dec.InputOffset()), tok)
	} else if !errors.Is(err, io.EOF) {
		return nil, jsonError(file, data, err)
	}
	if raw.FormatVersion == nil {
		return nil, fmt.Errorf("%s: no format_version: not the JSON of `terraform show -json PLANFILE`", file)
	}
	if err := checkVersion(*raw.FormatVersion); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if raw.PlannedValues == nil && raw.ResourceChanges == nil {
		return nil, fmt.Errorf("%s: no planned_values and no resource_changes: this is not a plan (the JSON of a state file, or of `terraform show -json` without a plan file?); run `terraform plan -out=tfplan && terraform show -json tfplan`", file)
	}
	p := &Plan{File: file, FormatVersion: *raw.FormatVersion, byAddr: map[string]*resource{}, variables: raw.Variables}
	if raw.Configuration != nil {
		p.root = raw.Configuration.RootModule
	}
	if raw.PlannedValues != nil && raw.PlannedValues.RootModule != nil {
		p.addModule(raw.PlannedValues.RootModule, "")
	}
	for i := range raw.ResourceChanges {
		p.addChange(&raw.ResourceChanges[i])
	}
	sort.SliceStable(p.resources, func(i, j int) bool { return p.resources[i].Addr < p.resources[j].Addr })
	for _, r := range p.resources {
		r.cfg = p.configOf(r)
	}
	return p, nil
}

func checkVersion(v string) error {
	majorStr, _, _ := strings.Cut(v, ".")
	major, err := strconv.Atoi(majorStr)
	for _, m := range supportedMajors {
		if err == nil && major == m {
			return nil
		}
	}
	return fmt.Errorf("format_version %q is not supported: this importer reads plan JSON of format versions 0.x and 1.x (Terraform 0.12 and later); a new major version changes the format incompatibly", v)
}

// jsonError turns a decoding error into file:line:col: message.
func jsonError(file string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		// Offset counts the offending byte too: point at it.
		return fmt.Errorf("%s:%s: malformed JSON: %v", file, lineCol(data, max(syn.Offset-1, 0)), syn)
	case errors.As(err, &typ):
		return fmt.Errorf("%s:%s: %s is a JSON %s; want %s", file, lineCol(data, typ.Offset), fieldName(typ.Field), typ.Value, typ.Type)
	case err.Error() == "unexpected EOF" || err.Error() == "EOF":
		return fmt.Errorf("%s:%s: malformed JSON: the file ends inside a value", file, lineCol(data, int64(len(data))))
	}
	return fmt.Errorf("%s: malformed JSON: %v", file, err)
}

func fieldName(f string) string {
	if f == "" {
		return "the plan"
	}
	return f
}

// lineCol gives the 1-based line and column of a byte offset.
func lineCol(data []byte, off int64) string {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col := 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return strconv.Itoa(line) + ":" + strconv.Itoa(col)
}

func (p *Plan) addModule(m *rawModule, module string) {
	for i := range m.Resources {
		r := &m.Resources[i]
		if r.Mode != "" && r.Mode != "managed" {
			continue
		}
		p.add(&resource{Addr: r.Address, Module: module, Type: r.Type, Name: r.Name, Index: r.Index, Values: r.Values})
	}
	for i := range m.ChildModules {
		p.addModule(&m.ChildModules[i], m.ChildModules[i].Address)
	}
}

// addChange merges a resource change: its after values fill what planned_values omitted, and its
// after_unknown says which attributes are known only after apply. Resources only being deleted
// are not part of the planned network.
func (p *Plan) addChange(c *rawChange) {
	if c.Mode != "" && c.Mode != "managed" {
		return
	}
	if len(c.Change.Actions) == 1 && c.Change.Actions[0] == "delete" {
		if r := p.byAddr[c.Address]; r != nil {
			r.Values = nil // planned_values never lists it; be safe if a hand-made plan does
		}
		return
	}
	r := p.byAddr[c.Address]
	if r == nil {
		r = &resource{Addr: c.Address, Module: c.ModuleAddress, Type: c.Type, Name: c.Name, Index: c.Index}
		p.add(r)
	}
	if r.Values == nil {
		r.Values = map[string]any{}
	}
	for k, v := range c.Change.After {
		if _, ok := r.Values[k]; !ok || r.Values[k] == nil {
			r.Values[k] = v
		}
	}
	r.Unknown = c.Change.AfterUnknown
}

func (p *Plan) add(r *resource) {
	if r.Values == nil {
		r.Values = map[string]any{}
	}
	if old := p.byAddr[r.Addr]; old != nil {
		return
	}
	p.byAddr[r.Addr] = r
	p.resources = append(p.resources, r)
}

// configOf finds the configuration block of a resource instance: module instance keys and the
// resource's own index are not part of configuration addresses.
func (p *Plan) configOf(r *resource) *cfgResource {
	m := p.configModule(r.Module)
	if m == nil {
		return nil
	}
	for i := range m.Resources {
		c := &m.Resources[i]
		if c.Type == r.Type && c.Name == r.Name && (c.Mode == "" || c.Mode == "managed") {
			return c
		}
	}
	return nil
}

// configModule walks the configuration to a module instance address (module.a["x"].module.b).
func (p *Plan) configModule(module string) *cfgModule {
	m := p.root
	for _, seg := range moduleSegments(module) {
		if m == nil {
			return nil
		}
		call, ok := m.ModuleCalls[seg.name]
		if !ok {
			return nil
		}
		m = call.Module
	}
	return m
}

// moduleSeg is one step of a module instance address: module NAME, with its instance key.
type moduleSeg struct {
	name string
	key  string // "" when the call has no count or for_each; else the key as written: 0, "a"
}

// moduleSegments splits "module.a[0].module.b" into its steps.
func moduleSegments(module string) []moduleSeg {
	var segs []moduleSeg
	parts := splitTraversal(module)
	for i := 0; i+1 < len(parts); i += 2 {
		if parts[i] != "module" {
			break
		}
		name, key := cutKey(parts[i+1])
		segs = append(segs, moduleSeg{name, key})
	}
	return segs
}

// cutKey splits `name[key]` into name and key (quotes kept: `"a"`).
func cutKey(s string) (string, string) {
	if i := strings.IndexByte(s, '['); i >= 0 && strings.HasSuffix(s, "]") {
		return s[:i], s[i+1 : len(s)-1]
	}
	return s, ""
}

// splitTraversal splits an address or reference at the dots that are not inside brackets.
func splitTraversal(s string) []string {
	var parts []string
	depth, start := 0, 0
	inStr := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inStr:
			if c == '\\' {
				i++
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '.' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		parts = append(parts, s[start:])
	}
	return parts
}

// keyString renders a resource index as it appears inside brackets of an address.
func keyString(idx any) string {
	switch v := idx.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprint(idx)
}
