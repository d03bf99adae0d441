package awsimport

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Report says what an import did with every object it read: how many of each kind it imported,
// what it skipped and why, the object types and fields it does not model (by name and count), the
// AWS id behind every name, and the mapping of every public address. Nothing read is left out of
// it.
type Report struct {
	Files   []string
	Ignored []string // files that are not JSON, not read
	// Imported counts the objects written to the scenario, by kind (vpcs, subnets, ...).
	Imported map[string]int
	// Unmodelled counts what the scenario format has no place for: whole object types by their
	// top-level key ("TransitGateways"), fields as "Kind.Field", and values as "Kind: what".
	Unmodelled map[string]int
	Skipped    []Skip
	Names      []Name
	Addresses  []Mapping
	Warnings   []string
	// Partial: with Options.Partial, errors were turned into skips; the scenario is not the
	// whole of the data.
	Partial bool
}

// Skip is an object, or part of one, that the import left out, and why.
type Skip struct {
	Object string // e.g. "NAT gateway nat-0123 (NatGateways.json)"
	Reason string
}

// Name is the scenario name given to an AWS object.
type Name struct {
	Kind, ID, Name string
	Region         string // account/region when the folder layout says
}

func newReport() *Report {
	return &Report{Imported: map[string]int{}, Unmodelled: map[string]int{}}
}

func (r *Report) skip(object, format string, args ...any) {
	r.Skipped = append(r.Skipped, Skip{object, fmt.Sprintf(format, args...)})
}

// Text renders the report for people, one finding per line.
func (r *Report) Text() string {
	var b strings.Builder
	if r.Partial {
		b.WriteString("PARTIAL IMPORT: errors were skipped (--partial); this scenario is not the whole of the data.\n")
	}
	fmt.Fprintf(&b, "Read %d files", len(r.Files))
	if len(r.Ignored) > 0 {
		fmt.Fprintf(&b, " (ignored, not JSON: %s)", strings.Join(r.Ignored, ", "))
	}
	var imported []string
	for _, k := range slices.Sorted(maps.Keys(r.Imported)) {
		imported = append(imported, fmt.Sprintf("%s %d", k, r.Imported[k]))
	}
	fmt.Fprintf(&b, ".\nImported: %s.\n", cmp.Or(strings.Join(imported, ", "), "nothing"))
	if len(r.Unmodelled) > 0 {
		b.WriteString("Not modelled (left out, by name and count):\n")
		for _, k := range slices.Sorted(maps.Keys(r.Unmodelled)) {
			fmt.Fprintf(&b, "  %-60s %d\n", k, r.Unmodelled[k])
		}
	}
	if len(r.Skipped) > 0 {
		b.WriteString("Skipped:\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(&b, "  %s: %s\n", s.Object, s.Reason)
		}
	}
	if len(r.Addresses) > 0 {
		b.WriteString("Public addresses mapped (original -> lab):\n")
		for _, m := range r.Addresses {
			note := ""
			if m.Shrunk {
				note = " (shrunk)"
			}
			fmt.Fprintf(&b, "  %-20s -> %-20s %s%s\n", m.Original, m.Mapped, m.Use, note)
		}
	}
	if len(r.Names) > 0 {
		b.WriteString("Names (AWS id -> scenario name):\n")
		for _, n := range r.Names {
			where := ""
			if n.Region != "" {
				where = " [" + n.Region + "]"
			}
			fmt.Fprintf(&b, "  %-26s -> %s%s\n", n.ID, n.Name, where)
		}
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "Warning: %s\n", w)
	}
	return b.String()
}

// Comment renders the report as a YAML comment block, the header of an imported scenario.
func (r *Report) Comment() string {
	var b strings.Builder
	b.WriteString("# Imported by 'ec2sim import aws' from AWS describe-* output. Report:\n")
	for _, line := range strings.Split(strings.TrimRight(r.Text(), "\n"), "\n") {
		b.WriteString("#   " + line + "\n")
	}
	return b.String()
}

func (r *Report) sortNames() {
	slices.SortStableFunc(r.Names, func(a, b Name) int { return cmp.Compare(a.Kind, b.Kind) })
}
