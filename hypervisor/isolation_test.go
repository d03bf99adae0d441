package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor/internal/initproc"
	"golang.org/x/sys/unix"
)

const (
	crashEnv      = "EC2SIM_HV_CRASH"
	mainThreadEnv = "EC2SIM_HV_MAINTHREAD"
)

// needCgroupV1 skips a test that needs instance types with device control.
func needCgroupV1(t testing.TB) {
	t.Helper()
	needRoot(t)
	v, err := CgroupSupport()
	if err != nil {
		t.Skipf("instance types are not usable here: %v", err)
	}
	if v != 1 {
		t.Skipf("cgroup v%d: the device cgroup needs v1 (v2 device control needs eBPF, not done)", v)
	}
}

func typed(t testing.TB, lab, name, typeName string) *Instance {
	t.Helper()
	ty, err := LookupType(typeName)
	must(t, err)
	spec := twoENIs(lab, name)
	spec.Type = ty
	return create(t, spec)
}

// sh runs a script inside an instance and returns its combined output; failures are the
// test's.
func sh(t testing.TB, lab, inst, script string) string {
	t.Helper()
	out, err := Command(lab, inst, "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s in %s: %v\n%s", script, inst, err, out)
	}
	return string(out)
}

func cgroupFile(t testing.TB, ctrl, lab, inst, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(CgroupRoot, ctrl, CgroupPath(lab, inst), file))
	must(t, err)
	return strings.TrimSpace(string(b))
}

// inCgroups checks that /proc/<pid>/cgroup text places the process in the instance's
// directory of the given v1 controllers (default: all ec2sim uses), or (want false) in none.
func inCgroups(t testing.TB, text, lab, inst string, want bool, what string, ctrls ...string) {
	t.Helper()
	if len(ctrls) == 0 {
		ctrls = v1Controllers()
	}
	for _, ctrl := range ctrls {
		re := regexp.MustCompile(`(?m)^\d+:` + ctrl + `:` + regexp.QuoteMeta(CgroupPath(lab, inst)) + `$`)
		if re.MatchString(text) != want {
			t.Errorf("%s: in the %s cgroup %s: %v, want %v\n%s", what, ctrl, CgroupPath(lab, inst), !want, want, text)
		}
	}
}

