package hypervisor

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"time"
)

// DefaultMTU is the MTU of an EC2 ENI inside a VPC (jumbo frames).
const DefaultMTU = 9001

// UserDataTimeout bounds how long CreateInstance waits for an instance's user data script.
const UserDataTimeout = 30 * time.Second

// ENISpec describes one network interface of an instance.
type ENISpec struct {
	Name string  // the interface name inside the instance: "eth0", "eth1", ...
	MAC  [6]byte // the ENI's MAC; unicast and not zero
	// Addr is the primary private IPv4 address with the subnet's prefix length, e.g. 10.0.1.23/24,
	// so that the subnet is on-link as on EC2.
	Addr netip.Prefix
	// Gateway is the subnet's router (the .1 address); used only when Default is set.
	Gateway netip.Addr
	MTU     int // 0 means DefaultMTU
	// Default makes this ENI carry the instance's default route via Gateway. At most one ENI of
	// an instance may set it (EC2 instances route through the primary ENI, eth0); with none set
	// the instance has no default route.
	Default bool
}

// InstanceSpec describes an instance's namespaces and network.
type InstanceSpec struct {
	Lab, Name string
	// Hostname is set in the instance's UTS namespace; empty means the AWS form of the first
	// ENI's address ("ip-10-0-1-23").
	Hostname string
	ENIs     []ENISpec
	// UserData, when set, is run by /bin/sh -c inside the instance once its network is
	// configured, with a UserDataTimeout limit; a failure fails CreateInstance. Nothing reads the
	// TAPs yet at that point, so a script that needs the network must instead be run with
	// RunUserData after the engine has taken the TAPs.
	UserData string
	// Type, when set, puts every process of the instance into cgroups with the type's memory,
	// CPU and task limits and a device list that allows the instance's own devices only; nil
	// means no cgroups and no limits. Either way the instance has its own PID and mount
	// namespaces.
	Type *InstanceType
}

// Offload flags for TUNSETOFFLOAD (linux/if_tun.h); x/sys/unix does not define them.
const (
	OffloadCSUM = 0x01 // TUN_F_CSUM: frames may carry a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM)
	OffloadTSO4 = 0x02 // TUN_F_TSO4
	OffloadTSO6 = 0x04 // TUN_F_TSO6
	OffloadUSO4 = 0x20 // TUN_F_USO4, Linux 6.2 and later
	OffloadUSO6 = 0x40 // TUN_F_USO6, Linux 6.2 and later
)

// VNetHdrLen is the size of the struct virtio_net_hdr that precedes every frame read from or
// written to a TAP (no num_buffers field).
const VNetHdrLen = 10

// Instance is a running instance's namespaces and NICs.
type Instance struct {
	Lab, Name string
	NSPath    string // network namespace bind mount (see NSPath)
	UTSPath   string // UTS namespace bind mount (see UTSPath)
	// TAPs holds one non-blocking TAP file per ENI, in the order of InstanceSpec.ENIs. Each
	// frame read or written starts with a VNetHdrLen-byte virtio-net header. The TAPs are not
	// persistent: a NIC disappears when its file is closed, so an engine that dies takes the
	// instance's NICs with it. Whoever takes the files owns them; Destroy closes them too.
	TAPs []*os.File
	// Offloads is the TUNSETOFFLOAD set the kernel accepted (Offload* flags), the same for
	// every TAP; frames read may be GSO super-frames of these kinds.
	Offloads uint32
	// Type is the instance's type (a copy of InstanceSpec.Type), nil without one.
	Type *InstanceType
	// InitPID is the host pid of the instance's init process, PID 1 of its PID namespace.
	InitPID int

	mu   sync.Mutex
	made made // what this process made and has not removed yet
	// init is the instance's init process; a goroutine waits for it and closes initDone.
	init      *exec.Cmd
	initDone  chan struct{}
	initStart uint64    // the init's start time, to tell it from a later process with its pid
	cg        *cgroupFS // the instance's cgroups; nil without a type
}

// made records which objects CreateInstance made, so that cleanup after a failure removes
// those and never another instance's (a name collision fails before anything is made).
type made struct {
	utsFile, utsMount, nsFile, nsMount bool
	cgroup, initFile                   bool
}

