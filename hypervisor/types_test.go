package hypervisor

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestLookupType(t *testing.T) {
	// Real memory in GiB; the table must hold it divided by MemoryScale.
	real := map[string]float64{"t2.nano": 0.5, "t2.micro": 1, "t2.small": 2, "t2.medium": 4, "t2.large": 8, "t3.nano": 0.5, "t3.micro": 1, "t3.small": 2, "t3.medium": 4, "t3.large": 8, "m5.large": 8, "m5d.large": 8, "c5.large": 4}
	var names []string
	prevAllowance := map[string]int{}
	for _, ty := range Types() {
		names = append(names, ty.Name)
		gib, ok := real[ty.Name]
		if !ok {
			t.Errorf("type %s is not in the test's list of real sizes", ty.Name)
			continue
		}
		if want := int(gib * 1024 / MemoryScale); ty.MemoryMiB != want {
			t.Errorf("%s: %d MiB, want %d (%.1f GiB / %d)", ty.Name, ty.MemoryMiB, want, gib, MemoryScale)
		}
		wantVCPUs := 2
		if v, ok := map[string]int{"t2.nano": 1, "t2.micro": 1, "t2.small": 1}[ty.Name]; ok {
			wantVCPUs = v
		}
		if ty.VCPUs != wantVCPUs || ty.PIDs != DefaultPIDs || ty.ConntrackAllowance <= 0 {
			t.Errorf("%s: %+v", ty.Name, ty)
		}
		if err := ty.Validate(); err != nil {
			t.Errorf("table type %s does not validate: %v", ty.Name, err)
		}
		got, err := LookupType(ty.Name)
		must(t, err)
		if *got != ty {
			t.Errorf("LookupType(%s) = %+v, want %+v", ty.Name, *got, ty)
		}
		got.MemoryMiB = 1 // a copy: the table must not change
		prevAllowance[ty.Name] = ty.ConntrackAllowance
	}
	if !slices.IsSorted(names) || len(names) != len(real) {
		t.Errorf("Types() names %v: want all %d, sorted", names, len(real))
	}
	again, _ := LookupType("t3.nano")
	if again.MemoryMiB != 32 {
		t.Errorf("t3.nano has %d MiB after a caller changed its copy", again.MemoryMiB)
	}
	// The allowance grows with the T family's size.
	t3 := []string{"t3.nano", "t3.micro", "t3.small", "t3.medium", "t3.large"}
	for k := 1; k < len(t3); k++ {
		if prevAllowance[t3[k]] <= prevAllowance[t3[k-1]] {
			t.Errorf("allowance of %s (%d) is not above %s's (%d)", t3[k], prevAllowance[t3[k]], t3[k-1], prevAllowance[t3[k-1]])
		}
	}
	if m5d, _ := LookupType("m5d.large"); m5d.InstanceStoreGiB != 4 {
		t.Errorf("m5d.large instance store %d GiB, want 75/16 rounded down = 4", m5d.InstanceStoreGiB)
	}
	if d, err := LookupType(DefaultTypeName); err != nil || d.Name != "t3.micro" {
		t.Errorf("default type: %v %v", d, err)
	}

	for _, bad := range []string{"", "t3.xlarge", "T3.NANO", "custom"} {
		_, err := LookupType(bad)
		if err == nil {
			t.Errorf("LookupType(%q) succeeded", bad)
			continue
		}
		contains(t, err.Error(), "t3.nano, t3.small", "error for "+bad) // lists the valid names, sorted
		contains(t, err.Error(), fmt.Sprintf("%q", bad), "error for "+bad)
	}
}

