package reach

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

func generatedPlan(tb testing.TB, instances, groups int) *lab.Plan {
	sc, err := scenarios.Parse("generated.yaml", []byte(Generate(instances, groups, 1)))
	require.NoError(tb, err)
	p, err := lab.NewPlan(sc, "gen")
	require.NoError(tb, err)
	return p
}

// BenchmarkAnalyze200: the whole matrix of a 200-instance, 100-group scenario (issue 8's
// figure: under 5 s).
func BenchmarkAnalyze200(b *testing.B) {
	p := generatedPlan(b, 200, 100)
	b.ReportAllocs()
	var res *Result
	for b.Loop() {
		var err error
		if res, err = Analyze(p, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(res.Cells)), "pairs")
	b.ReportMetric(float64(res.Classes), "classes")
	b.ReportMetric(float64(res.Traces), "traces")
}

// TestGeneratedClassesAgree: on a generated scenario of some size, the analysis by classes
// equals the one per pair (on a sample of sources, to stay quick).
func TestGeneratedClassesAgree(t *testing.T) {
	p := generatedPlan(t, 30, 12)
	from := []string{"i0", "i1", "i7", "h1"}
	a, err := Analyze(p, Options{From: from})
	require.NoError(t, err)
	b, err := Analyze(p, Options{From: from, PerPair: true})
	require.NoError(t, err)
	require.Equal(t, len(a.Cells), len(b.Cells))
	nonEmpty := 0
	for i := range a.Cells {
		require.Equal(t, a.Cells[i].Reach.Summary(), b.Cells[i].Reach.Summary(), "%s -> %s", a.Cells[i].From, a.Cells[i].To)
		require.Equal(t, a.Cells[i].OneWay.Summary(), b.Cells[i].OneWay.Summary(), "%s -> %s", a.Cells[i].From, a.Cells[i].To)
		if !a.Cells[i].Reach.Empty() {
			nonEmpty++
		}
	}
	require.NotZero(t, nonEmpty)
	require.Less(t, a.Traces, b.Traces, "classes should save traces")
}

// TestClassesAgreeWhenManyMerge: few groups over many instances, so that most endpoints share a
// class; the whole matrix by classes equals the one computed per pair.
func TestClassesAgreeWhenManyMerge(t *testing.T) {
	p := generatedPlan(t, 120, 2)
	a, err := Analyze(p, Options{})
	require.NoError(t, err)
	b, err := Analyze(p, Options{PerPair: true})
	require.NoError(t, err)
	require.Less(t, a.Classes, len(a.Endpoints)/2, "the scenario should merge endpoints")
	require.Equal(t, len(a.Cells), len(b.Cells))
	for i := range a.Cells {
		x, y := a.Cells[i], b.Cells[i]
		for _, pair := range [][2]*Set{{&x.Reach, &y.Reach}, {&x.OneWay, &y.OneWay}, {&x.SomeSourcePorts, &y.SomeSourcePorts}, {&x.Appliance, &y.Appliance}} {
			require.Equal(t, pair[1].Summary(), pair[0].Summary(), "%s -> %s", x.From, x.To)
		}
	}
	t.Logf("%d classes for %d endpoints; %d traces by classes, %d per pair", a.Classes, len(a.Endpoints), a.Traces, b.Traces)
}
