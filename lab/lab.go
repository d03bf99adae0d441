package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/pool"
)

// Lab is a running lab in this process: its instances' namespaces and the engine that carries
// their traffic.
type Lab struct {
	Plan   *Plan
	Engine *fabric.Engine
	// Clock drives the engine's timers and the flow logs' windows at the scenario's clock
	// speed; Up sets it. A Lab made by hand (tests) without one runs on real time.
	Clock *Clock

	mu        sync.Mutex // guards instances and the publishing of new snapshots
	instances map[string]*hypervisor.Instance
	hv        *hyper // the pool and every instance's lifecycle (lifecycle.go)

	done     chan struct{} // closed by Down: streams (captures, follows) end
	downOnce sync.Once

	// FlowLogDir is where flow logs created without a path write; "" means the lab's run
	// directory (a background lab) — in-process labs (tests, the runner) set a directory.
	FlowLogDir string
	flowOnce   sync.Once
	flows      *flowLogs
	obs        observers
}

// Done is closed when the lab goes down.
func (l *Lab) Done() <-chan struct{} { return l.done }

// parallelBringUp bounds how many instances are created at once; namespace creation is mostly
// kernel work serialised on a few locks, so more than a handful of workers only adds contention.
const parallelBringUp = 4

// userDataTimeout bounds each instance's user data script.
const userDataTimeout = 60 * time.Second

