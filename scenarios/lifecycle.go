package scenarios

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ec2sim/ec2sim/hypervisor"
)

// Instance lifecycle in the scenario format: an instance's initial state and volumes, the
// instance step (start, stop, reboot, terminate) and the audit step that checks the hypervisor
// pool's scrub records.

// Instance states a scenario may give as an instance's initial state.
const (
	StateRunning = "running"
	StateStopped = "stopped"
)

// Volume kinds.
const (
	VolumeEBS           = "ebs"
	VolumeInstanceStore = "instance-store"
)

// Limits of volumes.
const (
	// DefaultRootVolume is the size of every instance's root EBS volume (/dev/xvda).
	DefaultRootVolume = 64 << 20
	// MaxVolumesPerInstance bounds the volumes: list (plus the root volume).
	MaxVolumesPerInstance = 16
	maxVolumeSize         = 1 << 40
)

// Volume is one disk of an instance besides its root volume: an EBS volume or an instance
// store, an extent of the lab's disk pool that the instance sees as /dev/<device>.
type Volume struct {
	Device string // xvdb, sdf, nvme1n1 (what the instance sees under /dev)
	Kind   string // ebs (default) or instance-store
	Size   int64  // bytes, a whole number of 1 MiB blocks
	// DeleteOnTermination deletes (scrubs and frees) the volume when the instance terminates;
	// default true, as for volumes given at launch. An instance store always goes.
	DeleteOnTermination bool
	Pos                 Pos
}

// AuditStep checks the lab's hypervisor audit records (what `ec2sim audit` shows).
type AuditStep struct {
	// Instance is whose current memory and disks the step looks at.
	Instance string
	// Reuses, when set, names an instance whose freed memory frames and disk blocks Instance
	// must now hold: every run of Instance's memory lies inside frames Reuses gave back, and
	// every volume of Instance overlaps blocks Reuses gave back.
	Reuses string
	// Verified, when set, is what every audit record of Reuses (or of Instance) must say: true
	// = every scrub was verified zero; false = none was (a lab with scrub: false).
	Verified *bool
}

func (d *decoder) instanceState(in *Instance, v *yaml.Node, what string) {
	in.State, _ = d.str(v, what+": state")
}

func (d *decoder) volumes(in *Instance, v *yaml.Node, what string) {
	in.Volumes = []*Volume{}
	d.list(v, what+": volumes", func(i int, n *yaml.Node) {
		vol := &Volume{Kind: VolumeEBS, DeleteOnTermination: true, Pos: d.pos(d.resolve(n))}
		w := fmt.Sprintf("%s: volume %d", what, i+1)
		d.object(n, kVolume, w, func(f string, _, v *yaml.Node) {
			d.mark(vol, f, v)
			switch f {
			case "device":
				vol.Device, _ = d.str(v, w+": device")
			case "kind":
				vol.Kind, _ = d.str(v, w+": kind")
			case "size":
				vol.Size, _ = d.size(v, w+": size")
			case "delete_on_termination":
				vol.DeleteOnTermination, _ = d.boolean(v, w+": delete_on_termination")
			}
		})
		in.Volumes = append(in.Volumes, vol)
	})
}

func (d *decoder) auditStep(v *yaml.Node, what string) *AuditStep {
	a := &AuditStep{}
	d.object(v, kAuditStep, what+": audit", func(f string, _, v *yaml.Node) {
		d.mark(a, f, v)
		switch f {
		case "instance":
			a.Instance, _ = d.str(v, what+": audit: instance")
		case "reuses":
			a.Reuses, _ = d.str(v, what+": audit: reuses")
		case "verified":
			b, _ := d.boolean(v, what+": audit: verified")
			a.Verified = &b
		}
	})
	return a
}

// DefaultInstanceType is the type of an instance whose scenario gives none.
const DefaultInstanceType = hypervisor.DefaultTypeName

// CheckInstanceType says whether ec2sim models instance type name ("" is the default type); the
// error lists the types it does. Importers use it to fall back to the default, with a note,
// for a type of a real account that the table lacks.
func CheckInstanceType(name string) error {
	if name == "" {
		return nil
	}
	_, err := hypervisor.LookupType(name)
	return err
}

