package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// jsonSchema is a small validator for the part of JSON Schema (2020-12) that the format's schema
// uses. It refuses schemas with other keywords, so the schema cannot quietly say more than the
// tests check.
type jsonSchema struct {
	root     map[string]any
	patterns map[string]*regexp.Regexp // compiled once: the fuzz test validates many documents
}

// schemaKeywords are the keywords the validator implements; annotations are accepted and ignored.
var schemaKeywords = map[string]bool{
	"$ref": true, "type": true, "properties": true, "additionalProperties": true, "required": true,
	"items": true, "enum": true, "const": true, "pattern": true, "minimum": true, "maximum": true,
	"minLength": true, "maxLength": true, "minItems": true, "maxItems": true, "propertyNames": true,
	"oneOf": true, "anyOf": true, "allOf": true, "not": true, "if": true, "then": true, "else": true,
	"$schema": false, "$id": false, "title": false, "description": false, "default": false, "$defs": false,
}

func loadSchema(t testing.TB) *jsonSchema {
	t.Helper()
	var root map[string]any
	require.NoError(t, json.Unmarshal(Schema(), &root))
	s := &jsonSchema{root: root, patterns: map[string]*regexp.Regexp{}}
	require.NoError(t, s.checkKeywords(root, "#"))
	return s
}

