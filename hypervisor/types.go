package hypervisor

import (
	"fmt"
	"sort"
	"strings"
)

// MemoryScale divides the memory of a real EC2 instance type to get the memory of the same type
// here: a lab of 20 t3.large instances then needs 10 GiB, which fits a 24 GiB machine beside
// the engine and the pools. vCPUs are not scaled (see InstanceType.VCPUs).
const MemoryScale = 16

// DefaultTypeName is the instance type a lab uses when its scenario names none. CreateInstance
// itself applies no type when InstanceSpec.Type is nil.
const DefaultTypeName = "t3.micro"

// DefaultPIDs is the task limit (processes and threads) of every type in the table.
const DefaultPIDs = 4096

// CustomTypeName names a type made by CustomType.
const CustomTypeName = "custom"

// InstanceType is what an EC2 instance type means on this machine: cgroup limits on every
// process of the instance, and the per-ENI connection-tracking allowance.
type InstanceType struct {
	Name string
	// VCPUs is the type's vCPU count as AWS lists it; the instance may use VCPUs CPUs' worth of
	// time in every CFS period (cpu.cfs_quota_us = VCPUs × cpu.cfs_period_us). It is not
	// scaled, so on a machine with fewer cores than VCPUs it limits nothing, as a host with
	// spare cores would not; it is not a CPU set either (nproc inside shows the host's CPUs).
	VCPUs int
	// MemoryMiB is the real type's memory divided by MemoryScale: the hard limit of the
	// instance's memory cgroup, with swap excluded (memsw equal to it). A process that
	// allocates beyond it is killed by the kernel's OOM killer inside the instance only.
	MemoryMiB int
	// ConntrackAllowance is the tracked-connection maximum of each of the instance's ENIs.
	// AWS publishes no figures; these are guesses that grow with the type and are small enough
	// that a lab can exhaust them (reference §1.2, "Exhausting the tracking table").
	ConntrackAllowance int
	// InstanceStoreGiB is the type's instance store divided by MemoryScale, rounded down; 0
	// for EBS-only types.
	InstanceStoreGiB int
	// PIDs limits the instance's tasks (processes and threads), as a fork bomb inside must not
	// starve the host.
	PIDs int
	// BaselinePercent is a burstable (T) type's baseline CPU use per vCPU, for documentation;
	// CPU credits are not modelled (the quota is the full VCPUs). 0 for fixed-performance types.
	BaselinePercent int
}

// instanceTypes is the table behind LookupType: real vCPUs, memory / MemoryScale.
func instanceTypes() []InstanceType {
	return []InstanceType{
		// The previous T generation, still what most tutorials and old accounts use.
		{Name: "t2.nano", VCPUs: 1, MemoryMiB: 512 / MemoryScale, ConntrackAllowance: 8192, PIDs: DefaultPIDs, BaselinePercent: 5},
		{Name: "t2.micro", VCPUs: 1, MemoryMiB: 1024 / MemoryScale, ConntrackAllowance: 16384, PIDs: DefaultPIDs, BaselinePercent: 10},
		{Name: "t2.small", VCPUs: 1, MemoryMiB: 2048 / MemoryScale, ConntrackAllowance: 32768, PIDs: DefaultPIDs, BaselinePercent: 20},
		{Name: "t2.medium", VCPUs: 2, MemoryMiB: 4096 / MemoryScale, ConntrackAllowance: 65536, PIDs: DefaultPIDs, BaselinePercent: 20},
		{Name: "t2.large", VCPUs: 2, MemoryMiB: 8192 / MemoryScale, ConntrackAllowance: 131072, PIDs: DefaultPIDs, BaselinePercent: 30},
		{Name: "t3.nano", VCPUs: 2, MemoryMiB: 512 / MemoryScale, ConntrackAllowance: 8192, PIDs: DefaultPIDs, BaselinePercent: 5},
		{Name: "t3.micro", VCPUs: 2, MemoryMiB: 1024 / MemoryScale, ConntrackAllowance: 16384, PIDs: DefaultPIDs, BaselinePercent: 10},
		{Name: "t3.small", VCPUs: 2, MemoryMiB: 2048 / MemoryScale, ConntrackAllowance: 32768, PIDs: DefaultPIDs, BaselinePercent: 20},
		{Name: "t3.medium", VCPUs: 2, MemoryMiB: 4096 / MemoryScale, ConntrackAllowance: 65536, PIDs: DefaultPIDs, BaselinePercent: 20},
		{Name: "t3.large", VCPUs: 2, MemoryMiB: 8192 / MemoryScale, ConntrackAllowance: 131072, PIDs: DefaultPIDs, BaselinePercent: 30},
		{Name: "m5.large", VCPUs: 2, MemoryMiB: 8192 / MemoryScale, ConntrackAllowance: 131072, PIDs: DefaultPIDs},
		{Name: "m5d.large", VCPUs: 2, MemoryMiB: 8192 / MemoryScale, ConntrackAllowance: 131072, InstanceStoreGiB: 75 / MemoryScale, PIDs: DefaultPIDs},
		{Name: "c5.large", VCPUs: 2, MemoryMiB: 4096 / MemoryScale, ConntrackAllowance: 131072, PIDs: DefaultPIDs},
	}
}

