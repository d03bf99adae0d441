package hypervisor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// build makes the instance's objects. It runs on a locked thread that it moves into the new
// namespaces and that must die afterwards (CreateInstance sees to that). Each step records what
// it made in i.made before the next one, so Destroy can undo a partial build.
func (i *Instance) build(spec *InstanceSpec) error {
	// The UTS file first: it is the marker that ties the network namespace to its lab (see the
	// package comment), so it must exist whenever the namespace does.
	if err := os.MkdirAll(labDir(spec.Lab), 0o755); err != nil {
		return err
	}
	err := createExcl(i.UTSPath)
	if errors.Is(err, os.ErrNotExist) {
		// Another instance of the lab was destroyed in between and removed the emptied directory.
		if err = os.MkdirAll(labDir(spec.Lab), 0o755); err == nil {
			err = createExcl(i.UTSPath)
		}
	}
	if err != nil {
		return err
	}
	i.made.utsFile = true
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		return err
	}
	// Creating the file before unsharing makes a clash ("a"+"b-c" vs "a-b"+"c") fail before
	// anything of the other instance could be touched.
	if err := createExcl(i.NSPath); err != nil {
		return err
	}
	i.made.nsFile = true
	// The markers make the name this instance's, so a cgroup directory of that name can only be
	// a crash's leftover.
	if i.cg != nil {
		if err := i.cg.create(spec.Lab, spec.Name, spec.Type); err != nil {
			return err
		}
		i.made.cgroup = true
	}

	if err := unix.Unshare(unix.CLONE_NEWNET | unix.CLONE_NEWUTS); err != nil {
		return fmt.Errorf("unshare network and UTS namespaces: %w", err)
	}
	self := fmt.Sprintf("/proc/self/task/%d/ns/", unix.Gettid())
	if err := unix.Mount(self+"net", i.NSPath, "none", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mount network namespace on %s: %w", i.NSPath, err)
	}
	i.made.nsMount = true
	if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
		return fmt.Errorf("set host name %q: %w", spec.Hostname, err)
	}
	if err := unix.Mount(self+"uts", i.UTSPath, "none", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mount UTS namespace on %s: %w", i.UTSPath, err)
	}
	i.made.utsMount = true
	if err := i.configureNetwork(spec); err != nil {
		return err
	}
	return i.startInit()
}

// startInit starts the instance's init from the build thread, which is in the instance's
// network and UTS namespaces and now joins its cgroups, waits for its report and records it.
//
// On cgroup v1 the init stays out of the instance's memory cgroup: it is the hypervisor's part
// of the instance, and its memory (1-2 MiB, much more in a binary built with -race) is not
// the guest's, as a VMM's is not. In the cgroup, the OOM killer could choose it when the guest
// runs out of memory, which would end the whole instance, and only a root with
// CAP_SYS_RESOURCE can exempt it with oom_score_adj. Its CPU time, tasks and devices are the
// instance's. On v2 it is in the one cgroup, and its oom_score_adj is the only protection.
func (i *Instance) startInit() error {
	cgroupFD, version := -1, 0
	if i.cg != nil {
		version = i.cg.version
		if version == 1 {
			if err := i.cg.joinThread(i.Lab, i.Name, false); err != nil {
				return err
			}
		} else {
			fd, err := i.cg.cloneInto(i.Lab, i.Name)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			cgroupFD = fd
		}
	}
	cmd, status, err := startInit(i.Lab, i.Name, cgroupFD)
	if err != nil {
		return err
	}
	i.init, i.initDone, i.InitPID = cmd, make(chan struct{}), cmd.Process.Pid
	go func() {
		_ = cmd.Wait()
		close(i.initDone)
	}()
	if err := waitInit(status); err != nil {
		return err
	}
	start, err := processStart(cmd.Process.Pid)
	if err != nil {
		return fmt.Errorf("init process: %w", err)
	}
	i.initStart = start
	if err := writeInitState(i.Lab, i.Name, initState{PID: cmd.Process.Pid, Start: start, Cgroup: version}); err != nil {
		return fmt.Errorf("record the init process: %w", err)
	}
	i.made.initFile = true
	return nil
}

// instanceSysctls are written inside every instance before its NICs exist, so that the
// "default" values apply to them. Paths are relative to /proc/sys; /proc/sys/net resolves to
// the network namespace of the calling thread.
func instanceSysctls() []sysctl {
	return []sysctl{
		// The data plane does not forward IPv6 yet; without this every NIC would send router and
		// neighbour solicitations and MLD reports the engine can only drop. Writing "all" also
		// disables it on lo, which gets it back below so that ::1 works as on any Linux host.
		{"net/ipv6/conf/all/disable_ipv6", "1"},
		{"net/ipv6/conf/default/disable_ipv6", "1"},
		{"net/ipv6/conf/lo/disable_ipv6", "0"},
		// A new namespace inherits the host's IPv4 settings, so set what instances depend on.
		// Loose reverse-path filtering: an appliance instance (NAT, firewall) with source/dest check
		// off receives packets on one ENI whose source it routes via another; strict mode (1) would
		// drop them. Loose still drops sources it has no route for at all.
		{"net/ipv4/conf/all/rp_filter", "2"},
		{"net/ipv4/conf/default/rp_filter", "2"},
		// A fresh EC2 instance does not forward; an appliance's user data turns this on.
		{"net/ipv4/ip_forward", "0"},
		// With several ENIs, answer ARP only on the interface that owns the address and use the
		// outgoing interface's own address as ARP sender, so the VPC never sees one ENI claim
		// another's address (the usual settings for a host with several NICs on one network).
		{"net/ipv4/conf/all/arp_ignore", "1"},
		{"net/ipv4/conf/default/arp_ignore", "1"},
		{"net/ipv4/conf/all/arp_announce", "2"},
		{"net/ipv4/conf/default/arp_announce", "2"},
	}
}

