package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/pool"
	"github.com/ec2sim/ec2sim/scenarios"
)

// A lab's hypervisor pools: one pool.Pool per lab, in the lab's run directory, sized by the
// scenario's hypervisor: block, holding every instance's memory grant and volumes.

// Default pool sizes: small enough for CI; a lab whose instances need more gets what they need
// (the pools are sparse: memory and blocks cost nothing until a guest writes them).
const (
	DefaultMemoryPool = 256 << 20
	DefaultDiskPool   = 2 << 30
)

// UnsafeWarning marks everything a lab with scrub: false prints.
const UnsafeWarning = "UNSAFE: hypervisor scrub is off (scrub: false): freed memory and disks go to the next instance with their data, which AWS never does; for teaching only"

// PoolDir is where lab name keeps its pool: state file, audit log, disk file, memory tmpfs.
func PoolDir(name string) string { return filepath.Join(Dir(name), "pool") }

// AuditPath is lab name's audit log, readable without the engine (`ec2sim audit`).
func AuditPath(name string) string { return filepath.Join(PoolDir(name), "audit.jsonl") }

// busyWait bounds how long a stop waits for a dying instance's processes to let go of its
// devices (the kernel ends them asynchronously after their init is killed).
const busyWait = 5 * time.Second

// poolSizes are the pool sizes of a plan: the scenario's, else the default or, when the
// instances need more, what they need.
func poolSizes(p *Plan) (mem, disk int64) {
	h := p.Scenario.Hypervisor
	var needMem, needDisk int64
	for _, ip := range p.Instances {
		in := p.Scenario.Instance(ip.Name)
		t, err := hypervisor.LookupType(ip.typeName())
		if err == nil {
			needMem += roundUp(t.MemoryBytes(), scenarios.MemoryFrameBytes)
			_, store := typeStore(t, in)
			needDisk += store
		}
		needDisk += scenarios.DefaultRootVolume
		for _, v := range in.Volumes {
			needDisk += roundUp(v.Size, scenarios.DiskBlockBytes)
		}
	}
	mem, disk = h.MemoryPool, h.DiskPool
	if mem == 0 {
		mem = max(DefaultMemoryPool, needMem)
	}
	if disk == 0 {
		disk = max(DefaultDiskPool, needDisk)
	}
	return mem, disk
}

func roundUp(n, unit int64) int64 { return (n + unit - 1) / unit * unit }

// openPool opens the lab's pool. A pool left by a crashed run of the same lab is opened first,
// which finishes its interrupted scrubs (audited as recovery), and every grant and volume it
// still holds is scrubbed and freed, so nothing of the old run reaches a new instance; it is
// kept when its sizes fit the plan and made anew otherwise.
func openPool(p *Plan) (*pool.Pool, error) {
	mem, disk := poolSizes(p)
	method := pool.ScrubPunch
	if !p.Scenario.Hypervisor.Scrub {
		method = pool.ScrubNone
	}
	dir := PoolDir(p.Lab)
	opts := pool.Options{Dir: dir, Name: p.Lab, MemoryBytes: mem, DiskBytes: disk, Scrub: method}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err == nil {
		old, err := pool.Open(pool.Options{Dir: dir, Name: p.Lab, Scrub: method})
		if err != nil {
			return nil, fmt.Errorf("lab %s: the pool left by an earlier run in %s: %w (ec2sim down %s removes it)", p.Lab, dir, err, p.Lab)
		}
		if err := drainPool(old); err != nil {
			return nil, errors.Join(fmt.Errorf("lab %s: scrubbing what an earlier run left in %s: %w", p.Lab, dir, err), old.Close())
		}
		if s := old.Stats(); s.MemoryBytes == mem && s.DiskBytes == disk {
			return old, nil
		}
		if err := old.Destroy(); err != nil {
			return nil, fmt.Errorf("lab %s: removing the earlier run's pool: %w", p.Lab, err)
		}
	}
	pl, err := pool.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("lab %s: hypervisor pool: %w", p.Lab, err)
	}
	return pl, nil
}

// drainPool scrubs and frees every grant and volume of a pool, waiting up to busyWait in all
// for devices that are still open: a process of a dying instance, or udev probing a loop
// device it has just seen. Down drains before it destroys, so that no device, and so not the
// pool's tmpfs, is left held.
func drainPool(pl *pool.Pool) error {
	deadline := time.Now().Add(busyWait)
	var errs []error
	for _, g := range pl.MemoryGrants() {
		errs = append(errs, retryUntil(deadline, func() error { return pl.FreeMemory(g) }))
	}
	for _, v := range pl.Volumes() {
		errs = append(errs, retryUntil(deadline, func() error { return pl.ReleaseVolume(v) }))
	}
	return errors.Join(errs...)
}

// RemovePool removes what lab name's hypervisor pool left on the machine (its tmpfs, loop
// devices and files) after the process that ran the lab died, finishing interrupted scrubs
// first; for cleaners of leftover labs that do not go through Teardown.
func RemovePool(name string) error { return destroyPool(name) }

