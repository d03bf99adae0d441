package pool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"unicode"
)

// stateVersion is the version of the state file format this package writes and reads.
const stateVersion = 1

// Extent states in the state file. Free extents are listed per area.
const (
	stateAllocated   = "allocated"
	statePending     = "scrub-pending" // written before zeroing starts
	stateQuarantined = "quarantined"   // a scrub that could not be verified; never reused
)

// What happens to a scrub-pending extent once it is verified zero.
const (
	afterFree = "free" // back to the free list
	afterKeep = "keep" // stays with its volume, detached (an instance store's stop, a reset)
)

// Area names and record kinds.
const (
	areaMemory = "memory"
	areaDisk   = "disk"
	kindMemory = "memory"
)

// stateFile is the pool's state on disk. Every unit of each area is in exactly one place: an
// area's free list or one run of one record. Loading checks that, so a corrupt file makes Open
// fail instead of handing out a unit twice.
type stateFile struct {
	Version int          `json:"version"`
	Name    string       `json:"name"`
	Scrub   string       `json:"scrub"` // informational: the method in use when it was written
	Memory  *areaState   `json:"memory,omitempty"`
	Disk    *areaState   `json:"disk,omitempty"`
	NextID  uint64       `json:"next_id"`
	Records []recordJSON `json:"records"`
}

// areaState is one pool file.
type areaState struct {
	File      string   `json:"file"` // absolute path
	Bytes     int64    `json:"bytes"`
	UnitBytes int64    `json:"unit_bytes"`
	OwnMount  string   `json:"own_mount,omitempty"` // a tmpfs the pool mounted for this file
	Free      []Extent `json:"free"`
	// Reuse is the allocator's most-recently-freed order (hints, newest last), kept so that a
	// restarted pool still hands a new owner the extent the last one freed.
	Reuse []Extent `json:"reuse,omitempty"`
}

// recordJSON is a memory grant or volume, or what is left of one while it is scrubbed or after
// its scrub failed.
type recordJSON struct {
	ID    string    `json:"id"`
	Area  string    `json:"area"`
	Kind  string    `json:"kind"` // memory, ebs, instance-store
	Owner string    `json:"owner"`
	State string    `json:"state"`
	After string    `json:"after,omitempty"` // scrub-pending only
	Why   string    `json:"why,omitempty"`   // scrub-pending only: the reason for the audit
	Runs  []runJSON `json:"runs"`
}

// runJSON is one extent of a record and the loop device that exposes it, if any.
type runJSON struct {
	Start  int64  `json:"start"`
	Len    int64  `json:"len"`
	Device string `json:"device,omitempty"`
}

var loopDevicePath = regexp.MustCompile(`^/dev/loop[0-9]{1,6}$`)

// decodeState parses and checks a state file.
func decodeState(b []byte) (*stateFile, error) {
	var s stateFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("state file: data after the state object")
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("state file: version %d, this ec2sim reads version %d", s.Version, stateVersion)
	}
	if _, _, err := s.allocators(); err != nil {
		return nil, err
	}
	return &s, nil
}

// checkArea checks an area's geometry.
func checkArea(name string, a *areaState) error {
	if a == nil {
		return nil
	}
	if !filepath.IsAbs(a.File) {
		return fmt.Errorf("state file: %s file %q is not an absolute path", name, a.File)
	}
	if err := checkUnit(name+" unit_bytes", a.UnitBytes); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	if a.Bytes <= 0 || a.Bytes%a.UnitBytes != 0 {
		return fmt.Errorf("state file: %s size %d is not a positive whole number of %d-byte units", name, a.Bytes, a.UnitBytes)
	}
	if a.OwnMount != "" && !filepath.IsAbs(a.OwnMount) {
		return fmt.Errorf("state file: %s mount %q is not an absolute path", name, a.OwnMount)
	}
	return nil
}

