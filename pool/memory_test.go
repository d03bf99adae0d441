package pool

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestMemoryScrubCanary is the seed promise for memory: an instance writes a secret into its
// RAM, is freed, and the next instance gets the very same frames and finds not one byte of it.
// With scrubbing disabled the same sequence finds the secret, which shows the check can fail.
func TestMemoryScrubCanary(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name   string
		method ScrubMethod
		leaks  bool
	}{
		{"punch", ScrubPunch, false},
		{"write", ScrubWrite, false},
		{"unsafe-none", ScrubNone, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := openTest(t, Options{MemoryBytes: mib(64), FrameBytes: mib(2), Scrub: tc.method})
			// Something allocated before and after, so the grant sits between neighbours.
			_, err := p.AllocMemory("i-before", mib(4))
			require.NoError(t, err)
			a, err := p.AllocMemory("i-aaaa", mib(16))
			require.NoError(t, err)
			_, err = p.AllocMemory("i-after", mib(4))
			require.NoError(t, err)
			require.Len(t, a.Runs(), 1)
			dev := a.Device()
			require.Equal(t, mib(16), devSize(t, dev), "the device shows the grant and nothing else")
			c, nz, _ := scan(t, dev)
			require.Zero(t, c+nz, "fresh frames read zero")

			mmapCanary(t, dev, int(mib(8)))
			fillCanary(t, dev, mib(16))
			c, _, _ = scan(t, dev)
			require.Greater(t, c, int64(1000), "the canary is in the old instance's RAM")
			old := a.Runs()[0].Extent

			require.NoError(t, p.FreeMemory(a))
			b, err := p.AllocMemory("i-bbbb", mib(16))
			require.NoError(t, err)
			require.Equal(t, old, b.Runs()[0].Extent, "the new instance gets the very same frames")
			c, nz, size := scan(t, b.Device())
			require.Equal(t, mib(16), size)
			if tc.leaks {
				require.Greater(t, c, int64(1000), "without scrubbing the canary must be found")
			} else {
				require.Zero(t, c, "canary fragments in the new instance's RAM")
				require.Zero(t, nz, "non-zero bytes in the new instance's RAM")
			}

			recs := auditFor(t, p, a.ID())
			require.Len(t, recs, 1)
			r := recs[0]
			require.Equal(t, "i-aaaa", r.Owner)
			require.Equal(t, "memory", r.What)
			require.Equal(t, "free", r.Why)
			require.Equal(t, old, r.Run)
			require.Equal(t, mib(16), r.Bytes)
			require.Equal(t, !tc.leaks, r.Verified)
			require.Equal(t, tc.leaks, r.Unsafe)
			if tc.leaks {
				require.Contains(t, r.String(), "UNSAFE")
				require.Contains(t, r.Method, "UNSAFE")
				require.Contains(t, p.String(), "UNSAFE")
			} else {
				require.NotContains(t, r.String(), "UNSAFE")
				require.NotContains(t, p.String(), "UNSAFE")
			}
		})
	}
}

