package pool

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// AuditRecord is one line of a pool's audit log: one scrub of one extent.
type AuditRecord struct {
	Time  time.Time `json:"time"`
	Pool  string    `json:"pool"`       // Options.Name
	Owner string    `json:"owner"`      // the instance (or volume owner) the extent came from
	ID    string    `json:"id"`         // the grant or volume, e.g. mem-3, vol-7
	What  string    `json:"what"`       // memory, ebs or instance-store
	Why   string    `json:"why"`        // free, release, detach, reset, recovery, retry
	Run   Extent    `json:"extent"`     // in units of the pool (frames or blocks)
	Unit  int64     `json:"unit_bytes"` // bytes per unit
	Bytes int64     `json:"bytes"`      // Run.Len * Unit
	// Method is how the extent was zeroed; "none (UNSAFE: ...)" when scrubbing is disabled.
	Method   string        `json:"method"`
	Duration time.Duration `json:"duration_ns"` // zeroing plus verification
	// Verified says every byte of the extent was read back as zero.
	Verified bool `json:"verified"`
	// HoleBytes is how much of Bytes the file system reported as holes, which read as zero
	// without being read back (see Options.ReadHoles); the rest was read and compared.
	HoleBytes int64 `json:"hole_bytes,omitempty"`
	// Unsafe marks a record of a pool with scrubbing disabled: the extent was not zeroed.
	Unsafe bool   `json:"unsafe,omitempty"`
	Error  string `json:"error,omitempty"` // why zeroing or verification failed
}

// String is a one-line summary, flagged UNSAFE when the extent was not scrubbed.
func (r AuditRecord) String() string {
	s := fmt.Sprintf("%s %s %s %s of %s (%s, %s %v) %s in %v",
		r.Time.Format(time.RFC3339), r.Pool, r.Why, r.What, r.Owner, r.ID, sizeString(r.Bytes), r.Run, r.Method, r.Duration)
	switch {
	case r.Unsafe:
		s += " NOT VERIFIED: " + unsafeWarning
	case r.Verified:
		s += " verified zero"
	default:
		s += " NOT VERIFIED: " + r.Error
	}
	return s
}

// auditLog appends records to the log, one write per line with O_APPEND, so a crash leaves at
// worst a truncated last line and never interleaves two records.
type auditLog struct {
	f *os.File
}

func openAudit(path string) (*auditLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pool: audit log: %w", err)
	}
	return &auditLog{f: f}, nil
}

// append writes r and syncs it: an extent goes back to the free list only after its record is
// on disk.
func (l *auditLog) append(r AuditRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("pool: writing audit record: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("pool: syncing audit log: %w", err)
	}
	return nil
}

func (l *auditLog) close() error { return l.f.Close() }

// ReadAudit reads an audit log, oldest record first. A malformed line is an error naming its
// line number, except a truncated last line (no newline), which a crash in the middle of a write
// can leave and which is skipped.
func ReadAudit(path string) ([]AuditRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseAudit(f)
}

// parseAudit is ReadAudit on a reader.
func parseAudit(r io.Reader) ([]AuditRecord, error) {
	var recs []AuditRecord
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			// A line without its newline is a write the crash cut short; it is skipped even when
			// it happens to parse, because it may be missing fields.
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var rec AuditRecord
		// Unknown fields are allowed: a newer ec2sim may have added some to the same log.
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&rec); err != nil {
			return recs, fmt.Errorf("audit log line %d: %w", line, err)
		}
		if dec.More() {
			return recs, fmt.Errorf("audit log line %d: more than one record on the line", line)
		}
		if rec.Time.IsZero() || rec.ID == "" {
			return recs, fmt.Errorf("audit log line %d: not an audit record (no time or id)", line)
		}
		recs = append(recs, rec)
	}
}
