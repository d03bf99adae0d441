package pool

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// mountFS makes (when mkfs) and mounts an ext4 file system on dev at a directory of its own and
// returns the directory; the cleanup unmounts it if the test did not.
func mountFS(t *testing.T, dev string, mkfs bool) string {
	t.Helper()
	if mkfs {
		out, err := exec.Command("mkfs.ext4", "-q", "-F", "-E", "nodiscard", dev).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	dir, err := os.MkdirTemp("", "ec2sim-pool-mnt-")
	require.NoError(t, err)
	require.NoError(t, unix.Mount(dev, dir, "ext4", 0, ""))
	t.Cleanup(func() {
		_ = unix.Unmount(dir, 0)
		os.Remove(dir)
	})
	return dir
}

func unmount(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, unix.Unmount(dir, 0))
}

// TestVolumeLifecycle is the storage half of the seed promise. An EBS volume keeps a file system
// and its data across detach and attach (stop and start); after it is released (deleted) the next
// volume on the same blocks finds none of its bytes. An instance store is empty after a detach.
// Without scrubbing the deleted volume's canary is found, which shows the check can fail.
func TestVolumeLifecycle(t *testing.T) {
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
			p := openTest(t, Options{DiskBytes: mib(256), Scrub: tc.method})
			_, err := p.AllocVolume("i-before", EBS, mib(8))
			require.NoError(t, err)
			v, err := p.AllocVolume("i-aaaa", EBS, mib(64))
			require.NoError(t, err)
			require.Equal(t, EBS, v.Kind())
			require.Equal(t, mib(64), devSize(t, v.Device()), "the device is the volume and nothing else")
			c, nz, _ := scan(t, v.Device())
			require.Zero(t, c+nz, "a new volume is logically empty")

			mnt := mountFS(t, v.Device(), true)
			secret := []byte(string(canary) + "in-a-file")
			require.NoError(t, os.WriteFile(filepath.Join(mnt, "secret"), secret, 0o600))
			unmount(t, mnt)

			// Stop and start: EBS keeps the data.
			require.NoError(t, p.DetachVolume(v))
			require.Empty(t, v.Device())
			require.Empty(t, auditFor(t, p, v.ID()), "an EBS detach does not scrub")
			require.NoError(t, p.AttachVolume(v))
			mnt = mountFS(t, v.Device(), false)
			got, err := os.ReadFile(filepath.Join(mnt, "secret"))
			require.NoError(t, err)
			require.Equal(t, secret, got, "EBS data survives detach and attach")
			unmount(t, mnt)

			fillCanary(t, v.Device(), mib(64))
			old := v.Run().Extent
			require.NoError(t, p.ReleaseVolume(v))
			w, err := p.AllocVolume("i-bbbb", EBS, mib(64))
			require.NoError(t, err)
			require.Equal(t, old, w.Run().Extent, "the new volume is on the same blocks")
			c, nz, _ = scan(t, w.Device())
			if tc.leaks {
				require.Greater(t, c, int64(1000), "without scrubbing the canary must be found")
			} else {
				require.Zero(t, c, "canary fragments in the new volume")
				require.Zero(t, nz, "non-zero bytes in the new volume")
			}
			recs := auditFor(t, p, v.ID())
			require.Len(t, recs, 1)
			require.Equal(t, "ebs", recs[0].What)
			require.Equal(t, "release", recs[0].Why)
			require.Equal(t, !tc.leaks, recs[0].Verified)
			require.Equal(t, mib(64), recs[0].Bytes)

			// Instance store: every detach resets it.
			s, err := p.AllocVolume("i-aaaa", InstanceStore, mib(16))
			require.NoError(t, err)
			fillCanary(t, s.Device(), mib(16))
			require.NoError(t, p.DetachVolume(s))
			require.NoError(t, p.AttachVolume(s))
			c, nz, _ = scan(t, s.Device())
			if tc.leaks {
				require.Greater(t, c, int64(100))
			} else {
				require.Zero(t, c+nz, "an instance store is empty after stop and start")
			}
			recs = auditFor(t, p, s.ID())
			require.Len(t, recs, 1)
			require.Equal(t, "instance-store", recs[0].What)
			require.Equal(t, "detach", recs[0].Why)
		})
	}
}

