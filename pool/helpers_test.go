package pool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestMain lets the crash tests run this binary as a pool process that dies in the middle of a
// scrub.
func TestMain(m *testing.M) {
	if spec := os.Getenv(crashEnv); spec != "" {
		os.Exit(crashChild(spec))
	}
	os.Exit(m.Run())
}

// needRoot skips a test that needs loop devices and mounts.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: loop devices and a tmpfs mount")
	}
}

// testDir is a fresh directory for one pool, on the disk (not tmpfs). Its removal is registered
// first, so it runs after the cleanup of a pool opened in it.
func testDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ec2sim-pool-"+strings.ReplaceAll(t.Name(), "/", "_")+"-")
	require.NoError(t, err)
	t.Cleanup(func() {
		if !mountedUnder(dir) {
			os.RemoveAll(dir)
		}
	})
	return dir
}

// openTest opens a pool in a new directory and removes everything it made when the test ends,
// also when the test fails half way: the pool is destroyed if still open, DestroyAt sweeps what
// a crashed child left, and the test then checks that no loop device or mount remains.
func openTest(t testing.TB, o Options) *Pool {
	t.Helper()
	if o.Dir == "" {
		o.Dir = testDir(t)
	}
	p, err := Open(o)
	if err != nil {
		_ = DestroyAt(o.Dir)
		t.Fatal(err)
	}
	dir := p.Dir()
	t.Cleanup(func() {
		if err := p.Destroy(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Destroy: %v", err)
		}
		if err := DestroyAt(dir); err != nil {
			t.Errorf("DestroyAt: %v", err)
		}
		os.RemoveAll(dir)
		if devs := loopsUnder(dir); len(devs) > 0 {
			t.Errorf("loop devices left onto %s: %v", dir, devs)
		}
		if mountedUnder(dir) {
			t.Errorf("a mount is left under %s", dir)
		}
	})
	return p
}

// loopsUnder lists loop devices whose backing file is under dir, from sysfs.
func loopsUnder(dir string) []string {
	var out []string
	files, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.HasPrefix(string(b), dir+"/") {
			out = append(out, f+": "+strings.TrimSpace(string(b)))
		}
	}
	return out
}

// mountedUnder reports whether anything is mounted at or below dir.
func mountedUnder(dir string) bool {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			return true
		}
	}
	return false
}

// canary is the pattern a previous owner leaves behind; finding any 8-byte window of it in a
// new owner's memory or disk is a leak.
var canary = []byte("EC2SIM-CANARY-SECRET-")

// fillCanary writes the canary over n bytes of the device at path, through ordinary writes.
func fillCanary(t testing.TB, path string, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	chunk := bytes.Repeat(canary, (1<<20)/len(canary)+1)[:1<<20]
	for off := int64(0); off < n; off += int64(len(chunk)) {
		k := min(int64(len(chunk)), n-off)
		_, err := f.WriteAt(chunk[:k], off)
		require.NoError(t, err)
	}
	require.NoError(t, f.Sync())
}

// mmapCanary writes the canary over the first n bytes of the device through a shared mapping,
// as a guest uses its RAM.
func mmapCanary(t testing.TB, path string, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	for i := 0; i < n; i += len(canary) {
		copy(m[i:], canary)
	}
	require.NoError(t, unix.Msync(m, unix.MS_SYNC))
	require.NoError(t, unix.Munmap(m))
}

// scan reads the whole device and counts canary fragments and non-zero bytes in it.
func scan(t testing.TB, path string) (canaries, nonZero int64, size int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, c := range b {
		if c != 0 {
			nonZero++
		}
	}
	return int64(bytes.Count(b, canary[:8])), nonZero, int64(len(b))
}

// devSize is a block device's size.
func devSize(t testing.TB, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	n, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKGETSIZE64)
	require.NoError(t, err)
	return int64(n)
}

// auditFor returns the audit records of one grant or volume.
func auditFor(t testing.TB, p *Pool, id string) []AuditRecord {
	t.Helper()
	recs, err := ReadAudit(p.AuditPath())
	require.NoError(t, err)
	var out []AuditRecord
	for _, r := range recs {
		if r.ID == id {
			out = append(out, r)
		}
	}
	return out
}

func mib(n int64) int64 { return n << 20 }

func describe(runs []Run) string {
	var s []string
	for _, r := range runs {
		s = append(s, fmt.Sprintf("%v@%s", r.Extent, r.Device))
	}
	return strings.Join(s, " ")
}