// destroyPool removes a lab's pool: open, which finishes any interrupted scrub first, then
// destroy; if it cannot be opened, removed without opening. It is what Down and Teardown use,
// also after a crash.
func destroyPool(name string) error {
	dir := PoolDir(name)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err == nil {
		if pl, err := pool.Open(pool.Options{Dir: dir, Name: name}); err == nil {
			return pl.Destroy()
		}
	}
	return pool.DestroyAt(dir)
}

// retryBusy runs fn until it stops failing with pool.ErrBusy or busyWait has passed.
func retryBusy(fn func() error) error { return retryUntil(time.Now().Add(busyWait), fn) }

// retryUntil runs fn until it stops failing with pool.ErrBusy or the deadline has passed.
func retryUntil(deadline time.Time, fn func() error) error {
	for {
		err := fn()
		if !errors.Is(err, pool.ErrBusy) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// AuditReport is what `ec2sim audit` shows: the pool's records and whether scrubbing is off.
type AuditReport struct {
	Lab     string             `json:"lab"`
	Unsafe  string             `json:"unsafe,omitempty"`
	Pool    string             `json:"pool,omitempty"`
	Records []pool.AuditRecord `json:"records"`
}

// Audit reports the lab's audit records.
func (l *Lab) Audit() (AuditReport, error) {
	r := AuditReport{Lab: l.Plan.Lab, Records: []pool.AuditRecord{}}
	if l.hv == nil {
		return r, fmt.Errorf("lab %s has no hypervisor pool", l.Plan.Lab)
	}
	if l.hv.unsafe {
		r.Unsafe = UnsafeWarning
	}
	r.Pool = l.hv.pool.String()
	recs, err := pool.ReadAudit(l.hv.pool.AuditPath())
	if err != nil {
		return r, err
	}
	r.Records = append(r.Records, recs...)
	return r, nil
}

// CheckAudit is the audit step: when reuses is set, instance must now hold only memory frames
// that reuses gave back and every one of its volumes must overlap blocks reuses gave back (so
// a canary check inside it is meaningful); when verified is set, every audit record of reuses
// (or, without reuses, of instance) must say verified = *verified, and there must be some. It
// returns a one-line account of what it found.
func (l *Lab) CheckAudit(instance, reuses string, verified *bool) (string, error) {
	m, err := l.machine(instance)
	if err != nil {
		return "", err
	}
	if reuses != "" {
		if _, err := l.machine(reuses); err != nil {
			return "", err
		}
	}
	rep, err := l.Audit()
	if err != nil {
		return "", err
	}
	l.hv.mu.Lock()
	defer l.hv.mu.Unlock()
	var notes []string
	if reuses != "" {
		var mem, disk []pool.Extent
		for _, r := range rep.Records {
			switch {
			case r.Owner != reuses:
			case r.What == "memory":
				mem = append(mem, r.Run)
			default:
				disk = append(disk, r.Run)
			}
		}
		if m.mem == nil {
			return "", fmt.Errorf("instance %s is %s and holds no memory", instance, m.state)
		}
		for _, run := range m.mem.Runs() {
			if !slices.ContainsFunc(mem, func(e pool.Extent) bool { return e.Start <= run.Extent.Start && run.Extent.End() <= e.End() }) {
				return "", fmt.Errorf("%s's memory frames %v are not frames %s gave back (%v)", instance, run.Extent, reuses, mem)
			}
			notes = append(notes, fmt.Sprintf("frames %v", run.Extent))
		}
		for _, d := range m.disks {
			if d.vol == nil {
				continue
			}
			e := d.vol.Run().Extent
			if !slices.ContainsFunc(disk, func(f pool.Extent) bool { return e.Start < f.End() && f.Start < e.End() }) {
				return "", fmt.Errorf("%s's volume %s (blocks %v) overlaps no blocks %s gave back (%v)", instance, d.device, e, reuses, disk)
			}
			notes = append(notes, fmt.Sprintf("%s blocks %v", d.device, e))
		}
	}
	if verified != nil {
		owner := instance
		if reuses != "" {
			owner = reuses
		}
		n := 0
		for _, r := range rep.Records {
			if r.Owner != owner {
				continue
			}
			n++
			if r.Verified != *verified {
				return "", fmt.Errorf("audit record of %s says verified=%v, want %v: %v", owner, r.Verified, *verified, r)
			}
		}
		if n == 0 {
			return "", fmt.Errorf("no audit record of %s: nothing of it was freed yet", owner)
		}
		notes = append(notes, fmt.Sprintf("%d scrubs of %s, verified=%v", n, owner, *verified))
	}
	s := instance + " holds " + strings.Join(notes, ", ")
	if reuses != "" {
		s = fmt.Sprintf("%s holds what %s gave back: %s", instance, reuses, strings.Join(notes, ", "))
	}
	if rep.Unsafe != "" {
		s += " [" + rep.Unsafe + "]"
	}
	return s, nil
}
