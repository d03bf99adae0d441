package pool

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// crashEnv makes the test binary a pool process that dies right after the state file says
// scrub-pending: "dir|free-memory|mem-1" or "dir|release-volume|vol-1".
const crashEnv = "EC2SIM_POOL_CRASH"

// crashExit is the child's exit code when it died where it was meant to.
const crashExit = 3

// crashChild opens the pool, starts the scrub named by spec, and exits from the pending hook.
func crashChild(spec string) int {
	parts := strings.Split(spec, "|")
	if len(parts) != 3 {
		fmt.Fprintln(os.Stderr, "bad spec", spec)
		return 10
	}
	p, err := Open(Options{Dir: parts[0]})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 11
	}
	p.hooks.pending = func(string) { os.Exit(crashExit) }
	switch parts[1] {
	case "free-memory":
		for _, g := range p.MemoryGrants() {
			if g.ID() == parts[2] {
				err = p.FreeMemory(g)
			}
		}
	case "release-volume", "detach-volume":
		for _, v := range p.Volumes() {
			if v.ID() == parts[2] && parts[1] == "release-volume" {
				err = p.ReleaseVolume(v)
			} else if v.ID() == parts[2] {
				err = p.DetachVolume(v)
			}
		}
	}
	fmt.Fprintln(os.Stderr, "the scrub did not stop at the hook:", err)
	return 12
}

// runCrashChild runs the child and wants it to die at the hook.
func runCrashChild(t *testing.T, spec string) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+spec)
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "child output: %s", out)
	require.Equal(t, crashExit, cmd.ProcessState.ExitCode(), "child output: %s", out)
}

// TestCrashDuringScrub: a process that dies after recording scrub-pending and before zeroing
// leaves the previous owner's data in the pool file; the next Open finishes the scrub (audited
// as recovery) before anything is allocated, and the next owner of the frames or blocks finds
// nothing.
func TestCrashDuringScrub(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name string
		op   string
		size int64
	}{
		{"memory", "free-memory", mib(8)},
		{"ebs", "release-volume", mib(32)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := openTest(t, Options{MemoryBytes: mib(16), DiskBytes: mib(64)})
			var id, dev string
			var ext Extent
			var a *area
			if tc.op == "free-memory" {
				g, err := p.AllocMemory("i-crash", tc.size)
				require.NoError(t, err)
				id, dev, ext, a = g.ID(), g.Device(), g.Runs()[0].Extent, p.mem
			} else {
				v, err := p.AllocVolume("i-crash", EBS, tc.size)
				require.NoError(t, err)
				id, dev, ext, a = v.ID(), v.Device(), v.Run().Extent, p.disk
			}
			fillCanary(t, dev, tc.size)
			dir := p.Dir()
			require.NoError(t, p.Close())

			runCrashChild(t, dir+"|"+tc.op+"|"+id)

			state, err := os.ReadFile(dir + "/" + stateName)
			require.NoError(t, err)
			require.Contains(t, string(state), `"state": "scrub-pending"`)
			require.Empty(t, loopsUnder(dir), "the child detached the device before recording pending")
			raw := make([]byte, tc.size)
			_, err = pread(a.path, raw, a.offset(ext))
			require.NoError(t, err)
			require.Greater(t, bytes.Count(raw, canary[:8]), 1000, "the child died before zeroing")

			p2 := openTest(t, Options{Dir: dir})
			recs := auditFor(t, p2, id)
			require.Len(t, recs, 1)
			require.Equal(t, "recovery", recs[0].Why)
			require.True(t, recs[0].Verified)
			require.Equal(t, ext, recs[0].Run)
			require.Empty(t, p2.MemoryGrants())
			require.Empty(t, p2.Volumes())

			var newDev string
			var newExt Extent
			if tc.op == "free-memory" {
				g, err := p2.AllocMemory("i-next", tc.size)
				require.NoError(t, err)
				newDev, newExt = g.Device(), g.Runs()[0].Extent
			} else {
				v, err := p2.AllocVolume("i-next", EBS, tc.size)
				require.NoError(t, err)
				newDev, newExt = v.Device(), v.Run().Extent
			}
			require.Equal(t, ext, newExt, "the reuse order survives the restart")
			c, nz, _ := scan(t, newDev)
			require.Zero(t, c+nz)
		})
	}
}

