package hypervisor

import "testing"

func TestMemoryDeviceNames(t *testing.T) {
	for k, want := range map[int]string{0: "ec2mem0", 7: "ec2mem7", 63: "ec2mem63"} {
		if got := MemoryDeviceName(k); got != want || validMemoryName(got) != nil {
			t.Errorf("MemoryDeviceName(%d) = %q (%v), want %q", k, got, validMemoryName(got), want)
		}
	}
	for _, bad := range []string{"ec2mem", "ec2mem64", "ec2mem-1", "ec2mem01", "xvda", "ec2mem1a"} {
		if validMemoryName(bad) == nil {
			t.Errorf("%q accepted as a memory device name", bad)
		}
		if ValidateDiskName(bad) == nil && bad != "xvda" {
			t.Errorf("%q is a disk name too", bad)
		}
	}
	i := &Instance{Name: "x"}
	if err := i.AttachMemory("/nonexistent", 64); err == nil {
		t.Error("AttachMemory of run 64: no error")
	}
}
