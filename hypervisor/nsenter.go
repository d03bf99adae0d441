package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
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

// Cmd is an exec.Cmd that starts its process inside an instance: in its network, UTS, mount
// and PID namespaces and, when the instance has a type, its cgroups, so the process sees the
// instance's NICs, host name, /proc (only the instance's processes), /sys and /dev, and is held
// to the instance's limits from its first instruction. Use its Start, Run, Output and
// CombinedOutput; the embedded exec.Cmd's own Start would start the process on the host. Wait
// and the rest are exec.Cmd's. Process.Pid is the process's pid on the host, not inside.
type Cmd struct {
	*exec.Cmd
	lab, instance string
}

// Command prepares argv to run inside an instance (argv[0] is looked up in PATH). Start forks
// the process from a thread that has entered the instance (see Cmd). Problems with the names
// or argv show up at Start.
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
	c := &Cmd{Cmd: mk(argv[0], argv[1:]...), lab: lab, instance: instance}
	if err := ValidateNames(lab, instance); err != nil {
		c.Err = err
	}
	return c
}

// Start starts the process inside the instance. The process is forked by a thread that has
// entered the instance's namespaces and (cgroup v1) cgroups and that ends right after, so it
// never runs outside them; on cgroup v2 clone3 starts it inside the cgroup. SysProcAttr may be
// set, except Pdeathsig (it would fire when that thread ends).
func (c *Cmd) Start() error {
	if c.Err != nil || c.lab == "" {
		return c.Cmd.Start() // reports the error
	}
	if c.SysProcAttr != nil && c.SysProcAttr.Pdeathsig != 0 {
		return errPdeathsig
	}
	g, err := openGuest(c.lab, c.instance)
	if err != nil {
		return err
	}
	defer g.close()
	if g.cg != nil && g.cg.version == 2 {
		fd, err := g.cg.cloneInto(c.lab, c.instance)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		var attr syscall.SysProcAttr
		if c.SysProcAttr != nil {
			attr = *c.SysProcAttr
		}
		attr.UseCgroupFD, attr.CgroupFD = true, fd
		c.SysProcAttr = &attr
	}
	return g.run(c.Cmd.Start)
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

// Exec runs argv (argv[0] looked up in PATH) inside an instance as Command does, with this
// process's standard input, output and error, waits for it and exits with its status (128+n
// when signal n ended it), like `nsenter --all` or `docker exec`: the program runs in the
// instance's PID namespace, which a process cannot enter itself, hence the fork. SIGTERM and
// SIGHUP sent to this process are passed on; SIGINT and SIGQUIT from the terminal reach the
// program directly and are ignored here. It returns only on failure to start.
func Exec(lab, instance string, argv []string) error {
	if err := ValidateNames(lab, instance); err != nil {
		return err
	}
	if len(argv) == 0 {
		return errors.New("no command to run in the instance")
	}
	c := Command(lab, instance, argv...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGHUP)
	if err := c.Start(); err != nil {
		signal.Stop(sigs)
		return fmt.Errorf("exec %s in instance %s of lab %s: %w", argv[0], instance, lab, err)
	}
	go func() {
		for s := range sigs {
			if s == unix.SIGTERM || s == unix.SIGHUP {
				_ = c.Process.Signal(s)
			}
		}
	}()
	_ = c.Wait()
	os.Exit(exitCode(c.ProcessState))
	return nil
}

// exitCode is a shell's $? for a finished process.
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