func TestTypedInstanceCgroups(t *testing.T) {
	needCgroupV1(t)
	lab := testLab(t)
	inst := typed(t, lab, "nano", "t3.nano")
	create(t, twoENIs(lab, "plain"))

	for file, want := range map[string]string{
		"memory/memory.limit_in_bytes": "33554432", "cpu/cpu.cfs_quota_us": "200000",
		"cpu/cpu.cfs_period_us": "100000", "pids/pids.max": "4096",
	} {
		ctrl, f, _ := strings.Cut(file, "/")
		if got := cgroupFile(t, ctrl, lab, "nano", f); got != want {
			t.Errorf("%s = %s, want %s", file, got, want)
		}
	}
	if exists(filepath.Join(CgroupRoot, "memory", "memory.memsw.limit_in_bytes")) {
		if got := cgroupFile(t, "memory", lab, "nano", "memory.memsw.limit_in_bytes"); got != "33554432" {
			t.Errorf("memsw limit %s: swap is not off", got)
		}
	}
	list := strings.Split(cgroupFile(t, "devices", lab, "nano", "devices.list"), "\n")
	if want := deviceRules(); !slices.Equal(list, want) {
		t.Errorf("devices.list %q, want %q", list, want)
	}

	// The init, commands, user data and Exec are all inside; the plain instance's are not.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", inst.InitPID))
	must(t, err)
	inCgroups(t, string(b), lab, "nano", true, "init", "cpu", "pids", "devices")
	inCgroups(t, string(b), lab, "nano", false, "init", "memory") // the hypervisor's, not the guest's
	inCgroups(t, sh(t, lab, "nano", "cat /proc/self/cgroup"), lab, "nano", true, "command")
	ud, err := RunUserData(context.Background(), lab, "nano", "cat /proc/self/cgroup")
	must(t, err)
	inCgroups(t, string(ud), lab, "nano", true, "user data")
	inCgroups(t, sh(t, lab, "plain", "cat /proc/self/cgroup"), lab, "nano", false, "command in the plain instance")
	if plain := sh(t, lab, "plain", "cat /proc/self/cgroup"); strings.Contains(plain, CgroupTop) {
		t.Errorf("a command of the untyped instance is in an ec2sim cgroup:\n%s", plain)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EC2SIM_HV_EXEC="+lab+"/nano", "EC2SIM_HV_EXEC_SCRIPT=cat /proc/self/cgroup; echo pid=$$; exit 7")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("Exec: %v, want exit status 7 passed on\n%s", err, out)
	}
	inCgroups(t, string(out), lab, "nano", true, "Exec")
	contains(t, string(out), "pid=", "Exec output")
	if pid := regexp.MustCompile(`pid=(\d+)`).FindStringSubmatch(string(out)); pid == nil || len(pid[1]) > 2 {
		t.Errorf("Exec's program has pid %v: not in the instance's PID namespace", pid)
	}

	// Only the init is left in the cgroups (none in memory): commands ended, and no thread of
	// this process stayed.
	for _, ctrl := range v1Controllers() {
		procs, err := treeProcs(filepath.Join(CgroupRoot, ctrl, CgroupPath(lab, "nano")))
		must(t, err)
		if want := []int{inst.InitPID}; ctrl == "memory" && len(procs) != 0 || ctrl != "memory" && !slices.Equal(procs, want) {
			t.Errorf("processes in the %s cgroup %v, want only the init %d (none in memory)", ctrl, procs, inst.InitPID)
		}
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	must(t, err)
	if strings.Contains(string(own), CgroupTop) {
		t.Errorf("this process's main thread is in an instance's cgroup:\n%s", own)
	}

	c := Command(lab, "nano", "true")
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Run(); !errors.Is(err, errPdeathsig) {
		t.Errorf("Pdeathsig: %v, want errPdeathsig", err)
	}

	must(t, inst.Destroy())
	for _, ctrl := range v1Controllers() {
		if d := filepath.Join(CgroupRoot, ctrl, CgroupPath(lab, "nano")); exists(d) {
			t.Errorf("%s left after Destroy", d)
		}
	}
	select {
	case <-inst.initDone:
	case <-time.After(5 * time.Second):
		t.Error("the init was not reaped within 5s of Destroy")
	}
}

func TestTypedInstanceMemoryLimit(t *testing.T) {
	needCgroupV1(t)
	lab := testLab(t)
	inst := typed(t, lab, "nano", "t3.nano") // 32 MiB
	create(t, twoENIs(lab, "plain"))
	// tail keeps the last lines; input without a newline is one line it must hold whole.
	const script = "head -c 64M /dev/zero | tail > /dev/null; echo status=$?"
	if out := sh(t, lab, "plain", script); !strings.Contains(out, "status=0") {
		t.Fatalf("without a type, holding 64 MiB failed: %s", out)
	}
	start := time.Now()
	out := sh(t, lab, "nano", script)
	if !strings.Contains(out, "status=137") {
		t.Errorf("in a t3.nano, holding 64 MiB gave %q, want status=137 (SIGKILL from the OOM killer)", out)
	}
	t.Logf("OOM kill after %v", time.Since(start))
	oom := cgroupFile(t, "memory", lab, "nano", "memory.oom_control")
	if m := regexp.MustCompile(`oom_kill (\d+)`).FindStringSubmatch(oom); m == nil || m[1] == "0" {
		t.Errorf("memory.oom_control records no OOM kill:\n%s", oom)
	}
	// The instance lives on: its init was not the victim.
	if _, err := processStart(inst.InitPID); err != nil {
		t.Errorf("the init died: %v", err)
	}
	contains(t, sh(t, lab, "nano", "echo alive"), "alive", "after the OOM kill")
}

func TestInstancePIDAndMountNamespaces(t *testing.T) {
	lab := testLab(t)
	create(t, twoENIs(lab, "a"))
	create(t, twoENIs(lab, "b"))
	sleeper := Command(lab, "a", "sleep", "300")
	must(t, sleeper.Start())
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })

	procs := func(inst string) map[string]string {
		out := sh(t, lab, inst, `for p in /proc/[0-9]*; do echo "${p#/proc/} $(cat $p/comm)"; done`)
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			pid, comm, _ := strings.Cut(l, " ")
			m[pid] = comm
		}
		return m
	}
	pa, pb := procs("a"), procs("b")
	self, _ := os.ReadFile("/proc/self/comm")
	for name, p := range map[string]map[string]string{"a": pa, "b": pb} {
		if p["1"] != "ec2sim-init" {
			t.Errorf("%s: pid 1 is %q, want ec2sim-init: %v", name, p["1"], p)
		}
		for pid, comm := range p {
			if comm == strings.TrimSpace(string(self)) || comm == "systemd" || comm == "init" {
				t.Errorf("%s sees a host process %s (%s): %v", name, pid, comm, p)
			}
		}
		if len(p) > 5 {
			t.Errorf("%s sees %d processes: %v", name, len(p), p)
		}
	}
	if !slices.Contains(mapValues(pa), "sleep") {
		t.Errorf("a does not see its own sleep: %v", pa)
	}
	if slices.Contains(mapValues(pb), "sleep") {
		t.Errorf("b sees a's sleep: %v", pb)
	}
	if _, err := exec.LookPath("ps"); err == nil {
		out, err := Command(lab, "b", "ps", "-e", "-o", "pid=,comm=").CombinedOutput()
		must(t, err)
		if ps := strings.Fields(string(out)); len(ps) != 4 || ps[0] != "1" || ps[1] != "ec2sim-init" || ps[3] != "ps" {
			t.Errorf("ps -e inside b: %q, want the init and ps", ps)
		}
	}
	if got := strings.TrimSpace(sh(t, lab, "a", "echo $$")); len(got) > 2 {
		t.Errorf("a shell's pid inside is %s, want a small number", got)
	}

	want := []string{"fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"}
	if got := strings.Fields(sh(t, lab, "a", "ls -A /dev")); !slices.Equal(got, want) {
		t.Errorf("/dev inside: %v, want %v", got, want)
	}
	if got := strings.Fields(sh(t, lab, "a", "ls /sys/class/net")); !slices.Equal(got, []string{"eth0", "eth1", "lo"}) {
		t.Errorf("/sys/class/net inside: %v", got)
	}
	contains(t, sh(t, lab, "a", "echo hi > /dev/null && head -c 4 /dev/urandom | wc -c && ls /dev/pts"), "4\nptmx", "devices inside")
	if out, err := Command(lab, "a", "sh", "-c", "echo x > /sys/kernel/mm/transparent_hugepage/enabled").CombinedOutput(); err == nil {
		t.Errorf("/sys is writable inside: %s", out)
	}
	// Root inside unmounting its /proc and /dev finds nothing of the host's beneath.
	// (Beneath /dev is the root file system's own directory, with perhaps a static console node,
	// not the host's devtmpfs with its loop devices.)
	out := sh(t, lab, "a", "umount -l /dev; umount /proc; ls /proc | wc -l; ls /dev")
	if f := strings.Fields(out); len(f) == 0 || f[0] != "0" || slices.Contains(f, "loop-control") || slices.Contains(f, "net") {
		t.Errorf("after unmounting /proc and /dev inside: %q, want an empty /proc and no host devices", f)
	}
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Errorf("the host's /proc suffered: %v", err)
	}
	// ec2sim's state and the namespace files are covered inside.
	if got := sh(t, lab, "b", "ls -A /run/netns /run/ec2sim"); strings.Contains(got, lab) {
		t.Errorf("the instance sees ec2sim's files:\n%s", got)
	}
	hidden := initproc.HiddenDirs()
	if !slices.Contains(hidden, NetnsDir) || !slices.Contains(hidden, filepath.Dir(UTSDir)) || filepath.Dir(UTSDir) != filepath.Dir(InitDir) {
		t.Errorf("initproc hides %v; want %s and the parent of %s and %s", hidden, NetnsDir, UTSDir, InitDir)
	}
}

