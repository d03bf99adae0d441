package hypervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ec2sim/ec2sim/hypervisor/internal/initproc"
	"golang.org/x/sys/unix"
)

// ValidateDiskName checks the name a disk gets inside an instance, as EC2 names block devices:
// xvd[a-z] or xvd[a-z][a-z] (Xen-style, what a scenario's device_name says), sd[a-z] likewise,
// or nvme<N>n<M> with one or two digits each (Nitro-style).
func ValidateDiskName(name string) error {
	letters := func(s string) bool {
		if len(s) < 1 || len(s) > 2 {
			return false
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 'a' || s[i] > 'z' {
				return false
			}
		}
		return true
	}
	digits := func(s string) bool {
		if len(s) < 1 || len(s) > 2 {
			return false
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	if rest, ok := strings.CutPrefix(name, "xvd"); ok && letters(rest) {
		return nil
	}
	if rest, ok := strings.CutPrefix(name, "sd"); ok && letters(rest) {
		return nil
	}
	if rest, ok := strings.CutPrefix(name, "nvme"); ok {
		ctrl, ns, found := strings.Cut(rest, "n")
		if found && digits(ctrl) && digits(ns) {
			return nil
		}
	}
	return fmt.Errorf("disk name %q is not a device name like xvdb, sdf or nvme1n1 (xvd or sd with one or two letters, or nvme<N>n<M>)", name)
}

// AttachDisk makes the host block device devPath (a pool volume's loop device, whose offset
// and size limit bound what the guest reaches) a disk of the instance: it creates /dev/<name>
// inside the instance with the device's major:minor and, when the instance has a type, allows
// that device, and no other block device, in the instance's device cgroup. The guest can then
// mkfs, mount, write and read it. A device may be attached once per instance.
func (i *Instance) AttachDisk(devPath, name string) error {
	if err := ValidateDiskName(name); err != nil {
		return err
	}
	return i.attachBlock(devPath, name)
}

// attachBlock is AttachDisk without the check of the name, which the caller made.
func (i *Instance) attachBlock(devPath, name string) error {
	var st unix.Stat_t
	if err := unix.Stat(devPath, &st); err != nil {
		return fmt.Errorf("attach %s to instance %s: %w", devPath, i.Name, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return fmt.Errorf("attach %s to instance %s: not a block device (mode %#o); want a device like /dev/loop7", devPath, i.Name, st.Mode&unix.S_IFMT)
	}
	major, minor := unix.Major(st.Rdev), unix.Minor(st.Rdev)
	i.mu.Lock()
	defer i.mu.Unlock()
	fail := func(err error) error {
		return fmt.Errorf("attach %s as %s to instance %s of lab %s: %w", devPath, name, i.Name, i.Lab, err)
	}
	node := filepath.Join("/dev", name)
	// Checked before the exception is added, so that a refused attach cannot take away the
	// exception of the device's existing attachment.
	err := i.inMountLocked(func() error {
		if _, err := os.Lstat(node); err == nil {
			return fmt.Errorf("%s already exists inside the instance", node)
		}
		if other, err := findDevNode(major, minor); err != nil {
			return err
		} else if other != "" {
			return fmt.Errorf("device %d:%d is already attached as %s", major, minor, other)
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	if i.made.cgroup {
		if err := i.cg.device(i.Lab, i.Name, major, minor, true); err != nil {
			return fail(err)
		}
	}
	err = i.inMountLocked(func() error {
		if err := unix.Mknod(node, unix.S_IFBLK|0o660, int(st.Rdev)); err != nil {
			return fmt.Errorf("mknod %s inside: %w", node, err)
		}
		return nil
	})
	if err != nil {
		if i.made.cgroup {
			err = errors.Join(err, i.cg.device(i.Lab, i.Name, major, minor, false))
		}
		return fail(err)
	}
	return nil
}

// DetachDisk removes /dev/<name> from the instance and its device cgroup exception, so new
// opens fail. It refuses while the disk is mounted in the instance's mount namespace (unmount
// it first, as EC2 asks); a process that has it open keeps it until it closes it, and the pool
// then reports the loop device busy.
func (i *Instance) DetachDisk(name string) error {
	if err := ValidateDiskName(name); err != nil {
		return err
	}
	return i.detachBlock(name)
}

// detachBlock is DetachDisk without the check of the name, which the caller made.
func (i *Instance) detachBlock(name string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	fail := func(err error) error {
		return fmt.Errorf("detach %s from instance %s of lab %s: %w", name, i.Name, i.Lab, err)
	}
	mounts, err := os.ReadFile("/proc/" + strconv.Itoa(i.InitPID) + "/mountinfo")
	if err != nil {
		return fail(err)
	}
	var major, minor uint32
	err = i.inMountLocked(func() error {
		node := filepath.Join("/dev", name)
		var st unix.Stat_t
		if err := unix.Lstat(node, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("no disk %s is attached", name)
			}
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFBLK {
			return fmt.Errorf("%s inside is not a block device", node)
		}
		major, minor = unix.Major(st.Rdev), unix.Minor(st.Rdev)
		ms, err := initproc.ParseMountinfo(mounts)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Major == major && m.Minor == minor {
				return fmt.Errorf("%s is mounted on %s inside the instance; unmount it first", node, m.Point)
			}
		}
		return os.Remove(node)
	})
	if err != nil {
		return fail(err)
	}
	if i.made.cgroup {
		if err := i.cg.device(i.Lab, i.Name, major, minor, false); err != nil {
			return fail(err)
		}
	}
	return nil
}

// inMountLocked runs fn on a fresh thread inside the instance's mount namespace only.
func (i *Instance) inMountLocked(fn func() error) error {
	if !i.made.initFile {
		return errors.New("the instance is not running")
	}
	fd, err := openInit(initState{PID: i.InitPID, Start: i.initStart})
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	g := &guest{lab: i.Lab, name: i.Name, initFD: fd}
	return onFreshThread(func() error {
		if err := g.enterMount(); err != nil {
			return err
		}
		return fn()
	})
}

// findDevNode finds a block device node with the given numbers directly in /dev (of the
// calling thread's mount namespace), "" if there is none.
func findDevNode(major, minor uint32) (string, error) {
	ents, err := os.ReadDir("/dev")
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		if e.Type()&os.ModeDevice == 0 || e.Type()&os.ModeCharDevice != 0 {
			continue
		}
		var st unix.Stat_t
		p := filepath.Join("/dev", e.Name())
		if unix.Lstat(p, &st) == nil && unix.Major(st.Rdev) == major && unix.Minor(st.Rdev) == minor {
			return p, nil
		}
	}
	return "", nil
}

// enterMount moves the calling thread (from onFreshThread) into the instance's mount namespace
// only, to change the instance's /dev from the host's side: the thread stays outside the
// instance's cgroups, whose device list would forbid making block device nodes.
func (g *guest) enterMount() error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare the file-system context: %w", err)
	}
	if err := unix.Setns(g.initFD, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("instance %s of lab %s: enter the mount namespace: %w", g.name, g.lab, err)
	}
	return nil
}

// device allows (or, with allow false, denies again) a block device in the instance's device
// cgroup. On v2 it does nothing: device control there needs eBPF.
func (c *cgroupFS) device(lab, instance string, major, minor uint32, allow bool) error {
	if c.version != 1 {
		return nil
	}
	file := "devices.deny"
	if allow {
		file = "devices.allow"
	}
	d := filepath.Join(c.root, "devices", cgroupRel(lab, instance))
	return writeControl(cgWrite{filepath.Join(d, file), fmt.Sprintf("b %d:%d rwm", major, minor), false})
}
