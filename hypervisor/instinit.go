package hypervisor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor/internal/initproc"
	"golang.org/x/sys/unix"
)

// InitDir holds one directory per lab with one file per instance that records the instance's
// init process (InitPath).
const InitDir = "/run/ec2sim/init"

// initReadyTimeout bounds the wait for a new init to report.
const initReadyTimeout = 10 * time.Second

// InitPath is the file that records an instance's init process: its pid, its start time
// (to tell it from a later process with the same pid) and the cgroup version of its cgroups.
func InitPath(lab, instance string) string { return filepath.Join(InitDir, lab, instance) }

func initLabDir(lab string) string { return filepath.Join(InitDir, lab) }

// initState is the content of an InitPath file.
type initState struct {
	PID   int
	Start uint64 // field 22 of /proc/<pid>/stat
	// Cgroup is the version of the instance's cgroups, 0 when it has no type (no cgroups).
	Cgroup int
}

func (s initState) marshal() []byte {
	return fmt.Appendf(nil, "pid %d\nstart %d\ncgroup %d\n", s.PID, s.Start, s.Cgroup)
}

// parseInitState reads what marshal wrote, strictly: the three lines in order.
func parseInitState(b []byte) (initState, error) {
	var s initState
	lines := strings.Split(string(b), "\n")
	if len(lines) != 4 || lines[3] != "" {
		return s, fmt.Errorf("init record %q: want the lines pid, start and cgroup", b)
	}
	fields := []struct {
		key string
		dst *uint64
	}{{"pid", new(uint64)}, {"start", &s.Start}, {"cgroup", new(uint64)}}
	for k, f := range fields {
		v, ok := strings.CutPrefix(lines[k], f.key+" ")
		n, err := strconv.ParseUint(v, 10, 63)
		if !ok || err != nil || (v != "0" && strings.HasPrefix(v, "0")) {
			return initState{}, fmt.Errorf("init record line %d %q: want %q and a decimal number", k+1, lines[k], f.key)
		}
		*f.dst = n
	}
	pid, cg := *fields[0].dst, *fields[2].dst
	if pid < 1 || pid > 1<<22 {
		return initState{}, fmt.Errorf("init record: pid %d is outside 1-%d", pid, 1<<22)
	}
	if cg > 2 {
		return initState{}, fmt.Errorf("init record: cgroup version %d is not 0, 1 or 2", cg)
	}
	s.PID, s.Cgroup = int(pid), int(cg)
	return s, nil
}

func readInitState(lab, instance string) (initState, error) {
	b, err := os.ReadFile(InitPath(lab, instance))
	if err != nil {
		return initState{}, err
	}
	return parseInitState(b)
}

// processStart reads a process's start time (field 22 of /proc/<pid>/stat).
func processStart(pid int) (uint64, error) {
	s := startTime(pid)
	if s == "" {
		return 0, fmt.Errorf("process %d: %w", pid, os.ErrNotExist)
	}
	return strconv.ParseUint(s, 10, 64)
}

// openInit opens a pidfd on the recorded init. The start time is checked after the pidfd is
// open, so the pidfd refers to the recorded process and not to a later one with its pid.
func openInit(s initState) (int, error) {
	fd, err := unix.PidfdOpen(s.PID, 0)
	if err != nil {
		return -1, fmt.Errorf("init process %d is gone: %w", s.PID, err)
	}
	if st, err := processStart(s.PID); err != nil || st != s.Start {
		unix.Close(fd)
		return -1, fmt.Errorf("init process %d is gone (its pid now belongs to another process)", s.PID)
	}
	return fd, nil
}

// startInit starts the instance's init: this binary again, as initproc, in a new PID and mount
// namespace, forked from the calling thread, which must be in the instance's network and UTS
// namespaces and (cgroup v1) its cgroups. It returns the running command and the read end of
// its status pipe; waitInit reads it.
func startInit(lab, instance string, cgroupFD int) (*exec.Cmd, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer w.Close()
	cmd := &exec.Cmd{
		// /proc/self/exe, not os.Executable: the binary may have been replaced or removed since
		// it started (go test, an upgrade), and this always names the one running.
		Path: "/proc/self/exe",
		Args: []string{initproc.Argv0, lab, instance},
		// One P is plenty for a process that mostly waits, and keeps its threads (which count
		// against the instance's PID limit) few.
		Env:        []string{initproc.EnvKey + "=1", "GOMAXPROCS=1"},
		ExtraFiles: []*os.File{w},
		// No Pdeathsig: the instance outlives the process that made it, as its network
		// namespace does; DestroyLab finds and kills it.
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWNS},
	}
	if cgroupFD >= 0 {
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, cgroupFD
	}
	if err := cmd.Start(); err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("start the init process: %w", err)
	}
	return cmd, r, nil
}

// waitInit reads the init's report: initproc.Ready, or why it failed.
func waitInit(status *os.File) error {
	defer status.Close()
	_ = status.SetReadDeadline(time.Now().Add(initReadyTimeout))
	b, err := io.ReadAll(io.LimitReader(status, 4096))
	if err != nil {
		return fmt.Errorf("init process did not report: %w", err)
	}
	if string(b) != initproc.Ready {
		if len(b) == 0 {
			return errors.New("init process exited without a report")
		}
		return errors.New(string(b))
	}
	return nil
}

// writeInitState records the init in InitPath. The lab's directory may be removed by another
// instance's Destroy in between, hence the second try.
func writeInitState(lab, instance string, s initState) error {
	write := func() error {
		if err := os.MkdirAll(initLabDir(lab), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(InitPath(lab, instance), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return err
		}
		_, err = f.Write(s.marshal())
		return errors.Join(err, f.Close())
	}
	err := write()
	if errors.Is(err, os.ErrExist) {
		// Left by a crash: the instance's marker was free, so no live instance owns the record.
		// Its init, if it still runs, would be lost once the record is replaced.
		if _, kerr := killRecordedInit(lab, instance); kerr != nil {
			return kerr
		}
		if err = os.Remove(InitPath(lab, instance)); err == nil {
			err = write()
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		err = write()
	}
	return err
}

// killRecordedInit kills the init that InitPath records, if that very process is still alive,
// and describes it; "" when there was nothing to kill.
func killRecordedInit(lab, instance string) (string, error) {
	s, err := readInitState(lab, instance)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", nil // a torn record (crash while writing): its init is found by its namespace
	}
	fd, err := openInit(s)
	if err != nil {
		return "", nil
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		return "", fmt.Errorf("kill init process %d of instance %s: %w", s.PID, instance, err)
	}
	return nsProc{pid: s.PID, comm: initproc.Comm, ns: "init of " + instance}.String(), nil
}
