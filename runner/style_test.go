package runner

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and returns its terminal side.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStyleFor(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tty := openPTY(t)
	require.NoError(t, unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 100}))
	assert.Equal(t, Style{Color: true, Progress: true, Width: 100}, StyleFor(tty, env("TERM", "xterm")))
	assert.Equal(t, Style{Color: false, Progress: true, Width: 100}, StyleFor(tty, env("NO_COLOR", "1")), "NO_COLOR turns colours off, not progress")
	assert.False(t, StyleFor(tty, env("TERM", "dumb")).Color)
	assert.False(t, StyleFor(tty, env("TERM", "dumb")).Progress)
	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, Style{}, StyleFor(f, env()), "a file is plain")
	assert.Equal(t, Style{}, StyleFor(nil, env()))
}

func TestPlainOutputHasNoEscapes(t *testing.T) {
	results := []*FileResult{{File: "a.yaml", Scenario: "a", ClockSpeed: 60, Probes: []ProbeResult{{Name: "x", Passed: true}}},
		{File: "b.yaml", Scenario: "b", Probes: []ProbeResult{{Name: "y"}}}}
	var b bytes.Buffer
	WriteSummaryStyle(&b, results, Style{})
	WriteProbeLineStyle(&b, &results[1].Probes[0], Style{})
	p := NewProgress(&b, Style{}, 2)
	p.Start("a.yaml")
	p.Probe(&results[0].Probes[0])
	p.Print("report\n")
	p.Done("a.yaml")
	p.Clear()
	assert.NotContains(t, b.String(), "\x1b")
	assert.NotContains(t, b.String(), "\r")
	assert.Contains(t, b.String(), "ok (clock 60x)", "the summary says a lab clock was used")
}

func TestColouredSummaryStaysAligned(t *testing.T) {
	results := []*FileResult{{File: "a.yaml", Scenario: "a"}, {File: "bb.yaml", Scenario: "bb", Error: "boom"}}
	var plain, colour bytes.Buffer
	WriteSummaryStyle(&plain, results, Style{})
	WriteSummaryStyle(&colour, results, Style{Color: true})
	assert.NotEqual(t, plain.String(), colour.String())
	stripped := strings.NewReplacer(ansiRed, "", ansiGreen, "", ansiBold, "", ansiReset, "").Replace(colour.String())
	assert.Equal(t, plain.String(), stripped, "colours change no column")
	assert.Contains(t, colour.String(), ansiRed+ansiBold+"ERROR"+ansiReset)
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, Style{Progress: true}, 3)
	p.Start("a.yaml")
	p.Start("b.yaml")
	p.Probe(&ProbeResult{Passed: true})
	p.Probe(&ProbeResult{})
	p.Done("a.yaml")
	assert.Equal(t, "[1/3 files] 1 passed, 1 failed; running b.yaml", p.Line())
	p.Print("a.yaml\n  PASS ...\n")
	out := b.String()
	assert.True(t, strings.HasSuffix(out, "\r\x1b[K"+p.Line()), "the line is redrawn after the report: %q", out)
	assert.Contains(t, out, "\r\x1b[Ka.yaml\n", "the line is cleared before the report")
	b.Reset()
	p.style.Width = 20
	p.Start("a-long-file-name.yaml")
	assert.Equal(t, "\r\x1b[K[1/3 files] 1 pa...", b.String(), "the line fits the terminal (19 of 20 columns)")
	b.Reset()
	p.Clear()
	assert.Equal(t, "\r\x1b[K", b.String())
	p.Probe(&ProbeResult{})
	assert.Equal(t, "\r\x1b[K", b.String(), "nothing is drawn after Clear")
}
