package reach

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ec2sim/ec2sim/fabric"
)

// TestQuickTraceDoesNotAllocate: after the scratch's first use, following a packet and its reply
// (conntrack entries applied, then reset) allocates nothing, which is what lets the analysis
// trace hundreds of thousands of them.
func TestQuickTraceDoesNotAllocate(t *testing.T) {
	p := generatedPlan(t, 20, 10)
	res, err := Analyze(p, Options{})
	require.NoError(t, err)
	var sc fabric.TraceScratch
	tried := 0
	for _, c := range res.Cells {
		if len(c.Reach.TCP) == 0 || tried == 5 {
			continue
		}
		tried++
		spec := c.spec
		spec.Proto, spec.SrcPort, spec.DstPort = 6, uint16(res.Ephemeral.Lo), uint16(c.Reach.TCP[0].Lo)
		q, err := fabric.QuickTrace(p.State, spec, &sc)
		require.NoError(t, err)
		require.True(t, q.Forward && q.Return, "%s -> %s tcp/%d reaches", c.From, c.To, spec.DstPort)
		allocs := testing.AllocsPerRun(100, func() { fabric.QuickTrace(p.State, spec, &sc) })
		require.Zero(t, allocs, "%s -> %s", c.From, c.To)
	}
	require.NotZero(t, tried, "no cell reaches: the generated scenario tests nothing")
}
