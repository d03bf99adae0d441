package reach

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

// TestVerifyBundledScenarios brings up every bundled scenario and checks that the analysis
// agrees with real probes on every probed cell. At most 150 probes per scenario and three labs at
// a time keep the whole test near a minute.
func TestVerifyBundledScenarios(t *testing.T) {
	if os.Geteuid() != 0 || testing.Short() {
		t.Skip("needs root: brings up labs")
	}
	files, _ := filepath.Glob("../../scenarios/suites/*.yaml")
	if len(files) == 0 {
		t.Fatal("no bundled scenarios found")
	}
	sem := make(chan struct{}, 3)
	var wg sync.WaitGroup
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
			verifyOne(t, f, sc)
		}()
	}
	wg.Wait()
}

func verifyOne(t *testing.T, file string, sc *scenarios.Scenario) {
	b := make([]byte, 3)
	rand.Read(b)
	name := sc.Name
	if len(name) > 18 {
		name = strings.TrimRight(name[:18], "-")
	}
	name = "rv-" + name + "-" + hex.EncodeToString(b)
	plan, err := lab.NewPlan(sc, name)
	if err != nil {
		t.Errorf("%s: %v", file, err)
		return
	}
	plan.FlowLogDir = t.TempDir()
	l, err := lab.Up(context.Background(), plan)
	if err != nil {
		t.Errorf("%s: bring-up: %v", file, err)
		return
	}
	t.Cleanup(func() { l.Down() })
	defer l.Down()
	start := time.Now()
	_, vr, err := Verify(context.Background(), l, Options{}, VerifyOptions{MaxProbes: 150, Timeout: time.Second})
	if err != nil {
		t.Errorf("%s: %v", file, err)
		return
	}
	t.Logf("%s: %d probes, %d disagree, %d not probed, %s", filepath.Base(file), len(vr.Checks), len(vr.Disagreements), vr.Skipped, time.Since(start).Round(time.Millisecond))
	if len(vr.Checks) == 0 {
		t.Errorf("%s: nothing probed", file)
	}
	for _, c := range vr.Disagreements {
		t.Errorf("%s: %s -> %s %s/%d: analysis %v, engine %v (%s%s)", filepath.Base(file), c.From, c.To, c.Proto, c.Port, c.Analysis, c.Engine, c.Detail, c.Error)
	}
}
