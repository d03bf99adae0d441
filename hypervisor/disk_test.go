package hypervisor

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/pool"
	"golang.org/x/sys/unix"
)

// testPool opens a small pool with memory and disk areas, destroyed when the test ends. Open
// it before testLab, so that the lab (whose instances may hold its devices) goes first.
func testPool(t testing.TB) *pool.Pool {
	t.Helper()
	needRoot(t)
	dir, err := os.MkdirTemp("", "ec2sim-hvt-pool-")
	must(t, err)
	p, err := pool.Open(pool.Options{Dir: dir, MemoryBytes: 8 << 20, DiskBytes: 64 << 20})
	if err != nil {
		_ = pool.DestroyAt(dir)
		_ = os.RemoveAll(dir)
		t.Skipf("no pool (loop devices) here: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Destroy(); err != nil {
			t.Errorf("destroy pool: %v", err)
		}
		_ = os.RemoveAll(dir)
	})
	return p
}

// hostNode makes a device node on the host's file system (which instances share) with the
// numbers of dev, so a test can try opening a device from inside an instance that does not
// have it in its /dev.
func hostNode(t testing.TB, dir, name, dev string) string {
	t.Helper()
	var st unix.Stat_t
	must(t, unix.Stat(dev, &st))
	p := filepath.Join(dir, name)
	must(t, unix.Mknod(p, unix.S_IFBLK|0o600, int(st.Rdev)))
	return p
}

// ddRead reads one block of a device inside an instance and returns dd's complaint, "" when
// it worked.
func ddRead(t testing.TB, lab, inst, dev string) string {
	t.Helper()
	out, err := Command(lab, inst, "dd", "if="+dev, "of=/dev/null", "bs=512", "count=1", "status=none").CombinedOutput()
	if err == nil {
		return ""
	}
	return strings.TrimSpace(string(out)) + " (" + err.Error() + ")"
}

func TestValidateDiskName(t *testing.T) {
	for _, ok := range []string{"xvda", "xvdb", "xvdz", "xvdba", "sdf", "sdaa", "nvme0n1", "nvme1n1", "nvme12n34"} {
		if err := ValidateDiskName(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "xvd", "xvdabc", "xvdB", "xvd1", "sd", "sda1", "nvme", "nvme1", "nvmen1", "nvme1n", "nvme123n1",
		"nvme1n1p1", "../xvdb", "xvdb/", "loop0", "null", "pts", "vda"} {
		err := ValidateDiskName(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		contains(t, err.Error(), fmt.Sprintf("%q", bad), "error")
	}
}

// FuzzValidateDiskName checks the hand-written validator against a regular expression of the
// same rule.
func FuzzValidateDiskName(f *testing.F) {
	model := regexp.MustCompile(`^(xvd[a-z]{1,2}|sd[a-z]{1,2}|nvme[0-9]{1,2}n[0-9]{1,2})$`)
	for _, s := range []string{"xvdb", "nvme1n1", "sdz", "xvd", "nvme1n1n1", "sd\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidateDiskName(s) == nil, model.MatchString(s); got != want {
			t.Errorf("%q: accepted %v, the rule says %v", s, got, want)
		}
	})
}

