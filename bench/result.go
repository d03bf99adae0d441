package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// Result is one figure of bench-results.json. Value is ours; BaselineValue is the peer measured
// in the same run (or a fixed target), and Ratio is always Value/BaselineValue, so whether a
// ratio is good depends on Better: a throughput ratio of 0.6 is 60% of the peer, a latency ratio
// of 3 is three times the peer's time.
type Result struct {
	Name          string  `json:"name"`
	Value         float64 `json:"value"`
	Unit          string  `json:"unit"`
	Baseline      string  `json:"baseline"`
	BaselineValue float64 `json:"baseline_value"`
	Ratio         float64 `json:"ratio"`
	Notes         string  `json:"notes"`

	// Better is "higher" or "lower": which way the value (and so the ratio) improves.
	Better string `json:"better"`
	// TargetRatio is the ratio the project aims for, 0 when there is none: met when Ratio ≥
	// TargetRatio for "higher", Ratio ≤ TargetRatio for "lower".
	TargetRatio float64 `json:"target_ratio,omitempty"`
	// Samples and BaselineSamples are the single runs whose medians Value and BaselineValue are,
	// in the order they were measured, so a reader can see the spread.
	Samples         []float64 `json:"samples,omitempty"`
	BaselineSamples []float64 `json:"baseline_samples,omitempty"`
}

const (
	higher = "higher"
	lower  = "lower"
)

// compare makes the Result of ours against a baseline from the samples of both: medians,
// rounded to four significant digits so the file stays readable, and their ratio.
func compare(name, unit, better string, ours, base []float64, baseline string, target float64, notes string) Result {
	v, b := median(ours), median(base)
	return Result{
		Name: name, Value: round4(v), Unit: unit, Baseline: baseline, BaselineValue: round4(b),
		Ratio: round4(ratio(v, b)), Notes: notes, Better: better, TargetRatio: target,
		Samples: roundAll(ours), BaselineSamples: roundAll(base),
	}
}

// Met reports whether the result reaches its target ratio; ok is false when it has none.
func (r Result) Met() (met, ok bool) {
	if r.TargetRatio == 0 || r.BaselineValue == 0 {
		return false, false
	}
	if r.Better == lower {
		return r.Ratio <= r.TargetRatio, true
	}
	return r.Ratio >= r.TargetRatio, true
}

// median of xs, the mean of the two middle values for an even count; NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread is half the range of xs relative to their median: 0.1 means the runs lay within
// about ±10% of the figure. 0 for fewer than two samples or a zero median.
func spread(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := median(xs)
	if m == 0 {
		return 0
	}
	return (slices.Max(xs) - slices.Min(xs)) / 2 / math.Abs(m)
}

// ratio is a/b, or 0 when b is 0 (a failed baseline must not look like an infinite win).
func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return 0
	}
	return a / b
}

// round4 rounds x to four significant digits.
func round4(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

func roundAll(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = round4(x)
	}
	return out
}

// writeTable prints the results as a table a person reads.
func writeTable(w io.Writer, rs []Result) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tVALUE\tBASELINE\tBASELINE VALUE\tRATIO\tTARGET\tSPREAD\tNOTES")
	for _, r := range rs {
		target := "-"
		if met, ok := r.Met(); ok {
			cmp := "≥"
			if r.Better == lower {
				cmp = "≤"
			}
			verdict := "met"
			if !met {
				verdict = "MISSED"
			}
			target = fmt.Sprintf("%s %g %s", cmp, r.TargetRatio, verdict)
		}
		sp := "-"
		if len(r.Samples) > 1 {
			sp = fmt.Sprintf("±%.0f%%", 100*spread(r.Samples))
			if len(r.BaselineSamples) > 1 {
				sp += fmt.Sprintf(" / ±%.0f%%", 100*spread(r.BaselineSamples))
			}
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s %s\t%.3g×\t%s\t%s\t%s\n",
			r.Name, fmtNum(r.Value), r.Unit, r.Baseline, fmtNum(r.BaselineValue), r.Unit, r.Ratio, target, sp, r.Notes)
	}
	tw.Flush()
}

func fmtNum(x float64) string { return strings.TrimSuffix(fmt.Sprintf("%.4g", x), ".0") }

// writeJSON writes the results to path as an indented JSON list, through a temporary file so a
// reader never sees half a file.
func writeJSON(path string, rs []Result) error {
	if rs == nil {
		rs = []Result{}
	}
	b, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bench-results-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; results are for everyone to read.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
