package hypervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor/internal/initproc"
	"golang.org/x/sys/unix"
)

const (
	// CgroupRoot is where the machine's cgroup file systems are mounted.
	CgroupRoot = "/sys/fs/cgroup"
	// CgroupTop is the directory under each hierarchy that holds one directory per lab, each
	// with one directory per instance with a type: <CgroupRoot>/<controller>/ec2sim/<lab>/<instance>
	// on cgroup v1, <CgroupRoot>/ec2sim/<lab>/<instance> on v2.
	CgroupTop = "ec2sim"
	// cpuPeriodUS is the CFS period; the quota is VCPUs periods.
	cpuPeriodUS = 100000
	// cgroupRemoveTimeout bounds how long a removal waits for killed tasks to leave.
	cgroupRemoveTimeout = 5 * time.Second
)

// errNoCgroup marks an instance directory that does not exist.
var errNoCgroup = errors.New("no such cgroup")

// v1Controllers are the cgroup v1 hierarchies an instance with a type has a directory in:
// memory, CPU time and tasks are its limits, devices is its isolation. The instance's PID
// namespace, not a freezer, is what kills all its processes at once.
func v1Controllers() []string { return []string{"memory", "cpu", "pids", "devices"} }

// cgroupFS is the machine's cgroup layout: v1 with a directory per controller, or v2 unified.
type cgroupFS struct {
	version int    // 1 or 2
	root    string // CgroupRoot, or another directory in tests
}

// CgroupSupport reports which cgroup version instance types would use here (1 or 2), or why
// they cannot be used. On v2 the device cgroup needs eBPF, which is not done: instances get
// memory, CPU and task limits but no device isolation.
func CgroupSupport() (int, error) {
	c, err := detectCgroups(CgroupRoot)
	if err != nil {
		return 0, err
	}
	return c.version, nil
}

// detectCgroups tells v2 (a cgroup2 file system on root) from v1 (controllers mounted on
// root/<controller>; a cgroup2 mount at root/unified without controllers, as systemd's hybrid
// mode makes, is ignored).
func detectCgroups(root string) (*cgroupFS, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return nil, fmt.Errorf("cgroups: %s: %w", root, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		b, err := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
		if err != nil {
			return nil, fmt.Errorf("cgroup v2 at %s: %w", root, err)
		}
		have := strings.Fields(string(b))
		for _, c := range []string{"memory", "cpu", "pids"} {
			if !slices.Contains(have, c) {
				return nil, fmt.Errorf("cgroup v2 at %s does not delegate the %s controller (cgroup.subtree_control has %q); instance types need memory, cpu and pids", root, c, have)
			}
		}
		return &cgroupFS{version: 2, root: root}, nil
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	ms, err := initproc.ParseMountinfo(b)
	if err != nil {
		return nil, err
	}
	for _, c := range v1Controllers() {
		dir := filepath.Join(root, c)
		if !slices.ContainsFunc(ms, func(m initproc.Mount) bool {
			return m.Point == dir && m.FSType == "cgroup" && slices.Contains(m.SuperOpts, c)
		}) {
			return nil, fmt.Errorf("cgroup v1 controller %s is not mounted at %s; instance types need %s there", c, dir, strings.Join(v1Controllers(), ", "))
		}
	}
	return &cgroupFS{version: 1, root: root}, nil
}

// rel is an instance's directory relative to a hierarchy's root; lab-level with instance "".
func cgroupRel(lab, instance string) string { return filepath.Join(CgroupTop, lab, instance) }

// CgroupPath is an instance's cgroup as /proc/<pid>/cgroup names it inside every hierarchy.
func CgroupPath(lab, instance string) string { return "/" + cgroupRel(lab, instance) }

// hierarchies are the roots of the hierarchies ec2sim uses.
func (c *cgroupFS) hierarchies() []string {
	if c.version == 2 {
		return []string{c.root}
	}
	var hs []string
	for _, ctrl := range v1Controllers() {
		hs = append(hs, filepath.Join(c.root, ctrl))
	}
	return hs
}

// dirs are an instance's directories, one per hierarchy.
func (c *cgroupFS) dirs(lab, instance string) []string {
	var ds []string
	for _, h := range c.hierarchies() {
		ds = append(ds, filepath.Join(h, cgroupRel(lab, instance)))
	}
	return ds
}

// cgWrite is one value written to one control file.
type cgWrite struct {
	file, value string
	optional    bool // the file may be missing (no swap accounting)
}

// deviceRules are the device cgroup exceptions of every instance: the character devices of its
// /dev and its pseudo-terminals. Everything else, block devices above all, is denied; a disk is
// allowed when it is attached.
func deviceRules() []string {
	var rules []string
	for _, d := range initproc.CharDevices() {
		rules = append(rules, fmt.Sprintf("c %d:%d rwm", d.Major, d.Minor))
	}
	return append(rules, "c 5:2 rwm", "c 136:* rwm") // ptmx, pts/N
}

// limitWrites are the writes that set an instance's limits, in order. On v1 the device list is
// emptied first ("a" denied) and then the exceptions are added.
func (c *cgroupFS) limitWrites(lab, instance string, t *InstanceType) []cgWrite {
	rel := cgroupRel(lab, instance)
	mem := strconv.FormatInt(t.MemoryBytes(), 10)
	quota := strconv.Itoa(t.VCPUs * cpuPeriodUS)
	pids := strconv.Itoa(t.PIDs)
	if c.version == 2 {
		d := filepath.Join(c.root, rel)
		return []cgWrite{
			{filepath.Join(d, "memory.max"), mem, false},
			{filepath.Join(d, "memory.swap.max"), "0", true},
			{filepath.Join(d, "cpu.max"), quota + " " + strconv.Itoa(cpuPeriodUS), false},
			{filepath.Join(d, "pids.max"), pids, false},
		}
	}
	in := func(ctrl, file string) string { return filepath.Join(c.root, ctrl, rel, file) }
	ws := []cgWrite{
		// The plain limit first: memsw may not be set below it.
		{in("memory", "memory.limit_in_bytes"), mem, false},
		{in("memory", "memory.memsw.limit_in_bytes"), mem, true},
		{in("cpu", "cpu.cfs_period_us"), strconv.Itoa(cpuPeriodUS), false},
		{in("cpu", "cpu.cfs_quota_us"), quota, false},
		{in("pids", "pids.max"), pids, false},
		{in("devices", "devices.deny"), "a", false},
	}
	for _, r := range deviceRules() {
		ws = append(ws, cgWrite{in("devices", "devices.allow"), r, false})
	}
	return ws
}

func writeControl(w cgWrite) error {
	f, err := os.OpenFile(w.file, os.O_WRONLY, 0)
	if err != nil {
		if w.optional && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	_, err = f.WriteString(w.value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", w.value, w.file, err)
	}
	return nil
}

// create makes an instance's directories and sets its limits before any task is in them. A
// directory left by a crashed lab with no task in it is replaced; one with tasks is an error.
func (c *cgroupFS) create(lab, instance string, t *InstanceType) (err error) {
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("cgroup %s: %w", CgroupPath(lab, instance), err), c.remove(lab, instance))
		}
	}()
	for _, d := range c.dirs(lab, instance) {
		if err := c.mkdir(d); err != nil {
			return err
		}
	}
	for _, w := range c.limitWrites(lab, instance, t) {
		if err := writeControl(w); err != nil {
			return err
		}
	}
	return nil
}

