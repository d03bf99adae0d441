package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/pool"
	"github.com/ec2sim/ec2sim/scenarios"
)

// Instance lifecycle as EC2 has it:
//
//	pending -> running -> stopping -> stopped -> (start) pending -> running
//	running | stopped -> shutting-down -> terminated;  reboot keeps running
//
// A running instance has its namespaces and processes, a memory grant of its type's size that
// it sees as /dev/ec2mem0, its root EBS volume as /dev/xvda and its other volumes. Stopping
// ends its processes, takes its ENIs out of the fabric (the engine drops traffic to them),
// scrubs and frees its memory and instance store, and detaches its EBS volumes, which keep their
// data. Starting gives it memory (the most recently freed frames first) and an empty instance
// store again; its private IPs and MACs stay, an auto-assigned public IP changes, an Elastic IP
// stays. Terminating also deletes (scrubs and frees) its delete-on-termination volumes.

// Instance states, as DescribeInstances names them.
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateStopping     = "stopping"
	StateStopped      = "stopped"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
)

// ErrIncorrectState is wrapped by a lifecycle operation asked of an instance in a state that
// does not allow it (AWS's IncorrectInstanceState); nothing was changed.
var ErrIncorrectState = errors.New("IncorrectInstanceState")

// hyper is a lab's hypervisor: its pool and the lifecycle of every instance.
type hyper struct {
	mu       sync.Mutex // serialises lifecycle operations
	pool     *pool.Pool
	unsafe   bool
	machines map[string]*machine
	public   *publicPool // auto-assigned public IPs for instances that start again
	// noLimits says why instance types cannot be enforced with cgroups on this machine; the
	// instances then run without limits (and status says so) rather than not at all.
	noLimits error
}

// machine is one instance's lifecycle state and resources.
type machine struct {
	plan  *InstancePlan
	typ   *hypervisor.InstanceType
	state string
	mem   *pool.MemoryGrant
	disks []*disk
	// auto[k] says ENI k's public IP is auto-assigned, so it changes across stop and start.
	auto []bool
	// launched is set once the instance has run; user data runs at the first launch only.
	launched bool
}

// disk is one volume of an instance.
type disk struct {
	device string // xvda, xvdb, nvme1n1
	kind   pool.VolumeKind
	size   int64
	delete bool         // delete on termination
	vol    *pool.Volume // nil while it has no blocks (an instance store of a stopped instance)
}

func (ip *InstancePlan) typeName() string {
	if ip.Type == "" {
		return hypervisor.DefaultTypeName
	}
	return ip.Type
}

// typeAllowance is the per-ENI conntrack allowance of an instance: the scenario's setting when
// it gives one, else its type's.
func typeAllowance(in *scenarios.Instance, setting int) int {
	if setting != 0 {
		return setting
	}
	name := in.Type
	if name == "" {
		name = hypervisor.DefaultTypeName
	}
	if t, err := hypervisor.LookupType(name); err == nil {
		return t.ConntrackAllowance
	}
	return 0
}

// newHyper opens the lab's pool and records every instance's type, volumes and initial state.
func newHyper(p *Plan) (*hyper, error) {
	h := &hyper{unsafe: !p.Scenario.Hypervisor.Scrub, machines: map[string]*machine{}, public: newPublicPool(p.Scenario)}
	if _, err := hypervisor.CgroupSupport(); err != nil {
		h.noLimits = err
	}
	for _, e := range p.State.ENIs {
		if e.PublicIP.IsValid() {
			h.public.used[e.PublicIP] = true
		}
	}
	for _, ip := range p.Instances {
		t, err := hypervisor.LookupType(ip.typeName())
		if err != nil {
			return nil, fmt.Errorf("instance %s: %w", ip.Name, err)
		}
		in := p.Scenario.Instance(ip.Name)
		m := &machine{plan: ip, typ: t, state: StateStopped}
		m.disks = append(m.disks, &disk{device: "xvda", kind: pool.EBS, size: scenarios.DefaultRootVolume, delete: true})
		for _, v := range in.Volumes {
			kind := pool.EBS
			if v.Kind == scenarios.VolumeInstanceStore {
				kind = pool.InstanceStore
			}
			m.disks = append(m.disks, &disk{device: v.Device, kind: kind, size: v.Size, delete: v.DeleteOnTermination || kind == pool.InstanceStore})
		}
		if dev, size := typeStore(t, in); size > 0 {
			m.disks = append(m.disks, &disk{device: dev, kind: pool.InstanceStore, size: size, delete: true})
		}
		for k, e := range in.ENIs {
			m.auto = append(m.auto, p.Scenario.HasPublicAddress(in, k) && !e.ElasticIP.IsValid())
		}
		h.machines[ip.Name] = m
	}
	pl, err := openPool(p)
	if err != nil {
		return nil, err
	}
	h.pool = pl
	return h, nil
}

