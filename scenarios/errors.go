package scenarios

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a scenario file, at the place where it is.
type Error struct {
	Pos Pos
	Msg string // says what is wrong and what would be valid
}

func (e *Error) Error() string {
	if p := e.Pos.String(); p != "" {
		return p + ": " + e.Msg
	}
	return e.Msg
}

// ErrorList is every problem found in one file, in file order. Parse and Validate return one
// when anything is wrong; errors.As finds its first *Error.
type ErrorList []*Error

func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap gives the errors one by one, for errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Warning is something the loader accepted but changed or ignored, the way AWS would; a user
// should still hear about it.
type Warning struct {
	Pos Pos
	Msg string
}

// String formats the warning as "file:line:col: message".
func (w Warning) String() string { return (&Error{w.Pos, w.Msg}).Error() }

// maxErrors bounds the report of one file: past that, the first errors are usually the cause
// of the rest.
const maxErrors = 50

// problems collects the errors and warnings of one pass over a file.
type problems struct {
	errs     ErrorList
	warnings []Warning
	dropped  int
}

func (p *problems) errorf(at Pos, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		p.dropped++
		return
	}
	p.errs = append(p.errs, &Error{Pos: at, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) warnf(at Pos, format string, args ...any) {
	p.warnings = append(p.warnings, Warning{Pos: at, Msg: fmt.Sprintf(format, args...)})
}

// sortedWarnings returns the warnings in file order.
func (p *problems) sortedWarnings() []Warning {
	out := append([]Warning(nil), p.warnings...)
	sort.SliceStable(out, func(i, j int) bool { return before(out[i].Pos, out[j].Pos) })
	return out
}

func before(a, b Pos) bool {
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Col < b.Col
}

// err returns the collected errors sorted by position, or nil (a nil interface) when there are none.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	out := append(ErrorList(nil), p.errs...)
	sort.SliceStable(out, func(i, j int) bool { return before(out[i].Pos, out[j].Pos) })
	if p.dropped > 0 {
		last := out[len(out)-1].Pos
		out = append(out, &Error{Pos: Pos{File: last.File}, Msg: fmt.Sprintf("and %d more errors; fix the ones above first", p.dropped)})
	}
	return out
}
