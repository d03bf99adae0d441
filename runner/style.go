package runner

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Style is how a text report looks. On a terminal the runner colours results and keeps a
// progress line at the bottom; piped into a file or a CI log it prints plain lines only, so
// that logs hold no escape codes.
type Style struct {
	Color    bool // ANSI colours: PASS green, FAIL and wrong cells red
	Progress bool // a progress line, redrawn in place
	// Width is the terminal's width in columns (0: unknown); the progress line stays shorter,
	// or it would wrap and \r could not redraw it.
	Width int
}

// StyleFor decides the style for f: colours and progress only on a terminal, and colours not
// when NO_COLOR is set (https://no-color.org) or TERM is dumb. getenv is os.Getenv outside tests.
func StyleFor(f *os.File, getenv func(string) string) Style {
	if f == nil {
		return Style{}
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return Style{}
	}
	dumb := getenv("TERM") == "dumb"
	st := Style{Color: getenv("NO_COLOR") == "" && !dumb, Progress: !dumb}
	if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil {
		st.Width = int(ws.Col)
	}
	return st
}

const (
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiBold  = "\x1b[1m"
	ansiReset = "\x1b[0m"
)

func (s Style) paint(code, text string) string {
	if !s.Color {
		return text
	}
	return code + text + ansiReset
}

// Mark is PASS or FAIL, coloured on a terminal.
func (s Style) Mark(passed bool) string {
	if passed {
		return s.paint(ansiGreen, "PASS")
	}
	return s.paint(ansiRed, "FAIL")
}

// Result colours a summary's RESULT word.
func (s Style) Result(word string) string {
	if word == "ok" {
		return s.paint(ansiGreen, word)
	}
	return s.paint(ansiRed+ansiBold, word)
}

// Progress is the runner's progress line: how many files and probes are done, and what runs.
// Methods are safe from several goroutines; with Style.Progress off they print nothing.
type Progress struct {
	w                                io.Writer
	style                            Style
	mu                               sync.Mutex
	files, filesDone, passed, failed int
	running                          []string
	shown                            bool
}

// NewProgress makes the progress line of a run of files.
func NewProgress(w io.Writer, style Style, files int) *Progress {
	return &Progress{w: w, style: style, files: files}
}

// Start notes that file began.
func (p *Progress) Start(file string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = append(p.running, file)
	p.drawLocked()
}

// Probe counts a finished probe.
func (p *Progress) Probe(r *ProbeResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Passed {
		p.passed++
	} else {
		p.failed++
	}
	p.drawLocked()
}

// Done notes that file finished.
func (p *Progress) Done(file string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.filesDone++
	for i, f := range p.running {
		if f == file {
			p.running = append(p.running[:i], p.running[i+1:]...)
			break
		}
	}
	p.drawLocked()
}

// Print writes text above the progress line (clearing it first, redrawing it after).
func (p *Progress) Print(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	io.WriteString(p.w, text)
	p.drawLocked()
}

// Clear removes the progress line for good, before the summary.
func (p *Progress) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLocked()
	p.style.Progress = false
}

func (p *Progress) clearLocked() {
	if p.shown {
		io.WriteString(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// Line is the progress line's text.
func (p *Progress) Line() string {
	line := fmt.Sprintf("[%d/%d files] %d passed, %d failed", p.filesDone, p.files, p.passed, p.failed)
	if len(p.running) > 0 {
		line += "; running " + strings.Join(p.running, ", ")
	}
	return line
}

func (p *Progress) drawLocked() {
	if !p.style.Progress {
		return
	}
	line := p.Line()
	width := p.style.Width
	if width <= 0 {
		width = 80
	}
	if len(line) > width-1 {
		line = line[:max(0, width-4)] + "..." // one terminal line, or \r cannot redraw it
	}
	io.WriteString(p.w, "\r\x1b[K"+line)
	p.shown = true
}
