package pool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Errors that callers may want to tell apart with errors.Is.
var (
	// ErrNoSpace: the pool has too few free units (or too short a contiguous run) for a request.
	ErrNoSpace = errors.New("not enough free space in the pool")
	// ErrReleased: the grant or volume was already freed, released or quarantined.
	ErrReleased = errors.New("already released")
	// ErrScrubFailed: an extent could not be verified zero; it is quarantined, never reused.
	ErrScrubFailed = errors.New("scrub not verified; extent quarantined")
	// ErrClosed: the pool was closed or destroyed.
	ErrClosed = errors.New("pool is closed")
)

// File names inside Options.Dir.
const (
	stateName = "state.json"
	auditName = "audit.jsonl"
	lockName  = "lock"
	diskName  = "disk.img"
	memDir    = "memory"   // the pool's own tmpfs mount point, when Options.MemoryDir is empty
	memName   = "pool.mem" // the memory file inside the pool's own tmpfs
)

// Pool is one lab's host memory and disk pools. Its methods are safe for concurrent use; the
// pool's files are locked against a second process opening them.
type Pool struct {
	opts      Options
	statePath string
	lock      *os.File
	audit     *auditLog
	zero      []byte // scrubChunk zero bytes; never written
	hooks     hooks

	// mu guards everything below, and the mutable fields of every record.
	mu      sync.Mutex
	mem     *area // nil when the pool has no memory
	disk    *area // nil when the pool has no disk
	records map[string]*record
	nextID  uint64
	closed  bool
}

// hooks are test seams; all are nil in use.
type hooks struct {
	// afterZero runs between zeroing an extent and verifying it (a test corrupts it here to
	// prove verification catches it).
	afterZero func(a *area, e Extent)
	// pending runs once the state file says scrub-pending and before zeroing starts (a test
	// kills the process here to prove Open finishes the scrub).
	pending func(id string)
}

// area is one pool file divided into units.
type area struct {
	name     string // areaMemory or areaDisk
	path     string
	file     *os.File
	verify   *os.File // the file opened for verification: O_DIRECT on disk (see openArea)
	id       fileID
	unit     int64
	bytes    int64
	alloc    *allocator
	ownMount string // the tmpfs mount point the pool made for this file, if any
	durable  bool   // fdatasync after zeroing: the file is on a disk that survives a reboot
}

func (a *area) offset(e Extent) int64 { return e.Start * a.unit }

func (a *area) closeFiles() {
	if a.verify != a.file {
		a.verify.Close()
	}
	a.file.Close()
	a.file, a.verify = nil, nil
}
func (a *area) size(e Extent) int64 { return e.Len * a.unit }

// record is a memory grant or volume: its extents and where it is in its life.
type record struct {
	id, owner string
	kind      string // kindMemory, or a VolumeKind's String
	area      *area
	// Guarded by Pool.mu:
	state    string // stateAllocated, statePending, stateQuarantined
	after    string // scrub-pending only: afterFree or afterKeep
	why      string // scrub-pending only: the reason for the audit
	runs     []run
	busy     bool // an operation on it runs outside the lock
	released bool // freed, released or quarantined: its handles are dead
}

// run is one extent of a record and the loop device exposing it ("" when none).
type run struct {
	ext Extent
	dev string
}

