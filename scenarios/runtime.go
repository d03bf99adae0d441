package scenarios

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The lab's runtime: its clock, the simulated hypervisor's pools and scrubbing, and the flow
// logs' capture windows.

// Clock is the lab clock that drives the engine's timers: conntrack idle timeouts, the NAT
// gateway's idle timeout and flow-log capture windows. Probe timeouts and steps' waits are real
// time.
type Clock struct {
	// Speed is how many lab seconds pass per real second: 1 (the default) to 1000. A report of a
	// lab whose speed is not 1 says so, since its timings are not AWS's.
	Speed float64
}

// Limits of the lab clock.
const (
	DefaultClockSpeed = 1
	MaxClockSpeed     = 1000
)

// Hypervisor is the simulated hypervisor's configuration.
type Hypervisor struct {
	// Scrub zeroes an instance's memory and resets every block of its storage before they go to
	// another instance, as AWS promises. Default true; false is UNSAFE, for teaching only, and
	// the loader warns.
	Scrub bool
	// MemoryPool and DiskPool are the sizes of the host memory pool and disk pool in bytes; 0 =
	// the lab's default. The memory pool is a whole number of 2 MiB frames, the disk pool of
	// 1 MiB blocks.
	MemoryPool, DiskPool int64
}

// DefaultHypervisor is the hypervisor of a scenario that says nothing about it.
func DefaultHypervisor() Hypervisor { return Hypervisor{Scrub: true} }

// Units and bounds of the pools.
const (
	MemoryFrameBytes = 2 << 20
	DiskBlockBytes   = 1 << 20
	maxMemoryPool    = 1 << 40 // bounds against typos, far above what a lab on one machine uses
	maxDiskPool      = 16 << 40
)

func (d *decoder) clock(n *yaml.Node, c *Clock) {
	d.object(n, kClock, "clock", func(field string, _, v *yaml.Node) {
		d.mark(c, field, v)
		if field == "speed" {
			c.Speed, _ = d.number(v, "clock: speed")
		}
	})
}

func (d *decoder) hypervisor(n *yaml.Node, h *Hypervisor) {
	d.object(n, kHypervisor, "hypervisor", func(field string, _, v *yaml.Node) {
		d.mark(h, field, v)
		switch field {
		case "scrub":
			h.Scrub, _ = d.boolean(v, "hypervisor: scrub")
		case "memory_pool":
			h.MemoryPool, _ = d.size(v, "hypervisor: memory_pool")
		case "disk_pool":
			h.DiskPool, _ = d.size(v, "hypervisor: disk_pool")
		}
	})
}

// number reads an integer or a decimal number.
func (d *decoder) number(n *yaml.Node, what string) (float64, bool) {
	s, ok := d.scalar(n, what, "a number", "!!int", "!!float")
	if !ok {
		return 0, false
	}
	var f float64
	if err := s.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.p.errorf(d.pos(s), "%s: want a number, not %s", what, describe(s))
		return 0, false
	}
	return f, true
}

const sizeHelp = "a size in bytes, or with a unit: 512MiB, 2GiB, 1TiB (KiB, MiB, GiB and TiB are powers of 1024)"

// size reads a number of bytes, bare or with a binary unit.
func (d *decoder) size(n *yaml.Node, what string) (int64, bool) {
	s, ok := d.scalar(n, what, sizeHelp, "!!int", "!!str")
	if !ok {
		return 0, false
	}
	v, err := parseSize(s.Value)
	if err != nil {
		d.p.errorf(d.pos(s), "%s: %v", what, err)
		return 0, false
	}
	return v, true
}

var sizeUnits = [...]struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}}

// parseSize reads "2GiB", "512MiB" or a plain number of bytes.
func parseSize(s string) (int64, error) {
	num, shift := s, uint(0)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = n, u.shift
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || num != strconv.FormatInt(v, 10) || v > math.MaxInt64>>shift {
		return 0, fmt.Errorf("size %q: want %s", s, sizeHelp)
	}
	return v << shift, nil
}

// formatSize writes a size in the largest binary unit that holds it exactly.
func formatSize(v int64) string {
	for _, u := range sizeUnits {
		if v != 0 && v%(1<<u.shift) == 0 {
			return strconv.FormatInt(v>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(v, 10)
}

// interval reads a flow log's capture window: whole seconds (60) or a duration ("60s", "1m").
func (d *decoder) interval(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := d.scalar(n, what, "seconds (60) or a duration (60s, 10m)", "!!int", "!!str")
	if !ok {
		return 0, false
	}
	if s.ShortTag() == "!!int" {
		v, err := strconv.ParseInt(s.Value, 10, 64)
		if err != nil || v < 0 || v > maxSeconds {
			d.p.errorf(d.pos(s), "%s: want seconds from 1 to %d, or a duration such as 60s, not %s", what, maxSeconds, describe(s))
			return 0, false
		}
		return time.Duration(v) * time.Second, true
	}
	v, err := time.ParseDuration(s.Value)
	if err != nil {
		d.p.errorf(d.pos(s), "%s: want seconds (60) or a duration (60s, 10m), not %q", what, s.Value)
		return 0, false
	}
	return v, true
}

// runtime validates the clock and the hypervisor.
func (v *validator) runtime(top Pos) {
	c := v.sc.Clock
	if !(c.Speed >= DefaultClockSpeed && c.Speed <= MaxClockSpeed) {
		v.p.errorf(v.where(&v.sc.Clock, "speed", v.where(v.sc, "clock", top)), "clock: speed %v: want %d (real time, the default) to %d", c.Speed, DefaultClockSpeed, MaxClockSpeed)
	}
	h := v.sc.Hypervisor
	hat := v.where(v.sc, "hypervisor", top)
	for _, p := range [...]struct {
		field     string
		size, max int64
		unit      int64
		unitName  string
	}{
		{"memory_pool", h.MemoryPool, maxMemoryPool, MemoryFrameBytes, "2 MiB frames"},
		{"disk_pool", h.DiskPool, maxDiskPool, DiskBlockBytes, "1 MiB blocks"},
	} {
		at := v.where(&v.sc.Hypervisor, p.field, hat)
		switch {
		case p.size < 0 || p.size > p.max:
			v.p.errorf(at, "hypervisor: %s %s: want up to %s, or leave it out for the lab's default", p.field, formatSize(p.size), formatSize(p.max))
		case p.size%p.unit != 0:
			down := p.size / p.unit * p.unit
			v.p.errorf(at, "hypervisor: %s %s: want a whole number of %s, such as %s or %s", p.field, formatSize(p.size), p.unitName, formatSize(down), formatSize(down+p.unit))
		}
	}
	if !h.Scrub {
		v.p.warnf(v.where(&v.sc.Hypervisor, "scrub", hat), "hypervisor: scrub: false is UNSAFE: an instance's memory and volumes go to the next instance without being zeroed, which AWS never does; for teaching only")
	}
}
