package flowlog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Sink receives the records of ended windows.
type Sink interface {
	Write(recs []Record) error
	Close() error
}

// FileSink appends records to one file, as plain text with a header line or as JSON lines.
// Each Write is a single write(2) of whole lines, so a reader tailing the file sees a batch
// at once (a reader may still meet a partial line; Tail keeps it until its newline arrives).
type FileSink struct {
	path   string
	format Format
	enc    Encoding

	mu  sync.Mutex
	f   *os.File
	buf []byte
}

// CreateFileSink opens path for appending, creating it if needed. A new or empty text file gets
// the header line; an existing text file must start with the same header, so one file never
// mixes two formats.
func CreateFileSink(path string, format Format, enc Encoding) (*FileSink, error) {
	if format.Len() == 0 {
		return nil, fmt.Errorf("flow log file %s: the format has no fields", path)
	}
	switch enc {
	case "":
		enc = EncodingText
	case EncodingText, EncodingJSON:
	default:
		return nil, fmt.Errorf("flow log file %s: encoding %q: want text or json", path, string(enc))
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("flow log file: %w", err)
	}
	s := &FileSink{path: path, format: format, enc: enc, f: f}
	if enc == EncodingText {
		if err := s.checkHeader(); err != nil {
			f.Close()
			return nil, err
		}
	}
	return s, nil
}

// checkHeader writes the header to an empty file or checks an existing one's.
func (s *FileSink) checkHeader() error {
	want := s.format.Header()
	first, err := bufio.NewReader(io.NewSectionReader(s.f, 0, 1<<20)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("flow log file %s: %w", s.path, err)
	}
	if first == "" {
		_, err := s.f.WriteString(want + "\n")
		return err
	}
	if got := strings.TrimRight(first, "\r\n"); got != want {
		return fmt.Errorf("flow log file %s starts with header %q, but this log's format is %q; use another file", s.path, got, want)
	}
	return nil
}

// Path is the file written to.
func (s *FileSink) Path() string { return s.path }

// Write appends the records, one per line.
func (s *FileSink) Write(recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("flow log file %s: write after close", s.path)
	}
	b := s.buf[:0]
	for i := range recs {
		if s.enc == EncodingJSON {
			b = s.format.AppendJSON(b, &recs[i])
		} else {
			b = s.format.AppendText(b, &recs[i])
		}
		b = append(b, '\n')
	}
	s.buf = b
	if _, err := s.f.Write(b); err != nil {
		return fmt.Errorf("flow log file %s: %w", s.path, err)
	}
	return nil
}

// Close closes the file.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