// TestCrashDuringInstanceStoreStop: an instance store whose reset on stop was cut short is reset
// by the next Open and stays with its owner, detached and empty.
func TestCrashDuringInstanceStoreStop(t *testing.T) {
	needRoot(t)
	p := openTest(t, Options{DiskBytes: mib(32)})
	v, err := p.AllocVolume("i-stop", InstanceStore, mib(16))
	require.NoError(t, err)
	fillCanary(t, v.Device(), mib(16))
	ext, dir := v.Run().Extent, p.Dir()
	require.NoError(t, p.Close())

	runCrashChild(t, dir+"|detach-volume|"+v.ID())

	p2 := openTest(t, Options{Dir: dir})
	vs := p2.Volumes()
	require.Len(t, vs, 1, "the instance store survives the crash")
	w := vs[0]
	require.Equal(t, v.ID(), w.ID())
	require.Equal(t, InstanceStore, w.Kind())
	require.Equal(t, ext, w.Run().Extent)
	require.Empty(t, w.Device(), "it was being detached")
	recs := auditFor(t, p2, v.ID())
	require.Len(t, recs, 1)
	require.Equal(t, "recovery", recs[0].Why)
	require.True(t, recs[0].Verified)
	require.NoError(t, p2.AttachVolume(w))
	c, nz, _ := scan(t, w.Device())
	require.Zero(t, c+nz)
}

// TestStaleFilesWithoutState: pool files whose state file was lost are not trusted: Open starts
// the pool afresh, detaching old devices and discarding the old contents.
func TestStaleFilesWithoutState(t *testing.T) {
	needRoot(t)
	p := openTest(t, Options{MemoryBytes: mib(8), DiskBytes: mib(8)})
	g, err := p.AllocMemory("i-old", mib(8))
	require.NoError(t, err)
	fillCanary(t, g.Device(), mib(8))
	v, err := p.AllocVolume("i-old", EBS, mib(8))
	require.NoError(t, err)
	fillCanary(t, v.Device(), mib(8))
	dir := p.Dir()
	require.NoError(t, p.Close())
	require.NoError(t, os.Remove(dir+"/"+stateName))

	p2 := openTest(t, Options{Dir: dir, MemoryBytes: mib(8), DiskBytes: mib(8)})
	require.Empty(t, loopsUnder(dir), "the old devices are gone")
	h, err := p2.AllocMemory("i-new", mib(8))
	require.NoError(t, err)
	w, err := p2.AllocVolume("i-new", EBS, mib(8))
	require.NoError(t, err)
	for _, dev := range []string{h.Device(), w.Device()} {
		c, nz, _ := scan(t, dev)
		require.Zero(t, c+nz, dev)
	}
}

// TestOrphanDeviceDetachedOnOpen: a loop device onto a pool file that the state does not know
// (a crash between attaching it and saving the state) is detached by Open, since its extent is
// free and may go to someone else.
func TestOrphanDeviceDetachedOnOpen(t *testing.T) {
	needRoot(t)
	p := openTest(t, Options{MemoryBytes: mib(8), DiskBytes: mib(8)})
	v, err := p.AllocVolume("i-keep", EBS, mib(2))
	require.NoError(t, err)
	keep := v.Device()
	dir := p.Dir()
	disk := p.disk
	orphan, err := attachLoop(disk.file, mib(4), mib(2), "orphan")
	require.NoError(t, err)
	t.Cleanup(func() { _ = detachLoop(loopDev{orphan, mib(4), mib(2)}, disk.id, false) })
	require.NoError(t, p.Close())

	p2 := openTest(t, Options{Dir: dir})
	devs := loopsUnder(dir)
	require.Len(t, devs, 1, "only the volume's device: %v", devs)
	for _, d := range devs {
		require.NotContains(t, d, strings.TrimPrefix(orphan, "/dev/")+"/", "orphan still bound")
	}
	vs := p2.Volumes()
	require.Len(t, vs, 1)
	require.Equal(t, keep, vs[0].Device(), "a known device survives the reopen")
}

// pread reads len(b) bytes of a file at off.
func pread(path string, b []byte, off int64) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.ReadAt(b, off)
}