func (s *InstanceSpec) validate() error {
	if err := ValidateNames(s.Lab, s.Name); err != nil {
		return err
	}
	if s.Hostname != "" {
		if err := ValidateHostname(s.Hostname); err != nil {
			return fmt.Errorf("instance %q: %w", s.Name, err)
		}
	}
	if s.Type != nil {
		if err := s.Type.Validate(); err != nil {
			return fmt.Errorf("instance %q: %w", s.Name, err)
		}
	}
	if len(s.ENIs) == 0 {
		return fmt.Errorf("instance %q has no ENI; an instance needs at least its primary ENI", s.Name)
	}
	names := map[string]bool{}
	macs := map[[6]byte]bool{}
	addrs := map[netip.Addr]bool{}
	defaults := 0
	for k := range s.ENIs {
		e := &s.ENIs[k]
		if err := e.validate(); err != nil {
			return fmt.Errorf("instance %q: ENI %d: %w", s.Name, k, err)
		}
		if names[e.Name] {
			return fmt.Errorf("instance %q: two ENIs are named %q", s.Name, e.Name)
		}
		if macs[e.MAC] {
			return fmt.Errorf("instance %q: two ENIs have MAC %s", s.Name, macString(e.MAC))
		}
		if addrs[e.Addr.Addr()] {
			return fmt.Errorf("instance %q: two ENIs have address %s", s.Name, e.Addr.Addr())
		}
		names[e.Name], macs[e.MAC], addrs[e.Addr.Addr()] = true, true, true
		if e.Default {
			defaults++
		}
	}
	if defaults > 1 {
		return fmt.Errorf("instance %q: %d ENIs carry the default route; at most one may", s.Name, defaults)
	}
	return nil
}

func (e *ENISpec) validate() error {
	if err := validIfName(e.Name); err != nil {
		return err
	}
	if e.MAC == ([6]byte{}) || e.MAC[0]&1 != 0 {
		return fmt.Errorf("%s: MAC %s is not a unicast address", e.Name, macString(e.MAC))
	}
	if !e.Addr.IsValid() || !e.Addr.Addr().Is4() || e.Addr.Bits() == 0 {
		return fmt.Errorf("%s: address %s is not an IPv4 address with a prefix length of 1-32 like 10.0.1.23/24 (IPv6 is not forwarded yet)", e.Name, e.Addr)
	}
	if e.MTU != 0 && (e.MTU < 68 || e.MTU > 65535) {
		return fmt.Errorf("%s: MTU %d is outside 68-65535", e.Name, e.MTU)
	}
	if e.Default {
		gw := e.Gateway
		if !gw.Is4() || !e.Addr.Masked().Contains(gw) || gw == e.Addr.Addr() {
			return fmt.Errorf("%s: gateway %s must be another IPv4 address inside %s", e.Name, gw, e.Addr.Masked())
		}
	}
	return nil
}

func macString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// CreateInstance makes an instance's namespaces, NICs, init process and, with a type, cgroups,
// and, if the spec has user data, runs it. On any error it removes what it made and returns an
// error naming the instance. An instance whose namespace already exists is an error, not a
// reuse.
func CreateInstance(spec InstanceSpec) (*Instance, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if spec.Hostname == "" {
		spec.Hostname = AWSHostname(spec.ENIs[0].Addr.Addr())
	}
	inst := &Instance{Lab: spec.Lab, Name: spec.Name, NSPath: NSPath(spec.Lab, spec.Name), UTSPath: UTSPath(spec.Lab, spec.Name)}
	if spec.Type != nil {
		t := *spec.Type
		inst.Type = &t
		cg, err := detectCgroups(CgroupRoot)
		if err != nil {
			return nil, fmt.Errorf("instance %s of lab %s: type %s: %w", spec.Name, spec.Lab, t.Name, err)
		}
		inst.cg = cg
	}
	// The thread unshares into the instance's namespaces and joins its cgroups, and ends
	// afterwards instead of going back to the scheduler.
	if err := onFreshThread(func() error { return inst.build(&spec) }); err != nil {
		return nil, errors.Join(fmt.Errorf("instance %s of lab %s: %w", spec.Name, spec.Lab, err), inst.Destroy())
	}
	if spec.UserData != "" {
		ctx, cancel := context.WithTimeout(context.Background(), UserDataTimeout)
		defer cancel()
		if _, err := RunUserData(ctx, spec.Lab, spec.Name, spec.UserData); err != nil {
			return nil, errors.Join(err, inst.Destroy())
		}
	}
	return inst, nil
}

