package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBundledSuitesPass runs every bundled suite, two at a time, as `make demo` does: each must
// pass on a fresh machine.
func TestBundledSuitesPass(t *testing.T) {
	needRoot(t)
	files, _ := filepath.Glob("../scenarios/suites/*.yaml")
	require.NotEmpty(t, files)
	results := RunFiles(context.Background(), files, 2, Options{})
	for i, r := range results {
		if !r.Passed() {
			var failed []string
			for _, p := range r.Probes {
				if !p.Passed {
					failed = append(failed, p.Pos+" "+p.Name+": expected "+p.Expected+", observed "+p.Observed+" ("+p.Detail+")")
				}
			}
			t.Errorf("%s: %s\n%s", files[i], r.Error, strings.Join(failed, "\n"))
		}
	}
}

// TestSendCanFail: the anti-spoofing suite with one expectation reversed (a spoofed source IP
// arriving while the source/destination check is on) fails on exactly that step.
func TestSendCanFail(t *testing.T) {
	needRoot(t)
	data, err := os.ReadFile("../scenarios/suites/anti-spoofing.yaml")
	require.NoError(t, err)
	const step = "  - send: {from: attacker, to: victim, src_ip: 10.0.1.99, arrives: false}\n"
	require.Contains(t, string(data), step)
	wrong := strings.Replace(string(data), step, strings.Replace(step, "arrives: false", "arrives: true", 1), 1)
	f := filepath.Join(t.TempDir(), "anti-spoofing-wrong.yaml")
	require.NoError(t, os.WriteFile(f, []byte(wrong), 0o644))
	r := RunFile(context.Background(), f, Options{}, nil)
	require.Empty(t, r.Error)
	var failed []string
	for _, p := range r.Probes {
		if !p.Passed {
			failed = append(failed, p.Name)
			assert.Equal(t, "no arrival", p.Observed)
		}
	}
	assert.Equal(t, []string{"step 2: send udp/9: attacker -> victim (src 10.0.1.99)"}, failed)
}
