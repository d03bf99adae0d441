// Package initproc is the first process of an ec2sim instance: PID 1 of the instance's PID
// namespace. It gives the instance's mount namespace its own /proc, /sys and /dev, reports to
// its parent that the instance is ready, and then reaps the instance's orphans for as long as
// the instance lives; killing it ends the instance's PID namespace and so every process in it.
//
// It is not a separate program: package hypervisor starts the running binary again
// (/proc/self/exe) with Argv0 as argv[0] and EnvKey=1 in its environment, and this package's
// init function, which runs before main in every binary that links package hypervisor, turns
// such a process into the instance's init. Being imported only by package hypervisor and
// importing nothing outside the standard library and x/sys, it is initialised before most
// other packages, so the init process runs little of the program it was started from.
package initproc

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

const (
	// Argv0 is the init process's argv[0]; argv[1] and argv[2] are the lab and the instance,
	// so `ps` shows "ec2sim-init LAB INSTANCE".
	Argv0 = "ec2sim-init"
	// EnvKey must be "1" in the environment too, so that a program merely named ec2sim-init
	// is not mistaken for an init.
	EnvKey = "EC2SIM_INSTANCE_INIT"
	// StatusFD is the pipe on which the init reports Ready, or why it failed, and then closes.
	StatusFD = 3
	// Ready is the whole report of an init that set the instance up.
	Ready = "ready"
	// Comm is the init's process name (/proc/<pid>/comm).
	Comm = "ec2sim-init"
)

func init() {
	if len(os.Args) != 3 || os.Args[0] != Argv0 || os.Getenv(EnvKey) != "1" {
		return
	}
	os.Exit(run(os.NewFile(StatusFD, "status")))
}

// run never returns when the setup works: the init lives until it is killed.
func run(status *os.File) int {
	// Signals from inside the instance reach PID 1 only if it handles them, and the Go runtime
	// handles them all (exiting on SIGTERM), so a `kill 1` inside would end the instance.
	// Ignored, they do nothing; SIGKILL from the host still ends it.
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGUSR1,
		syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU,
		syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGVTALRM, syscall.SIGPWR, syscall.SIGIO)
	children := make(chan os.Signal, 1)
	signal.Notify(children, syscall.SIGCHLD)
	if err := setup(); err != nil {
		fmt.Fprintf(status, "instance init: %v", err)
		return 1
	}
	if _, err := status.WriteString(Ready); err != nil {
		return 1
	}
	status.Close()
	for {
		reap()
		<-children
	}
}

// reap collects every exited child; processes whose parents exit inside the instance become
// the init's children, as on any Linux system.
func reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}

// setup runs in the instance's new mount namespace, which starts as a copy of the host's.
func setup() error {
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	// Before any mount: nothing made here may propagate to the host. Slave rather than private
	// so that unmounts on the host (an instance's namespace files, a pool's tmpfs) still reach
	// the copies in here instead of keeping what they held alive.
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / a slave mount: %w", err)
	}
	if err := detachHostMounts(); err != nil {
		return err
	}
	// The host's mounts are detached, not covered: root inside could unmount a cover and see
	// the host's processes and devices again.
	const common = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := replace("/proc", "proc", "proc", common, ""); err != nil {
		return err
	}
	// The name ps and ListLabObjects show instead of the binary's; /proc/self is the new one.
	if err := os.WriteFile("/proc/self/comm", []byte(Comm), 0); err != nil {
		return fmt.Errorf("set the process name: %w", err)
	}
	// sysfs shows the network devices of the mounting process's network namespace, the
	// instance's. Read-only: it also holds host-wide knobs (block queues, hugepages).
	if err := replace("/sys", "sysfs", "sysfs", common|unix.MS_RDONLY, ""); err != nil {
		return err
	}
	if err := replace("/dev", "ec2sim-dev", "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=755,size=1m"); err != nil {
		return err
	}
	if err := populateDev(); err != nil {
		return err
	}
	// The init should outlive the instance's memory pressure, as a guest kernel does: the OOM
	// killer then picks among the rest. Lowering the score needs CAP_SYS_RESOURCE, which a
	// confined root (a container, a CI sandbox) may lack; the init is small enough that the
	// killer rarely picks it anyway, so this is best effort.
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("-1000"), 0)
	return nil
}

// loopMajor is the block device major of loop devices.
const loopMajor = 7

// HiddenDirs are covered inside every instance by an empty read-only tmpfs: the bind mounts of
// the instances' namespaces (which the guest could enter through them) and ec2sim's state on
// the host. They are /run/netns and the parent of package hypervisor's UTSDir and InitDir,
// which its tests check.
func HiddenDirs() []string { return []string{"/run/netns", "/run/ec2sim"} }

// detachHostMounts detaches, from the instance's copy of the host's mounts, the file systems on
// loop devices: a pool volume the host has mounted would otherwise stay busy for the instance's
// life after the host unmounted it (the host's mounts are often private, so its unmounts do not
// reach the copy). Then it covers HiddenDirs. Namespace files are covered rather than detached
// one by one: there are two per instance, so detaching them made bring-up quadratic, and
// the host's unlink of such a file detaches the copies anyway.
func detachHostMounts() error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	ms, err := ParseMountinfo(b)
	if err != nil {
		return err
	}
	// Children follow their parents in mountinfo: last first detaches the top of a stack.
	for k := len(ms) - 1; k >= 0; k-- {
		if ms[k].Major != loopMajor {
			continue
		}
		// EINVAL or ENOENT: it went with a parent detached before.
		if err := unix.Unmount(ms[k].Point, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("detach the host's mount on %s: %w", ms[k].Point, err)
		}
	}
	for _, d := range HiddenDirs() {
		err := unix.Mount("ec2sim-hidden", d, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode=755")
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("cover %s: %w", d, err)
		}
	}
	return nil
}

func replace(target, source, fstype string, flags uintptr, data string) error {
	if err := unix.Unmount(target, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("detach the host's %s: %w", target, err)
	}
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, target, err)
	}
	return nil
}

// CharDevice is a character device every instance has in /dev.
type CharDevice struct {
	Name         string
	Major, Minor uint32
}

// CharDevices are the nodes of an instance's /dev, besides pts/ and the disks attached to it;
// package hypervisor allows exactly these (and the pseudo-terminals) in the device cgroup.
func CharDevices() []CharDevice {
	return []CharDevice{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}}
}

func populateDev() error {
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range CharDevices() {
		p := "/dev/" + d.Name
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.Major, d.Minor))); err != nil {
			return fmt.Errorf("mknod %s: %w", p, err)
		}
	}
	if err := os.Mkdir("/dev/pts", 0o755); err != nil {
		return err
	}
	// A devpts of its own: the instance's terminals, and no one else's.
	if err := unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("mount devpts: %w", err)
	}
	if err := os.Mkdir("/dev/shm", 0o1777); err != nil {
		return err
	}
	if err := unix.Mount("shm", "/dev/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	for name, target := range map[string]string{"ptmx": "pts/ptmx", "fd": "/proc/self/fd",
		"stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, "/dev/"+name); err != nil {
			return err
		}
	}
	return nil
}