// Destroy terminates the instance: it closes the TAPs (their NICs vanish), kills the init
// process (which ends every process of the PID namespace) and processes still running in the
// network namespace (they would keep it alive unseen), and removes the cgroups, the
// namespaces' bind mounts and the files. It is idempotent and safe after a partial
// CreateInstance. To destroy many instances, DestroyAll is much faster.
func (i *Instance) Destroy() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.killInitLocked()
	errs := closeFiles(i.TAPs)
	if i.made.nsMount {
		if _, err := killNamespaceProcs(map[string]string{i.NSPath: NSName(i.Lab, i.Name)}); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, i.removeLocked()...)
	if len(errs) > 0 {
		return fmt.Errorf("destroy instance %s of lab %s: %w", i.Name, i.Lab, errors.Join(errs...))
	}
	return nil
}

// killInitLocked kills the init, and with it the PID namespace. The goroutine started with it
// reaps it; waiting here could deadlock, as the init does not exit before every process of its
// namespace has been reaped, some perhaps by the caller after Destroy returns.
func (i *Instance) killInitLocked() {
	if i.init != nil {
		_ = i.init.Process.Kill() // fails only when it has already been reaped
	}
}

// removeLocked removes the cgroups, bind mounts and files the instance made: the cgroups once
// their tasks have left, the network namespace and the init record before the UTS marker.
func (i *Instance) removeLocked() []error {
	var errs []error
	if i.made.cgroup {
		if err := i.cg.remove(i.Lab, i.Name); err != nil {
			errs = append(errs, err)
		} else {
			i.made.cgroup = false
		}
	}
	if i.made.nsFile || i.made.nsMount {
		if err := removeBindMount(i.NSPath); err != nil {
			errs = append(errs, err)
		} else {
			i.made.nsFile, i.made.nsMount = false, false
		}
	}
	if i.made.initFile {
		if err := os.Remove(InitPath(i.Lab, i.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		} else {
			i.made.initFile = false
			_ = os.Remove(initLabDir(i.Lab)) // fails while other instances of the lab have records
		}
	}
	if i.made.utsFile || i.made.utsMount {
		if err := removeBindMount(i.UTSPath); err != nil {
			errs = append(errs, err)
		} else {
			i.made.utsFile, i.made.utsMount = false, false
			removeIfEmpty(labDir(i.Lab))
		}
	}
	return errs
}

// DestroyAll destroys instances as Destroy does, but closes all their TAPs at once and looks
// for processes inside them in one pass: closing a TAP unregisters its device, which waits for
// RCU grace periods (about 25 ms each here), and concurrent closes share those waits.
func DestroyAll(insts []*Instance) error {
	var files []*os.File
	paths := map[string]string{}
	seen := map[*Instance]bool{}
	for _, i := range insts {
		if seen[i] {
			continue // locking it twice would deadlock
		}
		seen[i] = true
		i.mu.Lock()
		defer i.mu.Unlock()
		i.killInitLocked()
		files = append(files, i.TAPs...)
		if i.made.nsMount {
			paths[i.NSPath] = NSName(i.Lab, i.Name)
		}
	}
	errs := closeFiles(files)
	if _, err := killNamespaceProcs(paths); err != nil {
		errs = append(errs, err)
	}
	for i := range seen {
		if e := i.removeLocked(); len(e) > 0 {
			errs = append(errs, fmt.Errorf("destroy instance %s of lab %s: %w", i.Name, i.Lab, errors.Join(e...)))
		}
	}
	return errors.Join(errs...)
}

// maxParallelClose bounds the threads blocked in close(2) at once.
const maxParallelClose = 64

// closeFiles closes files concurrently (see DestroyAll for why); already closed ones are fine.
func closeFiles(files []*os.File) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, maxParallelClose)
	for _, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("close %s: %w", f.Name(), err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}
