package hypervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// labObjects is what a lab has on the machine, found from the file system alone so that it
// works after the process that made them died.
type labObjects struct {
	netns   []string // namespace names in NetnsDir
	uts     []string // file names in the lab's directory under UTSDir
	dir     bool     // the lab's directory under UTSDir exists
	inits   []string // instance names with a record under InitDir
	initDir bool     // the lab's directory under InitDir exists
	cg      *cgroupFS
	cgroups []string // instance names with a cgroup directory in any hierarchy
	cgLab   bool     // the lab has a cgroup directory in some hierarchy
}

// scanLab finds a lab's objects. A namespace "ec2sim-<lab>-<rest>" is the lab's when the lab's
// marker for <rest> exists, or when no other lab's marker claims the name (left by something
// that died before it made a marker, or made by another component for the lab). A namespace
// named exactly "ec2sim-<lab>" is the lab's too, for lab-wide namespaces. Init records and
// cgroups are in directories named after the lab, so they need no such care.
func scanLab(lab string) (labObjects, error) {
	var o labObjects
	var err error
	if o.uts, o.dir, err = dirEntries(labDir(lab)); err != nil {
		return o, err
	}
	if o.inits, o.initDir, err = dirEntries(initLabDir(lab)); err != nil {
		return o, err
	}
	nss, err := os.ReadDir(NetnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return o, err
	}
	for _, e := range nss {
		name := e.Name()
		if name == NSPrefix+lab {
			o.netns = append(o.netns, name)
			continue
		}
		rest, ok := strings.CutPrefix(name, NSName(lab, ""))
		if !ok || rest == "" {
			continue
		}
		if exists(UTSPath(lab, rest)) || markerOwner(name) == "" {
			o.netns = append(o.netns, name)
		}
	}
	// A machine without usable cgroups has none of ours either.
	if cg, err := detectCgroups(CgroupRoot); err == nil {
		o.cg = cg
		if o.cgroups, o.cgLab, err = cg.labCgroups(lab); err != nil {
			return o, err
		}
	}
	return o, nil
}

// dirEntries lists a directory's entries and tells whether it exists.
func dirEntries(dir string) ([]string, bool, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, true, nil
}

