package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// nsTarget is one namespace to enter: its bind mount and its kind.
type nsTarget struct {
	path string
	kind string // the name under /proc/<tid>/ns/: "net", "uts"
	flag int    // the CLONE_NEW* flag setns checks the file against
}

func instanceTargets(lab, instance string) []nsTarget {
	return []nsTarget{
		{NSPath(lab, instance), "net", unix.CLONE_NEWNET},
		{UTSPath(lab, instance), "uts", unix.CLONE_NEWUTS},
	}
}

// RunIn runs fn on an OS thread that has entered the network namespace at nsPath, and returns
// fn's error. Sockets fn creates stay in that namespace for their whole life, whichever thread
// uses them later. fn runs on a goroutine of its own: goroutines it starts run elsewhere, in the
// caller's namespace, and it must not end its goroutine (t.FailNow) — RunIn then returns an
// error. A panic in fn is re-raised in the caller.
func RunIn(nsPath string, fn func() error) error {
	return inNamespaces([]nsTarget{{nsPath, "net", unix.CLONE_NEWNET}}, fn)
}

var errGoexit = errors.New("the function ended its goroutine (runtime.Goexit; t.FailNow or t.Fatal inside RunIn?)")

type outcome struct {
	err      error
	panicked bool
	value    any
}

// inNamespaces runs fn on a fresh locked goroutine inside the targets' namespaces. The
// goroutine restores its thread's own namespaces afterwards and unlocks only if that worked;
// otherwise it exits locked and the runtime discards the thread, so no goroutine ever runs in a
// namespace it did not ask for. The caller's goroutine never changes namespace.
func inNamespaces(targets []nsTarget, fn func() error) error {
	fds := make([]int, 0, len(targets))
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, t := range targets {
		fd, err := unix.Open(t.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s namespace %s: %w", t.kind, t.path, err)
		}
		fds = append(fds, fd)
	}
	ch := make(chan outcome, 1)
	go func() {
		runtime.LockOSThread()
		// If fn ends the goroutine (runtime.Goexit), the assignment below never happens: the
		// caller still gets an answer and the thread, not known to be clean, dies locked.
		o, clean := outcome{err: errGoexit}, false
		defer func() {
			if clean {
				runtime.UnlockOSThread()
			}
			ch <- o
		}()
		o, clean = enterRunRestore(targets, fds, fn)
	}()
	o := <-ch
	if o.panicked {
		panic(o.value)
	}
	return o.err
}

// enterRunRestore must run on a locked thread. clean reports whether the thread is back in
// the namespaces it started in.
func enterRunRestore(targets []nsTarget, fds []int, fn func() error) (o outcome, clean bool) {
	tid := unix.Gettid()
	origs := make([]int, 0, len(targets))
	defer func() {
		for _, fd := range origs {
			unix.Close(fd)
		}
	}()
	for _, t := range targets {
		p := fmt.Sprintf("/proc/self/task/%d/ns/%s", tid, t.kind)
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return outcome{err: fmt.Errorf("open own namespace %s: %w", p, err)}, true
		}
		origs = append(origs, fd)
	}
	clean = true
	entered := 0
	defer func() {
		for k := entered - 1; k >= 0; k-- {
			if err := unix.Setns(origs[k], targets[k].flag); err != nil {
				clean = false
				o.err = errors.Join(o.err, fmt.Errorf("return from %s namespace %s: %w", targets[k].kind, targets[k].path, err))
			}
		}
	}()
	for k, t := range targets {
		if err := unix.Setns(fds[k], t.flag); err != nil {
			o.err = fmt.Errorf("enter %s namespace %s: %w", t.kind, t.path, err)
			return o, clean
		}
		entered++
	}
	defer func() {
		if r := recover(); r != nil {
			o.panicked, o.value = true, r
		}
	}()
	o.err = fn()
	return o, clean
}

// Cmd is an exec.Cmd that starts its process inside an instance's network and UTS
// namespaces. Use its Start, Run, Output and CombinedOutput; the embedded exec.Cmd's own Start
// would start the process on the host. Wait and the rest are exec.Cmd's.
type Cmd struct {
	*exec.Cmd
	targets []nsTarget
}

// Command prepares argv to run inside an instance (argv[0] is looked up in PATH). The process
// inherits the namespaces of the thread that forks it, so Start forks from a thread that has
// entered the instance's namespaces. Problems with the names or argv show up at Start.
func Command(lab, instance string, argv ...string) *Cmd {
	return newCmd(lab, instance, argv, func(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) })
}

// CommandContext is Command with a context that kills the process when it is done.
func CommandContext(ctx context.Context, lab, instance string, argv ...string) *Cmd {
	return newCmd(lab, instance, argv, func(name string, args ...string) *exec.Cmd { return exec.CommandContext(ctx, name, args...) })
}

