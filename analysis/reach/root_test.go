package reach

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

// TestVerifyBundledScenarios brings up every bundled scenario (suites and examples) and checks that the analysis
// agrees with real probes on every probed cell. At most 150 probes per scenario and three labs at
// a time keep the whole test near a minute.
func TestVerifyBundledScenarios(t *testing.T) {
	if os.Geteuid() != 0 || testing.Short() {
		t.Skip("needs root: brings up labs")
	}
	files, _ := filepath.Glob("../../scenarios/suites/*.yaml")
	ex, _ := filepath.Glob("../../scenarios/examples/*.yaml")
	files = append(files, ex...)
	if len(files) == 0 {
		t.Fatal("no bundled scenarios found")
	}
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
	b := make([]byte, 3)
	rand.Read(b)
	name := sc.Name
	if len(name) > 18 {
		name = strings.TrimRight(name[:18], "-")
	}
	name = "rv-" + name + "-" + hex.EncodeToString(b)
	plan, err := lab.NewPlan(sc, name)
	if err != nil {
		if strings.Contains(err.Error(), "not supported yet") {
			t.Logf("%s: not runnable yet: %v", filepath.Base(file), err)
			return 0
		}
		t.Errorf("%s: %v", file, err)
		return 0
	}
	plan.FlowLogDir = t.TempDir()
	l, err := lab.Up(context.Background(), plan)
	if err != nil {
		t.Errorf("%s: bring-up: %v", file, err)
		return 0
	}
	t.Cleanup(func() { l.Down() })
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
