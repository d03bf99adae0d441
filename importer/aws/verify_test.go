package awsimport

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/analysis/reach"
	"github.com/ec2sim/ec2sim/lab/labtest"
)

// Every imported snapshot comes up as a lab, and the static reachability analysis of it agrees
// with real probes on every cell (issue 8: reach agrees with --verify on every imported
// snapshot). The snapshots are real AWS configurations, so this is where the engine meets rule
// sets nobody wrote for it.
func TestImportedSnapshotsVerify(t *testing.T) {
	labtest.RequireRoot(t)
	dirs, err := os.ReadDir(snapshots)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "filters" {
			continue // filters/ holds rule corner cases without a network to bring up
		}
		n++
		t.Run(d.Name(), func(t *testing.T) {
			t.Parallel()
			sc, _ := importDir(t, filepath.Join(snapshots, d.Name()))
			l := labtest.UpScenario(t, sc, "awsv")
			_, vr, err := reach.Verify(context.Background(), l, reach.Options{}, reach.VerifyOptions{MaxProbes: 120, Timeout: 1500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if len(vr.Checks) == 0 {
				t.Errorf("no probe was sent: the comparison proves nothing")
			}
			for _, c := range vr.Disagreements {
				t.Errorf("%s -> %s %s/%d: analysis %v, engine %v (%s%s)", c.From, c.To, c.Proto, c.Port, c.Analysis, c.Engine, c.Detail, c.Error)
			}
			t.Logf("%d probes, %d disagree, %d not probed", len(vr.Checks), len(vr.Disagreements), vr.Skipped)
		})
	}
	if n < 6 {
		t.Errorf("only %d snapshots under %s", n, snapshots)
	}
}
