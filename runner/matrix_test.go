package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatrixTables(t *testing.T) {
	r := &MatrixResult{From: []string{"web", "app"}, To: []string{"web", "db"}, Ports: []string{"tcp/80", "icmp"},
		Expected: []string{"--X.", ".X.X"}, Observed: []string{"--..", ".X?X"}}
	r.Wrong, r.Correct = r.count()
	assert.Equal(t, 2, r.Wrong, "a wrong cell and one that could not be probed")
	assert.Equal(t, 4, r.Correct, "- cells count neither way")
	assert.Equal(t, []string{"--!.", ".X!X"}, r.Difference())
	var b bytes.Buffer
	r.WriteTables(&b, "")
	assert.Equal(t, `expected (cells per target: tcp/80 icmp):
  from \ to  web  db
  web        --   X.
  app        .X   .X
observed (cells per target: tcp/80 icmp):
  from \ to  web  db
  web        --   ..
  app        .X   ?X
difference, ! = wrong (cells per target: tcp/80 icmp):
  from \ to  web  db
  web        --   !.
  app        .X   !X
2 wrong, 4 correct
`, b.String())

	ok := &MatrixResult{From: []string{"a"}, To: []string{"b"}, Ports: []string{"icmp"}, Expected: []string{"."}, Observed: []string{"."}}
	ok.Wrong, ok.Correct = ok.count()
	b.Reset()
	ok.WriteTables(&b, "  ")
	assert.Equal(t, "  observed (as expected) (icmp):\n    from \\ to  b\n    a          .\n  0 wrong, 1 correct\n", b.String())
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 || testing.Short() {
		t.Skip("needs root: brings up labs")
	}
}

// TestMatrixWrongExpectationFails proves the runner can fail: the fixture expects web to reach db
// on tcp/5432, which db's group refuses; exactly that cell is marked "!".
func TestMatrixWrongExpectationFails(t *testing.T) {
	needRoot(t)
	r := RunFile(context.Background(), "testdata/matrix-wrong.yaml", Options{}, nil)
	require.Empty(t, r.Error)
	require.Len(t, r.Probes, 1)
	p := r.Probes[0]
	require.NotNil(t, p.Matrix)
	assert.False(t, p.Passed)
	assert.False(t, r.Passed())
	assert.Equal(t, 1, p.Matrix.Wrong)
	assert.Equal(t, 11, p.Matrix.Correct)
	assert.GreaterOrEqual(t, p.Matrix.Retried, 1, "a wrong cell is probed twice")
	assert.Equal(t, []string{"---X.XXX!", ".XX---XX."}, p.Matrix.Difference())
	assert.Equal(t, []string{"---X.XXXX", ".XX---XX."}, p.Matrix.Observed)
	require.Len(t, p.Matrix.Errors, 1)
	assert.Contains(t, p.Matrix.Errors[0], "web -> db tcp/5432: expected ., observed X; trace: forward drop: security-group-ingress [ENI_SG_RULES_MISMATCH", "a wrong cell says where its packet was dropped")
}

// TestLabClockExpiresConntrack runs the conntrack idle-timeout suite (clock speed 60: a held
// session dies after two real seconds of silence), then the same file on real time, where the
// session must survive — so it is the clock, not the wait, that expires the entry.
func TestLabClockExpiresConntrack(t *testing.T) {
	needRoot(t)
	const suite = "../scenarios/suites/conntrack-idle-timeout.yaml"
	r := RunFile(context.Background(), suite, Options{}, nil)
	require.Empty(t, r.Error)
	assert.True(t, r.Passed(), "%+v", r.Probes)
	assert.Equal(t, float64(60), r.ClockSpeed, "the report says a lab clock was used")

	data, err := os.ReadFile(suite)
	require.NoError(t, err)
	realTime := strings.Replace(string(data), "clock: {speed: 60}\n", "", 1)
	require.NotEqual(t, string(data), realTime)
	f := filepath.Join(t.TempDir(), "real-time.yaml")
	require.NoError(t, os.WriteFile(f, []byte(realTime), 0o644))
	r = RunFile(context.Background(), f, Options{}, nil)
	require.Empty(t, r.Error)
	assert.Zero(t, r.ClockSpeed)
	last := r.Probes[len(r.Probes)-1]
	assert.False(t, last.Passed, "on real time the held session outlives two seconds: %+v", last)
	assert.Equal(t, "allow", last.Observed)
}

// TestLabClockDrivesFlowLogWindows: AWS's flow-log example with AWS's own 60-second windows,
// on a lab clock at 30x: the records appear within the steps' default wait (two windows on
// the lab clock, scaled to 4 real seconds, plus 3), where real time would take minutes.
func TestLabClockDrivesFlowLogWindows(t *testing.T) {
	needRoot(t)
	data, err := os.ReadFile("../scenarios/suites/aws-flow-log-ping.yaml")
	require.NoError(t, err)
	s := strings.Replace(string(data), "    interval: 2s\n", "    interval: 60\n", 1)
	s = strings.Replace(s, "\nvpcs:\n", "\nclock: {speed: 30}\nvpcs:\n", 1)
	require.Contains(t, s, "interval: 60\n")
	require.Contains(t, s, "clock: {speed: 30}")
	f := filepath.Join(t.TempDir(), "flow-log-clock.yaml")
	require.NoError(t, os.WriteFile(f, []byte(s), 0o644))
	start := time.Now()
	r := RunFile(context.Background(), f, Options{}, nil)
	require.Empty(t, r.Error)
	assert.True(t, r.Passed(), "%+v", r.Probes)
	assert.Equal(t, float64(30), r.ClockSpeed)
	assert.Less(t, time.Since(start), 60*time.Second, "three 60-second windows passed in real time")
}