// allocators checks the records and rebuilds each area's allocator from them, verifying that the
// records and the free lists tile the area exactly. A nil allocator means the area is absent.
func (s *stateFile) allocators() (mem, disk *allocator, err error) {
	if err := checkArea(areaMemory, s.Memory); err != nil {
		return nil, nil, err
	}
	if err := checkArea(areaDisk, s.Disk); err != nil {
		return nil, nil, err
	}
	if s.Memory != nil {
		mem = newAllocator(s.Memory.Bytes / s.Memory.UnitBytes)
	}
	if s.Disk != nil {
		disk = newAllocator(s.Disk.Bytes / s.Disk.UnitBytes)
	}
	for _, x := range []struct {
		name string
		st   *areaState
		a    *allocator
	}{{areaMemory, s.Memory, mem}, {areaDisk, s.Disk, disk}} {
		if x.st == nil {
			continue
		}
		for _, e := range x.st.Reuse {
			if err := x.a.check(e); err != nil {
				return nil, nil, fmt.Errorf("state file: %s reuse hint: %w", x.name, err)
			}
		}
		x.a.reuse = slices.Clone(x.st.Reuse)
	}
	ids := map[string]bool{}
	for i, r := range s.Records {
		where := fmt.Sprintf("state file: record %d (%q)", i, r.ID)
		if r.ID == "" || ids[r.ID] {
			return nil, nil, fmt.Errorf("%s: id is empty or repeated", where)
		}
		ids[r.ID] = true
		if err := checkOwner(r.Owner); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", where, err)
		}
		var a *allocator
		switch r.Area {
		case areaMemory:
			a = mem
			if r.Kind != kindMemory {
				return nil, nil, fmt.Errorf("%s: kind %q in the memory area", where, r.Kind)
			}
		case areaDisk:
			a = disk
			if _, err := parseKind(r.Kind); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
			if len(r.Runs) != 1 {
				return nil, nil, fmt.Errorf("%s: a volume has %d runs, want 1", where, len(r.Runs))
			}
		default:
			return nil, nil, fmt.Errorf("%s: area %q is not memory or disk", where, r.Area)
		}
		if a == nil {
			return nil, nil, fmt.Errorf("%s: the pool has no %s area", where, r.Area)
		}
		switch r.State {
		case stateAllocated, stateQuarantined:
			if r.After != "" || r.Why != "" {
				return nil, nil, fmt.Errorf("%s: after/why set in state %s", where, r.State)
			}
		case statePending:
			if r.After != afterFree && r.After != afterKeep {
				return nil, nil, fmt.Errorf("%s: after %q is not free or keep", where, r.After)
			}
		default:
			return nil, nil, fmt.Errorf("%s: state %q is not allocated, scrub-pending or quarantined", where, r.State)
		}
		if len(r.Runs) == 0 {
			return nil, nil, fmt.Errorf("%s: no extents", where)
		}
		for _, run := range r.Runs {
			if run.Device != "" && (r.State != stateAllocated || !loopDevicePath.MatchString(run.Device)) {
				return nil, nil, fmt.Errorf("%s: device %q (devices are /dev/loopN, on allocated extents only)", where, run.Device)
			}
			if err := a.take(Extent{run.Start, run.Len}); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", where, err)
			}
		}
	}
	for _, x := range []struct {
		name string
		st   *areaState
		a    *allocator
	}{{areaMemory, s.Memory, mem}, {areaDisk, s.Disk, disk}} {
		if x.st != nil && !slices.Equal(x.st.Free, x.a.free) && !(len(x.st.Free) == 0 && len(x.a.free) == 0) {
			return nil, nil, fmt.Errorf("state file: the %s free list %v is not what the records leave free, %v", x.name, x.st.Free, x.a.free)
		}
	}
	return mem, disk, nil
}

// checkOwner wants a non-empty printable name of reasonable length: it goes into audit records
// and errors.
func checkOwner(owner string) error {
	if owner == "" || len(owner) > 256 {
		return fmt.Errorf("owner %q: want 1 to 256 bytes", owner)
	}
	for _, r := range owner {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("owner %q: contains unprintable %U", owner, r)
		}
	}
	return nil
}

// writeState replaces the state file atomically: a crash leaves the old state or the new one.
func writeState(path string, s *stateFile) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("pool: writing state: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pool: writing state: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
