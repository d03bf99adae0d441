package hypervisor

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// onFreshThread runs fn on a locked OS thread that ends when fn returns, so whatever fn changes
// about its thread (namespaces, file-system context, cgroups) goes with it and no other
// goroutine ever runs there. The main thread is never used: the runtime cannot end it, so a
// locked goroutine exiting there would leave it, changed, for the life of the process, and in
// cgroup v1 the main thread's memory cgroup is the one the whole process is charged to.
func onFreshThread(fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			ch <- fn() // returns locked: the thread ends
			return
		}
		ch <- onOtherThread(fn)
		runtime.UnlockOSThread() // the main thread, untouched
	}()
	return <-ch
}

// onOtherThread runs fn on a new locked goroutine, which ends with its thread. Called with the
// caller's goroutine locked to its thread, fn cannot be scheduled there.
func onOtherThread(fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ch <- fn()
	}()
	return <-ch
}

// guest is what a process needs to start inside an instance: handles on its namespaces and,
// when it has a type, its cgroups. Close it after use.
type guest struct {
	lab, name    string
	netFD, utsFD int
	initFD       int       // pidfd of the instance's init: its mount and PID namespaces
	cg           *cgroupFS // nil: no type, no cgroups
}

// openGuest finds a running instance by its names. Errors name the instance and the missing
// piece.
func openGuest(lab, instance string) (*guest, error) {
	if err := ValidateNames(lab, instance); err != nil {
		return nil, err
	}
	g := &guest{lab: lab, name: instance, netFD: -1, utsFD: -1, initFD: -1}
	fail := func(err error) (*guest, error) {
		g.close()
		return nil, fmt.Errorf("instance %s of lab %s: %w", instance, lab, err)
	}
	var err error
	if g.netFD, err = unix.Open(NSPath(lab, instance), unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		return fail(fmt.Errorf("open net namespace %s: %w", NSPath(lab, instance), err))
	}
	if g.utsFD, err = unix.Open(UTSPath(lab, instance), unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		return fail(fmt.Errorf("open uts namespace %s: %w", UTSPath(lab, instance), err))
	}
	st, err := readInitState(lab, instance)
	if err != nil {
		return fail(fmt.Errorf("no init process record (%w); the instance is half made or made by an older ec2sim: destroy and create it", err))
	}
	if g.initFD, err = openInit(st); err != nil {
		return fail(fmt.Errorf("%w: the instance has no PID namespace any more; destroy and create it", err))
	}
	if st.Cgroup != 0 {
		// Not detected again (that reads the mount table): the instance's directories exist
		// where the record's version puts them, or joining them fails.
		g.cg = &cgroupFS{version: st.Cgroup, root: CgroupRoot}
	}
	return g, nil
}

func (g *guest) close() {
	for _, fd := range []int{g.netFD, g.utsFD, g.initFD} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// enter moves the calling thread, which onFreshThread gave and which ends afterwards, into the
// instance: its mount namespace (the instance's /proc, /sys, /dev), its PID namespace for the
// processes the thread forks, its network and UTS namespaces and, on cgroup v1, its cgroups
// (on v2 a process is started into them with cloneInto instead).
func (g *guest) enter() error {
	// setns into a mount namespace needs a file-system context of the thread's own.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare the file-system context: %w", err)
	}
	// The cgroups first: the instance's /sys has no cgroup file systems.
	if g.cg != nil && g.cg.version == 1 {
		if err := g.cg.joinThread(g.lab, g.name, true); err != nil {
			return err
		}
	}
	if err := unix.Setns(g.initFD, unix.CLONE_NEWNS|unix.CLONE_NEWPID); err != nil {
		return fmt.Errorf("instance %s of lab %s: enter the mount and PID namespaces: %w", g.name, g.lab, err)
	}
	if err := unix.Setns(g.netFD, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter net namespace %s: %w", NSPath(g.lab, g.name), err)
	}
	if err := unix.Setns(g.utsFD, unix.CLONE_NEWUTS); err != nil {
		return fmt.Errorf("enter uts namespace %s: %w", UTSPath(g.lab, g.name), err)
	}
	return nil
}

// errPdeathsig: a process started inside an instance is forked by a thread that ends right
// after, and Pdeathsig fires when that thread ends, not the process.
var errPdeathsig = errors.New("SysProcAttr.Pdeathsig cannot be used inside an instance: the process is forked by a thread that ends at once, which would fire it")

// run runs fn on a fresh thread inside the instance (see enter).
func (g *guest) run(fn func() error) error {
	return onFreshThread(func() error {
		if err := g.enter(); err != nil {
			return err
		}
		return fn()
	})
}
