package flowlog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"time"
)

// lineDecoder turns the lines of a flow log file into records. A text file's format comes from
// its header line, or is the default format when the file has none; a JSON line carries its own.
type lineDecoder struct {
	format Format
	known  bool
	preset bool // format given by the caller: kept across a reset
	line   int
}

func (d *lineDecoder) setFormat(f Format) {
	d.format, d.known, d.preset = f, true, true
}

func (d *lineDecoder) reset() {
	if !d.preset {
		d.format, d.known = Format{}, false
	}
	d.line = 0
}

// decode reads one line; ok is false for a line that holds no record (blank, a # comment, a
// header).
func (d *lineDecoder) decode(line string) (rec Record, ok bool, err error) {
	d.line++
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return Record{}, false, nil
	}
	if line[0] == '{' {
		r, f, err := ParseJSONRecord(line)
		if err != nil {
			return Record{}, false, fmt.Errorf("line %d: %w", d.line, err)
		}
		d.format, d.known = f, true
		return r, true, nil
	}
	first, _, _ := strings.Cut(line, " ")
	if _, isName := lookupField(first); isName {
		if f, err := ParseHeader(line); err == nil {
			d.format, d.known = f, true
			return Record{}, false, nil
		}
	}
	if !d.known {
		d.format, d.known = DefaultFormat(), true
	}
	r, err := ParseRecord(d.format, line)
	if err != nil {
		return Record{}, false, fmt.Errorf("line %d: %w", d.line, err)
	}
	return r, true, nil
}

// Reader reads the records of a flow log file, plain text or JSON lines (detected per line).
type Reader struct {
	br  *bufio.Reader
	dec lineDecoder
}

// NewReader reads records from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReader(r)}
}

// SetFormat sets the format of text lines, for a file without a header line (AWS's own
// examples have none); a header line in the file still takes precedence from where it is.
func (r *Reader) SetFormat(f Format) { r.dec.setFormat(f) }

// Format is the format of the last text header or JSON line read, if any.
func (r *Reader) Format() (Format, bool) { return r.dec.format, r.dec.known }

// Next returns the next record, or io.EOF after the last one. A malformed line gives an error
// naming its line number; reading may continue after it.
func (r *Reader) Next() (Record, error) {
	for {
		line, err := r.br.ReadString('\n')
		if line == "" && err != nil {
			return Record{}, err
		}
		rec, ok, derr := r.dec.decode(line)
		if derr != nil {
			return Record{}, derr
		}
		if ok {
			return rec, nil
		}
		if err != nil {
			return Record{}, err
		}
	}
}

// Tail reads the records appended to a flow log file since the last Poll, for `ec2sim flows
// --follow`. A line without its newline yet is kept until the rest arrives. When the file is
// truncated or replaced by another one at the same path it starts again from the beginning.
type Tail struct {
	path    string
	off     int64
	fi      os.FileInfo
	partial []byte
	dec     lineDecoder
}

// NewTail follows the file at path, from its beginning. The file need not exist yet.
func NewTail(path string) *Tail { return &Tail{path: path} }

// SetFormat sets the format of text lines, as Reader.SetFormat.
func (t *Tail) SetFormat(f Format) { t.dec.setFormat(f) }

// Poll returns the records of the complete lines added since the last call. Malformed lines are
// skipped and reported together in the error, after the records that could be read.
func (t *Tail) Poll() ([]Record, error) {
	f, err := os.Open(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if t.fi != nil && (!os.SameFile(t.fi, fi) || fi.Size() < t.off) {
		t.off, t.partial = 0, nil
		t.dec.reset()
	}
	t.fi = fi
	if _, err := f.Seek(t.off, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	t.off += int64(len(data))
	buf := append(t.partial, data...)
	var recs []Record
	var errs []error
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		rec, ok, err := t.dec.decode(string(buf[:i]))
		buf = buf[i+1:]
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", t.path, err))
		case ok:
			recs = append(recs, rec)
		}
	}
	t.partial = append(t.partial[:0], buf...)
	return recs, errors.Join(errs...)
}

// Follow yields the records of t as the file grows, polling every interval, until ctx ends or
// the caller stops ranging. Read errors are yielded with a zero Record and following goes on.
func Follow(ctx context.Context, t *Tail, every time.Duration) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			recs, err := t.Poll()
			for _, r := range recs {
				if !yield(r, nil) {
					return
				}
			}
			if err != nil && !yield(Record{}, err) {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}
}