// markerOwner returns a lab whose marker claims the namespace name, or "" if none does.
func markerOwner(nsName string) string {
	full, ok := strings.CutPrefix(nsName, NSPrefix)
	if !ok {
		return ""
	}
	for k := 1; k < len(full)-1; k++ {
		if full[k] != '-' {
			continue
		}
		lab, inst := full[:k], full[k+1:]
		if validName("lab", lab) == nil && validName("instance", inst) == nil && exists(UTSPath(lab, inst)) {
			return lab
		}
	}
	return ""
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// DestroyLab removes everything a lab has on the machine, also after the process that made it
// died: it kills the lab's processes (its instances' init processes, which end their PID
// namespaces, and whatever else is in the lab's network namespaces and cgroups), removes the
// cgroups, the namespaces' bind mounts and files, the init records, the UTS namespaces and the
// lab's directories. It reports what it removed, in the words and order of ListLabObjects, and
// is idempotent (nothing left means nothing reported). It does not close TAP files a live
// process still holds; their NICs vanish when those are closed.
func DestroyLab(lab string) ([]string, error) {
	if err := ValidateLab(lab); err != nil {
		return nil, err
	}
	o, err := scanLab(lab)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	var errs []error
	killed, err := killProcs(func() ([]nsProc, error) { return labProcs(lab, o) })
	if err != nil {
		errs = append(errs, err)
	}
	var cgroups []string
	if o.cg != nil {
		for _, inst := range o.cgroups {
			if err := o.cg.remove(lab, inst); err != nil {
				errs = append(errs, err)
				continue
			}
			cgroups = append(cgroups, "cgroup "+CgroupPath(lab, inst))
		}
		if o.cgLab {
			if err := o.cg.removeLab(lab); err != nil {
				errs = append(errs, err)
			} else {
				cgroups = append(cgroups, "cgroup "+CgroupPath(lab, ""))
			}
		}
	}
	// Namespaces before markers: a namespace without its marker would be anyone's.
	var netns, uts, inits, dirs []string
	for _, name := range o.netns {
		if err := removeBindMount(filepath.Join(NetnsDir, name)); err != nil {
			errs = append(errs, err)
			continue
		}
		netns = append(netns, "netns "+name)
	}
	for _, name := range o.inits {
		p := filepath.Join(initLabDir(lab), name)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		inits = append(inits, "init "+p)
	}
	for _, name := range o.uts {
		p := filepath.Join(labDir(lab), name)
		if err := removeBindMount(p); err != nil {
			errs = append(errs, err)
			continue
		}
		uts = append(uts, "uts "+p)
	}
	for _, d := range []struct {
		path string
		ok   bool
	}{{labDir(lab), o.dir}, {initLabDir(lab), o.initDir}} {
		if !d.ok {
			continue
		}
		if err := os.Remove(d.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		} else {
			dirs = append(dirs, "dir "+d.path)
		}
	}
	removed := slices.Concat(killed, netns, uts, inits, cgroups, dirs)
	if len(errs) > 0 {
		return removed, fmt.Errorf("lab %s: %w", lab, errors.Join(errs...))
	}
	return removed, nil
}

// ListLabObjects lists what a lab has on the machine, one object per string: "process <pid>
// (<command>) in <namespace or cgroup>", "netns <name>", "uts <path>", "init <path>" (an
// instance's init record), "cgroup <path>" (an instance's or the lab's directory in every
// hierarchy, as /proc/<pid>/cgroup names it), "dir <path>". An empty list means DestroyLab
// left nothing behind.
func ListLabObjects(lab string) ([]string, error) {
	if err := ValidateLab(lab); err != nil {
		return nil, err
	}
	o, err := scanLab(lab)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	procs, err := labProcs(lab, o)
	if err != nil {
		return nil, err
	}
	var list []string
	for _, p := range procs {
		list = append(list, p.String())
	}
	for _, name := range o.netns {
		list = append(list, "netns "+name)
	}
	for _, name := range o.uts {
		list = append(list, "uts "+filepath.Join(labDir(lab), name))
	}
	for _, name := range o.inits {
		list = append(list, "init "+filepath.Join(initLabDir(lab), name))
	}
	for _, inst := range o.cgroups {
		list = append(list, "cgroup "+CgroupPath(lab, inst))
	}
	if o.cgLab {
		list = append(list, "cgroup "+CgroupPath(lab, ""))
	}
	if o.dir {
		list = append(list, "dir "+labDir(lab))
	}
	if o.initDir {
		list = append(list, "dir "+initLabDir(lab))
	}
	return list, nil
}

// labProcs finds the lab's processes: those in its network namespaces, its recorded init
// processes (should one have left its namespace) and those in its cgroups. This process is
// never one of them.
func labProcs(lab string, o labObjects) ([]nsProc, error) {
	procs, err := namespaceProcs(nsPaths(o.netns))
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	for _, p := range procs {
		seen[p.pid] = true
	}
	add := func(pid int, where string) {
		if seen[pid] || pid == os.Getpid() {
			return
		}
		st := startTime(pid)
		if st == "" {
			return // gone
		}
		seen[pid] = true
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		procs = append(procs, nsProc{pid: pid, comm: strings.TrimSpace(string(comm)), ns: where, startTime: st})
	}
	for _, inst := range o.inits {
		s, err := readInitState(lab, inst)
		if err != nil {
			continue // torn by a crash; its init is in the namespace or the cgroup
		}
		if st, err := processStart(s.PID); err == nil && st == s.Start {
			add(s.PID, "init record "+InitPath(lab, inst))
		}
	}
	if o.cg != nil {
		for _, inst := range o.cgroups {
			for _, d := range o.cg.dirs(lab, inst) {
				pids, err := treeProcs(d)
				if err != nil {
					return nil, err
				}
				for _, pid := range pids {
					add(pid, "cgroup "+CgroupPath(lab, inst))
				}
			}
		}
	}
	sort.Slice(procs, func(a, b int) bool { return procs[a].pid < procs[b].pid })
	return procs, nil
}

// ListLabs names every lab that has something on the machine: a directory under UTSDir or
// InitDir, a cgroup directory, or a network namespace "ec2sim-...". DestroyLab of each name removes all of it.
func ListLabs() ([]string, error) {
	seen := map[string]bool{}
	ents, err := os.ReadDir(UTSDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		if ValidateLab(e.Name()) == nil {
			seen[e.Name()] = true
		}
	}
	nss, err := os.ReadDir(NetnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range nss {
		full, ok := strings.CutPrefix(e.Name(), NSPrefix)
		if !ok || full == "" {
			continue
		}
		lab := markerOwner(e.Name())
		if lab == "" {
			// Unclaimed: scanLab gives it to every lab that prefixes it; name the shortest.
			lab, _, _ = strings.Cut(full, "-")
		}
		if ValidateLab(lab) == nil {
			seen[lab] = true
		}
	}
	inits, _, err := dirEntries(InitDir)
	if err != nil {
		return nil, err
	}
	for _, l := range inits {
		if ValidateLab(l) == nil {
			seen[l] = true
		}
	}
	if cg, err := detectCgroups(CgroupRoot); err == nil {
		cls, err := cg.labs()
		if err != nil {
			return nil, err
		}
		for _, l := range cls {
			seen[l] = true
		}
	}
	labs := make([]string, 0, len(seen))
	for l := range seen {
		labs = append(labs, l)
	}
	sort.Strings(labs)
	return labs, nil
}

func nsPaths(names []string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[filepath.Join(NetnsDir, n)] = n
	}
	return m
}

// nsProc is a process whose network namespace is one of an instance's.
type nsProc struct {
	pid       int
	comm, ns  string
	nsPath    string
	startTime string // field 22 of /proc/<pid>/stat, to tell a reused pid from the process seen
}

func (p nsProc) String() string { return fmt.Sprintf("process %d (%s) in %s", p.pid, p.comm, p.ns) }

type nsID struct{ dev, ino uint64 }

// namespaceProcs finds the processes (other than this one) whose main thread is in one of the
// namespaces, given as bind mount path -> name. A bind mount that is no longer mounted matches
// nothing.
func namespaceProcs(paths map[string]string) ([]nsProc, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	ids := make(map[nsID]string, len(paths))
	for p := range paths {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err == nil {
			ids[nsID{st.Dev, st.Ino}] = p
		}
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var procs []nsProc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+e.Name()+"/ns/net", &st) != nil {
			continue // gone, or a zombie that has already left its namespaces
		}
		p, ok := ids[nsID{st.Dev, st.Ino}]
		if !ok {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		procs = append(procs, nsProc{pid: pid, comm: strings.TrimSpace(string(comm)), ns: paths[p], nsPath: p, startTime: startTime(pid)})
	}
	sort.Slice(procs, func(a, b int) bool { return procs[a].pid < procs[b].pid })
	return procs, nil
}

// startTime reads a process's start time so that a kill goes to the process that was found,
// not to a new one that reused its pid.
func startTime(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command in field 2 may hold spaces and parentheses; fields after the last ')' are plain.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // field 22 overall: field 3 is f[0]
}

// killNamespaceProcs kills (SIGKILL) the processes in the namespaces, as terminating an EC2
// instance ends its processes, and reports them.
func killNamespaceProcs(paths map[string]string) ([]string, error) {
	return killProcs(func() ([]nsProc, error) { return namespaceProcs(paths) })
}

// killProcs kills the processes scan finds and reports them. It rescans because a process may
// fork between a scan and its kill; a process already killed but not yet gone is not killed
// twice.
func killProcs(scan func() ([]nsProc, error)) ([]string, error) {
	var killed []string
	seen := map[int]string{} // pid -> start time
	for round := 0; round < 5; round++ {
		procs, err := scan()
		if err != nil {
			return killed, err
		}
		fresh := 0
		for _, p := range procs {
			if st, ok := seen[p.pid]; ok && st == p.startTime {
				continue
			}
			seen[p.pid] = p.startTime
			fresh++
			if startTime(p.pid) != p.startTime {
				continue // exited, and the pid was perhaps reused
			}
			if err := unix.Kill(p.pid, unix.SIGKILL); err == nil {
				killed = append(killed, p.String())
			}
		}
		if fresh == 0 {
			break
		}
	}
	return killed, nil
}