func newCmd(lab, instance string, argv []string, mk func(string, ...string) *exec.Cmd) *Cmd {
	if len(argv) == 0 {
		return &Cmd{Cmd: &exec.Cmd{Err: errors.New("no command to run in the instance")}}
	}
	c := &Cmd{Cmd: mk(argv[0], argv[1:]...), targets: instanceTargets(lab, instance)}
	if err := ValidateNames(lab, instance); err != nil {
		c.Err = err
	}
	return c
}

// Start starts the process inside the instance.
func (c *Cmd) Start() error {
	if c.Err != nil || len(c.targets) == 0 {
		return c.Cmd.Start() // reports the error
	}
	return inNamespaces(c.targets, c.Cmd.Start)
}

// Run starts the process inside the instance and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the process and returns its standard output; on a non-zero exit the
// *exec.ExitError carries the standard error. Output goes to unlinked temporary files, not
// pipes, so a background process the command leaves behind (a user data script's `server &`)
// cannot hold Output up until it exits.
func (c *Cmd) Output() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("exec: Stdout already set")
	}
	out, err := unlinkedTemp()
	if err != nil {
		return nil, err
	}
	defer out.Close()
	c.Stdout = out
	var errFile *os.File
	if c.Stderr == nil {
		if errFile, err = unlinkedTemp(); err != nil {
			return nil, err
		}
		defer errFile.Close()
		c.Stderr = errFile
	}
	runErr := c.Run()
	b, err := readFrom0(out)
	if err != nil {
		return b, errors.Join(runErr, err)
	}
	var ee *exec.ExitError
	if errFile != nil && errors.As(runErr, &ee) {
		ee.Stderr, _ = readFrom0(errFile)
	}
	return b, runErr
}

// CombinedOutput runs the process and returns its standard output and error together, with
// the same temporary files as Output.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	if c.Stdout != nil || c.Stderr != nil {
		return nil, errors.New("exec: Stdout or Stderr already set")
	}
	out, err := unlinkedTemp()
	if err != nil {
		return nil, err
	}
	defer out.Close()
	c.Stdout, c.Stderr = out, out
	runErr := c.Run()
	b, err := readFrom0(out)
	return b, errors.Join(runErr, err)
}

func unlinkedTemp() (*os.File, error) {
	f, err := os.CreateTemp("", "ec2sim-out-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func readFrom0(f *os.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// RunUserData runs script with /bin/sh -c inside an instance, as cloud-init runs EC2 user
// data, and returns its combined output. When ctx ends first, the script's whole process group
// is killed. A failure is an error that names the instance and includes the output.
func RunUserData(ctx context.Context, lab, instance, script string) ([]byte, error) {
	c := CommandContext(ctx, lab, instance, "/bin/sh", "-c", script)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return unix.Kill(-c.Process.Pid, unix.SIGKILL) }
	out, err := c.CombinedOutput()
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("did not finish: %w", ctx.Err())
	}
	return out, fmt.Errorf("instance %s of lab %s: user data failed: %w\n%s", instance, lab, err, out)
}

// Exec replaces the calling process with argv (argv[0] looked up in PATH) running inside an
// instance's network and UTS namespaces, like `ip netns exec`. It also gives the process a
// private mount namespace with a sysfs of the instance's network namespace on /sys, so tools
// that read /sys/class/net see the instance's NICs; if that fails the command still runs, with
// the host's /sys. It returns only on failure.
func Exec(lab, instance string, argv []string) error {
	if err := ValidateNames(lab, instance); err != nil {
		return err
	}
	if len(argv) == 0 {
		return errors.New("no command to run in the instance")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	targets := instanceTargets(lab, instance)
	fds := make([]int, 0, len(targets))
	for _, t := range targets {
		fd, err := unix.Open(t.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("instance %s of lab %s: open %s namespace: %w", instance, lab, t.kind, err)
		}
		fds = append(fds, fd)
	}
	ch := make(chan error, 1)
	go func() {
		// Never unlocked: execve takes the namespaces of the thread that calls it, and if it
		// fails this thread must die rather than run other goroutines in the instance.
		runtime.LockOSThread()
		for k, t := range targets {
			if err := unix.Setns(fds[k], t.flag); err != nil {
				ch <- fmt.Errorf("enter %s namespace %s: %w", t.kind, t.path, err)
				return
			}
		}
		mountInstanceSysfs(NSName(lab, instance))
		ch <- syscall.Exec(path, argv, os.Environ())
	}()
	err = <-ch
	for _, fd := range fds {
		unix.Close(fd)
	}
	return fmt.Errorf("exec %s in instance %s of lab %s: %w", path, instance, lab, err)
}

// mountInstanceSysfs does what `ip netns exec` does for /sys, in a mount namespace private to
// the calling thread (and the program it is about to exec). Mounts are made only after "/" is
// a slave, so nothing can propagate back to the host.
func mountInstanceSysfs(source string) {
	if unix.Unshare(unix.CLONE_NEWNS) != nil {
		return
	}
	if unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, "") != nil {
		return
	}
	// Stacked on top of the host's /sys rather than replacing it: if this fails, /sys stays.
	_ = unix.Mount(source, "/sys", "sysfs", 0, "")
}