type sysctl struct{ path, value string }

// configureNetwork runs on the locked thread inside the new network namespace.
func (i *Instance) configureNetwork(spec *InstanceSpec) error {
	for _, s := range instanceSysctls() {
		p := filepath.Join("/proc/sys", s.path)
		if err := os.WriteFile(p, []byte(s.value), 0o644); err != nil {
			if errors.Is(err, os.ErrNotExist) && strings.HasPrefix(s.path, "net/ipv6/") {
				continue // a kernel without IPv6 has nothing to disable
			}
			return fmt.Errorf("set %s=%s: %w", p, s.value, err)
		}
	}
	ns, err := netns.GetFromPath(i.NSPath)
	if err != nil {
		return fmt.Errorf("open %s: %w", i.NSPath, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", i.NSPath, err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	for k := range spec.ENIs {
		e := &spec.ENIs[k]
		// The TAP is created here, in the instance's namespace: /dev/net/tun binds a TAP to the
		// network namespace of the thread that opens it, and the fd keeps working from any
		// thread or namespace afterwards.
		f, offloads, err := openTAP(e.Name)
		if err != nil {
			return err
		}
		i.TAPs = append(i.TAPs, f)
		i.Offloads = offloads
		if err := configureENI(h, e); err != nil {
			return fmt.Errorf("ENI %s: %w", e.Name, err)
		}
	}
	return nil
}

func configureENI(h *netlink.Handle, e *ENISpec) error {
	link, err := h.LinkByName(e.Name)
	if err != nil {
		return fmt.Errorf("find the TAP: %w", err)
	}
	if err := h.LinkSetHardwareAddr(link, net.HardwareAddr(e.MAC[:])); err != nil {
		return fmt.Errorf("set MAC %s: %w", macString(e.MAC), err)
	}
	mtu := e.MTU
	if mtu == 0 {
		mtu = DefaultMTU
	}
	if err := h.LinkSetMTU(link, mtu); err != nil {
		return fmt.Errorf("set MTU %d: %w", mtu, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: e.Addr.Addr().AsSlice(), Mask: net.CIDRMask(e.Addr.Bits(), 32)}}
	if err := h.AddrAdd(link, addr); err != nil {
		return fmt.Errorf("add address %s: %w", e.Addr, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	if e.Default {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: e.Gateway.AsSlice()}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("add default route via %s: %w", e.Gateway, err)
		}
	}
	return nil
}

// openTAP creates a TAP named name in the calling thread's network namespace with the
// virtio-net header and offloads. TSO needs both IFF_VNET_HDR and TUNSETOFFLOAD: with only the
// first, the kernel segments and checksums before the frame reaches the TAP.
func openTAP(name string) (*os.File, uint32, error) {
	// O_CLOEXEC keeps the fd out of user data and other children, which would otherwise keep a
	// NIC alive after the engine closed it. The fd is opened blocking, so that os.NewFile does not
	// put it in the Go runtime's netpoller, and made non-blocking after: the engine reads it on a
	// thread of its own with poll(2) (fabric/fastread.go), and a TAP in the netpoller's epoll set
	// (edge-triggered, read and write) woke a runtime thread out of epoll_wait for every frame
	// queued on it, only for that thread to find nobody waiting: a second thread wake-up per
	// frame, on a VM where wake-ups are most of the engine's cost.
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	fail := func(what string, err error) (*os.File, uint32, error) {
		unix.Close(fd)
		return nil, 0, fmt.Errorf("TAP %s: %s: %w", name, what, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return fail("interface name", err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return fail("TUNSETIFF", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, VNetHdrLen); err != nil {
		return fail("TUNSETVNETHDRSZ", err)
	}
	offloads := uint32(OffloadCSUM | OffloadTSO4 | OffloadTSO6 | OffloadUSO4 | OffloadUSO6)
	if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, int(offloads)); err != nil {
		if !errors.Is(err, unix.EINVAL) {
			return fail("TUNSETOFFLOAD", err)
		}
		// Kernels before 6.2 reject the UDP segmentation flags.
		offloads = OffloadCSUM | OffloadTSO4 | OffloadTSO6
		if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, int(offloads)); err != nil {
			return fail("TUNSETOFFLOAD", err)
		}
	}
	f := os.NewFile(uintptr(fd), "tap:"+name)
	if err := unix.SetNonblock(fd, true); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("TAP %s: O_NONBLOCK: %w", name, err)
	}
	return f, offloads, nil
}

// createExcl creates an empty file to bind-mount on, failing if it exists.
func createExcl(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists: the instance exists, or another lab/instance pair makes the same namespace name", path)
		}
		return err
	}
	return f.Close()
}

// removeBindMount detaches whatever is mounted on path and removes the file; a path that is
// not mounted or does not exist is fine (idempotent cleanup, and files left by a crash between
// create and mount). Removing the file matters beyond tidiness: it also detaches the copies of
// the mount that mount namespaces made since (an `ec2sim exec` shell, `ip netns exec`), which
// would otherwise keep the namespace alive (Linux 3.18 and later; checked on 6.18).
func removeBindMount(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

func labDir(lab string) string { return filepath.Join(UTSDir, lab) }

// removeIfEmpty removes an emptied lab directory; a non-empty one still has instances.
func removeIfEmpty(dir string) { _ = os.Remove(dir) }
