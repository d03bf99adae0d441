package pool

import (
	"os"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The scrub benchmarks dirty a whole extent (outside the timer), then time the scrub of it.
// Run with a small count, e.g.
//
//	go test -run '^$' -bench . -benchtime 5x ./pool/
//
// and compare the GB/s of the memory scrub with BenchmarkMemset (target: at least half), and the
// disk reset with BenchmarkPunchOnly/disk (target: 1 GiB in under a second).

const (
	benchMemory = 256 << 20
	benchDisk   = 1 << 30
)

// dirty writes a non-zero pattern over [off, off+n) of f, as a guest that used all of it would.
func dirty(b testing.TB, f *os.File, off, n int64, durable bool) {
	b.Helper()
	buf := make([]byte, scrubChunk)
	for i := range buf {
		buf[i] = byte(i%251) + 1
	}
	for done := int64(0); done < n; done += int64(len(buf)) {
		if _, err := f.WriteAt(buf, off+done); err != nil {
			b.Fatal(err)
		}
	}
	if durable {
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchScrub times zeroAndVerify of one whole-area extent with the pool's method.
func benchScrub(b *testing.B, o Options, memory bool) {
	needRoot(b)
	p := openTest(b, o)
	a, n := p.disk, int64(benchDisk)
	if memory {
		a, n = p.mem, benchMemory
	}
	e := Extent{0, n / a.unit}
	rec := AuditRecord{}
	b.SetBytes(n)
	b.ReportAllocs()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		dirty(b, a.file, 0, n, !memory)
		b.StartTimer()
		start := time.Now()
		p.zeroAndVerify(a, e, &rec)
		total += time.Since(start)
		if !rec.Verified {
			b.Fatal(rec.Error)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds()/1e9, "GB/s")
}

func BenchmarkScrubMemory(b *testing.B) {
	for _, m := range []ScrubMethod{ScrubPunch, ScrubWrite} {
		b.Run(m.String(), func(b *testing.B) {
			benchScrub(b, Options{Dir: testDir(b), MemoryBytes: benchMemory, Scrub: m}, true)
		})
	}
}

func BenchmarkScrubDisk(b *testing.B) {
	for _, m := range []ScrubMethod{ScrubPunch, ScrubWrite} {
		b.Run(m.String(), func(b *testing.B) {
			benchScrub(b, Options{Dir: testDir(b), DiskBytes: benchDisk, Scrub: m}, false)
		})
	}
}

// BenchmarkMemset is the reference for memory: zeroing a Go buffer of the same size.
func BenchmarkMemset(b *testing.B) {
	buf := make([]byte, benchMemory)
	for i := range buf {
		buf[i] = 1
	}
	b.SetBytes(benchMemory)
	b.ReportAllocs()
	for b.Loop() {
		clear(buf)
	}
	b.ReportMetric(float64(benchMemory)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkPunchOnly is the reference for both: a bare fallocate punch of a dirty file, with no
// verification (and, on disk, the fdatasync that a reset does).
func BenchmarkPunchOnly(b *testing.B) {
	for _, tc := range []struct {
		name   string
		memory bool
	}{{"memory", true}, {"disk", false}} {
		b.Run(tc.name, func(b *testing.B) {
			needRoot(b)
			o := Options{Dir: testDir(b), DiskBytes: benchDisk}
			if tc.memory {
				o = Options{Dir: o.Dir, MemoryBytes: benchMemory}
			}
			p := openTest(b, o)
			a := p.disk
			if tc.memory {
				a = p.mem
			}
			b.SetBytes(a.bytes)
			for b.Loop() {
				b.StopTimer()
				dirty(b, a.file, 0, a.bytes, !tc.memory)
				b.StartTimer()
				if err := zeroRange(a.file, 0, a.bytes, ScrubPunch, nil); err != nil {
					b.Fatal(err)
				}
				if !tc.memory {
					if err := unix.Fdatasync(int(a.file.Fd())); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(a.bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// BenchmarkZeroOutDevice is the alternative for disks: BLKZEROOUT or BLKDISCARD on the loop
// device of a volume, then the same verification of the pool file.
func BenchmarkZeroOutDevice(b *testing.B) {
	for _, tc := range []struct {
		name  string
		ioctl uint
	}{{"blkzeroout", unix.BLKZEROOUT}, {"blkdiscard", unix.BLKDISCARD}} {
		b.Run(tc.name, func(b *testing.B) {
			needRoot(b)
			p := openTest(b, Options{Dir: testDir(b), DiskBytes: benchDisk})
			v, err := p.AllocVolume("i-bench", EBS, benchDisk)
			if err != nil {
				b.Fatal(err)
			}
			dev, err := os.OpenFile(v.Device(), os.O_RDWR, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer dev.Close()
			a := p.disk
			buf, free, err := alignedBuffer(scrubChunk)
			if err != nil {
				b.Fatal(err)
			}
			defer free()
			b.SetBytes(benchDisk)
			for b.Loop() {
				b.StopTimer()
				dirty(b, dev, 0, benchDisk, true)
				b.StartTimer()
				rng := [2]uint64{0, benchDisk}
				if err := ioctlRange(dev, tc.ioctl, &rng); err != nil {
					b.Skipf("%s: %v", tc.name, err)
				}
				if err := dev.Sync(); err != nil {
					b.Fatal(err)
				}
				if bad, err := verifyZero(a.verify, 0, benchDisk, buf); err != nil || bad >= 0 {
					b.Fatalf("%s left byte %d non-zero (%v)", tc.name, bad, err)
				}
			}
			b.ReportMetric(float64(benchDisk)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

// ioctlRange issues a block-device ioctl that takes a {start, length} pair.
func ioctlRange(f *os.File, req uint, rng *[2]uint64) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), uintptr(req), uintptr(unsafe.Pointer(rng)))
	if errno != 0 {
		return errno
	}
	return nil
}

// BenchmarkFreeMemory is a whole FreeMemory of a dirty 256 MiB grant: detaching its device,
// the state file written twice, the scrub, the audit record synced.
func BenchmarkFreeMemory(b *testing.B) {
	needRoot(b)
	p := openTest(b, Options{Dir: testDir(b), MemoryBytes: benchMemory})
	b.SetBytes(benchMemory)
	for b.Loop() {
		b.StopTimer()
		g, err := p.AllocMemory("i-bench", benchMemory)
		if err != nil {
			b.Fatal(err)
		}
		dirty(b, p.mem.file, 0, benchMemory, false)
		b.StartTimer()
		if err := p.FreeMemory(g); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchMemory)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}
