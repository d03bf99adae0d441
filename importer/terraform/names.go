package tfimport

import (
	"strconv"
	"strings"

	"github.com/ec2sim/ec2sim/scenarios"
)

// Scenario names for resources, and readers of planned values (JSON: numbers are float64 and
// may come as strings).

// name gives a scenario name for a resource that is unique in its namespace: the resource's
// name (with its module's and its index), cleaned up to the scenario's name syntax.
func (b *builder) name(ns string, r *resource) string {
	base := r.Name
	if k := keyString(r.Index); k != "" {
		base += "-" + strings.Trim(k, `"`)
	}
	if segs := moduleSegments(r.Module); len(segs) > 0 {
		last := segs[len(segs)-1]
		base = last.name + "-" + strings.Trim(last.key, `"`) + "-" + base
	}
	base = sanitize(base)
	if strings.HasPrefix(ns, "sg:") && strings.HasPrefix(base, "sg-") {
		base = sanitize(strings.TrimPrefix(base, "sg-") + "-sg") // AWS refuses group names starting sg-
	}
	return b.claim(ns, base)
}

// claim takes name in namespace ns, or name-2, name-3, ... when it is taken.
func (b *builder) claim(ns, name string) string {
	used := b.names[ns]
	if used == nil {
		used = map[string]bool{}
		b.names[ns] = used
	}
	cand := name
	for i := 2; used[cand] || reserved(ns, cand); i++ {
		suf := "-" + strconv.Itoa(i)
		cand = strings.TrimRight(truncate(name, 31-len(suf)), "-") + suf
	}
	used[cand] = true
	return cand
}

func reserved(ns, name string) bool {
	switch {
	case strings.HasPrefix(ns, "sg:"):
		return name == scenarios.DefaultGroup
	case strings.HasPrefix(ns, "acl:"):
		return name == scenarios.DefaultACL
	case strings.HasPrefix(ns, "rt:"):
		return name == scenarios.MainRouteTable
	case ns == "instance":
		return name == scenarios.InternetName
	}
	return false
}

// sanitize turns a Terraform name into the scenario's name syntax: 1-31 of a-z, 0-9 and '-',
// starting and ending with a letter or digit, without "--".
func sanitize(s string) string {
	var out []byte
	for _, c := range []byte(strings.ToLower(s)) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			out = append(out, c)
		case len(out) > 0 && out[len(out)-1] != '-':
			out = append(out, '-')
		}
	}
	n := strings.Trim(truncate(string(out), 31), "-")
	if n == "" {
		return "x"
	}
	return n
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Value helpers: planned values are JSON, numbers are float64 and may come as strings.

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func boolean(m map[string]any, k string) bool {
	v, _ := m[k].(bool)
	return v
}

func integer(m map[string]any, k string) (int, bool) {
	switch v := m[k].(type) {
	case float64:
		return int(v), v == float64(int(v))
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	return 0, false
}

func strList(m map[string]any, k string) []string {
	var out []string
	list, _ := m[k].([]any)
	for _, e := range list {
		if s, ok := e.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func objects(m map[string]any, k string) []map[string]any {
	var out []map[string]any
	list, _ := m[k].([]any)
	for _, e := range list {
		if o, ok := e.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}
