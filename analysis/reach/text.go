package reach

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteMatrix prints the result as a matrix (rows sources, columns targets, cells Set.Summary)
// followed by a line for every cell with traffic that arrives but whose fate is not plain: replies
// dropped, replies that depend on the source port, traffic handed to an appliance, notes.
func WriteMatrix(w io.Writer, r *Result) error {
	var rows, cols []*Endpoint
	seenRow, seenCol := map[string]bool{}, map[string]bool{}
	for _, c := range r.Cells {
		if !seenRow[c.From] {
			seenRow[c.From] = true
		}
		if !seenCol[c.To] {
			seenCol[c.To] = true
		}
	}
	for _, ep := range r.Endpoints {
		if seenRow[ep.Name] {
			rows = append(rows, ep)
		}
		if seenCol[ep.Name] {
			cols = append(cols, ep)
		}
	}
	fmt.Fprintf(w, "reach: scenario %s: %d endpoints, %d pairs (%d classes, %d packets traced); ephemeral source ports %s\n\n",
		r.Scenario, len(r.Endpoints), len(r.Cells), r.Classes, r.Traces, r.Ephemeral)
	byPair := map[[2]string]*Cell{}
	for _, c := range r.Cells {
		byPair[[2]string{c.From, c.To}] = c
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "from \\ to")
	for _, c := range cols {
		fmt.Fprint(tw, "\t"+c.Name)
	}
	fmt.Fprintln(tw)
	for _, row := range rows {
		fmt.Fprint(tw, row.Name)
		for _, col := range cols {
			cell := "."
			if c := byPair[[2]string{row.Name, col.Name}]; c != nil {
				cell = c.Reach.Summary()
				if c.Note != "" || !c.OneWay.Empty() || !c.SomeSourcePorts.Empty() || !c.Appliance.Empty() {
					cell += " *"
				}
			}
			fmt.Fprint(tw, "\t"+cell)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	for _, c := range r.Cells {
		pair := c.From + " -> " + c.To
		if c.Note != "" {
			notes = append(notes, fmt.Sprintf("%s: %s", pair, c.Note))
		}
		if !c.OneWay.Empty() {
			notes = append(notes, fmt.Sprintf("%s: arrives, reply dropped: %s", pair, c.OneWay.Summary()))
		}
		if !c.SomeSourcePorts.Empty() {
			notes = append(notes, fmt.Sprintf("%s: reply gets back for some source ports only: %s", pair, c.SomeSourcePorts.Summary()))
		}
		if !c.Appliance.Empty() {
			notes = append(notes, fmt.Sprintf("%s: delivered to the appliance %s, whose forwarding is not analysed: %s", pair, c.ApplianceName, c.Appliance.Summary()))
		}
	}
	fmt.Fprintln(w, "\n(\"-\" nothing; \"all\" every tcp and udp port and icmp echo; \".\" not a pair; \"*\" see below)")
	if len(notes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.Join(notes, "\n"))
	}
	return nil
}
