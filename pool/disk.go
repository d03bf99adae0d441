package pool

import (
	"fmt"
)

// Volume is an EBS volume or instance store: a contiguous extent of the disk pool, attached as a
// loop device limited to the extent (offset and size limit), on which a guest can mkfs, mount,
// write and read.
type Volume struct {
	p *Pool
	r *record
}

// ID is the volume's id in the pool, e.g. "vol-7".
func (v *Volume) ID() string { return v.r.id }

// Owner is the instance (or account) the volume was made for.
func (v *Volume) Owner() string { return v.r.owner }

// Kind is EBS or InstanceStore.
func (v *Volume) Kind() VolumeKind {
	k, _ := parseKind(v.r.kind)
	return k
}

// Bytes is the volume's size, the request rounded up to whole blocks.
func (v *Volume) Bytes() int64 { return runsBytes(v.r) }

// Device is the loop device the volume is attached as, or "" while it is detached.
func (v *Volume) Device() string { return v.p.runs(v.r)[0].Device }

// Run is the volume's extent and device.
func (v *Volume) Run() Run { return v.p.runs(v.r)[0] }

// String describes the volume, e.g. "vol-7 (ebs) of i-1: 1 GiB in blocks [0,1024) on /dev/loop5".
func (v *Volume) String() string { return v.p.describe(v.r) }

// AllocVolume makes a volume of bytes, rounded up to whole blocks, for owner and attaches it. It
// needs one contiguous extent; the error says how much is free and the longest run. Its blocks
// read as zero. Like memory, the most recently released extent that fits is reused first.
func (p *Pool) AllocVolume(owner string, kind VolumeKind, bytes int64) (*Volume, error) {
	if err := checkOwner(owner); err != nil {
		return nil, fmt.Errorf("pool %s: volume: %w", p.opts.Name, err)
	}
	if kind != EBS && kind != InstanceStore {
		return nil, fmt.Errorf("pool %s: volume for %s: kind %v is not EBS or InstanceStore", p.opts.Name, owner, kind)
	}
	if bytes <= 0 {
		return nil, fmt.Errorf("pool %s: %v volume for %s: %d bytes; want a positive size", p.opts.Name, kind, owner, bytes)
	}
	p.mu.Lock()
	if err := p.usableLocked(p.disk, "disk", "DiskBytes"); err != nil {
		p.mu.Unlock()
		return nil, err
	}
	a := p.disk
	units := (bytes + a.unit - 1) / a.unit
	e, ok := a.alloc.alloc(units)
	if !ok {
		free, longest := a.alloc.freeUnits()*a.unit, a.alloc.largest()*a.unit
		p.mu.Unlock()
		return nil, fmt.Errorf("pool %s: %v volume for %s: %s asked, %s free of %s, the longest free run %s: %w",
			p.opts.Name, kind, owner, sizeString(units*a.unit), sizeString(free), sizeString(a.bytes), sizeString(longest), ErrNoSpace)
	}
	r := &record{id: p.newIDLocked("vol-"), owner: owner, kind: kind.String(), area: a, state: stateAllocated,
		busy: true, runs: []run{{ext: e}}}
	p.records[r.id] = r
	p.mu.Unlock()
	if err := p.attachRuns(r); err != nil {
		return nil, p.undoAlloc(r, err)
	}
	p.end(r)
	return &Volume{p, r}, nil
}

// AttachVolume attaches a detached volume again (an instance's start); it gets a loop device,
// not necessarily the one it had.
func (p *Pool) AttachVolume(v *Volume) error {
	if err := p.beginVolume(v); err != nil {
		return err
	}
	defer p.end(v.r)
	if v.Device() != "" {
		return fmt.Errorf("pool %s: volume %s is already attached as %s", p.opts.Name, v.r.id, v.Device())
	}
	return p.attachRuns(v.r)
}

// DetachVolume detaches a volume (an instance's stop). An EBS volume keeps its data; an
// instance store is reset: scrubbed and verified, and empty when attached again. It fails with
// ErrBusy, changing nothing, while the device is open, mapped or mounted.
func (p *Pool) DetachVolume(v *Volume) error {
	if err := p.beginVolume(v); err != nil {
		return err
	}
	if v.Device() == "" {
		p.end(v.r)
		return fmt.Errorf("pool %s: volume %s is not attached", p.opts.Name, v.r.id)
	}
	if err := p.detachRuns(v.r); err != nil {
		p.end(v.r)
		return err
	}
	if v.r.kind == InstanceStore.String() {
		return p.retire(v.r, "detach", afterKeep)
	}
	p.end(v.r)
	return nil
}

// ResetVolume zeroes a detached volume in place, verifies it and audits it; the volume stays
// with its owner. If verification fails the volume is gone, its extent quarantined (the error
// wraps ErrScrubFailed).
func (p *Pool) ResetVolume(v *Volume) error {
	if err := p.beginVolume(v); err != nil {
		return err
	}
	if dev := v.Device(); dev != "" {
		p.end(v.r)
		return fmt.Errorf("pool %s: volume %s is attached as %s; detach it before resetting it", p.opts.Name, v.r.id, dev)
	}
	return p.retire(v.r, "reset", afterKeep)
}

// ReleaseVolume deletes a volume (an EBS DeleteVolume, an instance store at terminate):
// it detaches it if attached (ErrBusy while in use), then scrubs it as FreeMemory does frames
// before its blocks can be allocated again.
func (p *Pool) ReleaseVolume(v *Volume) error {
	if err := p.beginVolume(v); err != nil {
		return err
	}
	if err := p.detachRuns(v.r); err != nil {
		p.end(v.r)
		return err
	}
	return p.retire(v.r, "release", afterFree)
}

func (p *Pool) beginVolume(v *Volume) error {
	if v == nil {
		return fmt.Errorf("pool %s: nil volume", p.opts.Name)
	}
	return p.begin(v.p, v.r, "volume")
}

// Volumes lists the live volumes, attached or not.
func (p *Pool) Volumes() []*Volume {
	var out []*Volume
	for _, r := range p.live("") {
		out = append(out, &Volume{p, r})
	}
	return out
}
