package pool

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Stats is a snapshot of a pool's use.
type Stats struct {
	MemoryBytes, FrameBytes, MemoryFree int64
	DiskBytes, BlockBytes, DiskFree     int64
	DiskLongestFree                     int64 // the largest volume that can be made now
	MemoryGrants, Volumes               int
	QuarantinedBytes                    int64 // extents whose scrub failed: never reused
	Scrub                               ScrubMethod
}

// Stats reports the pool's sizes and use.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Scrub: p.opts.Scrub}
	if a := p.mem; a != nil {
		s.MemoryBytes, s.FrameBytes, s.MemoryFree = a.bytes, a.unit, a.alloc.freeUnits()*a.unit
	}
	if a := p.disk; a != nil {
		s.DiskBytes, s.BlockBytes, s.DiskFree = a.bytes, a.unit, a.alloc.freeUnits()*a.unit
		s.DiskLongestFree = a.alloc.largest() * a.unit
	}
	for _, r := range p.records {
		switch {
		case r.state == stateQuarantined:
			s.QuarantinedBytes += runsBytes(r)
		case r.kind == kindMemory:
			s.MemoryGrants++
		default:
			s.Volumes++
		}
	}
	return s
}

// String summarises the pool; a pool that does not scrub says UNSAFE.
func (p *Pool) String() string {
	s := p.Stats()
	var b strings.Builder
	fmt.Fprintf(&b, "pool %s:", p.opts.Name)
	if s.MemoryBytes > 0 {
		fmt.Fprintf(&b, " memory %s in %s frames, %s free, %d grants;", sizeString(s.MemoryBytes),
			sizeString(s.FrameBytes), sizeString(s.MemoryFree), s.MemoryGrants)
	}
	if s.DiskBytes > 0 {
		fmt.Fprintf(&b, " disk %s in %s blocks, %s free, %d volumes;", sizeString(s.DiskBytes),
			sizeString(s.BlockBytes), sizeString(s.DiskFree), s.Volumes)
	}
	if s.QuarantinedBytes > 0 {
		fmt.Fprintf(&b, " %s quarantined;", sizeString(s.QuarantinedBytes))
	}
	if s.Scrub == ScrubNone {
		b.WriteString(" " + unsafeWarning)
	} else {
		fmt.Fprintf(&b, " scrub by %v, verified", s.Scrub)
	}
	return b.String()
}

// AuditPath is the pool's audit log, for ReadAudit.
func (p *Pool) AuditPath() string { return filepath.Join(p.opts.Dir, auditName) }

// Dir is the pool's directory.
func (p *Pool) Dir() string { return p.opts.Dir }

// sortRecords orders records by id prefix, then number (mem-2 before mem-10).
func sortRecords(rs []*record) {
	key := func(id string) (string, uint64) {
		i := strings.LastIndexByte(id, '-')
		n, _ := strconv.ParseUint(id[i+1:], 10, 64)
		return id[:i+1], n
	}
	sort.Slice(rs, func(i, j int) bool {
		pi, ni := key(rs[i].id)
		pj, nj := key(rs[j].id)
		if pi != pj {
			return pi < pj
		}
		return ni < nj
	})
}

// Destroy removes the whole pool: it detaches every loop device onto its files (also ones it
// does not know of), removes the files and the directory, and unmounts the tmpfs it mounted.
// Nothing is scrubbed; the memory goes with the tmpfs and the disk file is deleted. A device
// still held by someone is reported and detaches itself at its last close.
func (p *Pool) Destroy() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("pool %s: %w", p.opts.Name, ErrClosed)
	}
	for _, r := range p.records {
		if r.busy {
			p.mu.Unlock()
			return fmt.Errorf("pool %s: %s is busy; destroy after operations finish", p.opts.Name, r.id)
		}
	}
	p.closed = true
	var files []areaFiles
	for _, a := range []*area{p.mem, p.disk} {
		if a != nil {
			files = append(files, areaFiles{a.path, a.ownMount})
			a.closeFiles()
		}
	}
	p.mu.Unlock()
	p.audit.close()
	p.audit = nil
	err := destroyFiles(p.opts.Dir, files)
	p.lock.Close()
	p.lock = nil
	if rerr := os.Remove(p.opts.Dir); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// DestroyAt removes the pool in dir without opening it (no recovery, no scrubbing): what
// `ec2sim down` uses after a crash. It fails if a live process has the pool open. A directory
// without a pool is not an error.
func DestroyAt(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	var files []areaFiles
	if b, err := os.ReadFile(filepath.Join(dir, stateName)); err == nil {
		// A corrupt state still names its files; take what can be read.
		// A corrupt state still names its files; trust those only inside dir.
		st, derr := decodeState(b)
		if derr != nil {
			st = &stateFile{}
			_ = json.Unmarshal(b, st)
		}
		for _, f := range st.files() {
			if derr == nil || strings.HasPrefix(f.file, dir+"/") {
				files = append(files, f)
			}
		}
	}
	// The default places, in case the state file never got written or is unreadable.
	files = append(files, areaFiles{filepath.Join(dir, diskName), ""},
		areaFiles{filepath.Join(dir, memDir, memName), filepath.Join(dir, memDir)})
	err = destroyFiles(dir, files)
	lock.Close()
	if rerr := os.Remove(dir); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// files lists the pool files a state names.
func (s *stateFile) files() []areaFiles {
	var out []areaFiles
	for _, a := range []*areaState{s.Memory, s.Disk} {
		if a != nil && filepath.IsAbs(a.File) {
			out = append(out, areaFiles{a.File, a.OwnMount})
		}
	}
	return out
}

// areaFiles is what Destroy removes for an area.
type areaFiles struct {
	file     string
	ownMount string
}

// destroyFiles detaches the loop devices onto the files, removes them and the pool's own files
// in dir (the lock last, by the caller), and unmounts the pool's tmpfs.
func destroyFiles(dir string, files []areaFiles) error {
	var errs []error
	seen := map[string]bool{}
	for _, af := range files {
		if seen[af.file] {
			continue
		}
		seen[af.file] = true
		if f, err := os.Open(af.file); err == nil {
			id, serr := statID(f)
			f.Close()
			if serr == nil {
				devs, err := findLoops(af.file, id)
				errs = append(errs, err)
				for _, d := range devs {
					errs = append(errs, detachLoop(d, id, false))
				}
			}
		}
		if err := os.Remove(af.file); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		if af.ownMount == filepath.Join(dir, memDir) { // never anything else, whatever a state says
			errs = append(errs, unmountOwn(af.ownMount))
		}
	}
	for _, name := range []string{stateName, stateName + ".tmp", auditName, lockName} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// unmountOwn unmounts the tmpfs the pool mounted and removes its mount point. A tmpfs still
// referenced (a busy loop device onto it) is detached lazily and goes away when released.
func unmountOwn(dir string) error {
	var err error
	if isTmpfsMount(dir) {
		if err = unix.Unmount(dir, 0); errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(dir, unix.MNT_DETACH)
			if err == nil {
				err = fmt.Errorf("tmpfs at %s was busy; detached lazily", dir)
			}
		}
	}
	if rerr := os.Remove(dir); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}