// TestMemoryFreeBusy: the frames of a grant whose device the guest still has mapped are not
// scrubbed from under it, and not handed to anyone else: FreeMemory fails with ErrBusy and the
// grant keeps its device; once the mapping is gone it frees normally.
func TestMemoryFreeBusy(t *testing.T) {
	needRoot(t)
	p := openTest(t, Options{MemoryBytes: mib(16), FrameBytes: mib(2)})
	g, err := p.AllocMemory("i-busy", mib(4))
	require.NoError(t, err)
	dev := g.Device()
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	require.NoError(t, err)
	m, err := unix.Mmap(int(f.Fd()), 0, int(mib(4)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	f.Close() // the mapping alone keeps the device open
	copy(m, canary)

	err = p.FreeMemory(g)
	require.ErrorIs(t, err, ErrBusy)
	require.Equal(t, dev, g.Device(), "a busy grant keeps its device")
	require.Equal(t, 1, p.Stats().MemoryGrants)
	require.Equal(t, "0", strings.TrimSpace(readSys(t, dev, "autoclear")), "the device must not detach itself later")
	require.Empty(t, auditFor(t, p, g.ID()), "nothing was scrubbed")
	require.Equal(t, canary, m[:len(canary)], "the guest's memory is intact")

	require.NoError(t, unix.Munmap(m))
	require.NoError(t, p.FreeMemory(g))
	require.Equal(t, mib(16), p.Stats().MemoryFree)
}

func readSys(t testing.TB, dev, file string) string {
	t.Helper()
	b, err := os.ReadFile("/sys/block/" + strings.TrimPrefix(dev, "/dev/") + "/loop/" + file)
	require.NoError(t, err)
	return string(b)
}

// TestMemoryScrubVerificationFails: a scrub whose read-back finds a non-zero byte (here written
// between zeroing and verifying) quarantines the frames: they are not reused, not even when the
// pool is otherwise full, until a later Open scrubs them successfully.
func TestMemoryScrubVerificationFails(t *testing.T) {
	needRoot(t)
	p := openTest(t, Options{MemoryBytes: mib(8), FrameBytes: mib(2)})
	g, err := p.AllocMemory("i-q", mib(8))
	require.NoError(t, err)
	fillCanary(t, g.Device(), mib(8))
	p.hooks.afterZero = func(a *area, e Extent) {
		_, err := a.file.WriteAt([]byte{0x5a}, a.offset(e)+12345)
		require.NoError(t, err)
	}
	err = p.FreeMemory(g)
	require.ErrorIs(t, err, ErrScrubFailed)
	require.Contains(t, err.Error(), "12345")
	require.Equal(t, mib(8), p.Stats().QuarantinedBytes)
	_, err = p.AllocMemory("i-next", mib(2))
	require.ErrorIs(t, err, ErrNoSpace, "quarantined frames are never handed out")
	require.ErrorIs(t, p.FreeMemory(g), ErrReleased)
	recs := auditFor(t, p, g.ID())
	require.Len(t, recs, 1)
	require.False(t, recs[0].Verified)
	require.Contains(t, recs[0].Error, "not zero")

	// Reopen without the fault: the retry scrubs them and they are free again.
	dir := p.Dir()
	require.NoError(t, p.Close())
	p2 := openTest(t, Options{Dir: dir})
	require.Zero(t, p2.Stats().QuarantinedBytes)
	require.Equal(t, mib(8), p2.Stats().MemoryFree)
	recs = auditFor(t, p2, g.ID())
	require.Len(t, recs, 2)
	require.Equal(t, "retry", recs[1].Why)
	require.True(t, recs[1].Verified)
	h, err := p2.AllocMemory("i-next", mib(8))
	require.NoError(t, err)
	c, nz, _ := scan(t, h.Device())
	require.Zero(t, c+nz)
}

// TestMemoryRuns: when no single free extent is long enough, a grant is split into runs, each
// its own device, and still reads zero and scrubs back.
func TestMemoryRuns(t *testing.T) {
	needRoot(t)
	p := openTest(t, Options{MemoryBytes: mib(16), FrameBytes: mib(2)})
	var gs []*MemoryGrant
	for range 4 {
		g, err := p.AllocMemory("i-frag", mib(4))
		require.NoError(t, err)
		fillCanary(t, g.Device(), mib(4))
		gs = append(gs, g)
	}
	require.NoError(t, p.FreeMemory(gs[0]))
	require.NoError(t, p.FreeMemory(gs[2]))
	g, err := p.AllocMemory("i-split", mib(6))
	require.NoError(t, err)
	runs := g.Runs()
	require.Len(t, runs, 2, describe(runs))
	require.Equal(t, Extent{0, 2}, runs[0].Extent)
	require.Equal(t, Extent{4, 1}, runs[1].Extent)
	require.NotEqual(t, runs[0].Device, runs[1].Device)
	for _, r := range runs {
		c, nz, size := scan(t, r.Device)
		require.Equal(t, r.Bytes, size)
		require.Zero(t, c+nz)
	}
	require.Equal(t, mib(6), g.Bytes())
	require.NoError(t, p.FreeMemory(g))
	require.Len(t, auditFor(t, p, g.ID()), 2, "one audit record per run")
}

// TestBadInput: requests the pool cannot or must not serve fail with a clear error and change
// nothing, neither in memory nor in the state file.
func TestBadInput(t *testing.T) {
	needRoot(t)
	p := openTest(t, Options{MemoryBytes: mib(8), FrameBytes: mib(2), DiskBytes: mib(16)})
	g, err := p.AllocMemory("i-live", mib(2))
	require.NoError(t, err)
	v, err := p.AllocVolume("i-live", EBS, mib(4))
	require.NoError(t, err)
	freed, err := p.AllocMemory("i-gone", mib(2))
	require.NoError(t, err)
	require.NoError(t, p.FreeMemory(freed))
	gone, err := p.AllocVolume("i-gone", EBS, mib(1))
	require.NoError(t, err)
	require.NoError(t, p.ReleaseVolume(gone))
	other := openTest(t, Options{MemoryBytes: mib(4), DiskBytes: mib(4)})
	og, err := other.AllocMemory("i-other", mib(2))
	require.NoError(t, err)
	ov, err := other.AllocVolume("i-other", EBS, mib(1))
	require.NoError(t, err)

	before := p.Stats()
	stateBefore, err := os.ReadFile(p.statePath)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		do   func() error
		want string
		is   error
	}{
		{"memory too large", func() error { _, err := p.AllocMemory("i-x", mib(8)); return err }, "6 MiB free of 8 MiB", ErrNoSpace},
		{"zero memory", func() error { _, err := p.AllocMemory("i-x", 0); return err }, "positive", nil},
		{"negative memory", func() error { _, err := p.AllocMemory("i-x", -1); return err }, "positive", nil},
		{"empty owner", func() error { _, err := p.AllocMemory("", mib(2)); return err }, "owner", nil},
		{"unprintable owner", func() error { _, err := p.AllocMemory("i-\n", mib(2)); return err }, "unprintable", nil},
		{"double free", func() error { return p.FreeMemory(freed) }, freed.ID(), ErrReleased},
		{"grant of another pool", func() error { return p.FreeMemory(og) }, "not from this pool", nil},
		{"nil grant", func() error { return p.FreeMemory(nil) }, "nil", nil},
		{"disk too large", func() error { _, err := p.AllocVolume("i-x", EBS, mib(13)); return err }, "12 MiB free of 16 MiB", ErrNoSpace},
		{"zero volume", func() error { _, err := p.AllocVolume("i-x", EBS, 0); return err }, "positive", nil},
		{"bad kind", func() error { _, err := p.AllocVolume("i-x", VolumeKind(9), mib(1)); return err }, "not EBS or InstanceStore", nil},
		{"double release", func() error { return p.ReleaseVolume(gone) }, gone.ID(), ErrReleased},
		{"volume of another pool", func() error { return p.ReleaseVolume(ov) }, "not from this pool", nil},
		{"attach an attached volume", func() error { return p.AttachVolume(v) }, "already attached", nil},
		{"reset an attached volume", func() error { return p.ResetVolume(v) }, "detach it", nil},
		{"detach a released volume", func() error { return p.DetachVolume(gone) }, "released", ErrReleased},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
		})
	}
	require.Equal(t, before, p.Stats())
	stateAfter, err := os.ReadFile(p.statePath)
	require.NoError(t, err)
	require.Equal(t, string(stateBefore), string(stateAfter))
	require.NotEmpty(t, g.Device())
	require.NotEmpty(t, v.Device())

	// A pool without memory says so.
	d := openTest(t, Options{DiskBytes: mib(4)})
	_, err = d.AllocMemory("i-x", mib(2))
	require.ErrorContains(t, err, "no memory")
	// A closed pool refuses.
	require.NoError(t, other.Close())
	_, err = other.AllocMemory("i-x", mib(2))
	require.True(t, errors.Is(err, ErrClosed), "%v", err)
}