func mapValues(m map[string]string) []string {
	var vs []string
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}

// TestDestroyLabAfterRealCrash makes typed instances in a child process that kills itself, as
// a crashed engine would, and checks that DestroyLab finds and removes their init processes,
// cgroups and everything else.
func TestDestroyLabAfterRealCrash(t *testing.T) {
	needCgroupV1(t)
	lab := testLab(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+lab)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.String() != "signal: killed" {
		t.Fatalf("the child ended with %v, want killed:\n%s", err, out)
	}
	var pids []int
	for _, f := range strings.Fields(strings.TrimPrefix(strings.TrimSpace(string(out)), "ready ")) {
		pid, err := strconv.Atoi(f)
		must(t, err)
		pids = append(pids, pid)
	}
	if len(pids) != 3 {
		t.Fatalf("child said %q, want ready and three pids", out)
	}
	labs, err := ListLabs()
	must(t, err)
	if !slices.Contains(labs, lab) {
		t.Errorf("ListLabs %v lacks %s", labs, lab)
	}
	before, err := ListLabObjects(lab)
	must(t, err)
	joined := strings.Join(before, "\n")
	for _, want := range []string{
		fmt.Sprintf("process %d (ec2sim-init) in %s", pids[0], NSName(lab, "a")),
		fmt.Sprintf("process %d (ec2sim-init) in %s", pids[1], NSName(lab, "b")),
		fmt.Sprintf("process %d (sleep) in %s", pids[2], NSName(lab, "b")),
		"cgroup " + CgroupPath(lab, "a"), "cgroup " + CgroupPath(lab, "b"), "cgroup " + CgroupPath(lab, ""),
		"init " + InitPath(lab, "a"), "dir " + initLabDir(lab),
	} {
		contains(t, joined, want, "objects after the crash")
	}
	removed, err := DestroyLab(lab)
	must(t, err)
	if !slices.Equal(before, removed) {
		t.Errorf("removed %q, want %q", removed, before)
	}
	for _, pid := range pids {
		waitGone(t, pid)
	}
	for _, ctrl := range v1Controllers() {
		if d := filepath.Join(CgroupRoot, ctrl, CgroupPath(lab, "")); exists(d) {
			t.Errorf("%s left", d)
		}
	}
	noLabObjects(t, lab)
}

