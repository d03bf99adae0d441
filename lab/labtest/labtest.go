// Package labtest brings real labs up for the tests of packages built on lab (the importers,
// the reachability analysis): a unique name so that tests run in parallel, teardown that also
// runs when the test fails, a check that nothing is left behind, and probes as the runner sends
// them. lab's own tests cannot use it (lab would import itself) and keep their own helper.
package labtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/probe"
	"github.com/ec2sim/ec2sim/scenarios"
)

// RequireRoot skips t unless it runs as root and outside -short.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and TAP devices")
	}
	if testing.Short() {
		t.Skip("root namespace test skipped in -short mode")
	}
}

// Name is prefix with a random suffix (lab.FreshName).
func Name(prefix string) string { return lab.FreshName(prefix) }

// Plan plans sc as a lab named Name(prefix), with its flow logs in a temporary directory.
func Plan(t testing.TB, sc *scenarios.Scenario, prefix string) (*lab.Plan, error) {
	p, err := lab.NewPlan(sc, Name(prefix))
	if err != nil {
		return nil, err
	}
	p.FlowLogDir = t.TempDir()
	return p, nil
}

// Up brings plan up and registers its teardown, which fails t if Down fails or leaves anything
// of the lab behind.
func Up(t testing.TB, plan *lab.Plan) *lab.Lab {
	t.Helper()
	l, err := lab.Up(context.Background(), plan)
	if err != nil {
		t.Fatalf("bring-up of %s: %v", plan.Lab, err)
	}
	t.Cleanup(func() {
		if err := l.Down(); err != nil {
			t.Errorf("down: %v", err)
		}
		if left, _ := hypervisor.ListLabObjects(plan.Lab); len(left) > 0 {
			t.Errorf("left behind after down: %v", left)
		}
	})
	return l
}

// UpScenario plans and brings up sc; see Plan and Up.
func UpScenario(t testing.TB, sc *scenarios.Scenario, prefix string) *lab.Lab {
	t.Helper()
	p, err := Plan(t, sc, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return Up(t, p)
}

// Probe is one expectation: real traffic From (an instance or a host outside the VPCs) To
// (anything lab.ResolveTarget takes) gets through or not.
type Probe struct {
	From, To, Proto string
	Port            int
	Allow           bool
}

func (p Probe) String() string {
	return fmt.Sprintf("%s -> %s %s/%d", p.From, p.To, p.Proto, p.Port)
}

// Expect sends each probe as the runner does (lab.ProbeSpec) and fails t for every one whose
// outcome differs from its Allow.
func Expect(t testing.TB, l *lab.Lab, probes ...Probe) {
	t.Helper()
	for _, p := range probes {
		spec, err := l.ProbeSpec(p.From, p.To, p.Proto, p.Port, 1500*time.Millisecond)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		r, err := probe.Run(spec)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if r.Completed != p.Allow {
			t.Errorf("%s: completed %v, want %v (%s)", p, r.Completed, p.Allow, r.Detail)
		}
	}
}

// Bundled lists every scenario shipped with ec2sim (scenarios/suites and scenarios/examples);
// repo is the path from the test's package directory to the repository root. It fails t when
// there are none, so a moved directory cannot turn a test over all of them into a test of none.
func Bundled(t testing.TB, repo string) []string {
	t.Helper()
	var files []string
	for _, dir := range []string{"scenarios/suites", "scenarios/examples"} {
		m, err := filepath.Glob(filepath.Join(repo, dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no bundled scenarios under %s", repo)
	}
	return files
}

// UpFile loads a scenario file, plans it and brings it up; see Plan and Up. Every bundled
// scenario must come up, so a file that does not is a failure, not a skip.
func UpFile(t testing.TB, file, prefix string) (*lab.Lab, *scenarios.Scenario) {
	t.Helper()
	sc, err := scenarios.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return UpScenario(t, sc, prefix+"-"+sc.Name), sc
}