// Open opens the pool in o.Dir, creating it when it has no state file yet. Before returning it
// finishes any scrub a crashed process left pending (and retries quarantined extents), detaches
// loop devices onto the pool files that the state does not know, and re-attaches the devices of
// memory grants that lost theirs; nothing is allocated before that.
func Open(o Options) (*Pool, error) {
	raw := o
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	p := &Pool{
		opts:      o,
		statePath: filepath.Join(o.Dir, stateName),
		zero:      make([]byte, scrubChunk),
		records:   map[string]*record{},
	}
	ok := false
	var made *stateFile // the state of a pool this Open created, undone if Open fails
	defer func() {
		if ok {
			return
		}
		lock := p.lock
		p.lock = nil
		p.closeFiles()
		if made != nil {
			// A pool that never opened leaves nothing behind, so a retry with corrected
			// options starts from scratch.
			_ = destroyFiles(o.Dir, made.files())
			_ = os.Remove(o.Dir)
		}
		if lock != nil {
			lock.Close()
		}
	}()
	if p.lock, err = lockDir(o.Dir); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(p.statePath)
	st, err := p.loadOrCreateState(raw)
	if errors.Is(statErr, os.ErrNotExist) && st != nil {
		made = st
	}
	if err != nil {
		return nil, err
	}
	if p.audit, err = openAudit(filepath.Join(o.Dir, auditName)); err != nil {
		return nil, err
	}
	if err := p.openAreas(st); err != nil {
		return nil, err
	}
	if err := p.reconcileDevices(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	err = p.saveLocked()
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := p.recover(); err != nil {
		return nil, err
	}
	ok = true
	return p, nil
}

// loadOrCreateState reads the state file or, for a new pool, makes and writes one with every
// unit free. Sizes given in raw must agree with a saved state.
func (p *Pool) loadOrCreateState(raw Options) (*stateFile, error) {
	o := p.opts
	b, err := os.ReadFile(p.statePath)
	if errors.Is(err, os.ErrNotExist) {
		if o.MemoryBytes == 0 && o.DiskBytes == 0 {
			return nil, fmt.Errorf("pool: %s has no pool yet and MemoryBytes and DiskBytes are both 0", o.Dir)
		}
		st := &stateFile{Version: stateVersion, Name: o.Name, Scrub: o.Scrub.String(), NextID: 1}
		if o.MemoryBytes > 0 {
			st.Memory = &areaState{Bytes: o.MemoryBytes, UnitBytes: o.FrameBytes,
				Free: []Extent{{0, o.MemoryBytes / o.FrameBytes}}}
			if o.MemoryDir == "" {
				st.Memory.OwnMount = filepath.Join(o.Dir, memDir)
				st.Memory.File = filepath.Join(st.Memory.OwnMount, memName)
			} else {
				st.Memory.File = filepath.Join(o.MemoryDir, fileSafe(o.Name)+".mem")
			}
		}
		if o.DiskBytes > 0 {
			st.Disk = &areaState{File: filepath.Join(o.Dir, diskName), Bytes: o.DiskBytes, UnitBytes: o.BlockBytes,
				Free: []Extent{{0, o.DiskBytes / o.BlockBytes}}}
		}
		// Pool files without a state are from a pool whose state was lost: what is in them is
		// unaccounted for, so they go (with any device onto them) before the new state says
		// that every unit is free. The state comes before the new files: a crash in between
		// leaves a state that DestroyAt and the next Open understand.
		for _, a := range []*areaState{st.Memory, st.Disk} {
			if a != nil {
				if err := removeStale(a.File); err != nil {
					return nil, err
				}
			}
		}
		return st, writeState(p.statePath, st)
	}
	if err != nil {
		return nil, fmt.Errorf("pool: %w", err)
	}
	st, err := decodeState(b)
	if err != nil {
		return nil, fmt.Errorf("pool: %s: %w", p.statePath, err)
	}
	for _, c := range []struct {
		field       string
		given, unit int64
		st          *areaState
	}{
		{"MemoryBytes", raw.MemoryBytes, raw.FrameBytes, st.Memory},
		{"DiskBytes", raw.DiskBytes, raw.BlockBytes, st.Disk},
	} {
		var have, haveUnit int64
		if c.st != nil {
			have, haveUnit = c.st.Bytes, c.st.UnitBytes
		}
		if (c.given != 0 && c.given != have) || (c.unit != 0 && c.st != nil && c.unit != haveUnit) {
			return nil, fmt.Errorf("pool: %s holds a pool with %s %d in units of %d; asked for %d in units of %d (give 0 to reopen as it is)",
				o.Dir, c.field, have, haveUnit, c.given, c.unit)
		}
	}
	if st.Memory != nil && o.MemoryDir != "" && filepath.Dir(st.Memory.File) != o.MemoryDir {
		return nil, fmt.Errorf("pool: %s keeps its memory in %s, not in MemoryDir %s", o.Dir, filepath.Dir(st.Memory.File), o.MemoryDir)
	}
	return st, nil
}

// openAreas opens (or creates) the pool files and rebuilds the records from the state.
func (p *Pool) openAreas(st *stateFile) error {
	memAlloc, diskAlloc, err := st.allocators()
	if err != nil {
		return err
	}
	p.nextID = st.NextID
	if st.Memory != nil {
		if st.Memory.OwnMount != "" {
			err = mountTmpfs(st.Memory.OwnMount, st.Memory.Bytes)
		} else {
			err = checkTmpfs(filepath.Dir(st.Memory.File), st.Memory.Bytes)
		}
		if err != nil {
			return err
		}
		if p.mem, err = openArea(areaMemory, st.Memory, memAlloc); err != nil {
			return err
		}
	}
	if st.Disk != nil {
		if p.disk, err = openArea(areaDisk, st.Disk, diskAlloc); err != nil {
			return err
		}
		p.disk.durable = true
	}
	for _, rj := range st.Records {
		r := &record{id: rj.ID, owner: rj.Owner, kind: rj.Kind, state: rj.State, after: rj.After, why: rj.Why}
		r.area = p.mem
		if rj.Area == areaDisk {
			r.area = p.disk
		}
		for _, x := range rj.Runs {
			r.runs = append(r.runs, run{Extent{x.Start, x.Len}, x.Device})
		}
		p.records[r.id] = r
	}
	return nil
}

// reconcileDevices makes the records' devices match the kernel: a recorded device that is no
// longer bound to its extent is forgotten, and a device bound to a pool file that no record
// knows (left by a crash between attach and saving the state) is detached. If such a device is
// in use, Open fails: it exposes units that may be handed to someone else.
func (p *Pool) reconcileDevices() error {
	for _, a := range []*area{p.mem, p.disk} {
		if a == nil {
			continue
		}
		found, err := findLoops(a.path, a.id)
		if err != nil {
			return fmt.Errorf("pool: listing loop devices: %w", err)
		}
		known := map[loopDev]bool{}
		for _, r := range p.records {
			if r.area != a {
				continue
			}
			for i, x := range r.runs {
				d := loopDev{x.dev, a.offset(x.ext), a.size(x.ext)}
				if x.dev != "" && slices.Contains(found, d) {
					known[d] = true
				} else {
					r.runs[i].dev = ""
				}
			}
		}
		for _, d := range found {
			if known[d] {
				continue
			}
			if err := detachLoop(d, a.id, false); err != nil {
				return fmt.Errorf("pool: %s exposes bytes %d+%d of %s but no grant or volume: %w",
					d.path, d.offset, d.size, a.path, err)
			}
		}
	}
	return nil
}

// recover finishes what a crash interrupted: pending scrubs, then a retry of quarantined
// extents, then devices for memory grants.
func (p *Pool) recover() error {
	p.mu.Lock()
	var todo []*record
	for _, r := range p.records {
		if r.state == statePending || r.state == stateQuarantined {
			todo = append(todo, r)
		}
	}
	sortRecords(todo)
	for _, r := range todo {
		if r.state == stateQuarantined {
			r.state, r.after, r.why = statePending, afterFree, "retry"
		} else {
			r.why = "recovery"
		}
		r.busy = true
	}
	err := p.saveLocked()
	p.mu.Unlock()
	if err != nil {
		return err
	}
	for _, r := range todo {
		// A failed verification quarantines the extent; the pool is still usable.
		if err := p.scrub(r); err != nil && !errors.Is(err, ErrScrubFailed) {
			return err
		}
	}
	p.mu.Lock()
	var bare []*record
	for _, r := range p.records {
		if r.kind == kindMemory && r.state == stateAllocated {
			for _, x := range r.runs {
				if x.dev == "" {
					bare = append(bare, r)
					break
				}
			}
		}
	}
	p.mu.Unlock()
	for _, r := range bare {
		if err := p.attachRuns(r); err != nil {
			return err
		}
	}
	return nil
}

// saveLocked writes the state file from memory.
func (p *Pool) saveLocked() error {
	st := &stateFile{Version: stateVersion, Name: p.opts.Name, Scrub: p.opts.Scrub.String(), NextID: p.nextID}
	for _, a := range []*area{p.mem, p.disk} {
		if a == nil {
			continue
		}
		as := &areaState{File: a.path, Bytes: a.bytes, UnitBytes: a.unit, OwnMount: a.ownMount,
			Free: slices.Clone(a.alloc.free), Reuse: slices.Clone(a.alloc.reuse)}
		if a.name == areaMemory {
			st.Memory = as
		} else {
			st.Disk = as
		}
	}
	ids := make([]string, 0, len(p.records))
	for id := range p.records {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := p.records[id]
		rj := recordJSON{ID: r.id, Area: r.area.name, Kind: r.kind, Owner: r.owner, State: r.state}
		if r.state == statePending {
			rj.After, rj.Why = r.after, r.why
		}
		for _, x := range r.runs {
			rj.Runs = append(rj.Runs, runJSON{Start: x.ext.Start, Len: x.ext.Len, Device: x.dev})
		}
		st.Records = append(st.Records, rj)
	}
	return writeState(p.statePath, st)
}

// newID returns the next record id with the given prefix.
func (p *Pool) newIDLocked(prefix string) string {
	id := prefix + strconv.FormatUint(p.nextID, 10)
	p.nextID++
	return id
}

// begin checks that r belongs to p, is alive and idle, and marks it busy. The caller must end
// with p.end(r).
func (p *Pool) begin(owner *Pool, r *record, what string) error {
	if owner != p || r == nil {
		return fmt.Errorf("pool %s: %s is not from this pool", p.opts.Name, what)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return fmt.Errorf("pool %s: %w", p.opts.Name, ErrClosed)
	case r.released || p.records[r.id] != r:
		return fmt.Errorf("pool %s: %s %s (owner %s): %w", p.opts.Name, what, r.id, r.owner, ErrReleased)
	case r.busy:
		return fmt.Errorf("pool %s: %s %s is busy with another operation", p.opts.Name, what, r.id)
	case r.state != stateAllocated:
		return fmt.Errorf("pool %s: %s %s is %s", p.opts.Name, what, r.id, r.state)
	}
	r.busy = true
	return nil
}

// end clears r's busy mark.
func (p *Pool) end(r *record) {
	p.mu.Lock()
	r.busy = false
	p.mu.Unlock()
}

// attachRuns gives every run of r that has no loop device one. r must be busy (or unreachable
// by callers). The state is saved once all are attached; on failure the ones made are kept in
// the record (and saved), so the next attempt or Free deals with them.
func (p *Pool) attachRuns(r *record) error {
	var err error
	for i := range r.runs {
		p.mu.Lock()
		x := r.runs[i]
		p.mu.Unlock()
		if x.dev != "" {
			continue
		}
		label := fmt.Sprintf("ec2sim:%s:%s", p.opts.Name, r.id)
		var dev string
		dev, err = attachLoop(r.area.file, r.area.offset(x.ext), r.area.size(x.ext), label)
		if err != nil {
			break
		}
		p.mu.Lock()
		r.runs[i].dev = dev
		p.mu.Unlock()
	}
	p.mu.Lock()
	serr := p.saveLocked()
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("pool %s: %s: %w", p.opts.Name, r.id, err)
	}
	return serr
}

