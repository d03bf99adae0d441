package hypervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// labObjects is what a lab has on the machine, found from the file system alone so that it
// works after the process that made them died.
type labObjects struct {
	netns []string // namespace names in NetnsDir
	uts   []string // file names in the lab's directory under UTSDir
	dir   bool     // the lab's directory exists
}

// scanLab finds a lab's objects. A namespace "ec2sim-<lab>-<rest>" is the lab's when the lab's
// marker for <rest> exists, or when no other lab's marker claims the name (left by something
// that died before it made a marker, or made by another component for the lab). A namespace
// named exactly "ec2sim-<lab>" is the lab's too, for lab-wide namespaces.
func scanLab(lab string) (labObjects, error) {
	var o labObjects
	ents, err := os.ReadDir(labDir(lab))
	switch {
	case err == nil:
		o.dir = true
		for _, e := range ents {
			o.uts = append(o.uts, e.Name())
		}
	case !errors.Is(err, os.ErrNotExist):
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
	return o, nil
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
// died: it kills processes left in the lab's network namespaces, removes the namespaces' bind
// mounts and files, the UTS namespaces and the lab's directory. It reports what it removed, in
// the words of ListLabObjects, and is idempotent (nothing left means nothing reported). It does
// not close TAP files a live process still holds; their NICs vanish when those are closed.
func DestroyLab(lab string) ([]string, error) {
	if err := ValidateLab(lab); err != nil {
		return nil, err
	}
	o, err := scanLab(lab)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	var removed []string
	var errs []error
	killed, err := killNamespaceProcs(nsPaths(o.netns))
	removed = append(removed, killed...)
	if err != nil {
		errs = append(errs, err)
	}
	// Namespaces before markers: a namespace without its marker would be anyone's.
	for _, name := range o.netns {
		if err := removeBindMount(filepath.Join(NetnsDir, name)); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, "netns "+name)
	}
	for _, name := range o.uts {
		p := filepath.Join(labDir(lab), name)
		if err := removeBindMount(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, "uts "+p)
	}
	if o.dir {
		if err := os.Remove(labDir(lab)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		} else {
			removed = append(removed, "dir "+labDir(lab))
		}
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("lab %s: %w", lab, errors.Join(errs...))
	}
	return removed, nil
}

// ListLabObjects lists what a lab has on the machine, one object per string: "process <pid>
// (<command>) in <namespace>", "netns <name>", "uts <path>", "dir <path>". An empty list means
// DestroyLab left nothing behind.
func ListLabObjects(lab string) ([]string, error) {
	if err := ValidateLab(lab); err != nil {
		return nil, err
	}
	o, err := scanLab(lab)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	procs, err := namespaceProcs(nsPaths(o.netns))
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
	if o.dir {
		list = append(list, "dir "+labDir(lab))
	}
	return list, nil
}

// ListLabs names every lab that has something on the machine: a directory under UTSDir or a
// network namespace "ec2sim-...". DestroyLab of each name removes all of it.
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
// instance ends its processes, and reports them. It rescans because a process may fork between
// a scan and its kill; a process already killed but not yet gone is not killed twice.
func killNamespaceProcs(paths map[string]string) ([]string, error) {
	var killed []string
	seen := map[int]string{} // pid -> start time
	for round := 0; round < 5; round++ {
		procs, err := namespaceProcs(paths)
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
