package pool

import (
	"fmt"
	"strings"
)

// Run is one contiguous piece of a memory grant or volume and the block device exposing it.
type Run struct {
	// Device is the loop device (/dev/loopN) whose bytes are exactly this run's; "" while the
	// run has none (a detached volume).
	Device string
	Extent Extent // in units of the pool (frames or blocks)
	Offset int64  // byte offset of the run in the pool file
	Bytes  int64
}

// MemoryGrant is an instance's RAM: frames of the memory pool, exposed as loop devices that the
// guest can read, write and mmap and that show it nothing else of the pool. A grant is one run
// (one device) whenever a long enough free extent exists, and otherwise several.
type MemoryGrant struct {
	p *Pool
	r *record
}

// ID is the grant's id in the pool, e.g. "mem-3".
func (g *MemoryGrant) ID() string { return g.r.id }

// Owner is the instance the grant was made for.
func (g *MemoryGrant) Owner() string { return g.r.owner }

// Bytes is the size of the grant, the request rounded up to whole frames.
func (g *MemoryGrant) Bytes() int64 { return runsBytes(g.r) }

// Runs are the grant's pieces in order; their devices concatenated are the instance's RAM.
func (g *MemoryGrant) Runs() []Run { return g.p.runs(g.r) }

// Device is the device of the first run: the whole RAM when the grant has one run.
func (g *MemoryGrant) Device() string { return g.Runs()[0].Device }

// String describes the grant, e.g. "mem-3 (memory) of i-1: 64 MiB in frames [0,32) on /dev/loop4".
func (g *MemoryGrant) String() string { return g.p.describe(g.r) }

func runsBytes(r *record) int64 {
	var n int64
	for _, x := range r.runs { // the extents never change after allocation
		n += r.area.size(x.ext)
	}
	return n
}

// runs copies r's runs under the lock.
func (p *Pool) runs(r *record) []Run {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Run, len(r.runs))
	for i, x := range r.runs {
		out[i] = Run{Device: x.dev, Extent: x.ext, Offset: r.area.offset(x.ext), Bytes: r.area.size(x.ext)}
	}
	return out
}

// describe is the String of a grant or volume.
func (p *Pool) describe(r *record) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) of %s: %s in %s", r.id, r.kind, r.owner, sizeString(runsBytes(r)), unitName(r.area))
	for i, x := range r.runs {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %v", x.ext)
		if x.dev != "" {
			fmt.Fprintf(&b, " on %s", x.dev)
		}
	}
	if r.released {
		b.WriteString(" (released)")
	} else if r.state != stateAllocated {
		b.WriteString(" (" + r.state + ")")
	}
	return b.String()
}

func unitName(a *area) string {
	if a.name == areaMemory {
		return "frames"
	}
	return "blocks"
}

// AllocMemory grants owner bytes of RAM, rounded up to whole frames. The frames read as zero:
// every free frame is either untouched or scrubbed and verified. The grant reuses the extent
// freed most recently when it is long enough (so a test can see that a new instance gets the
// very frames an old one had), and otherwise the lowest free extent that fits; if no single
// extent fits it is split into runs.
func (p *Pool) AllocMemory(owner string, bytes int64) (*MemoryGrant, error) {
	if err := checkOwner(owner); err != nil {
		return nil, fmt.Errorf("pool %s: memory: %w", p.opts.Name, err)
	}
	if bytes <= 0 {
		return nil, fmt.Errorf("pool %s: memory for %s: %d bytes; want a positive size", p.opts.Name, owner, bytes)
	}
	p.mu.Lock()
	if err := p.usableLocked(p.mem, "memory", "MemoryBytes"); err != nil {
		p.mu.Unlock()
		return nil, err
	}
	a := p.mem
	units := (bytes + a.unit - 1) / a.unit
	exts, ok := a.alloc.allocRuns(units)
	if !ok {
		free := a.alloc.freeUnits() * a.unit
		p.mu.Unlock()
		return nil, fmt.Errorf("pool %s: memory for %s: %s asked, %s free of %s: %w",
			p.opts.Name, owner, sizeString(units*a.unit), sizeString(free), sizeString(a.bytes), ErrNoSpace)
	}
	r := &record{id: p.newIDLocked("mem-"), owner: owner, kind: kindMemory, area: a, state: stateAllocated, busy: true}
	for _, e := range exts {
		r.runs = append(r.runs, run{ext: e})
	}
	p.records[r.id] = r
	p.mu.Unlock()
	if err := p.attachRuns(r); err != nil {
		return nil, p.undoAlloc(r, err)
	}
	p.end(r)
	return &MemoryGrant{p, r}, nil
}

// undoAlloc takes back a grant or volume whose devices could not all be made. A device that
// was made may have been opened by someone, so the extents go back through the scrub like any
// other.
func (p *Pool) undoAlloc(r *record, cause error) error {
	if err := p.detachRuns(r); err != nil {
		p.end(r)
		return fmt.Errorf("%w; and detaching what was made: %v", cause, err)
	}
	if err := p.retire(r, "rollback", afterFree); err != nil {
		return fmt.Errorf("%w; and scrubbing what was made: %v", cause, err)
	}
	return cause
}

// usableLocked checks that the pool is open and has the area.
func (p *Pool) usableLocked(a *area, what, field string) error {
	if p.closed {
		return fmt.Errorf("pool %s: %w", p.opts.Name, ErrClosed)
	}
	if a == nil {
		return fmt.Errorf("pool %s has no %s (Options.%s was 0)", p.opts.Name, what, field)
	}
	return nil
}

// FreeMemory gives a grant's frames back, scrubbed: it detaches the grant's devices (failing
// with ErrBusy, and keeping the grant, while the guest still holds one), records in the state
// file that the frames are scrub-pending, zeroes them, reads every byte back, writes the audit
// record, and only then puts the frames on the free list. If verification fails the frames are
// quarantined and the error wraps ErrScrubFailed. Freeing twice fails with ErrReleased.
func (p *Pool) FreeMemory(g *MemoryGrant) error {
	if g == nil {
		return fmt.Errorf("pool %s: FreeMemory of a nil grant", p.opts.Name)
	}
	if err := p.begin(g.p, g.r, "memory grant"); err != nil {
		return err
	}
	if err := p.detachRuns(g.r); err != nil {
		p.end(g.r)
		return err
	}
	return p.retire(g.r, "free", afterFree)
}

// MemoryGrants lists the live memory grants, e.g. to find them again after a restart.
func (p *Pool) MemoryGrants() []*MemoryGrant {
	var out []*MemoryGrant
	for _, r := range p.live(kindMemory) {
		out = append(out, &MemoryGrant{p, r})
	}
	return out
}

// live lists the allocated records of a kind (or of every volume kind when kind is ""), by id.
func (p *Pool) live(kind string) []*record {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*record
	for _, r := range p.records {
		if r.state == stateAllocated && (r.kind == kind || (kind == "" && r.kind != kindMemory)) {
			out = append(out, r)
		}
	}
	sortRecords(out)
	return out
}