// TestMemoryDir: a pool can keep its memory in a tmpfs directory it is given instead of
// mounting its own, and refuses one that is not on tmpfs (guest RAM must not land on disk).
func TestMemoryDir(t *testing.T) {
	needRoot(t)
	shm, err := os.MkdirTemp("/dev/shm", "ec2sim-pool-test-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(shm) })
	p := openTest(t, Options{Name: "lab-x", MemoryBytes: mib(8), MemoryDir: shm})
	g, err := p.AllocMemory("i-1", mib(4))
	require.NoError(t, err)
	require.Contains(t, readSys(t, g.Device(), "backing_file"), shm+"/lab-x.mem")
	require.False(t, mountedUnder(p.Dir()), "no tmpfs of its own")
	require.NoError(t, p.FreeMemory(g))
	require.NoError(t, p.Destroy())
	_, err = os.Stat(shm + "/lab-x.mem")
	require.True(t, os.IsNotExist(err), "Destroy removes the memory file")

	bad := testDir(t)
	_, err = Open(Options{Dir: bad, MemoryBytes: mib(8), MemoryDir: t.TempDir()})
	require.ErrorContains(t, err, "not on tmpfs")
	_, err = os.Stat(bad)
	require.True(t, os.IsNotExist(err), "a pool that failed to open leaves nothing: %v", err)
}

// TestConcurrent: grants made and freed from several goroutines never share a frame, and all
// frames are free and every free audited at the end.
func TestConcurrent(t *testing.T) {
	needRoot(t)
	p := openTest(t, Options{MemoryBytes: mib(32), FrameBytes: 1 << 20})
	const workers, rounds = 4, 6
	errs := make(chan error, workers)
	var mu sync.Mutex
	held := map[int64]string{} // frame -> grant
	for w := range workers {
		go func() {
			var err error
			defer func() { errs <- err }()
			for range rounds {
				var g *MemoryGrant
				if g, err = p.AllocMemory(fmt.Sprintf("i-%d", w), mib(int64(1+w))); err != nil {
					return
				}
				mu.Lock()
				for _, r := range g.Runs() {
					for f := r.Extent.Start; f < r.Extent.End(); f++ {
						if other, ok := held[f]; ok {
							err = fmt.Errorf("frame %d in %s and %s", f, other, g.ID())
						}
						held[f] = g.ID()
					}
				}
				mu.Unlock()
				if err != nil {
					return
				}
				mu.Lock()
				for _, r := range g.Runs() {
					for f := r.Extent.Start; f < r.Extent.End(); f++ {
						delete(held, f)
					}
				}
				mu.Unlock()
				if err = p.FreeMemory(g); err != nil {
					return
				}
			}
		}()
	}
	for range workers {
		require.NoError(t, <-errs)
	}
	require.Equal(t, mib(32), p.Stats().MemoryFree)
	recs, err := ReadAudit(p.AuditPath())
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(recs), workers*rounds)
}