// typeStore is the instance store that comes with an instance's type (m5d.large's NVMe disk)
// when the scenario declares none: its device, the first free of nvme1n1, nvme2n1, ..., and
// size; size 0 when there is none.
func typeStore(t *hypervisor.InstanceType, in *scenarios.Instance) (string, int64) {
	if t.InstanceStoreGiB == 0 {
		return "", 0
	}
	taken := map[string]bool{}
	for _, v := range in.Volumes {
		if v.Kind == scenarios.VolumeInstanceStore {
			return "", 0
		}
		taken[v.Device] = true
	}
	for k := 1; ; k++ {
		if dev := fmt.Sprintf("nvme%dn1", k); !taken[dev] {
			return dev, int64(t.InstanceStoreGiB) << 30
		}
	}
}

// initiallyStopped says whether the scenario declares instance name stopped.
func initiallyStopped(sc *scenarios.Scenario, name string) bool {
	in := sc.Instance(name)
	return in != nil && in.State == scenarios.StateStopped
}

// machine finds an instance's lifecycle record.
func (l *Lab) machine(name string) (*machine, error) {
	if l.hv == nil {
		return nil, fmt.Errorf("lab %s has no hypervisor", l.Plan.Lab)
	}
	m := l.hv.machines[name]
	if m == nil {
		return nil, fmt.Errorf("no instance %q in lab %s (instances: %s)", name, l.Plan.Lab, strings.Join(l.instanceNames(), ", "))
	}
	return m, nil
}

// InstanceState is the state of instance name.
func (l *Lab) InstanceState(name string) (string, error) {
	m, err := l.machine(name)
	if err != nil {
		return "", err
	}
	l.hv.mu.Lock()
	defer l.hv.mu.Unlock()
	return m.state, nil
}

// act runs a lifecycle operation on instance name under the lifecycle lock, if the instance
// is in one of the states the operation allows; otherwise it changes nothing.
func (l *Lab) act(name, op, want string, allowed []string, fn func(m *machine) error) error {
	m, err := l.machine(name)
	if err != nil {
		return err
	}
	l.hv.mu.Lock()
	defer l.hv.mu.Unlock()
	if !slices.Contains(allowed, m.state) {
		return fmt.Errorf("%w: instance %s is %s; %s needs %s", ErrIncorrectState, m.plan.Name, m.state, op, want)
	}
	return fn(m)
}

// Start starts a stopped instance (StartInstances).
func (l *Lab) Start(name string) error {
	return l.act(name, "start", "a stopped instance", []string{StateStopped}, func(m *machine) error {
		first := !m.launched
		if err := l.launch(m); err != nil {
			return err
		}
		if first && m.plan.UserData != "" {
			// An instance declared stopped runs its user data at its first start, as at launch.
			return l.runUserData(context.Background(), m.plan)
		}
		return nil
	})
}

// Stop stops a running instance (StopInstances).
func (l *Lab) Stop(name string) error {
	return l.act(name, "stop", "a running instance", []string{StateRunning}, func(m *machine) error {
		m.state = StateStopping
		// Stopped even when a scrub fails: the instance's processes are gone, and the
		// frames or blocks that failed verification are quarantined by the pool.
		err := l.halt(m, false)
		m.state = StateStopped
		return err
	})
}

// Terminate terminates a running or stopped instance (TerminateInstances).
func (l *Lab) Terminate(name string) error {
	return l.act(name, "terminate", "a running or stopped instance", []string{StateRunning, StateStopped}, func(m *machine) error {
		running := m.state == StateRunning
		m.state = StateShuttingDown
		var err error
		if running {
			err = l.halt(m, true)
		} else {
			err = l.release(m, true)
		}
		m.state = StateTerminated // as for stop: a failed scrub is reported, its extent quarantined
		return err
	})
}

// Reboot restarts a running instance's processes (RebootInstances): its namespaces are made
// anew over the same memory, disks, addresses and ENIs; nothing is scrubbed.
func (l *Lab) Reboot(name string) error {
	return l.act(name, "reboot", "a running instance", []string{StateRunning}, func(m *machine) error {
		if err := l.unplug(m, false); err != nil {
			return err
		}
		if err := l.boot(m); err != nil {
			m.state = StateStopped
			return errors.Join(err, l.halt(m, false))
		}
		return nil
	})
}