// mkdir makes an instance's directory with its parents. Another instance's Destroy may remove
// an emptied lab directory in between, hence the retries.
func (c *cgroupFS) mkdir(dir string) error {
	for try := 0; ; try++ {
		err := c.mkParents(filepath.Dir(dir))
		if errors.Is(err, unix.ENOENT) && try < 10 {
			continue // the top directory went between making it and making the lab's
		}
		if err != nil {
			return err
		}
		err = unix.Mkdir(dir, 0o755)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EEXIST):
			// No instance of this name exists (its marker was just made), so the directory is a
			// crash's leftover; rmdir fails if tasks still use it.
			if rerr := unix.Rmdir(dir); rerr != nil {
				return fmt.Errorf("%s exists from an earlier run and cannot be removed (%v); DestroyLab removes it with its tasks", dir, rerr)
			}
		case errors.Is(err, unix.ENOENT) && try < 10:
		default:
			return fmt.Errorf("mkdir %s: %w", dir, err)
		}
	}
}

// mkParents makes the lab's directory and the top one; on v2 each also delegates the
// controllers to its children.
func (c *cgroupFS) mkParents(dir string) error {
	top := filepath.Dir(dir)
	for _, d := range []string{top, dir} {
		if err := unix.Mkdir(d, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdir %s: %w", d, err) // wraps ENOENT for mkdir's retry
		}
		if c.version == 2 {
			if err := writeControl(cgWrite{filepath.Join(d, "cgroup.subtree_control"), "+memory +cpu +pids", false}); err != nil {
				return err
			}
		}
	}
	return nil
}

// joinThread moves the calling thread (cgroup v1 places threads, not processes) into the
// instance's cgroups, so that a process it forks starts there and is never outside them. The
// thread must end afterwards (see onFreshThread). Without memory, the memory cgroup is left
// out: for the instance's init (see build.go's startInit).
func (c *cgroupFS) joinThread(lab, instance string, memory bool) error {
	if c.version != 1 {
		return fmt.Errorf("cgroup v%d does not place single threads; use cloneInto", c.version)
	}
	tid := strconv.Itoa(unix.Gettid())
	for _, ctrl := range v1Controllers() {
		if ctrl == "memory" && !memory {
			continue
		}
		d := filepath.Join(c.root, ctrl, cgroupRel(lab, instance))
		if err := writeControl(cgWrite{filepath.Join(d, "tasks"), tid, false}); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("instance %s of lab %s: cgroup %s is gone: %w", instance, lab, d, errNoCgroup)
			}
			return err
		}
	}
	return nil
}