// Types returns the table of instance types, sorted by name.
func Types() []InstanceType {
	ts := instanceTypes()
	sort.Slice(ts, func(a, b int) bool { return ts[a].Name < ts[b].Name })
	return ts
}

// LookupType returns the named type of the table (a copy the caller may change).
func LookupType(name string) (*InstanceType, error) {
	var names []string
	for _, t := range Types() {
		if t.Name == name {
			return &t, nil
		}
		names = append(names, t.Name)
	}
	if name == CustomTypeName {
		return nil, fmt.Errorf("instance type %q needs explicit numbers (CustomType); the table has %s", name, strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("instance type %q is not known; valid types are %s, or custom", name, strings.Join(names, ", "))
}

// Limits for custom types: enough for the smallest useful instance, and no more than this
// machine could plausibly give one instance.
const (
	minMemoryMiB = 16
	maxMemoryMiB = 64 << 10
	maxVCPUs     = 256
	maxPIDs      = 1 << 22
	minPIDs      = 16
)

// CustomType makes a type "custom" with the given vCPUs and memory (already scaled: the
// instance's actual limit), DefaultPIDs and a conntrack allowance of 16384 per GiB of real
// memory it stands for (at least 8192).
func CustomType(vcpus, memoryMiB int) (*InstanceType, error) {
	t := &InstanceType{Name: CustomTypeName, VCPUs: vcpus, MemoryMiB: memoryMiB, PIDs: DefaultPIDs}
	t.ConntrackAllowance = max(8192, memoryMiB*MemoryScale/1024*16384)
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// Validate checks a type's numbers, whether it came from the table, CustomType or a literal.
func (t *InstanceType) Validate() error {
	switch {
	case t.Name == "":
		return fmt.Errorf("instance type has no name; use a table name like %s or %q", DefaultTypeName, CustomTypeName)
	case t.VCPUs < 1 || t.VCPUs > maxVCPUs:
		return fmt.Errorf("instance type %s: %d vCPUs is outside 1-%d", t.Name, t.VCPUs, maxVCPUs)
	case t.MemoryMiB < minMemoryMiB || t.MemoryMiB > maxMemoryMiB:
		return fmt.Errorf("instance type %s: memory of %d MiB is outside %d-%d MiB (the scaled limit, real memory / %d)", t.Name, t.MemoryMiB, minMemoryMiB, maxMemoryMiB, MemoryScale)
	case t.ConntrackAllowance < 0:
		return fmt.Errorf("instance type %s: conntrack allowance %d is negative", t.Name, t.ConntrackAllowance)
	case t.InstanceStoreGiB < 0:
		return fmt.Errorf("instance type %s: instance store of %d GiB is negative", t.Name, t.InstanceStoreGiB)
	case t.PIDs < minPIDs || t.PIDs > maxPIDs:
		return fmt.Errorf("instance type %s: PID limit %d is outside %d-%d", t.Name, t.PIDs, minPIDs, maxPIDs)
	case t.BaselinePercent < 0 || t.BaselinePercent > 100:
		return fmt.Errorf("instance type %s: baseline %d%% is outside 0-100", t.Name, t.BaselinePercent)
	}
	return nil
}

// MemoryBytes is the memory limit in bytes.
func (t *InstanceType) MemoryBytes() int64 { return int64(t.MemoryMiB) << 20 }

func (t *InstanceType) String() string {
	return fmt.Sprintf("%s (%d vCPU, %d MiB, %d tracked connections per ENI)", t.Name, t.VCPUs, t.MemoryMiB, t.ConntrackAllowance)
}