// lifecycle validates an instance's type, initial state and volumes.
func (v *validator) lifecycle(in *Instance) {
	what := "instance " + in.Name
	if in.Type != "" && instanceTypeRE.MatchString(in.Type) {
		if _, err := hypervisor.LookupType(in.Type); err != nil {
			v.p.errorf(v.where(in, "type", in.Pos), "%s: %v", what, err)
		}
	}
	if in.State != "" && in.State != StateRunning && in.State != StateStopped {
		v.p.errorf(v.where(in, "state", in.Pos), "%s: state %q: want running (the default) or stopped", what, in.State)
	}
	if len(in.Volumes) > MaxVolumesPerInstance {
		v.p.errorf(in.Volumes[MaxVolumesPerInstance].Pos, "%s: %d volumes; at most %d besides the root volume", what, len(in.Volumes), MaxVolumesPerInstance)
	}
	seen := map[string]bool{"xvda": true}
	for i, vol := range in.Volumes {
		w := fmt.Sprintf("%s: volume %d", what, i+1)
		if err := hypervisor.ValidateDiskName(vol.Device); err != nil {
			v.p.errorf(v.where(vol, "device", vol.Pos), "%s: %v", w, err)
		} else if seen[vol.Device] {
			v.p.errorf(v.where(vol, "device", vol.Pos), "%s: device %s is taken (xvda is the root volume)", w, vol.Device)
		}
		seen[vol.Device] = true
		if vol.Kind != VolumeEBS && vol.Kind != VolumeInstanceStore {
			v.p.errorf(v.where(vol, "kind", vol.Pos), "%s: kind %q: want ebs (the default) or instance-store", w, vol.Kind)
		}
		switch {
		case vol.Size <= 0 || vol.Size > maxVolumeSize:
			v.p.errorf(v.where(vol, "size", vol.Pos), "%s: size %s: want 1MiB to %s", w, formatSize(vol.Size), formatSize(maxVolumeSize))
		case vol.Size%DiskBlockBytes != 0:
			v.p.errorf(v.where(vol, "size", vol.Pos), "%s: size %s: want a whole number of 1 MiB blocks", w, formatSize(vol.Size))
		}
	}
}

// lifecycleStep validates an instance or audit step.
func (v *validator) lifecycleStep(what string, st *Step, at Pos) {
	switch st.Kind {
	case "instance":
		if err := checkInstanceCommand(st.Command); err != nil {
			v.p.errorf(at, "%s: instance: %v", what, err)
		} else if name := strings.Fields(st.Command)[1]; v.sc.Instance(name) == nil {
			v.p.errorf(at, "%s: instance: no instance %q", what, name)
		}
	case "audit":
		a := st.Audit
		if v.sc.Instance(a.Instance) == nil {
			v.p.errorf(at, "%s: audit: no instance %q", what, a.Instance)
		}
		if a.Reuses != "" && v.sc.Instance(a.Reuses) == nil {
			v.p.errorf(at, "%s: audit: reuses: no instance %q", what, a.Reuses)
		}
	}
}

// InstanceActions are the actions of `ec2sim instance` and of the instance step.
var InstanceActions = []string{"start", "stop", "reboot", "terminate"}

// checkInstanceCommand checks "ACTION NAME", e.g. "stop web-1".
func checkInstanceCommand(cmd string) error {
	f := strings.Fields(cmd)
	if len(f) != 2 {
		return fmt.Errorf("%q: want ACTION INSTANCE, e.g. \"stop web-1\" (actions: %s)", cmd, strings.Join(InstanceActions, ", "))
	}
	for _, a := range InstanceActions {
		if f[0] == a {
			return nil
		}
	}
	return fmt.Errorf("%q: action %q: want one of %s", cmd, f[0], strings.Join(InstanceActions, ", "))
}

func formatVolumes(m *yaml.Node, in *Instance) {
	if in.State != "" && in.State != StateRunning {
		addStr(m, "state", in.State)
	}
	if len(in.Volumes) == 0 {
		return
	}
	s := sequence(false)
	for _, vol := range in.Volumes {
		vm := mapping(true)
		addStr(vm, "device", vol.Device)
		if vol.Kind != VolumeEBS {
			addStr(vm, "kind", vol.Kind)
		}
		addStr(vm, "size", formatSize(vol.Size))
		if !vol.DeleteOnTermination {
			add(vm, "delete_on_termination", boolean(false))
		}
		s.Content = append(s.Content, vm)
	}
	add(m, "volumes", s)
}

func formatAudit(m *yaml.Node, a *AuditStep) {
	am := mapping(true)
	addStr(am, "instance", a.Instance)
	if a.Reuses != "" {
		addStr(am, "reuses", a.Reuses)
	}
	if a.Verified != nil {
		add(am, "verified", boolean(*a.Verified))
	}
	add(m, "audit", am)
}