// cloneInto opens the instance's v2 cgroup for clone3's CLONE_INTO_CGROUP, which starts a
// process inside it.
func (c *cgroupFS) cloneInto(lab, instance string) (int, error) {
	d := c.dirs(lab, instance)[0]
	fd, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("instance %s of lab %s: open cgroup %s: %w", instance, lab, d, err)
	}
	return fd, nil
}

// parsePids reads a cgroup.procs or tasks file: one decimal id a line.
func parsePids(b []byte) ([]int, error) {
	var pids []int
	for _, f := range strings.Split(string(b), "\n") {
		if f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return pids, fmt.Errorf("cgroup.procs line %q is not a process id", f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// treeProcs lists the processes in a cgroup directory and the directories below it (which a
// guest could make if it mounted the cgroup file system), without this process.
func treeProcs(dir string) ([]int, error) {
	var pids []int
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		ps, err := parsePids(b)
		pids = append(pids, ps...)
		return err
	})
	self := os.Getpid()
	pids = slices.DeleteFunc(pids, func(p int) bool { return p == self })
	slices.Sort(pids)
	return slices.Compact(pids), err
}

// rmTree removes a cgroup directory and any below it, deepest first; it fails with EBUSY while
// a task is in one of them.
func rmTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() {
			if err := rmTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// remove kills whatever tasks are left in an instance's cgroups (normally none: killing the
// instance's init ends its PID namespace) and removes the directories, waiting for killed tasks
// to leave; then it removes the lab's and the top directory if they are empty.
func (c *cgroupFS) remove(lab, instance string) error {
	return c.removeDirs(lab, c.dirs(lab, instance))
}

func (c *cgroupFS) removeDirs(lab string, dirs []string) error {
	deadline := time.Now().Add(cgroupRemoveTimeout)
	pause := time.Millisecond
	for {
		var busy []string
		var errs []error
		for _, d := range dirs {
			err := rmTree(d)
			if err == nil {
				continue
			}
			if !errors.Is(err, unix.EBUSY) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
				continue
			}
			// Tasks still there: kill those not already dying; this process is never one of
			// them (a thread of it may be passing through while it starts a command).
			pids, _ := treeProcs(d)
			for _, pid := range pids {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
			busy = append(busy, fmt.Sprintf("%s (tasks %v)", d, pids))
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if len(busy) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroups still busy after %v: %s", cgroupRemoveTimeout, strings.Join(busy, ", "))
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
	for _, h := range c.hierarchies() {
		// Busy or not empty means other instances or labs still use them.
		_ = unix.Rmdir(filepath.Join(h, cgroupRel(lab, "")))
		_ = unix.Rmdir(filepath.Join(h, CgroupTop))
	}
	return nil
}

// removeLab removes the lab's directory from every hierarchy, and the top one where empty. It
// fails if the lab still has instance directories.
func (c *cgroupFS) removeLab(lab string) error {
	var errs []error
	for _, h := range c.hierarchies() {
		d := filepath.Join(h, cgroupRel(lab, ""))
		if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
		}
		_ = unix.Rmdir(filepath.Join(h, CgroupTop))
	}
	return errors.Join(errs...)
}

// labCgroups finds a lab's instance directories in every hierarchy (instance names, sorted) and
// whether the lab has a directory at all, from the file system alone.
func (c *cgroupFS) labCgroups(lab string) (instances []string, labDir bool, err error) {
	seen := map[string]bool{}
	for _, h := range c.hierarchies() {
		ents, err := os.ReadDir(filepath.Join(h, cgroupRel(lab, "")))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		labDir = true
		for _, e := range ents {
			if e.IsDir() && validName("instance", e.Name()) == nil {
				seen[e.Name()] = true
			}
		}
	}
	for n := range seen {
		instances = append(instances, n)
	}
	slices.Sort(instances)
	return instances, labDir, nil
}

// labs lists the labs that have a directory under CgroupTop in any hierarchy.
func (c *cgroupFS) labs() ([]string, error) {
	var labs []string
	for _, h := range c.hierarchies() {
		ents, err := os.ReadDir(filepath.Join(h, CgroupTop))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if e.IsDir() && ValidateLab(e.Name()) == nil {
				labs = append(labs, e.Name())
			}
		}
	}
	slices.Sort(labs)
	return slices.Compact(labs), nil
}
