package hypervisor

import (
	"fmt"
	"strconv"
	"strings"
)

// MemoryDevicePrefix names the block devices through which an instance sees its RAM: the runs of
// its pool memory grant appear inside the instance as /dev/ec2mem0, /dev/ec2mem1, ... (one
// device in the usual case of a contiguous grant). They are not disk names, so that a guest
// script that lists its disks (xvd*, nvme*) does not mistake its memory for one.
const MemoryDevicePrefix = "ec2mem"

// MemoryDeviceName is the name inside the instance of run k of its memory grant.
func MemoryDeviceName(k int) string { return MemoryDevicePrefix + strconv.Itoa(k) }

func validMemoryName(name string) error {
	n, ok := strings.CutPrefix(name, MemoryDevicePrefix)
	if k, err := strconv.Atoi(n); !ok || err != nil || k < 0 || k > 63 || strconv.Itoa(k) != n {
		return fmt.Errorf("memory device name %q: want %s0 to %s63", name, MemoryDevicePrefix, MemoryDevicePrefix)
	}
	return nil
}

// AttachMemory makes the host block device devPath (a loop device over one run of the
// instance's memory grant) the instance's /dev/ec2mem<k>, readable, writable and mappable by
// the guest, and allowed in its device cgroup as AttachDisk allows a disk.
func (i *Instance) AttachMemory(devPath string, k int) error {
	name := MemoryDeviceName(k)
	if err := validMemoryName(name); err != nil {
		return err
	}
	return i.attachBlock(devPath, name)
}

// DetachMemory removes /dev/ec2mem<k> from the instance and its device cgroup exception.
func (i *Instance) DetachMemory(k int) error {
	name := MemoryDeviceName(k)
	if err := validMemoryName(name); err != nil {
		return err
	}
	return i.detachBlock(name)
}
