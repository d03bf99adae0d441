package tfimport

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Report says what an import did with every resource of the plan.
type Report struct {
	File string `json:"file"`
	// Mapped lists each imported resource and the scenario object it became.
	Mapped []Mapping `json:"mapped"`
	// Unmodelled counts the resources of types the scenario format does not model, by type.
	Unmodelled map[string]int `json:"unmodelled"`
	// Skipped are parts of modelled resources that were left out (a route to a transit
	// gateway, an IPv6 CIDR of a VPC), each with its reason.
	Skipped []Note `json:"skipped"`
	// PublicIPs are the public addresses assigned from the documentation ranges.
	PublicIPs []PublicIP `json:"public_ips"`
	// Problems are values that could not be resolved to an object of the plan. An import with
	// problems is refused unless Options.Partial is set.
	Problems []Problem `json:"unresolved"`
	// Notes are changes the importer made that keep the meaning (a duplicate rule merged).
	Notes []Note `json:"notes"`
	// Warnings are the scenario loader's warnings on the imported scenario, as file:line:col:
	// message of the written YAML (a public address in a VPC without an internet gateway).
	Warnings []string `json:"warnings"`
}

// Mapping ties a resource address to the scenario object made from it.
type Mapping struct {
	Address string `json:"address"`
	Object  string `json:"object"` // e.g. "vpc main", "security group main/web", "instance web-1"
}

// Note is a remark about one resource.
type Note struct {
	Address string `json:"address"`
	Text    string `json:"text"`
}

// Problem is an attribute of a resource whose value could not be tied to an object of the plan.
type Problem struct {
	Address   string `json:"address"`
	Attribute string `json:"attribute"`
	Message   string `json:"message"`
	// NotInPlan: the value names an object that the plan does not create (a data source, a
	// literal id, a root variable); otherwise it is merely unknown until apply.
	NotInPlan bool `json:"not_in_plan"`
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: %s %s", p.Address, p.Attribute, p.Message)
}

// PublicIP is a public address given to an object of the lab.
type PublicIP struct {
	Address  string `json:"address"`            // the resource that holds it (an aws_eip)
	Assigned string `json:"assigned"`           // the documentation-range address used in the lab
	Original string `json:"original,omitempty"` // the plan's real address, "" when known only after apply
}

func (r *Report) mapped(addr, format string, args ...any) {
	r.Mapped = append(r.Mapped, Mapping{addr, fmt.Sprintf(format, args...)})
}

func (r *Report) skip(addr, format string, args ...any) {
	r.Skipped = append(r.Skipped, Note{addr, fmt.Sprintf(format, args...)})
}

func (r *Report) note(addr, format string, args ...any) {
	r.Notes = append(r.Notes, Note{addr, fmt.Sprintf(format, args...)})
}

// WriteText writes the report for people: what was imported, what was not and why.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "import terraform %s: %d resources imported\n", r.File, len(r.Mapped))
	for _, m := range r.Mapped {
		fmt.Fprintf(w, "  %-50s -> %s\n", m.Address, m.Object)
	}
	if len(r.PublicIPs) > 0 {
		fmt.Fprintf(w, "public addresses (documentation ranges; no real address is used):\n")
		for _, p := range r.PublicIPs {
			orig := "known only after apply"
			if p.Original != "" {
				orig = "plan says " + p.Original
			}
			fmt.Fprintf(w, "  %-50s %s (%s)\n", p.Address, p.Assigned, orig)
		}
	}
	if len(r.Unmodelled) > 0 {
		types := make([]string, 0, len(r.Unmodelled))
		for t := range r.Unmodelled {
			types = append(types, t)
		}
		sort.Strings(types)
		fmt.Fprintf(w, "not modelled (left out of the scenario):\n")
		for _, t := range types {
			fmt.Fprintf(w, "  %-50s %d\n", t, r.Unmodelled[t])
		}
	}
	writeNotes(w, "skipped parts:", r.Skipped)
	writeNotes(w, "notes:", r.Notes)
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w, "warnings of the scenario loader:")
		for _, x := range r.Warnings {
			fmt.Fprintf(w, "  %s\n", x)
		}
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "unresolved (%d):\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
}

func writeNotes(w io.Writer, title string, notes []Note) {
	if len(notes) == 0 {
		return
	}
	fmt.Fprintln(w, title)
	for _, n := range notes {
		fmt.Fprintf(w, "  %s: %s\n", n.Address, n.Text)
	}
}

// problemsError is the error of an import that left problems unresolved.
func problemsError(file string, ps []Problem) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d values cannot be resolved to objects of the plan, so the scenario would be incomplete; nothing was written (--partial writes it anyway, marked as partial):", file, len(ps))
	for _, p := range ps {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return fmt.Errorf("%s", b.String())
}