func TestCustomType(t *testing.T) {
	ct, err := CustomType(1, 100)
	must(t, err)
	if ct.Name != CustomTypeName || ct.VCPUs != 1 || ct.MemoryMiB != 100 || ct.PIDs != DefaultPIDs || ct.MemoryBytes() != 100<<20 {
		t.Errorf("CustomType(1, 100) = %+v", ct)
	}
	// 100 MiB here stands for 1600 MiB real: 1 whole GiB, 16384 tracked connections.
	if ct.ConntrackAllowance != 16384 {
		t.Errorf("allowance %d, want 16384", ct.ConntrackAllowance)
	}
	if small, _ := CustomType(1, 16); small.ConntrackAllowance != 8192 {
		t.Errorf("smallest allowance %d, want the floor 8192", small.ConntrackAllowance)
	}
	for _, c := range []struct {
		vcpus, mem int
		want       string
	}{
		{0, 100, "0 vCPUs is outside 1-256"},
		{257, 100, "257 vCPUs"},
		{1, 15, "memory of 15 MiB is outside 16-65536 MiB"},
		{1, 65537, "65537 MiB"},
		{-1, 100, "-1 vCPUs"},
	} {
		_, err := CustomType(c.vcpus, c.mem)
		if err == nil {
			t.Errorf("CustomType(%d, %d) succeeded", c.vcpus, c.mem)
			continue
		}
		contains(t, err.Error(), c.want, fmt.Sprintf("CustomType(%d, %d)", c.vcpus, c.mem))
	}
	good := InstanceType{Name: "x", VCPUs: 1, MemoryMiB: 64, PIDs: 64}
	for _, c := range []struct {
		change func(*InstanceType)
		want   string
	}{
		{func(t *InstanceType) { t.Name = "" }, "has no name"},
		{func(t *InstanceType) { t.PIDs = 0 }, "PID limit 0"},
		{func(t *InstanceType) { t.ConntrackAllowance = -1 }, "allowance -1"},
		{func(t *InstanceType) { t.InstanceStoreGiB = -1 }, "instance store of -1"},
		{func(t *InstanceType) { t.BaselinePercent = 101 }, "baseline 101%"},
	} {
		ty := good
		c.change(&ty)
		err := ty.Validate()
		if err == nil {
			t.Errorf("%+v validated", ty)
			continue
		}
		contains(t, err.Error(), c.want, "Validate")
	}
	must(t, good.Validate())
	// A spec with a bad type fails before anything is made.
	spec := InstanceSpec{Lab: "lab", Name: "web", ENIs: []ENISpec{goodENI()}, Type: &InstanceType{Name: "x"}}
	if err := spec.validate(); err == nil || !strings.Contains(err.Error(), `instance "web": instance type x`) {
		t.Errorf("spec with a bad type: %v", err)
	}
}

// TestLimitWrites checks the control files and values for both cgroup versions, including v2,
// which this machine may not have.
func TestLimitWrites(t *testing.T) {
	nano, err := LookupType("t3.nano")
	must(t, err)
	nano.VCPUs = 3 // distinguishable from the period's multiples of 2
	v1 := (&cgroupFS{version: 1, root: "/cg"}).limitWrites("lab", "web", nano)
	var got []string
	for _, w := range v1 {
		got = append(got, fmt.Sprintf("%s=%s opt=%v", w.file, w.value, w.optional))
	}
	want := []string{
		"/cg/memory/ec2sim/lab/web/memory.limit_in_bytes=33554432 opt=false",
		"/cg/memory/ec2sim/lab/web/memory.memsw.limit_in_bytes=33554432 opt=true",
		"/cg/cpu/ec2sim/lab/web/cpu.cfs_period_us=100000 opt=false",
		"/cg/cpu/ec2sim/lab/web/cpu.cfs_quota_us=300000 opt=false",
		"/cg/pids/ec2sim/lab/web/pids.max=4096 opt=false",
		"/cg/devices/ec2sim/lab/web/devices.deny=a opt=false",
		"/cg/devices/ec2sim/lab/web/devices.allow=c 1:3 rwm opt=false",
		"/cg/devices/ec2sim/lab/web/devices.allow=c 1:5 rwm opt=false",
		"/cg/devices/ec2sim/lab/web/devices.allow=c 1:7 rwm opt=false",
		"/cg/devices/ec2sim/lab/web/devices.allow=c 1:8 rwm opt=false",
		"/cg/devices/ec2sim/lab/web/devices.allow=c 1:9 rwm opt=false",
		"/cg/devices/ec2sim/lab/web/devices.allow=c 5:0 rwm opt=false",
		"/cg/devices/ec2sim/lab/web/devices.allow=c 5:2 rwm opt=false",
		"/cg/devices/ec2sim/lab/web/devices.allow=c 136:* rwm opt=false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("v1 writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range v1 {
		if strings.HasPrefix(w.value, "b ") {
			t.Errorf("a block device is allowed by default: %v", w)
		}
	}
	v2 := (&cgroupFS{version: 2, root: "/cg"}).limitWrites("lab", "web", nano)
	got = got[:0]
	for _, w := range v2 {
		got = append(got, fmt.Sprintf("%s=%s opt=%v", w.file, w.value, w.optional))
	}
	want = []string{
		"/cg/ec2sim/lab/web/memory.max=33554432 opt=false",
		"/cg/ec2sim/lab/web/memory.swap.max=0 opt=true",
		"/cg/ec2sim/lab/web/cpu.max=300000 100000 opt=false",
		"/cg/ec2sim/lab/web/pids.max=4096 opt=false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("v2 writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := (&cgroupFS{version: 2, root: "/cg"}).dirs("lab", "web"); !slices.Equal(d, []string{"/cg/ec2sim/lab/web"}) {
		t.Errorf("v2 dirs %v", d)
	}
	if d := (&cgroupFS{version: 1, root: "/cg"}).dirs("lab", "web"); len(d) != 4 || d[3] != "/cg/devices/ec2sim/lab/web" {
		t.Errorf("v1 dirs %v", d)
	}
	if CgroupPath("lab", "web") != "/ec2sim/lab/web" || CgroupPath("lab", "") != "/ec2sim/lab" {
		t.Errorf("CgroupPath: %s %s", CgroupPath("lab", "web"), CgroupPath("lab", ""))
	}
}