// Up creates every instance of the plan and starts the engine over their ENIs. It returns when the
// lab is running. If anything fails half-way, it removes what it made and returns the error.
func Up(ctx context.Context, p *Plan) (_ *Lab, err error) {
	l := &Lab{Plan: p, Engine: fabric.NewEngine(p.State), instances: map[string]*hypervisor.Instance{}, done: make(chan struct{})}
	speed := float64(1)
	if p.Scenario != nil {
		speed = p.Scenario.Clock.Speed
	}
	// The clock starts before any instance exists, so every conntrack timestamp and flow-log
	// window is on it.
	l.Clock = NewClock(speed)
	l.Engine.SetClock(l.Clock.Mono)
	defer func() {
		if err != nil {
			if derr := l.Down(); derr != nil {
				err = fmt.Errorf("%w (and cleaning up after it: %v)", err, derr)
			}
		}
	}()
	if l.hv, err = newHyper(p); err != nil {
		return nil, err
	}
	sem := make(chan struct{}, parallelBringUp)
	var wg sync.WaitGroup
	var emu sync.Mutex
	var errs []error
	for _, ip := range p.Instances {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(ip *InstancePlan) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := l.startInstance(ip); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}(ip)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.startInternet(); err != nil {
		return nil, err
	}
	if err := l.startOnPrem(); err != nil {
		return nil, err
	}
	for _, fl := range p.Scenario.FlowLogs {
		if _, err := l.CreateFlowLog(FlowLogSpec{Resource: fl.Resource, Traffic: fl.Traffic, Interval: fl.Interval,
			Format: fl.Format, JSON: fl.Destination == "jsonl", Name: fl.Name}); err != nil {
			return nil, fmt.Errorf("%s: flow log %s: %w", fl.Pos, fl.Name, err)
		}
	}
	// User data runs once every instance's network is up, as cloud-init runs after boot: a script
	// may talk to its neighbours.
	for _, ip := range p.Instances {
		if ip.UserData == "" || initiallyStopped(p.Scenario, ip.Name) {
			continue
		}
		if err := l.runUserData(ctx, ip); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// startInstance launches an instance unless the scenario declares it stopped: such an
// instance gets its memory and volumes at its first start.
func (l *Lab) startInstance(ip *InstancePlan) error {
	if initiallyStopped(l.Plan.Scenario, ip.Name) {
		return nil
	}
	return l.launch(l.hv.machines[ip.Name])
}

func (l *Lab) runUserData(ctx context.Context, ip *InstancePlan) error {
	ctx, cancel := context.WithTimeout(ctx, userDataTimeout)
	defer cancel()
	out, err := hypervisor.RunUserData(ctx, l.Plan.Lab, ip.Name, ip.UserData)
	if err != nil {
		return fmt.Errorf("instance %s: user data failed: %v\n%s", ip.Name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Down stops the engine and removes every instance. It is idempotent and also removes objects of
// the lab that this process did not make (left by a crashed run).
func (l *Lab) Down() error {
	l.downOnce.Do(func() { close(l.done) })
	var errs []error
	if l.flows != nil {
		if err := l.flows.close(); err != nil {
			errs = append(errs, fmt.Errorf("flow logs: %w", err))
		}
		// An in-process lab (no background engine's lab.json) that wrote its flow logs to the
		// default run directory leaves nothing there; a background lab's directory is removed
		// by its teardown, after `ec2sim flows` had its chance to read it.
		if l.FlowLogDir == "" && l.Plan.FlowLogDir == "" {
			if _, err := os.Stat(filepath.Join(Dir(l.Plan.Lab), "lab.json")); os.IsNotExist(err) {
				os.RemoveAll(Dir(l.Plan.Lab))
			}
		}
	}
	if err := l.Engine.Close(); err != nil {
		errs = append(errs, err)
	}
	l.mu.Lock()
	var insts []*hypervisor.Instance
	for name, inst := range l.instances {
		insts = append(insts, inst)
		delete(l.instances, name)
	}
	l.mu.Unlock()
	// DestroyAll closes every TAP at once: each close waits ~25 ms for the kernel to unregister
	// the device, so one at a time would make a 50-instance lab slow to go down.
	if err := hypervisor.DestroyAll(insts); err != nil {
		errs = append(errs, err)
	}
	if _, err := hypervisor.DestroyLab(l.Plan.Lab); err != nil {
		errs = append(errs, err)
	}
	if l.hv != nil {
		if err := drainPool(l.hv.pool); err != nil && !errors.Is(err, pool.ErrClosed) {
			errs = append(errs, fmt.Errorf("hypervisor pool: %w", err))
		}
		if err := l.hv.pool.Destroy(); err != nil && !errors.Is(err, pool.ErrClosed) {
			errs = append(errs, fmt.Errorf("hypervisor pool: %w", err))
		}
		// An in-process lab leaves no run directory behind (a background lab's is removed by
		// its teardown); it is removed only if empty.
		if _, err := os.Stat(filepath.Join(Dir(l.Plan.Lab), "lab.json")); os.IsNotExist(err) {
			os.Remove(Dir(l.Plan.Lab))
		}
	}
	return errors.Join(errs...)
}

// SetSourceDestCheck toggles the check on one ENI of a running lab ("web-1" means its eth0,
// "router.eth1" names another ENI).
func (l *Lab) SetSourceDestCheck(target string, on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	idx, err := l.findENILocked(target)
	if err != nil {
		return err
	}
	st, err := l.Engine.State().WithSourceDestCheck(idx, on)
	if err != nil {
		return err
	}
	return l.Engine.Publish(st)
}

// findENILocked resolves "instance" or "instance.ethN" to an ENI index. The plan's instances
// never change, so it needs no lock; the name says it may be called with l.mu held.
func (l *Lab) findENILocked(target string) (uint32, error) {
	name, eni, _ := strings.Cut(target, ".")
	ip := l.Plan.Instance(name)
	if ip == nil {
		return 0, fmt.Errorf("no instance %q in lab %s (instances: %s)", name, l.Plan.Lab, strings.Join(l.instanceNames(), ", "))
	}
	if eni == "" {
		eni = "eth0"
	}
	st := l.Engine.State()
	for _, idx := range ip.ENIs {
		if st.ENIs[idx].Name == eni {
			return idx, nil
		}
	}
	return 0, fmt.Errorf("instance %s has no ENI %q (it has eth0 to eth%d)", name, eni, len(ip.ENIs)-1)
}

func (l *Lab) instanceNames() []string {
	var n []string
	for _, ip := range l.Plan.Instances {
		n = append(n, ip.Name)
	}
	return n
}

// ResolveTarget gives the address of "instance", "instance.ethN", "instance@public", an
// internet or on-premises host, or an IP literal.
func (l *Lab) ResolveTarget(target string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(target); err == nil {
		return a, nil
	}
	if _, a, ok := l.Plan.HostNamespace(target); ok {
		return a, nil
	}
	if a, ok, err := l.Plan.publicOf(l.Engine.State(), target); ok {
		return a, err
	}
	idx, err := l.findENILocked(target)
	if err != nil {
		return netip.Addr{}, err
	}
	return l.Engine.State().ENIs[idx].Identity.Addrs[0], nil
}