// waitGone waits until a process has exited (gone, or a zombie its new parent has not reaped).
func waitGone(t testing.TB, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 && strings.HasPrefix(s[i:], ") Z") {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("process %d still runs: %s", pid, s)
			return
		}
	}
}

// crashChild makes two typed instances with a process in one, reports the pids and kills
// itself without cleaning up.
func crashChild(lab string) {
	var pids []string
	for _, n := range []string{"a", "b"} {
		ty, _ := LookupType("t3.nano")
		spec := twoENIs(lab, n)
		spec.Type = ty
		inst, err := CreateInstance(spec)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		pids = append(pids, strconv.Itoa(inst.InitPID))
	}
	c := Command(lab, "b", "sleep", "300")
	if err := c.Start(); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	pids = append(pids, strconv.Itoa(c.Process.Pid))
	fmt.Println("ready", strings.Join(pids, " "))
	_ = unix.Kill(os.Getpid(), unix.SIGKILL)
	select {}
}

// TestOnOtherThreadSparesMainThread runs mainThreadChild, whose main goroutine holds the main
// thread, the case onFreshThread hands to onOtherThread.
func TestOnOtherThreadSparesMainThread(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), mainThreadEnv+"=1")
	out, err := cmd.CombinedOutput()
	if reason, ok := strings.CutPrefix(string(out), "skip: "); ok {
		t.Skip(reason)
	}
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("%v: %s", err, out)
	}
}

func mainThreadChild() int {
	runtime.LockOSThread()
	if unix.Gettid() != unix.Getpid() {
		fmt.Println("skip: the main goroutine is not on the main thread; nothing to check")
		return 0
	}
	before, _ := os.Getwd()
	var ranOn int
	err := onOtherThread(func() error {
		ranOn = unix.Gettid()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return err
		}
		return unix.Chdir("/")
	})
	after, _ := os.Getwd()
	switch {
	case err != nil:
		fmt.Println(err)
	case ranOn == unix.Getpid():
		fmt.Println("fn ran on the main thread")
	case before != after || unix.Gettid() != unix.Getpid():
		fmt.Printf("the main thread changed: %s -> %s\n", before, after)
	default:
		fmt.Println("ok")
		return 0
	}
	return 1
}

// TestInitKilled: an instance whose init was killed from outside has lost its PID namespace
// and every process in it; commands fail with a clear error, and Destroy still cleans up.
func TestInitKilled(t *testing.T) {
	lab := testLab(t)
	inst := create(t, twoENIs(lab, "k"))
	sleeper := Command(lab, "k", "sleep", "300")
	must(t, sleeper.Start())
	must(t, unix.Kill(inst.InitPID, unix.SIGKILL))
	if err := sleeper.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("the instance's process ended with %v, want killed with its PID namespace", err)
	}
	<-inst.initDone
	err := Command(lab, "k", "true").Run()
	if err == nil {
		t.Fatal("ran a command in an instance without init")
	}
	contains(t, err.Error(), fmt.Sprintf("init process %d is gone", inst.InitPID), "command error")
	must(t, inst.Destroy())
	noLabObjects(t, lab)
}
