package pool

import (
	"errors"
	"fmt"
	"math/bits"
	"path/filepath"
	"strings"
)

// Default sizes of the pools' units. A 4 KiB frame would make a GiB pool a quarter of a million
// extents to track; 2 MiB is the huge-page size, which a real hypervisor would back guest RAM
// with anyway.
const (
	DefaultFrameBytes = 2 << 20
	DefaultBlockBytes = 1 << 20
)

// ScrubMethod is how freed memory and released disk extents are set to zero.
type ScrubMethod int

const (
	// ScrubDefault is ScrubPunch.
	ScrubDefault ScrubMethod = iota
	// ScrubPunch deallocates the extent in the pool file (fallocate PUNCH_HOLE|KEEP_SIZE), so it
	// reads as zeros and gives its memory or disk space back to the host; then it reads every
	// byte back to verify.
	ScrubPunch
	// ScrubWrite overwrites the extent with zeros, then reads every byte back to verify. It keeps
	// the pages or blocks allocated in the pool file.
	ScrubWrite
	// ScrubNone is UNSAFE and for teaching only (the "Scrub: false" of a lab): freed extents go
	// back to the free list with the previous owner's data in them, and the next owner can read
	// it. Every audit record and every description of such a pool says so.
	ScrubNone
)

// unsafeWarning is the text that marks everything a ScrubNone pool reports.
const unsafeWarning = "UNSAFE: scrubbing disabled, freed memory and disks keep their data"

// String names the method as audit records and errors print it.
func (m ScrubMethod) String() string {
	switch m {
	case ScrubDefault, ScrubPunch:
		return "punch"
	case ScrubWrite:
		return "write"
	case ScrubNone:
		return "none (" + unsafeWarning + ")"
	}
	return fmt.Sprintf("ScrubMethod(%d)", int(m))
}

// VolumeKind is the kind of storage a volume emulates, which decides when it is reset.
type VolumeKind int

const (
	// EBS keeps its data across detach and attach (an instance's stop and start) and is reset
	// only when it is released (deleted), before its blocks can go to anyone else.
	EBS VolumeKind = iota + 1
	// InstanceStore is reset on every detach (stop, hibernate, terminate) and on release.
	InstanceStore
)

// String is the name used in audit records ("ebs", "instance-store").
func (k VolumeKind) String() string {
	switch k {
	case EBS:
		return "ebs"
	case InstanceStore:
		return "instance-store"
	}
	return fmt.Sprintf("VolumeKind(%d)", int(k))
}

// parseKind is the inverse of String, for the state file.
func parseKind(s string) (VolumeKind, error) {
	switch s {
	case "ebs":
		return EBS, nil
	case "instance-store":
		return InstanceStore, nil
	}
	return 0, fmt.Errorf("volume kind %q is not ebs or instance-store", s)
}

// Options configure a pool. Sizes left zero when reopening an existing pool are taken from its
// state file; given ones must match it.
type Options struct {
	// Dir holds the pool's state file, audit log, lock and disk file; e.g.
	// /run/ec2sim/pools/<lab>. It is created if missing. Required.
	Dir string
	// Name goes into the names of the loop devices the pool attaches (visible in losetup -l), so
	// that what a lab made can be told apart; default: the last element of Dir.
	Name string

	// MemoryBytes is the size of the memory pool, a whole number of frames; 0 means no memory
	// pool.
	MemoryBytes int64
	// FrameBytes is the memory pool's unit: a power of two of at least 4 KiB; default 2 MiB.
	FrameBytes int64
	// MemoryDir is a directory on tmpfs for the memory pool file. When empty, the pool mounts
	// its own tmpfs, sized to the pool, at Dir/memory and unmounts it in Destroy.
	MemoryDir string

	// DiskBytes is the size of the sparse disk pool file, a whole number of blocks; 0 means no
	// disk pool.
	DiskBytes int64
	// BlockBytes is the disk pool's unit: a power of two of at least 4 KiB; default 1 MiB.
	BlockBytes int64

	// Scrub is how freed extents are zeroed; the zero value is ScrubPunch. ScrubNone is UNSAFE.
	Scrub ScrubMethod
	// ReadHoles makes verification read every byte of an extent, holes included. By default
	// it reads only the ranges the file system reports as data (SEEK_DATA/SEEK_HOLE), since a
	// hole reads as zero by definition; after a punch that is nearly nothing, where reading the
	// holes copies every byte of zeros out of the kernel (audit records count the hole bytes).
	ReadHoles bool
}

// withDefaults fills in the defaults and checks what does not depend on a saved state.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, errors.New("pool: Options.Dir is empty; give the directory for the pool's files")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return o, fmt.Errorf("pool: Options.Dir %q: %w", o.Dir, err)
	}
	o.Dir = dir
	if o.Name == "" {
		o.Name = filepath.Base(dir)
	}
	if strings.ContainsAny(o.Name, "\x00\n") {
		return o, fmt.Errorf("pool: name %q contains a NUL or newline", o.Name)
	}
	if o.FrameBytes == 0 {
		o.FrameBytes = DefaultFrameBytes
	}
	if o.BlockBytes == 0 {
		o.BlockBytes = DefaultBlockBytes
	}
	if err := checkUnit("FrameBytes", o.FrameBytes); err != nil {
		return o, err
	}
	if err := checkUnit("BlockBytes", o.BlockBytes); err != nil {
		return o, err
	}
	if err := checkSize("MemoryBytes", o.MemoryBytes, o.FrameBytes, "frames"); err != nil {
		return o, err
	}
	if err := checkSize("DiskBytes", o.DiskBytes, o.BlockBytes, "blocks"); err != nil {
		return o, err
	}
	if o.MemoryDir != "" {
		if o.MemoryDir, err = filepath.Abs(o.MemoryDir); err != nil {
			return o, fmt.Errorf("pool: Options.MemoryDir: %w", err)
		}
	}
	if o.Scrub < ScrubDefault || o.Scrub > ScrubNone {
		return o, fmt.Errorf("pool: Options.Scrub %d is not ScrubPunch, ScrubWrite or ScrubNone", int(o.Scrub))
	}
	if o.Scrub == ScrubDefault {
		o.Scrub = ScrubPunch
	}
	return o, nil
}

// checkUnit wants a power of two of at least a page.
func checkUnit(field string, n int64) error {
	if n < 4096 || bits.OnesCount64(uint64(n)) != 1 {
		return fmt.Errorf("pool: %s %d is not a power of two of at least 4096", field, n)
	}
	return nil
}

// checkSize wants a non-negative whole number of units.
func checkSize(field string, n, unit int64, units string) error {
	if n < 0 || n%unit != 0 {
		return fmt.Errorf("pool: %s %d is not a whole number of %s of %d bytes (try %d)",
			field, n, units, unit, max(unit, n/unit*unit))
	}
	return nil
}

// sizeString prints a byte count the way people think of pool sizes.
func sizeString(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
