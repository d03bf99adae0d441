package pool

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const auditLine = `{"time":"2025-01-02T03:04:05Z","pool":"lab","owner":"i-1","id":"mem-1","what":"memory","why":"free","extent":{"start":4,"len":2},"unit_bytes":2097152,"bytes":4194304,"method":"punch","duration_ns":1500000,"verified":true}`

func TestAuditRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := openAudit(path)
	require.NoError(t, err)
	want := []AuditRecord{
		{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Pool: "lab", Owner: "i-1", ID: "mem-1", What: "memory",
			Why: "free", Run: Extent{4, 2}, Unit: 2 << 20, Bytes: 4 << 20, Method: "punch", Duration: 1500 * time.Microsecond, Verified: true},
		{Time: time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC), Pool: "lab", Owner: "i-2", ID: "vol-2", What: "ebs",
			Why: "release", Run: Extent{0, 8}, Unit: 1 << 20, Bytes: 8 << 20, Method: ScrubNone.String(), Unsafe: true, Error: unsafeWarning},
	}
	for _, r := range want {
		require.NoError(t, l.append(r))
	}
	require.NoError(t, l.close())
	got, err := ReadAudit(path)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Contains(t, got[0].String(), "verified zero")
	require.Contains(t, got[1].String(), "NOT VERIFIED: UNSAFE")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, auditLine+"\n", strings.SplitAfter(string(b), "\n")[0], "the log format is stable")
}

func TestParseAudit(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		err      string
	}{
		{"one", auditLine + "\n", 1, ""},
		{"blank lines", "\n" + auditLine + "\n\n" + auditLine + "\n", 2, ""},
		{"truncated last line is skipped", auditLine + "\n" + auditLine[:40], 1, ""},
		{"a whole last line without newline is skipped too", auditLine + "\n" + auditLine, 1, ""},
		{"malformed middle line", auditLine + "\n{not json\n" + auditLine + "\n", 1, "line 2"},
		{"not a record", auditLine + "\n" + `{"owner":"x"}` + "\n", 1, "line 2: not an audit record"},
		{"two on a line", auditLine + auditLine + "\n", 0, "line 1: more than one"},
		{"unknown fields are fine", strings.Replace(auditLine, `"pool"`, `"future":1,"pool"`, 1) + "\n", 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := parseAudit(strings.NewReader(tc.in))
			if tc.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.err)
			}
			require.Len(t, recs, tc.n)
		})
	}
}

// FuzzParseAudit: parsing never panics, and what parses is written back to a log that parses
// to the same records.
func FuzzParseAudit(f *testing.F) {
	f.Add([]byte(auditLine + "\n"))
	f.Add([]byte(auditLine + "\n" + auditLine[:30]))
	f.Add([]byte("\n\n{}\n"))
	f.Add([]byte(`{"time":"2025-01-02T03:04:05Z","id":"x","extent":{"start":-1}}` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := parseAudit(bytes.NewReader(b))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		for _, r := range recs {
			line, err := json.Marshal(r)
			require.NoError(t, err)
			buf.Write(line)
			buf.WriteByte('\n')
		}
		again, err := parseAudit(&buf)
		require.NoError(t, err)
		require.Len(t, again, len(recs))
		for i := range recs {
			a, _ := json.Marshal(recs[i])
			b, _ := json.Marshal(again[i])
			require.JSONEq(t, string(a), string(b))
		}
	})
}