// launch takes a stopped instance to running: memory, volumes, namespaces, ENIs. On failure
// it gives back what it took and the instance stays stopped.
func (l *Lab) launch(m *machine) error {
	m.state = StatePending
	name := m.plan.Name
	fail := func(err error) error {
		// halt undoes a boot that got half-way (namespaces, TAPs) before giving back memory
		// and volumes.
		err = errors.Join(fmt.Errorf("instance %s: %w", name, err), l.halt(m, false))
		m.state = StateStopped
		return err
	}
	if m.mem != nil {
		return fail(fmt.Errorf("still holds memory grant %s from before", m.mem))
	}
	g, err := l.hv.pool.AllocMemory(name, m.typ.MemoryBytes())
	if err != nil {
		return fail(err)
	}
	m.mem = g
	for _, d := range m.disks {
		switch {
		case d.vol == nil:
			v, err := l.hv.pool.AllocVolume(name, d.kind, d.size)
			if err != nil {
				return fail(fmt.Errorf("volume %s: %w", d.device, err))
			}
			d.vol = v
		case d.vol.Device() == "":
			if err := l.hv.pool.AttachVolume(d.vol); err != nil {
				return fail(fmt.Errorf("volume %s: %w", d.device, err))
			}
		}
	}
	if err := l.boot(m); err != nil {
		return fail(err)
	}
	return nil
}

// boot creates the instance's namespaces over its memory and disks and plugs its ENIs into
// the engine.
func (l *Lab) boot(m *machine) error {
	ip := m.plan
	st := l.Engine.State()
	spec := hypervisor.InstanceSpec{Lab: l.Plan.Lab, Name: ip.Name, Hostname: ip.Hostname, Type: m.typ}
	if l.hv.noLimits != nil {
		spec.Type = nil
	}
	for k, idx := range ip.ENIs {
		e := &st.ENIs[idx]
		sub := &st.Subnets[e.Subnet]
		spec.ENIs = append(spec.ENIs, hypervisor.ENISpec{
			Name: e.Name, MAC: e.Identity.MAC, Addr: netip.PrefixFrom(e.Identity.Addrs[0], sub.CIDR.Bits()), Gateway: sub.Router,
			MTU: hypervisor.DefaultMTU, Default: k == 0,
		})
	}
	inst, err := hypervisor.CreateInstance(spec)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.instances[ip.Name] = inst
	l.mu.Unlock()
	for k, r := range m.mem.Runs() {
		if err := inst.AttachMemory(r.Device, k); err != nil {
			return err
		}
	}
	for _, d := range m.disks {
		if err := inst.AttachDisk(d.vol.Device(), d.device); err != nil {
			return err
		}
	}
	if err := l.plug(m, inst); err != nil {
		return err
	}
	m.state = StateRunning
	return nil
}

// plug attaches the instance's TAPs to the engine and publishes its ENIs as present; an ENI
// whose auto-assigned public IP a stop took away gets a new one.
func (l *Lab) plug(m *machine, inst *hypervisor.Instance) error {
	for k, idx := range m.plan.ENIs {
		if err := l.Engine.Attach(idx, inst.TAPs[k]); err != nil {
			return err
		}
	}
	m.launched = true
	return l.changeENIs(func(st *fabric.State) error {
		for k, idx := range m.plan.ENIs {
			e := &st.ENIs[idx]
			e.Present = true
			if m.auto[k] && !e.PublicIP.IsValid() {
				a, err := l.hv.public.take()
				if err != nil {
					return fmt.Errorf("instance %s: %w", m.plan.Name, err)
				}
				e.PublicIP = a
			}
		}
		return nil
	})
}

// unplug takes the instance's ENIs out of the fabric (the engine drops traffic to them from the
// next packet on) and destroys its namespaces and processes. A stop (not a reboot) also gives
// back its auto-assigned public IPs, as EC2 does.
func (l *Lab) unplug(m *machine, stop bool) error {
	var errs []error
	errs = append(errs, l.changeENIs(func(st *fabric.State) error {
		for k, idx := range m.plan.ENIs {
			st.ENIs[idx].Present = false
			if stop && m.auto[k] {
				st.ENIs[idx].PublicIP = netip.Addr{}
			}
		}
		return nil
	}))
	for _, idx := range m.plan.ENIs {
		errs = append(errs, l.Engine.Detach(idx))
	}
	l.mu.Lock()
	inst := l.instances[m.plan.Name]
	delete(l.instances, m.plan.Name)
	l.mu.Unlock()
	if inst != nil {
		errs = append(errs, inst.Destroy())
	}
	return errors.Join(errs...)
}