// detachRuns detaches every loop device of r; a busy one stays with r and stops the detaching
// with ErrBusy. r must be busy.
func (p *Pool) detachRuns(r *record) error {
	var err error
	for i := range r.runs {
		p.mu.Lock()
		x := r.runs[i]
		p.mu.Unlock()
		if x.dev == "" {
			continue
		}
		if err = detachLoop(loopDev{x.dev, r.area.offset(x.ext), r.area.size(x.ext)}, r.area.id, true); err != nil {
			break
		}
		p.mu.Lock()
		r.runs[i].dev = ""
		p.mu.Unlock()
	}
	p.mu.Lock()
	serr := p.saveLocked()
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("pool %s: %s of %s: %w", p.opts.Name, r.id, r.owner, err)
	}
	return serr
}

// retire scrubs r, which is busy and has no devices: the state file says scrub-pending before
// zeroing starts, every run is zeroed, verified and audited, and only then does each extent go
// back to the free list (after == afterFree) or back to r (afterKeep).
func (p *Pool) retire(r *record, why, after string) error {
	p.mu.Lock()
	r.state, r.why, r.after = statePending, why, after
	err := p.saveLocked()
	if err != nil {
		r.state, r.why, r.after = stateAllocated, "", ""
		r.busy = false
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if p.hooks.pending != nil {
		p.hooks.pending(r.id)
	}
	return p.scrub(r)
}

// scrub does the zeroing and verification of a pending record and settles it (see retire).
// r.busy is cleared at the end.
func (p *Pool) scrub(r *record) error {
	var failed []error
	for _, x := range r.runs {
		rec := p.scrubRun(r, x.ext)
		err := p.audit.append(rec)
		switch {
		case err != nil:
			failed = append(failed, fmt.Errorf("%v: %w", x.ext, err))
		case !rec.Verified && !rec.Unsafe:
			failed = append(failed, fmt.Errorf("%v: %s", x.ext, rec.Error))
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r.busy = false
	switch {
	case failed != nil:
		r.state, r.after, r.why, r.released = stateQuarantined, "", "", true
	case r.after == afterFree:
		for _, x := range r.runs {
			if err := r.area.alloc.release(x.ext); err != nil {
				// The allocator disagrees with the records: keep the extent out of use.
				failed = append(failed, err)
			}
		}
		if failed != nil {
			r.state, r.after, r.why, r.released = stateQuarantined, "", "", true
		} else {
			delete(p.records, r.id)
			r.released = true
		}
	default:
		r.state, r.after, r.why = stateAllocated, "", ""
	}
	err := p.saveLocked()
	if failed != nil {
		return fmt.Errorf("pool %s: %s %s of %s: %w: %w", p.opts.Name, r.kind, r.id, r.owner, ErrScrubFailed, errors.Join(failed...))
	}
	return err
}

// scrubRun zeroes and verifies one extent and describes what happened.
func (p *Pool) scrubRun(r *record, e Extent) AuditRecord {
	a := r.area
	rec := AuditRecord{Pool: p.opts.Name, Owner: r.owner, ID: r.id, What: r.kind, Why: r.why,
		Run: e, Unit: a.unit, Bytes: a.size(e), Method: p.opts.Scrub.String()}
	start := time.Now()
	p.zeroAndVerify(a, e, &rec)
	rec.Duration = time.Since(start)
	rec.Time = time.Now().UTC()
	return rec
}

// zeroAndVerify fills in rec's outcome for one extent.
func (p *Pool) zeroAndVerify(a *area, e Extent, rec *AuditRecord) {
	if p.opts.Scrub == ScrubNone {
		rec.Unsafe = true
		rec.Error = unsafeWarning
		return
	}
	err := zeroRange(a.file, a.offset(e), a.size(e), p.opts.Scrub, p.zero)
	if err == nil && a.durable {
		// A volume's blocks must stay zero after a host crash too, not only in the page cache.
		err = unix.Fdatasync(int(a.file.Fd()))
	}
	if err != nil {
		rec.Error = err.Error()
		return
	}
	if p.hooks.afterZero != nil {
		p.hooks.afterZero(a, e)
	}
	// One reader: two goroutines splitting the extent measured slower, not faster, on the
	// shared two-core machine this was built on (the copy out of the kernel is CPU-bound).
	buf, free, err := alignedBuffer(scrubChunk)
	if err != nil {
		rec.Error = "verifying: " + err.Error()
		return
	}
	defer free()
	var bad int64
	if p.opts.ReadHoles {
		bad, err = verifyZero(a.verify, a.offset(e), a.size(e), buf)
	} else {
		bad, rec.HoleBytes, err = verifyZeroSparse(a.verify, a.offset(e), a.size(e), buf)
	}
	switch {
	case err != nil:
		rec.Error = "verifying: " + err.Error()
	case bad >= 0:
		rec.Error = fmt.Sprintf("byte %d of %s (unit %d) is not zero after the scrub", bad, a.path, bad/a.unit)
	default:
		rec.Verified = true
	}
}

// closeFiles releases what Open took, leaving the pool's state, files and devices in place.
func (p *Pool) closeFiles() {
	for _, a := range []*area{p.mem, p.disk} {
		if a != nil && a.file != nil {
			a.closeFiles()
		}
	}
	if p.audit != nil {
		p.audit.close()
	}
	if p.lock != nil {
		p.lock.Close()
	}
}

// Close closes the pool and leaves everything as it is: loop devices stay attached, grants and
// volumes stay allocated, and a later Open carries on.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	for _, r := range p.records {
		if r.busy {
			return fmt.Errorf("pool %s: %s is busy; close after operations finish", p.opts.Name, r.id)
		}
	}
	p.closed = true
	p.closeFiles()
	return nil
}
