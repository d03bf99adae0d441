package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// posKey names one field of one model object, to find the exact place of its value in the file.
type posKey struct {
	obj   any
	field string
}

// decoder walks a yaml.Node tree strictly: every key must be a field of the format, every value
// of the expected type, and every problem is reported with its line and column.
type decoder struct {
	file string
	spec map[string][]field
	p    *problems
	// at holds where each field's value is, by object and field name, so that validation can point
	// at the value rather than at the object; a field present in the file has an entry.
	at map[posKey]Pos
	// seen records "kind.field" for every field decoded; the tests use it to prove that every field
	// of the spec has a decoder.
	seen map[string]bool
	// budget bounds the nodes visited, so that nested aliases cannot make the walk explode.
	budget int
	// unknown counts unknown fields, so that a rule with a misspelt field is not also blamed for
	// lacking the field it meant.
	unknown int
}

// maxNodes is the most YAML nodes (counting every alias expansion) one file may make the decoder
// visit. Real scenarios have a few thousand.
const maxNodes = 1 << 20

func newDecoder(file string, p *problems) *decoder {
	return &decoder{file: file, spec: formatSpec(), p: p, at: map[posKey]Pos{}, seen: map[string]bool{}, budget: maxNodes}
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

// mark records where obj's field is in the file.
func (d *decoder) mark(obj any, name string, n *yaml.Node) { d.at[posKey{obj, name}] = d.pos(n) }

// has reports whether the file gave obj's field.
func (d *decoder) has(obj any, name string) bool {
	_, ok := d.at[posKey{obj, name}]
	return ok
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data as exactly one YAML document and returns its root node, or nil after
// reporting why it cannot.
func (d *decoder) document(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.p.errorf(Pos{File: d.file, Line: 1, Col: 1}, "the file is empty; a scenario needs at least a name: field")
		} else {
			d.yamlError(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.p.errorf(d.pos(&next), "a second YAML document (after ---); a file holds exactly one scenario")
		return nil
	case !errors.Is(err, io.EOF):
		d.yamlError(err)
		return nil
	}
	if len(doc.Content) == 0 {
		d.p.errorf(Pos{File: d.file, Line: 1, Col: 1}, "the file is empty; a scenario needs at least a name: field")
		return nil
	}
	return doc.Content[0]
}

// yamlError turns a syntax error of the YAML parser into an Error with the line it names.
func (d *decoder) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.p.errorf(Pos{File: d.file, Line: line}, "YAML syntax: %s", m[2])
		return
	}
	d.p.errorf(Pos{File: d.file}, "YAML syntax: %s", strings.TrimPrefix(msg, "yaml: "))
}

// resolve follows aliases and charges the walk's budget.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for hops := 0; n.Kind == yaml.AliasNode && n.Alias != nil && hops < 100; hops++ {
		n = n.Alias
	}
	d.budget--
	if d.budget == 0 {
		d.p.errorf(d.pos(n), "the file expands to more than %d YAML nodes (through aliases?); a scenario is far smaller", maxNodes)
	}
	if d.budget <= 0 {
		// A null stands in for the node once the budget is spent: every decoder rejects it
		// without walking any further.
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: n.Line, Column: n.Column}
	}
	return n
}

// describe names what a node is, for "want X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null (an empty value)"
		case "!!bool":
			return n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!str":
			return strconv.Quote(n.Value)
		}
		return fmt.Sprintf("%s %q", n.ShortTag(), n.Value)
	}
	return "an unsupported YAML node"
}

// emptyHint tells how to write an empty collection when a null was found instead.
func emptyHint(n *yaml.Node, empty string) string {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return fmt.Sprintf(" (write %s for an empty one, or leave the key out)", empty)
	}
	return ""
}

// fieldNames lists the fields of kind for error messages.
func (d *decoder) fieldNames(kind string) string {
	var names []string
	for _, f := range d.spec[kind] {
		names = append(names, f.name)
	}
	return strings.Join(names, ", ")
}