// checkKeywords walks a schema and refuses keywords the validator does not implement.
func (s *jsonSchema) checkKeywords(node any, path string) error {
	m, ok := node.(map[string]any)
	if !ok {
		if _, isBool := node.(bool); isBool {
			return nil
		}
		return fmt.Errorf("%s: a schema must be an object or a boolean", path)
	}
	for k, v := range m {
		if _, known := schemaKeywords[k]; !known {
			return fmt.Errorf("%s: keyword %q is not implemented by the test validator", path, k)
		}
		var subs []any
		switch k {
		case "properties", "$defs":
			for _, sub := range v.(map[string]any) {
				subs = append(subs, sub)
			}
		case "additionalProperties", "items", "propertyNames", "not", "if", "then", "else":
			subs = append(subs, v)
		case "oneOf", "anyOf", "allOf":
			subs = v.([]any)
		}
		for _, sub := range subs {
			if err := s.checkKeywords(sub, path+"/"+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *jsonSchema) ref(r string) any {
	const prefix = "#/$defs/"
	if r == "#" {
		return s.root
	}
	if !strings.HasPrefix(r, prefix) {
		panic("unsupported $ref " + r)
	}
	def, ok := s.root["$defs"].(map[string]any)[strings.TrimPrefix(r, prefix)]
	if !ok {
		panic("dangling $ref " + r)
	}
	return def
}

func (s *jsonSchema) pattern(p string) *regexp.Regexp {
	re, ok := s.patterns[p]
	if !ok {
		re = regexp.MustCompile(p)
		s.patterns[p] = re
	}
	return re
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	panic(fmt.Sprintf("not a JSON value: %T", v))
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func jsonEqual(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return fmt.Sprint(a) == fmt.Sprint(b) && jsonType(a) == jsonType(b)
}

// validate returns the ways v breaks schema node, empty when it conforms.
func (s *jsonSchema) validate(node, v any, path string) []string {
	if b, ok := node.(bool); ok {
		if b {
			return nil
		}
		return []string{path + ": not allowed"}
	}
	m := node.(map[string]any)
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if r, ok := m["$ref"].(string); ok {
		errs = append(errs, s.validate(s.ref(r), v, path)...)
	}
	if t, ok := m["type"]; ok {
		got := jsonType(v)
		okType := false
		switch t := t.(type) {
		case string:
			okType = t == got || t == "number" && got == "integer"
		case []any:
			for _, x := range t {
				okType = okType || x == got || x == "number" && got == "integer"
			}
		}
		if !okType {
			fail("want type %v, got %s", t, got)
			return errs
		}
	}
	if e, ok := m["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || jsonEqual(x, v)
		}
		if !found {
			fail("%v is not one of %v", v, e)
		}
	}
	if c, ok := m["const"]; ok && !jsonEqual(c, v) {
		fail("%v is not %v", v, c)
	}
	if str, ok := v.(string); ok {
		if p, ok := m["pattern"].(string); ok && !s.pattern(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
		n := float64(utf8.RuneCountInString(str))
		if x, ok := m["minLength"].(float64); ok && n < x {
			fail("shorter than %v", x)
		}
		if x, ok := m["maxLength"].(float64); ok && n > x {
			fail("longer than %v", x)
		}
	}
	if n, ok := number(v); ok {
		if x, ok := m["minimum"].(float64); ok && n < x {
			fail("%v < minimum %v", n, x)
		}
		if x, ok := m["maximum"].(float64); ok && n > x {
			fail("%v > maximum %v", n, x)
		}
	}
	if arr, ok := v.([]any); ok {
		if x, ok := m["minItems"].(float64); ok && float64(len(arr)) < x {
			fail("fewer than %v items", x)
		}
		if x, ok := m["maxItems"].(float64); ok && float64(len(arr)) > x {
			fail("more than %v items", x)
		}
		if items, ok := m["items"]; ok {
			for i, x := range arr {
				errs = append(errs, s.validate(items, x, fmt.Sprintf("%s/%d", path, i))...)
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		props, _ := m["properties"].(map[string]any)
		if req, ok := m["required"].([]any); ok {
			for _, r := range req {
				if _, has := obj[r.(string)]; !has {
					fail("missing required %q", r)
				}
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if pn, ok := m["propertyNames"]; ok {
				errs = append(errs, s.validate(pn, k, path+"/"+k+"(name)")...)
			}
			if p, ok := props[k]; ok {
				errs = append(errs, s.validate(p, obj[k], path+"/"+k)...)
			} else if ap, ok := m["additionalProperties"]; ok {
				errs = append(errs, s.validate(ap, obj[k], path+"/"+k)...)
			}
		}
	}
	if all, ok := m["allOf"].([]any); ok {
		for _, sub := range all {
			errs = append(errs, s.validate(sub, v, path)...)
		}
	}
	if anyOf, ok := m["anyOf"].([]any); ok {
		matched := false
		for _, sub := range anyOf {
			matched = matched || len(s.validate(sub, v, path)) == 0
		}
		if !matched {
			fail("matches none of anyOf")
		}
	}
	if oneOf, ok := m["oneOf"].([]any); ok {
		n := 0
		for _, sub := range oneOf {
			if len(s.validate(sub, v, path)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf, want exactly 1", n)
		}
	}
	if not, ok := m["not"]; ok && len(s.validate(not, v, path)) == 0 {
		fail("matches a schema it must not")
	}
	if cond, ok := m["if"]; ok {
		if len(s.validate(cond, v, path)) == 0 {
			if then, ok := m["then"]; ok {
				errs = append(errs, s.validate(then, v, path)...)
			}
		} else if els, ok := m["else"]; ok {
			errs = append(errs, s.validate(els, v, path)...)
		}
	}
	return errs
}

// errTooBig stops the conversion of a document whose aliases expand too far.
var errTooBig = errors.New("document expands too far")

// yamlToJSON converts a YAML document the way a YAML-aware JSON schema checker sees it: by tag.
func yamlToJSON(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	budget := 100000
	var conv func(n *yaml.Node) (any, error)
	conv = func(n *yaml.Node) (any, error) {
		for n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if budget--; budget < 0 {
			return nil, errTooBig
		}
		switch n.Kind {
		case yaml.MappingNode:
			m := map[string]any{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				v, err := conv(n.Content[i+1])
				if err != nil {
					return nil, err
				}
				m[n.Content[i].Value] = v
			}
			return m, nil
		case yaml.SequenceNode:
			l := []any{}
			for _, c := range n.Content {
				v, err := conv(c)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			return l, nil
		}
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			return b, n.Decode(&b)
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				var f float64
				return f, n.Decode(&f)
			}
			return i, nil
		case "!!float":
			var f float64
			return f, n.Decode(&f)
		}
		return n.Value, nil
	}
	return conv(doc.Content[0])
}

func (s *jsonSchema) check(t *testing.T, data []byte) []string {
	t.Helper()
	v, err := yamlToJSON(data)
	require.NoError(t, err)
	return s.validate(s.root, v, "#")
}

// TestSchemaAgreesWithDecoder walks the decoder's field table and the schema's $defs together:
// the same object kinds, the same fields, the same required fields, and value schemas that accept
// and refuse what the decoder does.
func TestSchemaAgreesWithDecoder(t *testing.T) {
	s := loadSchema(t)
	defs := s.root["$defs"].(map[string]any)
	spec := formatSpec()

	assert.Equal(t, map[string]any{"$ref": "#/$defs/scenario"}, map[string]any{"$ref": s.root["$ref"]}, "the document is a scenario")
	for name, def := range defs {
		if _, isObject := def.(map[string]any)["properties"]; isObject {
			assert.Contains(t, spec, name, "schema $defs/%s is an object the decoder does not know", name)
		}
	}
	for kind, fields := range spec {
		def, ok := defs[kind].(map[string]any)
		if !assert.True(t, ok, "the schema has no $defs/%s", kind) {
			continue
		}
		assert.Equal(t, false, def["additionalProperties"], "$defs/%s must refuse unknown fields, as the decoder does", kind)
		props := def["properties"].(map[string]any)
		var specNames, schemaNames, specRequired, schemaRequired []string
		for _, f := range fields {
			specNames = append(specNames, f.name)
			if f.required {
				specRequired = append(specRequired, f.name)
			}
		}
		for name := range props {
			schemaNames = append(schemaNames, name)
		}
		if req, ok := def["required"].([]any); ok {
			for _, r := range req {
				schemaRequired = append(schemaRequired, r.(string))
			}
		}
		assert.ElementsMatch(t, specNames, schemaNames, "fields of %s: decoder vs schema", kind)
		assert.ElementsMatch(t, specRequired, schemaRequired, "required fields of %s: decoder vs schema", kind)
		for _, f := range fields {
			prop, ok := props[f.name]
			if !ok {
				continue
			}
			t.Run(kind+"."+f.name, func(t *testing.T) { s.checkFieldKind(t, f.kind, prop) })
		}
	}
}

// samples of each scalar kind: values the decoder accepts and values of a wrong type or form.
func scalarSamples(kind string) (good, bad []any) {
	switch kind {
	case "name":
		return []any{"web-1", "a"}, []any{"Web_1", int64(5), true}
	case "string", "text":
		return nil, []any{int64(5), true, []any{}, map[string]any{}}
	case "int":
		return []any{int64(5)}, []any{"5", true}
	case "bool":
		return []any{true, false}, []any{"yes", int64(1)}
	case "duration":
		return []any{"2s", "1500ms", "1m30s"}, []any{"2 seconds", int64(2)}
	case "cidr":
		return []any{"10.0.0.0/16", "2001:db8::/32"}, []any{int64(5), "10.0.0.0"}
	case "ip":
		return []any{"10.0.1.10", "2001:db8::1"}, []any{int64(5), "10.0.0.0/8"}
	case "proto":
		return []any{"tcp", "udp", "icmp", "icmpv6", "all", "-1", int64(-1), int64(6), "47", int64(255)}, []any{"tcpp", int64(256), true}
	case "ports":
		return []any{int64(80), "80", "1024-65535", "all"}, []any{true, "http", int64(70000)}
	case "icmp":
		return []any{int64(8), int64(-1), "all"}, []any{"8", true, int64(256)}
	case "number":
		return []any{int64(1), 2.5, int64(1000)}, []any{"2", true}
	case "size":
		return []any{int64(1048576), "512MiB", "2GiB", "1TiB", "4096"}, []any{"2GB", "2 GiB", true, int64(-1)}
	case "interval":
		return []any{int64(60), "60s", "10m", "5s"}, []any{"sixty", true, "60"}
	}
	panic("unknown scalar kind " + kind)
}

func (s *jsonSchema) checkFieldKind(t *testing.T, kind string, prop any) {
	shape, elem, composite := strings.Cut(kind, ":")
	_, elemIsObject := formatSpec()[elem]
	switch {
	case composite && elemIsObject:
		want := map[string]any{"$ref": "#/$defs/" + elem}
		p := prop.(map[string]any)
		switch shape {
		case "object":
			assert.Equal(t, want["$ref"], p["$ref"], "object field must refer to $defs/%s", elem)
		case "list":
			assert.Equal(t, "array", p["type"])
			assert.Equal(t, want, p["items"])
		case "map":
			assert.Equal(t, "object", p["type"])
			assert.Equal(t, want, p["additionalProperties"])
			assert.NotNil(t, p["propertyNames"], "map keys are names")
		default:
			t.Fatalf("unknown shape %q", shape)
		}
	case composite && shape == "map":
		// A map of scalars (a matrix's rows): keys are names, values of the element's kind.
		good, bad := scalarSamples(elem)
		for _, g := range good {
			assert.Empty(t, s.validate(prop, map[string]any{"a": g}, "#"), "map of %s must accept {a: %v}", elem, g)
		}
		for _, b := range bad {
			assert.NotEmpty(t, s.validate(prop, map[string]any{"a": b}, "#"), "map of %s must refuse {a: %v}", elem, b)
		}
		assert.NotEmpty(t, s.validate(prop, "x", "#"), "a map field must refuse a scalar")
	case composite:
		require.Equal(t, "list", shape)
		good, bad := scalarSamples(elem)
		for _, g := range good {
			assert.Empty(t, s.validate(prop, []any{g}, "#"), "list of %s must accept [%v]", elem, g)
		}
		for _, b := range bad {
			assert.NotEmpty(t, s.validate(prop, []any{b}, "#"), "list of %s must refuse [%v]", elem, b)
		}
		assert.NotEmpty(t, s.validate(prop, "x", "#"), "a list field must refuse a scalar")
	default:
		good, bad := scalarSamples(kind)
		for _, g := range good {
			assert.Empty(t, s.validate(prop, g, "#"), "%s must accept %v", kind, g)
		}
		for _, b := range bad {
			assert.NotEmpty(t, s.validate(prop, b, "#"), "%s must refuse %#v", kind, b)
		}
	}
}

// goodFiles are files that both the loader and the schema accept.
func goodFiles(t *testing.T) map[string][]byte {
	files := map[string][]byte{}
	paths, err := filepath.Glob("examples/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(paths), 3, "the examples are missing")
	suites, err := filepath.Glob("suites/*.yaml") // the bundled suites must load too
	require.NoError(t, err)
	paths = append(append(paths, suites...), "testdata/full.yaml")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		files[p] = data
	}
	return files
}

func TestExamplesValidateWithLoaderAndSchema(t *testing.T) {
	s := loadSchema(t)
	for path, data := range goodFiles(t) {
		t.Run(path, func(t *testing.T) {
			_, err := Load(path)
			require.NoError(t, err)
			assert.Empty(t, s.check(t, data), "the schema refuses %s", path)
		})
	}
}

// TestSchemaRefusesWhatTheDecoderRefuses: structural mistakes, which the schema can express,
// are refused by both.
func TestSchemaRefusesWhatTheDecoderRefuses(t *testing.T) {
	s := loadSchema(t)
	inst := func(body string) string { return vpcHead + "instances:\n  x: " + body + "\n" }
	probe := func(body string) string { return inst("{subnet: main/a}") + "expect:\n  - " + body + "\n" }
	for _, src := range []string{
		"description: no name\n",
		"name: t\nvpc: {}\n",
		"name: Bad_Name\n",
		"name: t\nsettings: {security_groups_per_eni: 17}\n",
		"name: t\nvpcs:\n  main: {}\n",
		"name: t\nvpcs:\n  main: {cidr: 10}\n",
		"name: t\nvpcs:\n  main: {cidr: 10.0.0.0/16, subnets: []}\n",
		vpcHead + "    security_groups:\n      sg-1: {}\n",
		rulesFile("{proto: tcp, cidr: 0.0.0.0/0}"),
		rulesFile("{proto: tcp, ports: http, cidr: 0.0.0.0/0}"),
		rulesFile("{proto: icmp, cidr: 0.0.0.0/0}"),
		rulesFile("{proto: icmp, icmp_type: 8, ports: 1, cidr: 0.0.0.0/0}"),
		rulesFile("{proto: tcp, ports: 1, icmp_type: 8, cidr: 0.0.0.0/0}"),
		rulesFile(`{proto: icmpv6, icmp_code: 1, cidr: "::/0"}`),
		rulesFile("{proto: all, cidr: 0.0.0.0/0, group: web}"),
		rulesFile("{proto: all}"),
		rulesFile("{proto: tcpp, ports: 1, cidr: 0.0.0.0/0}"),
		rulesFile("{proto: all, cidr: 0.0.0.0/0, description: café}"),
		"name: t\nprefix_lists:\n  p: {max_entries: 1}\n",
		inst("{type: t3.micro}"),
		inst("{ip: 10.0.1.10}"),
		inst("{subnet: main/a, enis: [{subnet: main/a}]}"),
		inst("{enis: [{subnet: main/a}], source_dest_check: false}"),
		inst("{enis: []}"),
		inst("{enis: [{ip: 10.0.1.10}]}"),
		inst("{subnet: main/a, source_dest_check: no}"),
		inst("{subnet: main/a, ami: x}"),
		inst("{subnet: main/a, type: T3}"),
		probe("{from: x, to: x, proto: tcp, result: allow}"),
		probe("{from: x, to: x, proto: icmp, port: 1, result: allow}"),
		probe("{from: x, to: x, proto: sctp, port: 1, result: allow}"),
		probe("{from: x, to: x, proto: icmp, result: maybe}"),
		probe("{from: x, to: x, proto: icmp, result: deny, timeout: soon}"),
		probe("{from: x, to: x, proto: udp, port: \"53\", result: deny}"),
		probe("{from: x, proto: icmp, result: deny}"),
		vpcHead + "    nat_gateways: {n: {elastic_ip: 203.0.113.5}}\n",
		vpcHead + "    internet_gateway: true\n    nat_gateways: {n: {subnet: a, private: true, elastic_ip: 203.0.113.5}}\n",
		vpcHead + "    nat_gateways: {n: {subnet: a, private: yes}}\n",
		vpcHead + "    vpn_gateway: [corp]\n",
		vpcHead + "    route_tables: {rt: {routes: [{destination: 10.9.0.0/16, target: nat}]}}\n",
		vpcHead + "    route_tables: {rt: {routes: [{destination: 10.9.0.0/16, target: gateway/x}]}}\n",
		"name: t\npeerings: {p: {requester: a}}\n",
		"name: t\npeerings: {p: {requester: a, accepter: b, shared: true}}\n",
		"name: t\non_prem: {corp: {hosts: {}}}\n",
		"name: t\non_prem: {corp: {cidr: 192.168.0.0/16, hosts: {h: [192.168.0.1]}}}\n",
		"name: t\ninternet: {hosts: {h: {address: 203.0.113.1}}}\n",
		"name: t\nclock: {speed: 0}\n",
		"name: t\nclock: {speed: fast}\n",
		"name: t\nhypervisor: {memory_pool: 2GB}\n",
		"name: t\nhypervisor: {scrub: 1}\n",
		inst("{subnet: main/a}") + "flow_logs: {f: {resource: vpc/main, interval: sixty}}\n",
		inst("{enis: [{subnet: main/a}], public_ip: true}"),
	} {
		_, err := Parse("t.yaml", []byte(src))
		assert.Error(t, err, "the loader accepts:\n%s", src)
		assert.NotEmpty(t, s.check(t, []byte(src)), "the schema accepts:\n%s", src)
	}
}

func TestSchemaIsValidJSONWithMetadata(t *testing.T) {
	s := loadSchema(t)
	assert.Equal(t, "https://json-schema.org/draft/2020-12/schema", s.root["$schema"])
	assert.NotEmpty(t, s.root["$id"])
	b := Schema()
	b[0] = 'x'
	assert.Equal(t, byte('{'), Schema()[0], "Schema returns a copy")
}