// halt stops a running instance; with terminate, its delete-on-termination volumes go too.
// The memory and volumes are released even when unplugging reported an error: what is still in
// use fails with the pool's ErrBusy and stays with the instance rather than being reused.
func (l *Lab) halt(m *machine, terminate bool) error {
	var errs []error
	if err := l.unplug(m, true); err != nil {
		errs = append(errs, fmt.Errorf("instance %s: %w", m.plan.Name, err))
	}
	return errors.Join(append(errs, l.release(m, terminate))...)
}

// release frees the instance's memory and instance store (scrubbed) and detaches its EBS
// volumes; with terminate, delete-on-termination volumes are scrubbed and freed too.
func (l *Lab) release(m *machine, terminate bool) error {
	var errs []error
	if m.mem != nil {
		err := retryBusy(func() error { return l.hv.pool.FreeMemory(m.mem) })
		if err != nil {
			errs = append(errs, err)
		}
		// A grant still in use stays with the instance (terminate tries again); anything else,
		// a failed scrub included, is the pool's now.
		if !errors.Is(err, pool.ErrBusy) {
			m.mem = nil
		}
	}
	for _, d := range m.disks {
		if d.vol == nil {
			continue
		}
		switch {
		case d.kind == pool.InstanceStore || (terminate && d.delete):
			err := retryBusy(func() error { return l.hv.pool.ReleaseVolume(d.vol) })
			if err != nil {
				errs = append(errs, fmt.Errorf("volume %s: %w", d.device, err))
			}
			if !errors.Is(err, pool.ErrBusy) {
				d.vol = nil
			}
		case d.vol.Device() != "":
			if err := retryBusy(func() error { return l.hv.pool.DetachVolume(d.vol) }); err != nil {
				errs = append(errs, fmt.Errorf("volume %s: %w", d.device, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("instance %s: %w", m.plan.Name, err)
	}
	return nil
}

// changeENIs is changeState for changes to ENIs: the ENI list is copied too.
func (l *Lab) changeENIs(fn func(st *fabric.State) error) error {
	return l.changeState(func(st *fabric.State) error {
		st.ENIs = slices.Clone(st.ENIs)
		st.VPCs = slices.Clone(st.VPCs)
		return fn(st)
	})
}

// InstanceInfo is one instance's lifecycle state and resources, for status and the CLI.
type InstanceInfo struct {
	State   string   `json:"state"`
	Type    string   `json:"type"`
	Memory  string   `json:"memory,omitempty"`  // the grant, e.g. "mem-3 64 MiB frames [0,32)"
	Volumes []string `json:"volumes,omitempty"` // "xvda ebs vol-1 64 MiB ..."
}

// InstanceInfo describes instance name.
func (l *Lab) InstanceInfo(name string) (InstanceInfo, error) {
	m, err := l.machine(name)
	if err != nil {
		return InstanceInfo{}, err
	}
	l.hv.mu.Lock()
	defer l.hv.mu.Unlock()
	info := InstanceInfo{State: m.state, Type: m.typ.String()}
	if m.mem != nil {
		info.Memory = m.mem.String()
	}
	for _, d := range m.disks {
		s := fmt.Sprintf("%s %v", d.device, d.kind)
		if d.vol != nil {
			s += " " + d.vol.String()
		} else {
			s += " (no blocks: deleted, or an instance store of a stopped instance)"
		}
		info.Volumes = append(info.Volumes, s)
	}
	return info, nil
}

// instanceOp runs one lifecycle action by name.
func (l *Lab) instanceOp(action, name string) error {
	switch action {
	case "start":
		return l.Start(name)
	case "stop":
		return l.Stop(name)
	case "reboot":
		return l.Reboot(name)
	case "terminate":
		return l.Terminate(name)
	}
	return fmt.Errorf("instance action %q: want one of %s", action, strings.Join(scenarios.InstanceActions, ", "))
}

// InstanceOp runs "ACTION NAME" (the instance step's and `ec2sim instance`'s words) and
// returns the instance's new state.
func (l *Lab) InstanceOp(action, name string) (string, error) {
	t := time.Now()
	if err := l.instanceOp(action, name); err != nil {
		return "", err
	}
	st, err := l.InstanceState(name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s: %s (%v)", action, name, st, time.Since(t).Round(time.Millisecond)), nil
}

func init() {
	extraOps["instance"] = func(l *Lab, req Request) (any, error) {
		if req.Args["action"] == "describe" {
			return l.InstanceInfo(req.Target)
		}
		return l.InstanceOp(req.Args["action"], req.Target)
	}
	extraOps["audit"] = func(l *Lab, req Request) (any, error) { return l.Audit() }
}
