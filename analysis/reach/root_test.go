package reach

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/lab/labtest"
	"github.com/ec2sim/ec2sim/scenarios"
)

// TestVerifyBundledScenarios brings up every bundled scenario (suites and examples) and checks that the analysis
// agrees with real probes on every probed cell. At most 150 probes per scenario and three labs at
// a time keep the whole test near a minute.
func TestVerifyBundledScenarios(t *testing.T) {
	labtest.RequireRoot(t)
	files := labtest.Bundled(t, "../..")
	sem := make(chan struct{}, 3)
	var wg sync.WaitGroup
	var probes atomic.Int64
	for _, f := range files {
		sc, err := scenarios.Load(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			probes.Add(int64(verifyOne(t, f, sc)))
		}()
	}
	wg.Wait()
	// Scenarios whose every path goes through a multi-homed appliance probe nothing; the
	// others must, or the test proves little.
	if probes.Load() < 300 {
		t.Errorf("only %d probes over all scenarios", probes.Load())
	}
}

func verifyOne(t *testing.T, file string, sc *scenarios.Scenario) int {
	// Not labtest.Up: this runs on its own goroutine, where t.Fatal must not be called.
	plan, err := labtest.Plan(t, sc, "rv-"+sc.Name)
	if err != nil {
		t.Errorf("%s: %v", file, err)
		return 0
	}
	l, err := lab.Up(context.Background(), plan)
	if err != nil {
		t.Errorf("%s: bring-up: %v", file, err)
		return 0
	}
	defer l.Down()
	start := time.Now()
	_, vr, err := Verify(context.Background(), l, Options{}, VerifyOptions{MaxProbes: 150, Timeout: 1500 * time.Millisecond})
	if err != nil {
		t.Errorf("%s: %v", file, err)
		return 0
	}
	t.Logf("%s: %d probes, %d disagree, %d not probed, %s", filepath.Base(file), len(vr.Checks), len(vr.Disagreements), vr.Skipped, time.Since(start).Round(time.Millisecond))
	for _, c := range vr.Disagreements {
		t.Errorf("%s: %s -> %s %s/%d: analysis %v, engine %v (%s%s)", filepath.Base(file), c.From, c.To, c.Proto, c.Port, c.Analysis, c.Engine, c.Detail, c.Error)
	}
	return len(vr.Checks)
}
