// Package hypervisor builds the Linux side of an EC2 instance on this machine: network, UTS,
// PID and mount namespaces per instance, one TAP device per ENI created inside the instance's
// network namespace with the virtio-net header and checksum/segmentation offloads on, an init
// process, and, when the instance has a type, cgroups that hold every process of the instance
// to the type's memory, CPU and task limits and to its own devices. The caller (the fabric
// engine) takes the TAP file descriptors and is from then on the only thing that feeds or
// drains the instance's NICs, as the Nitro card is on EC2.
//
// # Objects on the machine
//
// Every object an instance leaves on the machine carries its lab's name, so that DestroyLab can
// remove all of them after the process that made them died:
//
//	/run/netns/ec2sim-<lab>-<instance>      bind mount of the network namespace (ip netns sees it)
//	/run/ec2sim/uts/<lab>/<instance>        bind mount of the UTS namespace (the host name)
//	/run/ec2sim/uts/<lab>/                  the lab's directory of instances
//	/run/ec2sim/init/<lab>/<instance>       record of the init process: pid, start time, cgroup version
//	/sys/fs/cgroup/<ctrl>/ec2sim/<lab>/<instance>  cgroups (v1: memory, cpu, pids, devices), typed only
//	process "ec2sim-init <lab> <instance>"  the init, PID 1 of the instance, in its network namespace
//
// `ip netns exec ec2sim-<lab>-<instance> CMD` works, but enters only the network namespace;
// Command, Exec and RunUserData (and `ec2sim exec`) enter all of the instance: `hostname`
// answers as the instance, `ps` shows only its processes, /dev holds only its devices, and the
// process is in its cgroups from its first instruction.
//
// The UTS file is created before the network namespace and removed after it, so an instance's
// namespace always has a marker that names its lab. That matters because names may contain
// hyphens: "ec2sim-a-b-c" is lab "a" instance "b-c" or lab "a-b" instance "c", and only the
// marker tells which; DestroyLab("a") must never remove lab "a-b"'s instances.
//
// # The init process and the PID and mount namespaces
//
// A PID namespace lives as long as its first process, so each instance has one: the running
// binary started again (/proc/self/exe) as package internal/initproc, which package hypervisor
// links into every program that uses it. It is created with CLONE_NEWPID|CLONE_NEWNS from the
// thread that built the instance, so it is in the instance's network and UTS namespaces and
// cgroups. In its mount namespace (a copy of the host's, made a slave so nothing propagates
// back) it detaches the host's /proc, /sys and /dev — detaches, not covers, so root inside
// cannot unmount its way to the host's — and mounts a /proc of the instance's PID namespace,
// a read-only sysfs of its network namespace, and a tmpfs /dev with null, zero, full, random,
// urandom, tty, a devpts of its own (ptmx, pts/), shm and the fd links. Then it reaps orphans,
// ignores the signals a process inside may send it, and reports ready on a pipe. Destroy and
// DestroyLab kill it with SIGKILL, and the kernel then kills every process of the namespace.
// Costs measured here: the init takes about 1.5 MiB, bring-up of 50 instances went from about
// 0.1 s to 0.3-0.6 s (0.35-0.7 s with types) on a loaded two-core machine, and Command is
// unchanged at about 1 ms.
//
// A process is started inside by forking it from a fresh thread that has entered the instance:
// it joins the cgroups (v1 places threads; on v2 clone3's CLONE_INTO_CGROUP starts the process
// inside instead), unshares its file-system context, enters the init's mount and PID
// namespaces through a pidfd checked against the recorded start time, and the network and UTS
// namespaces through their bind mounts. The thread ends afterwards, so no goroutine ever runs
// in an instance; the main thread is never used, as the runtime cannot end it and in v1 its
// memory cgroup is the one the whole process is charged to. RunIn still enters only the
// network namespace, for sockets.
//
// # Instance types and cgroups
//
// Types (LookupType, CustomType) are the EC2 ones with memory divided by MemoryScale (16) so
// that a 20-instance lab fits a 24 GiB machine; vCPUs are real and give the CFS quota. On cgroup
// v1 an instance gets memory.limit_in_bytes and memsw equal to it (no swap), cfs_quota_us of
// VCPUs periods, pids.max, and a device list that denies everything but its /dev's character
// devices and the disks attached with AttachDisk: a guest, even as root, gets EPERM opening
// (or making a node for) another instance's disk or the pool's loop devices. The init is in
// all of them but memory (see startInit in build.go for why). On cgroup v2 only memory, CPU and
// task limits are set; device control there needs eBPF and is not done, so disks are not
// isolated on v2. Without a type there are no cgroups at all.
//
// # Limits of the isolation
//
// The init also detaches, from its copy of the host's mounts, file systems on loop devices
// (a pool volume the host has mounted would otherwise stay busy for the instance's life after
// the host unmounts it, as the host's mounts are often private), and covers /run/netns and
// /run/ec2sim with an empty read-only tmpfs (other instances' namespace files, which the guest
// could enter through, and ec2sim's state).
//
// A guest is still real root on the host's kernel with the host's root file system (only
// /proc, /sys and /dev are its own), no user namespace and all capabilities: it can read the
// pools' files elsewhere, unmount the covers, or mount a cgroup file system and move itself
// out of its cgroups. The isolation keeps honest processes — a lab's servers,
// a student's commands, a runaway allocation or fork bomb — inside their instance; it is not a
// security boundary against a hostile guest. That would need a root file system per instance
// (pivot_root) and a user namespace, which this package does not do yet.
//
// Inside an instance (see configureNetwork for why each is set): IPv6 is off except on lo (the
// data plane does not forward IPv6 yet), reverse-path filtering is loose so that asymmetric
// routing through appliance instances works, ip_forward is off as on a fresh EC2 instance, and
// ARP uses the outgoing interface's own address (arp_announce=2) and answers only for addresses
// of the interface asked (arp_ignore=1), as is usual with several ENIs.
package hypervisor