// TestVolumeBusy: a mounted volume cannot be detached or released; it keeps its device and data.
func TestVolumeBusy(t *testing.T) {
	needRoot(t)
	p := openTest(t, Options{DiskBytes: mib(64)})
	v, err := p.AllocVolume("i-busy", InstanceStore, mib(32))
	require.NoError(t, err)
	dev := v.Device()
	mnt := mountFS(t, dev, true)
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "f"), []byte("data"), 0o600))
	require.ErrorIs(t, p.DetachVolume(v), ErrBusy)
	require.ErrorIs(t, p.ReleaseVolume(v), ErrBusy)
	require.Equal(t, dev, v.Device())
	got, err := os.ReadFile(filepath.Join(mnt, "f"))
	require.NoError(t, err)
	require.Equal(t, "data", string(got))
	unmount(t, mnt)
	// A mount namespace made elsewhere on the machine while the file system was mounted (an
	// instance's exec, another test) holds a copy of the mount until its last process ends, so
	// the device can stay busy for a moment after our unmount; that is the busy check working.
	err = p.ReleaseVolume(v)
	for deadline := time.Now().Add(20 * time.Second); errors.Is(err, ErrBusy) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		err = p.ReleaseVolume(v)
	}
	require.NoError(t, err)
	require.Equal(t, mib(64), p.Stats().DiskFree)
}

// TestResetVolume: a detached volume can be reset in place and stays with its owner.
func TestResetVolume(t *testing.T) {
	needRoot(t)
	p := openTest(t, Options{DiskBytes: mib(16)})
	v, err := p.AllocVolume("i-r", EBS, mib(8))
	require.NoError(t, err)
	fillCanary(t, v.Device(), mib(8))
	require.NoError(t, p.DetachVolume(v))
	require.NoError(t, p.ResetVolume(v))
	require.NoError(t, p.AttachVolume(v))
	c, nz, _ := scan(t, v.Device())
	require.Zero(t, c+nz)
	require.Len(t, p.Volumes(), 1)
	recs := auditFor(t, p, v.ID())
	require.Len(t, recs, 1)
	require.Equal(t, "reset", recs[0].Why)
}

// TestDestroy: Destroy leaves no loop device onto the pool's files, no mount and no file.
func TestDestroy(t *testing.T) {
	needRoot(t)
	dir := testDir(t)
	p, err := Open(Options{Dir: dir, MemoryBytes: mib(16), DiskBytes: mib(64)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = DestroyAt(dir); os.RemoveAll(dir) })
	_, err = p.AllocMemory("i-1", mib(4))
	require.NoError(t, err)
	_, err = p.AllocMemory("i-2", mib(4))
	require.NoError(t, err)
	_, err = p.AllocVolume("i-1", EBS, mib(8))
	require.NoError(t, err)
	detached, err := p.AllocVolume("i-2", EBS, mib(8))
	require.NoError(t, err)
	require.NoError(t, p.DetachVolume(detached))
	require.Len(t, loopsUnder(dir), 3)
	require.True(t, mountedUnder(dir))

	require.NoError(t, p.Destroy())
	require.Empty(t, loopsUnder(dir))
	require.False(t, mountedUnder(dir))
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err), "the pool directory is gone: %v", err)
	require.ErrorIs(t, p.Destroy(), ErrClosed)
}

// TestDestroyAtAfterCrash: DestroyAt removes a pool that no process has open, without opening
// it, including its devices and mount.
func TestDestroyAtAfterCrash(t *testing.T) {
	needRoot(t)
	dir := testDir(t)
	p, err := Open(Options{Dir: dir, MemoryBytes: mib(8), DiskBytes: mib(8)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = DestroyAt(dir); os.RemoveAll(dir) })
	_, err = p.AllocMemory("i-1", mib(4))
	require.NoError(t, err)
	_, err = p.AllocVolume("i-1", EBS, mib(4))
	require.NoError(t, err)
	require.ErrorContains(t, DestroyAt(dir), "open in another process")
	require.NoError(t, p.Close()) // as good as a crash: nothing is torn down
	require.Len(t, loopsUnder(dir), 2)
	require.NoError(t, DestroyAt(dir))
	require.Empty(t, loopsUnder(dir))
	require.False(t, mountedUnder(dir))
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err))
	require.NoError(t, DestroyAt(dir), "nothing left is not an error")
}
