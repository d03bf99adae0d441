package runner

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteJUnit writes results as JUnit XML: one testsuite per file, one testcase per probe; a file
// that could not run is one errored testcase, so CI systems show it.
func WriteJUnit(w io.Writer, results []*FileResult) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		File      string   `xml:"file,attr,omitempty"`
		Failure   *failure `xml:"failure,omitempty"`
		Error     *failure `xml:"error,omitempty"`
	}
	type property struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	type testsuite struct {
		Name       string      `xml:"name,attr"`
		Tests      int         `xml:"tests,attr"`
		Failures   int         `xml:"failures,attr"`
		Errors     int         `xml:"errors,attr"`
		Time       string      `xml:"time,attr"`
		Properties *[]property `xml:"properties>property,omitempty"`
		Cases      []testcase  `xml:"testcase"`
	}
	type testsuites struct {
		XMLName  xml.Name    `xml:"testsuites"`
		Name     string      `xml:"name,attr"`
		Tests    int         `xml:"tests,attr"`
		Failures int         `xml:"failures,attr"`
		Errors   int         `xml:"errors,attr"`
		Suites   []testsuite `xml:"testsuite"`
	}
	secs := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	all := testsuites{Name: "ec2sim"}
	for _, r := range results {
		name := r.Scenario
		if name == "" {
			name = r.File
		}
		if r.Unsafe != "" {
			name += " (" + r.Unsafe + ")"
		}
		s := testsuite{Name: name, Time: secs(r.Duration)}
		if r.ClockSpeed != 0 {
			// A CI reader must see that the timings were not AWS's.
			s.Properties = &[]property{{"lab_clock_speed", fmt.Sprint(r.ClockSpeed)},
				{"lab_clock", ClockNote(r.ClockSpeed)}}
		}
		if r.Error != "" {
			s.Cases = append(s.Cases, testcase{Name: "run", Classname: name, Time: secs(r.Duration), File: r.File,
				Error: &failure{Message: r.Error, Type: "setup", Text: r.Error}})
			s.Errors++
		}
		for _, p := range r.Probes {
			c := testcase{Name: p.Name, Classname: name, Time: secs(p.Duration), File: r.File}
			if !p.Passed {
				msg := fmt.Sprintf("expected %s, observed %s", p.Expected, p.Observed)
				text := fmt.Sprintf("%s: %s: %s", p.Pos, msg, p.Detail)
				if p.Trace != "" {
					text += "\n" + p.Trace
				}
				if p.Matrix != nil {
					var b strings.Builder
					p.Matrix.WriteTables(&b, "")
					msg, text = p.Detail, fmt.Sprintf("%s: %s\n%s", p.Pos, p.Detail, b.String())
				}
				c.Failure = &failure{Message: msg, Type: "expectation", Text: text}
				s.Failures++
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		all.Suites = append(all.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// WriteJUnitFile writes the JUnit report to path.
func WriteJUnitFile(path string, results []*FileResult) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteJUnit(f, results); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteSummary prints one row per file: its scenario, probes passed and failed, and time.
func WriteSummary(w io.Writer, results []*FileResult) { WriteSummaryStyle(w, results, Style{}) }

// WriteSummaryStyle is WriteSummary in a style.
func WriteSummaryStyle(w io.Writer, results []*FileResult, st Style) {
	// The table is laid out plain and coloured after: tabwriter would count escape codes as
	// width and misalign the columns.
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESULT\tSCENARIO\tFILE\tPASSED\tFAILED\tTIME")
	words := []string{""}
	for _, r := range results {
		p, f := r.Counts()
		res := "ok"
		switch {
		case r.Invalid:
			res = "INVALID"
		case r.Error != "":
			res = "ERROR"
		case f > 0:
			res = "FAIL"
		}
		words = append(words, res)
		if r.ClockSpeed != 0 {
			res += fmt.Sprintf(" (clock %gx)", r.ClockSpeed)
		}
		if r.Unsafe != "" {
			res += " (UNSAFE)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%.1fs\n", res, r.Scenario, r.File, p, f, r.Duration.Seconds())
	}
	tw.Flush()
	io.WriteString(w, "\n")
	for i, line := range strings.SplitAfter(b.String(), "\n") {
		if i > 0 && i < len(words) {
			line = st.Result(words[i]) + strings.TrimPrefix(line, words[i])
		}
		io.WriteString(w, line)
	}
	for _, r := range results {
		if r.Unsafe != "" {
			fmt.Fprintf(w, "*** %s: %s ***\n", r.File, r.Unsafe)
		}
	}
}

// WriteProbeLine prints one line per probe.
func WriteProbeLine(w io.Writer, p *ProbeResult) { WriteProbeLineStyle(w, p, Style{}) }

// WriteProbeLineStyle is WriteProbeLine in a style.
func WriteProbeLineStyle(w io.Writer, p *ProbeResult, st Style) {
	mark := st.Mark(p.Passed)
	if p.Matrix != nil {
		fmt.Fprintf(w, "  %s  %s: %s (%s)\n", mark, p.Name, p.Detail, p.Duration.Round(time.Millisecond))
		p.Matrix.writeTables(w, "        ", st)
		return
	}
	fmt.Fprintf(w, "  %s  %-40s expected %-5s observed %-5s (%s, %s)\n", mark, p.Name, p.Expected, p.Observed, p.Detail, p.Duration.Round(time.Millisecond))
	if p.Trace != "" {
		for _, line := range strings.Split(strings.TrimRight(p.Trace, "\n"), "\n") {
			fmt.Fprintf(w, "        %s\n", line)
		}
	}
}

// ClockNote says that a lab clock ran the engine's timers faster than real time.
func ClockNote(speed float64) string {
	return fmt.Sprintf("lab clock at %gx real time: conntrack, NAT and flow-log timers ran %g times faster than AWS's", speed, speed)
}