func TestDisks(t *testing.T) {
	needCgroupV1(t)
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("needs mkfs.ext4 (e2fsprogs)")
	}
	p := testPool(t)
	lab := testLab(t)
	a := typed(t, lab, "a", "t3.micro")
	b := typed(t, lab, "b", "t3.micro")
	volA, err := p.AllocVolume("a", pool.EBS, 16<<20)
	must(t, err)
	volB, err := p.AllocVolume("b", pool.EBS, 16<<20)
	must(t, err)
	ram, err := p.AllocMemory("b", 2<<20)
	must(t, err)
	must(t, a.AttachDisk(volA.Device(), "xvdb"))
	must(t, b.AttachDisk(volB.Device(), "xvdb"))

	// The guest makes a file system, mounts it, writes and reads; the mount stays inside.
	mnt := t.TempDir()
	out := sh(t, lab, "a", fmt.Sprintf("mkfs.ext4 -q /dev/xvdb && mount /dev/xvdb %[1]s && echo secret-a > %[1]s/f && umount %[1]s && mount /dev/xvdb %[1]s && cat %[1]s/f", mnt))
	contains(t, out, "secret-a", "file read back inside")
	if ents, _ := os.ReadDir(mnt); len(ents) != 0 {
		t.Errorf("the instance's mount shows on the host: %v", ents)
	}
	err = a.DetachDisk("xvdb")
	if err == nil {
		t.Error("detached a mounted disk")
	} else {
		contains(t, err.Error(), "mounted on "+mnt, "detach while mounted")
	}
	sh(t, lab, "a", "umount "+mnt)
	// b has its own, empty disk under the same name.
	if got := sh(t, lab, "b", "head -c 1048576 /dev/xvdb | tr -d '\\000' | wc -c"); strings.TrimSpace(got) != "0" {
		t.Errorf("b's new disk holds %s non-zero bytes", got)
	}
	if got := strings.Fields(sh(t, lab, "a", "ls /dev")); !strings.Contains(strings.Join(got, " "), "xvdb") || strings.Contains(strings.Join(got, " "), "loop") {
		t.Errorf("a's /dev: %v, want xvdb and no loop devices", got)
	}

	// a cannot open b's disk or the pool's memory, even as root through a node of its own; it
	// can open its own disk through such a node. The host can open them all.
	nodes := t.TempDir()
	for _, n := range []struct{ name, dev string }{{"a-disk", volA.Device()}, {"b-disk", volB.Device()}, {"pool-ram", ram.Device()}} {
		hostNode(t, nodes, n.name, n.dev)
		f, err := os.Open(filepath.Join(nodes, n.name))
		must(t, err)
		f.Close()
	}
	for _, n := range []string{"b-disk", "pool-ram"} {
		if got := ddRead(t, lab, "a", filepath.Join(nodes, n)); !strings.Contains(got, "Operation not permitted") {
			t.Errorf("a opening %s (%s): %q, want Operation not permitted", n, nodes, got)
		}
	}
	if got := ddRead(t, lab, "a", filepath.Join(nodes, "a-disk")); got != "" {
		t.Errorf("a opening its own disk through another node: %s", got)
	}
	var st unix.Stat_t
	must(t, unix.Stat(volB.Device(), &st))
	mk := fmt.Sprintf("mknod %s/made b %d %d", nodes, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	if out, err := Command(lab, "a", "sh", "-c", mk).CombinedOutput(); err == nil || !strings.Contains(string(out), "Operation not permitted") {
		t.Errorf("mknod of b's disk inside a: %v %s, want Operation not permitted", err, out)
	}

	// Errors of attaching.
	for _, c := range []struct{ dev, name, want string }{
		{"/dev/null", "xvdc", "not a block device"},
		{volA.Device(), "vdc", "not a device name"},
		{"/nonexistent", "xvdc", "no such file"},
		{volA.Device(), "xvdb", "/dev/xvdb already exists inside"},
		{volA.Device(), "xvdc", "is already attached as /dev/xvdb"},
	} {
		err := a.AttachDisk(c.dev, c.name)
		if err == nil {
			t.Errorf("AttachDisk(%s, %s) worked", c.dev, c.name)
			continue
		}
		contains(t, err.Error(), c.want, fmt.Sprintf("AttachDisk(%s, %s)", c.dev, c.name))
	}
	if got := ddRead(t, lab, "a", "/dev/xvdb"); got != "" {
		t.Errorf("a failed attach took a's disk away: %s", got)
	}

	must(t, a.DetachDisk("xvdb"))
	if got := ddRead(t, lab, "a", filepath.Join(nodes, "a-disk")); !strings.Contains(got, "Operation not permitted") {
		t.Errorf("a opening its detached disk: %q, want Operation not permitted", got)
	}
	if got := sh(t, lab, "a", "ls /dev"); strings.Contains(got, "xvdb") {
		t.Errorf("/dev/xvdb is left: %s", got)
	}
	if err := a.DetachDisk("xvdb"); err == nil || !strings.Contains(err.Error(), "no disk xvdb is attached") {
		t.Errorf("second detach: %v", err)
	}
	// Attached again under a Nitro name, the volume has kept its file system and data.
	must(t, a.AttachDisk(volA.Device(), "nvme1n1"))
	contains(t, sh(t, lab, "a", fmt.Sprintf("mount /dev/nvme1n1 %[1]s && cat %[1]s/f; umount %[1]s", mnt)), "secret-a", "after re-attaching")
}

// TestDiskUntyped: an instance without a type gets the node too; nothing confines it.
func TestDiskUntyped(t *testing.T) {
	p := testPool(t)
	lab := testLab(t)
	inst := create(t, twoENIs(lab, "u"))
	vol, err := p.AllocVolume("u", pool.EBS, 4<<20)
	must(t, err)
	must(t, inst.AttachDisk(vol.Device(), "xvdf"))
	sh(t, lab, "u", "echo hello | dd of=/dev/xvdf conv=fsync status=none")
	contains(t, sh(t, lab, "u", "head -c 5 /dev/xvdf"), "hello", "read back")
	must(t, inst.DetachDisk("xvdf"))
	must(t, inst.Destroy())
	if err := inst.AttachDisk(vol.Device(), "xvdf"); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("attach to a destroyed instance: %v", err)
	}
}

// TestInstanceDoesNotPinHostMounts: a volume the host has mounted while an instance is made is
// not held by the instance's copy of the host's mounts, so the pool can release it as soon as
// the host unmounts it; and the instance cannot enter another instance's network namespace
// through the copies of /run/netns.
func TestInstanceDoesNotPinHostMounts(t *testing.T) {
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("needs mkfs.ext4 (e2fsprogs)")
	}
	p := testPool(t)
	lab := testLab(t)
	vol, err := p.AllocVolume("host", pool.EBS, 8<<20)
	must(t, err)
	if out, err := exec.Command("mkfs.ext4", "-q", vol.Device()).CombinedOutput(); err != nil {
		t.Fatalf("mkfs: %v %s", err, out)
	}
	mnt := t.TempDir()
	must(t, unix.Mount(vol.Device(), mnt, "ext4", 0, ""))
	mounted := true
	t.Cleanup(func() {
		if mounted {
			_ = unix.Unmount(mnt, unix.MNT_DETACH)
		}
	})
	create(t, twoENIs(lab, "a"))
	create(t, twoENIs(lab, "b"))
	if got := sh(t, lab, "b", "ls -A "+mnt); got != "" {
		t.Errorf("the host's volume is visible inside: %q", got)
	}
	must(t, unix.Unmount(mnt, 0))
	mounted = false
	if err := p.ReleaseVolume(vol); err != nil {
		t.Errorf("release after the host unmounted the volume: %v (an instance holds a copy of the mount?)", err)
	}

	if out, err := exec.Command("ip", "netns", "exec", NSName(lab, "a"), "true").CombinedOutput(); err != nil {
		t.Skipf("ip netns exec does not work on the host: %v %s", err, out)
	}
	if out, err := Command(lab, "b", "ip", "netns", "exec", NSName(lab, "a"), "true").CombinedOutput(); err == nil {
		t.Errorf("b entered a's network namespace through /run/netns: %s", out)
	}
}