// nearest is the field of kind that a misspelt name most likely meant, or "".
func (d *decoder) nearest(kind, name string) string {
	best, bestDist := "", 3 // more than two edits away is no longer a typo
	for _, f := range d.spec[kind] {
		if dist := editDistance(name, f.name); dist < bestDist {
			best, bestDist = f.name, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// keyName checks a mapping key: a plain scalar, not a merge key.
func (d *decoder) keyName(k *yaml.Node) (string, bool) {
	if k.Kind != yaml.ScalarNode {
		d.p.errorf(d.pos(k), "a key must be a plain name, not %s", describe(k))
		return "", false
	}
	if k.ShortTag() == "!!merge" {
		d.p.errorf(d.pos(k), "YAML merge keys (<<) are not supported; repeat the fields, or use an alias (*name) for a whole value")
		return "", false
	}
	return k.Value, true
}

// object walks a mapping of kind: unknown and duplicate keys and missing required fields are
// errors; each known field is handed to each. It reports whether n was a mapping at all.
func (d *decoder) object(n *yaml.Node, kind, what string, each func(name string, k, v *yaml.Node)) bool {
	n = d.resolve(n)
	if n.Kind != yaml.MappingNode {
		d.p.errorf(d.pos(n), "%s: want a mapping with the fields %s, not %s%s", what, d.fieldNames(kind), describe(n), emptyHint(n, "{}"))
		return false
	}
	fields := d.spec[kind]
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, ok := d.keyName(k)
		if !ok {
			continue
		}
		if first, dup := seen[name]; dup {
			d.p.errorf(d.pos(k), "%s: duplicate key %q (first at line %d)", what, name, first.Line)
			continue
		}
		seen[name] = k
		known := false
		for _, f := range fields {
			if f.name == name {
				known = true
				break
			}
		}
		if !known {
			d.unknown++
			hint := ""
			if near := d.nearest(kind, name); near != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", near)
			}
			d.p.errorf(d.pos(k), "%s: unknown field %q%s; valid fields here: %s", what, name, hint, d.fieldNames(kind))
			continue
		}
		d.seen[kind+"."+name] = true
		each(name, k, v)
	}
	for _, f := range fields {
		if _, ok := seen[f.name]; f.required && !ok {
			d.p.errorf(d.pos(n), "%s: missing required field %q", what, f.name)
		}
	}
	return true
}

// namedMap walks a mapping from names to values, in file order, rejecting duplicate names.
func (d *decoder) namedMap(n *yaml.Node, what string, each func(name string, k, v *yaml.Node)) {
	n = d.resolve(n)
	if n.Kind != yaml.MappingNode {
		d.p.errorf(d.pos(n), "%s: want a mapping from names to definitions, not %s%s", what, describe(n), emptyHint(n, "{}"))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i]), n.Content[i+1]
		name, ok := d.keyName(k)
		if !ok {
			continue
		}
		if line, dup := seen[name]; dup {
			d.p.errorf(d.pos(k), "%s: duplicate name %q (first at line %d)", what, name, line)
			continue
		}
		seen[name] = k.Line
		each(name, k, v)
	}
}

// list walks a sequence.
func (d *decoder) list(n *yaml.Node, what string, each func(i int, v *yaml.Node)) {
	n = d.resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.p.errorf(d.pos(n), "%s: want a list, not %s%s", what, describe(n), emptyHint(n, "[]"))
		return
	}
	for i, v := range n.Content {
		each(i, v)
	}
}

// scalar returns a resolved scalar node with one of the given tags, or reports what was wanted.
func (d *decoder) scalar(n *yaml.Node, what, want string, tags ...string) (*yaml.Node, bool) {
	n = d.resolve(n)
	if n.Kind == yaml.ScalarNode {
		for _, t := range tags {
			if n.ShortTag() == t {
				return n, true
			}
		}
	}
	d.p.errorf(d.pos(n), "%s: want %s, not %s", what, want, describe(n))
	return n, false
}

func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	// A plain scalar that looks like a date is still text to the user (and to JSON).
	s, ok := d.scalar(n, what, "a string", "!!str", "!!timestamp")
	return s.Value, ok
}

func (d *decoder) integer(n *yaml.Node, what string) (int, bool) {
	s, ok := d.scalar(n, what, "an integer", "!!int")
	if !ok {
		return 0, false
	}
	var v int
	if err := s.Decode(&v); err != nil {
		d.p.errorf(d.pos(s), "%s: want an integer, not %s", what, describe(s))
		return 0, false
	}
	return v, true
}

func (d *decoder) boolean(n *yaml.Node, what string) (bool, bool) {
	s, ok := d.scalar(n, what, "true or false", "!!bool")
	if !ok {
		return false, false
	}
	var v bool
	if err := s.Decode(&v); err != nil {
		d.p.errorf(d.pos(s), "%s: want true or false, not %s", what, describe(s))
		return false, false
	}
	return v, true
}

func (d *decoder) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := d.scalar(n, what, "a duration such as 2s or 500ms", "!!str")
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(s.Value)
	if err != nil {
		d.p.errorf(d.pos(s), "%s: want a duration such as 2s or 500ms, not %q", what, s.Value)
		return 0, false
	}
	return v, true
}

func (d *decoder) prefix(n *yaml.Node, what string) (netip.Prefix, bool) {
	s, ok := d.scalar(n, what, "a CIDR such as 10.0.0.0/16", "!!str")
	if !ok {
		return netip.Prefix{}, false
	}
	p, err := parseCIDR(s.Value)
	if err != nil {
		d.p.errorf(d.pos(s), "%s: %v", what, err)
		return netip.Prefix{}, false
	}
	return p, true
}

func (d *decoder) addr(n *yaml.Node, what string) (netip.Addr, bool) {
	s, ok := d.scalar(n, what, "an IP address such as 10.0.1.10", "!!str")
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s.Value)
	if err != nil || a.Zone() != "" {
		d.p.errorf(d.pos(s), "%s: want an IP address such as 10.0.1.10, not %q", what, s.Value)
		return netip.Addr{}, false
	}
	return a, true
}

// parseCIDR parses a CIDR as written, host bits and all; a bare address is refused because AWS
// wants the prefix length said (/32 for one address).
func parseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err == nil {
		return p, nil
	}
	if a, aerr := netip.ParseAddr(s); aerr == nil && a.Zone() == "" {
		return netip.Prefix{}, fmt.Errorf("want a CIDR, not the bare address %q; for one address write %s/%d", s, a, a.BitLen())
	}
	return netip.Prefix{}, fmt.Errorf("want a CIDR such as 10.0.0.0/16 or 2001:db8::/32, not %q", s)
}
