package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/pool"
	"github.com/ec2sim/ec2sim/scenarios"
)

// inside runs a shell command in an instance and returns its combined output and exit code.
func inside(t *testing.T, l *Lab, instance, script string) (string, int) {
	t.Helper()
	out, err := hypervisor.Command(l.Plan.Lab, instance, "/bin/sh", "-c", script).CombinedOutput()
	code := 0
	if err != nil {
		var ee interface{ ExitCode() int }
		if !errors.As(err, &ee) {
			t.Fatalf("%s: %s: %v\n%s", instance, script, err, out)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

func mustInside(t *testing.T, l *Lab, instance, script string) string {
	t.Helper()
	out, code := inside(t, l, instance, script)
	if code != 0 {
		t.Fatalf("%s: %q exited %d:\n%s", instance, script, code, out)
	}
	return out
}

const canaryLab = `
name: t
hypervisor: {scrub: %v}
` + oneSubnet + `  a:
    subnet: main/a
    type: t3.nano
    volumes: [{device: xvdb, kind: instance-store, size: 16MiB}]
  b:
    subnet: main/a
    type: t3.nano
    state: stopped
    volumes: [{device: xvdb, kind: instance-store, size: 16MiB}]
`

// writeCanary fills the first MiB of a device inside an instance with the canary text.
const writeCanary = `for d in /dev/ec2mem0 /dev/xvda /dev/xvdb; do
  yes CANARY-7f3a9 | head -c 1048576 | dd of=$d bs=1M count=1 iflag=fullblock conv=fsync 2>/dev/null || exit 1
done`

const findCanary = `n=0; for d in /dev/ec2mem0 /dev/xvda /dev/xvdb; do
  c=$(head -c 1048576 $d | grep -c CANARY-7f3a9); echo "$d $c"; n=$((n+c))
done; test $n -eq 0`

// oneSubnet is the VPC of most tests here, up to the instances.
const oneSubnet = `vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
instances:
`

// planFor plans a lab called name from YAML text.
func planFor(t *testing.T, name, yaml string) *Plan {
	t.Helper()
	sc, err := scenarios.Parse(name+".yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(sc, name)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

type extents struct{ mem, root, store pool.Extent }

func extentsOf(t *testing.T, l *Lab, name string) extents {
	t.Helper()
	m := l.hv.machines[name]
	if m.mem == nil || len(m.mem.Runs()) != 1 {
		t.Fatalf("%s: want one memory run, have %v", name, m.mem)
	}
	return extents{m.mem.Runs()[0].Extent, m.disks[0].vol.Run().Extent, m.disks[1].vol.Run().Extent}
}

// TestScrubCanary is the seed promise end to end: A writes a canary into its memory and both
// disks and terminates; B, started afterwards, gets the very same frames and blocks and finds
// not one canary byte. With scrub off it finds them, which proves the check can fail.
func TestScrubCanary(t *testing.T) {
	for _, scrub := range []bool{true, false} {
		t.Run(fmt.Sprintf("scrub=%v", scrub), func(t *testing.T) {
			l := upLab(t, "lc-canary", fmt.Sprintf(canaryLab, scrub))
			if st, _ := l.InstanceState("b"); st != StateStopped {
				t.Fatalf("b is %s, want stopped", st)
			}
			mustInside(t, l, "a", writeCanary)
			was := extentsOf(t, l, "a")
			if err := l.Terminate("a"); err != nil {
				t.Fatal(err)
			}
			if err := l.Start("b"); err != nil {
				t.Fatal(err)
			}
			if now := extentsOf(t, l, "b"); now != was {
				t.Fatalf("b got %+v, a had %+v: the test needs the very same frames and blocks", now, was)
			}
			out, code := inside(t, l, "b", findCanary)
			if scrub && code != 0 {
				t.Fatalf("b found a's canary after a verified scrub:\n%s", out)
			}
			if !scrub && code == 0 {
				t.Fatalf("with scrub off b should find a's canary, found none:\n%s", out)
			}
			rep, err := l.Audit()
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range rep.Records {
				if r.Owner == "a" {
					n++
					if r.Verified != scrub || r.Unsafe == scrub {
						t.Errorf("audit record %v: verified %v unsafe %v with scrub %v", r, r.Verified, r.Unsafe, scrub)
					}
				}
			}
			if n != 3 {
				t.Errorf("%d audit records of a, want 3 (memory, root, instance store): %v", n, rep.Records)
			}
			if (rep.Unsafe != "") == scrub || (l.Status().Unsafe != "") == scrub {
				t.Errorf("UNSAFE marking %q with scrub %v", rep.Unsafe, scrub)
			}
		})
	}
}

const stopStartLab = `
name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    internet_gateway: true
    subnets:
      a: {cidr: 10.0.1.0/24}
instances:
  web:
    subnet: main/a
    public_ip: true
    volumes: [{device: xvdb, kind: instance-store, size: 8MiB}, {device: xvdc, size: 8MiB, delete_on_termination: false}]
  eip: {subnet: main/a, elastic_ip: 203.0.113.9}
  other: {subnet: main/a}
`

func TestStopStartKeepsEBSAndIdentity(t *testing.T) {
	l := upLab(t, "lc-stop", stopStartLab)
	mark := `for d in xvda xvdb xvdc; do echo MARK-$d | dd of=/dev/$d conv=fsync 2>/dev/null; done`
	mustInside(t, l, "web", mark)
	eni := l.Plan.Instance("web").ENIs[0]
	before := l.Engine.State().ENIs[eni]
	eipBefore := l.Engine.State().ENIs[l.Plan.Instance("eip").ENIs[0]].PublicIP

	// Wrong-state operations are refused and change nothing.
	for _, op := range []func(string) error{l.Start} {
		if err := op("web"); !errors.Is(err, ErrIncorrectState) {
			t.Fatalf("start of a running instance: %v, want IncorrectInstanceState", err)
		}
	}
	if err := l.Stop("web"); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.InstanceState("web"); st != StateStopped {
		t.Fatalf("after stop: %s", st)
	}
	if l.Engine.State().ENIs[eni].Present {
		t.Fatal("a stopped instance's ENI is still in the fabric")
	}
	if _, err := os.Stat(hypervisor.NSPath(l.Plan.Lab, "web")); err == nil {
		t.Fatal("a stopped instance's namespace is still there")
	}
	if out, code := inside(t, l, "other", "ping -c1 -W1 "+before.Identity.Addrs[0].String()); code == 0 {
		t.Fatalf("a stopped instance answers ping:\n%s", out)
	}
	for _, bad := range []func(string) error{l.Stop, l.Reboot} {
		if err := bad("web"); !errors.Is(err, ErrIncorrectState) {
			t.Fatalf("stop/reboot of a stopped instance: %v, want IncorrectInstanceState", err)
		}
	}
	if err := l.Start("web"); err != nil {
		t.Fatal(err)
	}
	if err := l.Stop("eip"); err != nil {
		t.Fatal(err)
	}
	if err := l.Start("eip"); err != nil {
		t.Fatal(err)
	}
	after := l.Engine.State().ENIs[eni]
	if after.Identity.MAC != before.Identity.MAC || after.Identity.Addrs[0] != before.Identity.Addrs[0] {
		t.Errorf("identity changed across stop/start: %v -> %v", before.Identity, after.Identity)
	}
	if !after.PublicIP.IsValid() || after.PublicIP == before.PublicIP {
		t.Errorf("auto-assigned public IP %v -> %v: want a new one", before.PublicIP, after.PublicIP)
	}
	if got := l.Engine.State().ENIs[l.Plan.Instance("eip").ENIs[0]].PublicIP; got != eipBefore {
		t.Errorf("Elastic IP %v -> %v: want it kept", eipBefore, got)
	}
	out := mustInside(t, l, "web", `for d in xvda xvdb xvdc; do printf "$d:"; head -c 12 /dev/$d | tr -d '\0'; echo; done; ip -br addr show eth0`)
	for _, want := range []string{"xvda:MARK-xvda", "xvdc:MARK-xvdc", before.Identity.Addrs[0].String()} {
		if !strings.Contains(out, want) {
			t.Errorf("after stop/start %q is missing:\n%s", want, out)
		}
	}
	if strings.Contains(out, "MARK-xvdb") {
		t.Errorf("the instance store kept its data across stop/start:\n%s", out)
	}
	mustInside(t, l, "other", "ping -c1 -W2 "+before.Identity.Addrs[0].String())

	if err := l.Reboot("web"); err != nil {
		t.Fatal(err)
	}
	if got := l.Engine.State().ENIs[eni].PublicIP; got != after.PublicIP {
		t.Errorf("reboot changed the public IP %v -> %v", after.PublicIP, got)
	}
	if out := mustInside(t, l, "web", "head -c 9 /dev/xvdb | tr -d '\\0'; echo"); strings.Contains(out, "MARK") {
		t.Errorf("reboot: unexpected data %q", out)
	}
	if err := l.Terminate("web"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(string) error{l.Start, l.Stop, l.Terminate, l.Reboot} {
		if err := bad("web"); !errors.Is(err, ErrIncorrectState) {
			t.Fatalf("operation on a terminated instance: %v, want IncorrectInstanceState", err)
		}
	}
	// xvdc survives termination (delete_on_termination: false) as an available volume.
	vols := l.hv.pool.Volumes()
	if len(vols) != 3 { // eip: root; other: root; web: xvdc
		var s []string
		for _, v := range vols {
			s = append(s, v.String())
		}
		t.Errorf("volumes after terminate: %v", s)
	}
	if _, err := l.InstanceState("nosuch"); err == nil {
		t.Error("unknown instance: no error")
	}
}

// TestIsolation: an instance cannot open another's disk, the pool files, or exceed its memory.
func TestIsolation(t *testing.T) {
	l := upLab(t, "lc-iso", `
name: t
`+oneSubnet+`  a: {subnet: main/a, type: t3.nano}
  b: {subnet: main/a, volumes: [{device: xvdb, size: 4MiB}]}
`)
	bdisk := l.hv.machines["b"].disks[1].vol.Device()
	bmem := l.hv.machines["b"].mem.Device()
	for _, p := range []string{bdisk, bmem, PoolDir(l.Plan.Lab) + "/disk.img", PoolDir(l.Plan.Lab) + "/memory/pool.mem"} {
		// Inside, the host's path may not exist; make the node so that only the device
		// cgroup stands in the way.
		script := fmt.Sprintf("head -c1 %s >/dev/null", p)
		if strings.HasPrefix(p, "/dev/loop") {
			var maj, min int
			b, err := os.ReadFile("/sys/class/block/" + strings.TrimPrefix(p, "/dev/") + "/dev")
			if err != nil {
				t.Fatal(err)
			}
			fmt.Sscanf(strings.TrimSpace(string(b)), "%d:%d", &maj, &min)
			script = fmt.Sprintf("mknod /tmp/x b %d %d 2>/dev/null; head -c1 /tmp/x >/dev/null", maj, min)
		}
		if out, code := inside(t, l, "a", script); code == 0 {
			t.Errorf("instance a read %s:\n%s", p, out)
		}
	}
	// t3.nano: 32 MiB. A shell that holds 8 MiB in a variable is fine; 64 MiB gets it killed.
	hold := `x=$(head -c %d /dev/zero | tr '\0' a); echo ${#x}`
	if out := mustInside(t, l, "a", fmt.Sprintf(hold, 8<<20)); !strings.Contains(out, "8388608") {
		t.Fatalf("a t3.nano instance could not hold 8 MiB: %s", out)
	}
	if out, code := inside(t, l, "a", fmt.Sprintf(hold, 64<<20)); code == 0 || strings.Contains(out, "67108864") {
		t.Errorf("a t3.nano instance held 64 MiB (exit %d): %s", code, out)
	}
	// And it can use its own devices: a disk, and its memory through mmap.
	mustInside(t, l, "b", "echo hi | dd of=/dev/xvdb conv=fsync 2>/dev/null && head -c2 /dev/xvdb | grep -q hi")
	if _, err := exec.LookPath("python3"); err != nil {
		t.Log("no python3: the mmap of /dev/ec2mem0 is not checked")
		return
	}
	out := mustInside(t, l, "b", `python3 -c '
import mmap, os
fd = os.open("/dev/ec2mem0", os.O_RDWR)
m = mmap.mmap(fd, 4 << 20)
m[1 << 20:(1 << 20) + 6] = b"MAPPED"
m.flush(); m.close(); os.close(fd)
with open("/dev/ec2mem0", "rb") as f:
    f.seek(1 << 20); print(f.read(6).decode())
'`)
	if strings.TrimSpace(out) != "MAPPED" {
		t.Errorf("mmap of /dev/ec2mem0: read back %q", out)
	}
}

// TestPoolTooSmall: a lab whose instances need more memory than its pool has fails to come up
// with an error naming the instance and the sizes, and leaves nothing behind.
func TestPoolTooSmall(t *testing.T) {
	needRoot(t)
	name := uniqueName("lc-small")
	plan := planFor(t, name, `
name: t
hypervisor: {memory_pool: 64MiB}
`+oneSubnet+`  a: {subnet: main/a}
  b: {subnet: main/a}
`)
	l, err := Up(context.Background(), plan)
	if err == nil {
		l.Down()
		t.Fatal("two t3.micro (64 MiB each) came up in a 64 MiB pool")
	}
	if !strings.Contains(err.Error(), "64 MiB asked, 0 bytes free of 64 MiB") || !errors.Is(err, pool.ErrNoSpace) {
		t.Errorf("error %q: want the sizes and ErrNoSpace", err)
	}
	if left, _ := hypervisor.ListLabObjects(name); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if _, err := os.Stat(Dir(name)); err == nil {
		t.Errorf("%s left behind", Dir(name))
	}
}

// TestUpScrubsWhatACrashLeft: a pool left by a dead engine still holds a grant with data in
// it; the next Up of the lab scrubs it (audited, verified) before any instance gets memory.
func TestUpScrubsWhatACrashLeft(t *testing.T) {
	needRoot(t)
	name := uniqueName("lc-crash")
	pl, err := pool.Open(pool.Options{Dir: PoolDir(name), Name: name, MemoryBytes: DefaultMemoryPool, DiskBytes: DefaultDiskPool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { destroyPool(name); os.Remove(Dir(name)) })
	g, err := pl.AllocMemory("ghost", 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(g.Device(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(strings.Repeat("GHOST-CANARY", 1000))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := pl.Close(); err != nil { // the engine dies: state, devices and data stay
		t.Fatal(err)
	}
	plan := planFor(t, name, `
name: t
`+oneSubnet+`  a: {subnet: main/a}
`)
	l, err := Up(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Down(); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	rep, err := l.Audit()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rep.Records {
		found = found || (r.Owner == "ghost" && r.What == "memory" && r.Verified)
	}
	if !found {
		t.Fatalf("no verified scrub of the leftover grant: %v", rep.Records)
	}
	if out := mustInside(t, l, "a", "head -c 12000 /dev/ec2mem0 | tr -d '\\0' | wc -c"); strings.TrimSpace(out) != "0" {
		t.Errorf("a's memory holds %s non-zero bytes of the dead run's", strings.TrimSpace(out))
	}
}

// TestTypeSetsConntrackAllowance: each ENI's allowance is its instance type's, unless the
// scenario's settings give one for all.
func TestTypeSetsConntrackAllowance(t *testing.T) {
	for _, tc := range []struct {
		settings string
		want     map[string]int
	}{
		{"", map[string]int{"nano": 8192, "dflt": 16384, "big": 131072}},
		{"settings: {conntrack: {allowance: 100}}\n", map[string]int{"nano": 100, "dflt": 100, "big": 100}},
	} {
		sc, err := scenarios.Parse("t.yaml", []byte("name: t\n"+tc.settings+oneSubnet+`  nano: {subnet: main/a, type: t3.nano}
  dflt: {subnet: main/a}
  big: {subnet: main/a, type: m5.large}
`))
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPlan(sc, "t")
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range tc.want {
			if got := p.State.SG.Allowance(p.Instance(name).ENIs[0]); got != want {
				t.Errorf("%q: %s allowance %d, want %d", tc.settings, name, got, want)
			}
		}
	}
}

// TestTypeInstanceStore: an m5d.large comes with its (scaled) NVMe instance store unless the
// scenario declares one.
func TestTypeInstanceStore(t *testing.T) {
	l := upLab(t, "lc-m5d", `
name: t
`+oneSubnet+`  d: {subnet: main/a, type: m5d.large, volumes: [{device: nvme1n1, size: 1MiB}]}
  e: {subnet: main/a, type: m5d.large, volumes: [{device: xvdb, kind: instance-store, size: 1MiB}]}
`)
	out := mustInside(t, l, "d", "blockdev --getsize64 /dev/nvme2n1")
	if strings.TrimSpace(out) != fmt.Sprint(4<<30) {
		t.Errorf("d's type instance store: %s bytes, want 4 GiB", strings.TrimSpace(out))
	}
	if out, code := inside(t, l, "e", "ls /dev/nvme1n1"); code == 0 {
		t.Errorf("e declares its instance store, yet has another:\n%s", out)
	}
}

// TestStartWithoutRoom: starting an instance the pool has no memory for fails, leaves it
// stopped and takes nothing; once another instance stops, it starts on the freed frames.
func TestStartWithoutRoom(t *testing.T) {
	l := upLab(t, "lc-room", `
name: t
hypervisor: {memory_pool: 64MiB}
`+oneSubnet+`  a: {subnet: main/a}
  b: {subnet: main/a, state: stopped}
`)
	before := l.hv.pool.Stats()
	err := l.Start("b")
	if !errors.Is(err, pool.ErrNoSpace) {
		t.Fatalf("start without room: %v, want ErrNoSpace", err)
	}
	if st, _ := l.InstanceState("b"); st != StateStopped {
		t.Errorf("b is %s after a failed start", st)
	}
	if after := l.hv.pool.Stats(); after != before {
		t.Errorf("a failed start changed the pool: %+v -> %+v", before, after)
	}
	if _, err := os.Stat(hypervisor.NSPath(l.Plan.Lab, "b")); err == nil {
		t.Error("a failed start left b's namespace")
	}
	if err := l.Stop("a"); err != nil {
		t.Fatal(err)
	}
	if err := l.Start("b"); err != nil {
		t.Fatal(err)
	}
	mustInside(t, l, "b", "test -b /dev/ec2mem0 && test -b /dev/xvda")
}
