package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{10, 10, 1}, 10},
		{[]float64{-1, 7}, 3},
	} {
		in := append([]float64(nil), c.in...)
		assert.Equal(t, c.want, median(c.in), "median(%v)", c.in)
		assert.Equal(t, in, c.in, "median must not reorder its argument")
	}
	assert.True(t, math.IsNaN(median(nil)))
}

// TestMedianAgainstModel checks median against the definition: as many samples on each side.
func TestMedianAgainstModel(t *testing.T) {
	xs := []float64{}
	for i := range 40 {
		xs = append(xs, float64((i*7919)%23))
		m := median(xs)
		below, above := 0, 0
		for _, x := range xs {
			if x < m {
				below++
			}
			if x > m {
				above++
			}
		}
		assert.LessOrEqual(t, below, len(xs)/2, "n=%d", len(xs))
		assert.LessOrEqual(t, above, len(xs)/2, "n=%d", len(xs))
	}
}

func TestRatioAndRounding(t *testing.T) {
	assert.Equal(t, 0.5, ratio(1, 2))
	assert.Equal(t, 0.0, ratio(1, 0), "a zero baseline must not look like an infinite win")
	assert.Equal(t, 0.0, ratio(math.NaN(), 2))
	for _, c := range []struct{ in, want float64 }{
		{14.944544166159681, 14.94}, {0.043771, 0.04377}, {224123, 224100}, {0, 0}, {-2.34567, -2.346}, {1, 1},
	} {
		assert.InDelta(t, c.want, round4(c.in), 1e-12, "round4(%v)", c.in)
	}
}

func TestSpread(t *testing.T) {
	assert.Equal(t, 0.0, spread(nil))
	assert.Equal(t, 0.0, spread([]float64{5}))
	assert.Equal(t, 0.1, spread([]float64{9, 10, 11}))
	assert.Equal(t, 0.0, spread([]float64{-1, 0, 1}), "zero median")
}

func TestParseProcStat(t *testing.T) {
	stat := []byte("cpu  100 5 50 800 20 3 2 10 7 0\ncpu0 50 2 25 400 10 1 1 5 3 0\nintr 1 2\n")
	c, err := parseProcStat(stat)
	require.NoError(t, err)
	assert.Equal(t, cpuTimes{idle: 820, total: 990}, c, "guest time is inside user time, not added again")
	_, err = parseProcStat([]byte("cpu0 1 2 3 4 5\n"))
	assert.ErrorContains(t, err, "no cpu line")
	_, err = parseProcStat([]byte("cpu 1 2 x 4 5\n"))
	assert.ErrorContains(t, err, `"x"`)
	assert.InDelta(t, 0.75, busyBetween(cpuTimes{idle: 100, total: 1000}, cpuTimes{idle: 150, total: 1200}), 1e-9)
	assert.Equal(t, 0.0, busyBetween(cpuTimes{idle: 100, total: 1000}, cpuTimes{idle: 100, total: 1000}))
	assert.Equal(t, 0.0, busyBetween(cpuTimes{idle: 100, total: 1000}, cpuTimes{idle: 50, total: 900}), "a counter going back")
}

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("cpu  100 5 50 800 20 3 2 10 7 0\n"))
	f.Add([]byte("cpu 18446744073709551615 1 1 1 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseProcStat(b)
		if err != nil {
			return
		}
		if v := busyBetween(cpuTimes{}, c); v < 0 || v > 1 || math.IsNaN(v) {
			t.Fatalf("busy %v from %q", v, b)
		}
	})
}

func TestCompareAndMet(t *testing.T) {
	r := compare("tcp_throughput", "Gbit/s", higher, []float64{9, 11, 10}, []float64{20, 19, 21}, "veth", 0.5, "n")
	assert.Equal(t, 10.0, r.Value)
	assert.Equal(t, 20.0, r.BaselineValue)
	assert.Equal(t, 0.5, r.Ratio)
	assert.Equal(t, []float64{9, 11, 10}, r.Samples, "samples stay in measuring order")
	met, ok := r.Met()
	assert.True(t, ok)
	assert.True(t, met, "0.5 reaches a target of ≥ 0.5")

	r = compare("ping_rtt", "us", lower, []float64{150}, []float64{50}, "c1", 3, "")
	met, ok = r.Met()
	assert.True(t, ok)
	assert.True(t, met, "3× reaches a target of ≤ 3×")
	r = compare("ping_rtt", "us", lower, []float64{151}, []float64{50}, "c1", 3, "")
	met, _ = r.Met()
	assert.False(t, met)

	r = compare("x", "u", higher, []float64{1}, []float64{2}, "veth", 0, "")
	_, ok = r.Met()
	assert.False(t, ok, "no target, nothing to meet")
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	writeTable(&b, []Result{
		compare("tcp_throughput", "Gbit/s", higher, []float64{4}, []float64{20}, "veth", 0.5, "note one"),
		compare("lab_up_time", "s", lower, []float64{2}, []float64{10}, "target", 1, ""),
	})
	out := b.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	assert.Contains(t, lines[1], "tcp_throughput")
	assert.Contains(t, lines[1], "0.2×")
	assert.Contains(t, lines[1], "MISSED")
	assert.Contains(t, lines[1], "note one")
	assert.Contains(t, lines[0], "SPREAD")
	assert.Contains(t, lines[2], "≤ 1 met")
}

// TestWriteJSON checks the file's shape: a list of objects with the field names, so
// that later issues and other tools can read it.
func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bench-results.json")
	rs := []Result{compare("udp_64b_pps", "kpps", higher, []float64{70, 80, 75}, []float64{200, 220, 210}, "veth", 0, "n")}
	require.NoError(t, writeJSON(path, rs))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var raw []map[string]any
	require.NoError(t, json.Unmarshal(b, &raw))
	require.Len(t, raw, 1)
	for _, k := range []string{"name", "value", "unit", "baseline", "baseline_value", "ratio", "notes"} {
		assert.Contains(t, raw[0], k)
	}
	assert.Equal(t, "udp_64b_pps", raw[0]["name"])
	assert.Equal(t, 75.0, raw[0]["value"])
	assert.InDelta(t, 75.0/210, raw[0]["ratio"], 1e-4)
	assert.NotContains(t, raw[0], "target_ratio", "no target, no field")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())

	// No figures is still a list, not null.
	require.NoError(t, writeJSON(path, nil))
	b, _ = os.ReadFile(path)
	assert.Equal(t, "[]\n", string(b))
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".bench-results-*"))
	assert.Empty(t, left, "temporary files left behind")
}
