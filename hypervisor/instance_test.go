package hypervisor

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

func TestCreateInstanceTwoENIs(t *testing.T) {
	lab := testLab(t)
	spec := twoENIs(lab, "app")
	inst := create(t, spec)
	if len(inst.TAPs) != 2 {
		t.Fatalf("%d TAPs, want 2", len(inst.TAPs))
	}
	if want := uint32(OffloadCSUM | OffloadTSO4 | OffloadTSO6); inst.Offloads&want != want {
		t.Errorf("offloads %#x lack %#x", inst.Offloads, want)
	}
	if !exists(NSPath(lab, "app")) || !exists(UTSPath(lab, "app")) {
		t.Errorf("missing %s or %s", NSPath(lab, "app"), UTSPath(lab, "app"))
	}

	h := nsHandle(t, inst)
	links, err := h.LinkList()
	must(t, err)
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"eth0", "eth1", "lo"}) {
		t.Errorf("links inside %v, want lo and the ENIs only", names)
	}
	for _, e := range spec.ENIs {
		link, err := h.LinkByName(e.Name)
		must(t, err)
		a := link.Attrs()
		if link.Type() != "tuntap" || a.HardwareAddr.String() != net.HardwareAddr(e.MAC[:]).String() || a.MTU != 9001 || a.Flags&net.FlagUp == 0 {
			t.Errorf("%s: type %s MAC %s MTU %d flags %v; want tuntap %s 9001 up", e.Name, link.Type(), a.HardwareAddr, a.MTU, a.Flags, net.HardwareAddr(e.MAC[:]))
		}
		addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
		must(t, err)
		if len(addrs) != 1 || addrs[0].IPNet.String() != e.Addr.String() {
			t.Errorf("%s: addresses %v, want only %s (no IPv6 link-local)", e.Name, addrs, e.Addr)
		}
	}
	lo, err := h.LinkByName("lo")
	must(t, err)
	if lo.Attrs().Flags&net.FlagUp == 0 {
		t.Error("lo is down")
	}

	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	must(t, err)
	var defaults []netlink.Route
	for _, r := range routes {
		if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
			defaults = append(defaults, r)
		}
	}
	eth0, _ := h.LinkByName("eth0")
	if len(defaults) != 1 || defaults[0].LinkIndex != eth0.Attrs().Index || defaults[0].Gw.String() != "10.0.1.1" {
		t.Errorf("default routes %v, want one via 10.0.1.1 on eth0 (index %d)", defaults, eth0.Attrs().Index)
	}

	// Settings inside the namespace, read through /proc/sys as the instance sees it.
	want := map[string]string{
		"net/ipv6/conf/eth0/disable_ipv6": "1", "net/ipv6/conf/eth1/disable_ipv6": "1", "net/ipv6/conf/lo/disable_ipv6": "0",
		"net/ipv4/conf/eth1/rp_filter": "2", "net/ipv4/conf/all/rp_filter": "2", "net/ipv4/ip_forward": "0",
		"net/ipv4/conf/eth0/arp_announce": "2", "net/ipv4/conf/eth0/arp_ignore": "1",
	}
	must(t, RunIn(inst.NSPath, func() error {
		for k, v := range want {
			b, err := os.ReadFile(filepath.Join("/proc/sys", k))
			if err != nil {
				return err
			}
			if got := strings.TrimSpace(string(b)); got != v {
				t.Errorf("%s = %s inside, want %s", k, got, v)
			}
		}
		return nil
	}))

	out, err := Command(lab, "app", "hostname").Output()
	must(t, err)
	if got := strings.TrimSpace(string(out)); got != "ip-10-0-1-10" {
		t.Errorf("hostname inside is %q, want ip-10-0-1-10", got)
	}
	if host, _ := os.Hostname(); host == "ip-10-0-1-10" {
		t.Error("the host's name changed")
	}

	out, err = Command(lab, "app", "ip", "-o", "addr").CombinedOutput()
	must(t, err)
	contains(t, string(out), "eth0    inet 10.0.1.10/24", "ip -o addr")
	contains(t, string(out), "eth1    inet 10.0.2.10/24", "ip -o addr")
	contains(t, string(out), "lo    inet6 ::1/128", "ip -o addr")
	if strings.Contains(string(out), "fe80") {
		t.Errorf("IPv6 link-local on an ENI:\n%s", out)
	}
}

func TestCreateInstanceDefaultHostname(t *testing.T) {
	lab := testLab(t)
	create(t, InstanceSpec{Lab: lab, Name: "web", ENIs: []ENISpec{goodENI()}})
	out, err := Command(lab, "web", "hostname").Output()
	must(t, err)
	if got := strings.TrimSpace(string(out)); got != "ip-10-0-1-23" {
		t.Errorf("hostname %q, want ip-10-0-1-23 from the primary address", got)
	}
}

func TestCreateInstanceExistsIsAnError(t *testing.T) {
	lab := testLab(t)
	first := create(t, twoENIs(lab, "x-y"))
	_, err := CreateInstance(twoENIs(lab, "x-y"))
	if err == nil {
		t.Fatal("created the same instance twice")
	}
	contains(t, err.Error(), "already exists", "second create")

	// Another lab/instance pair with the same namespace name: lab L-x, instance y.
	_, err = CreateInstance(twoENIs(lab+"-x", "y"))
	if err == nil {
		t.Fatal("created a second instance with namespace " + NSName(lab, "x-y"))
	}
	contains(t, err.Error(), "already exists", "clashing create")
	noLabObjects(t, lab+"-x")

	// The first instance is intact, and DestroyLab of the other lab does not touch it.
	removed, err := DestroyLab(lab + "-x")
	must(t, err)
	if len(removed) > 0 {
		t.Errorf("DestroyLab(%s) removed %v", lab+"-x", removed)
	}
	if !exists(first.NSPath) {
		t.Fatal("the first instance's namespace is gone")
	}
	out, err := Command(lab, "x-y", "hostname").Output()
	must(t, err)
	if strings.TrimSpace(string(out)) != "ip-10-0-1-10" {
		t.Errorf("hostname %q", out)
	}
}

func TestDestroyLeavesNothing(t *testing.T) {
	lab := testLab(t)
	inst := create(t, twoENIs(lab, "a"))
	other := create(t, twoENIs(lab, "b"))
	sleeper := Command(lab, "a", "sleep", "300")
	must(t, sleeper.Start())
	tap := inst.TAPs[0]

	must(t, inst.Destroy())
	if exists(inst.NSPath) || exists(inst.UTSPath) {
		t.Errorf("%s or %s still exists", inst.NSPath, inst.UTSPath)
	}
	if !exists(filepath.Join(UTSDir, lab)) {
		t.Error("the lab directory went while instance b lives")
	}
	if _, err := tap.Read(make([]byte, 100)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("read of a destroyed instance's TAP: %v, want closed", err)
	}
	var ee *exec.ExitError
	if err := sleeper.Wait(); !errors.As(err, &ee) || ee.ProcessState.String() != "signal: killed" {
		t.Errorf("process inside ended with %v, want killed", err)
	}
	must(t, inst.Destroy()) // idempotent

	must(t, other.Destroy())
	noLabObjects(t, lab)
	if exists(filepath.Join(UTSDir, lab)) {
		t.Error("the lab directory is left")
	}
}

// TestDestroyLabAfterCrash drops instances without Destroy, as a crashed engine would, with a
// process left inside one of them and a half-made instance, and checks that DestroyLab finds
// and removes all of it.
func TestDestroyLabAfterCrash(t *testing.T) {
	lab := testLab(t)
	for _, n := range []string{"a", "b"} {
		inst, err := CreateInstance(twoENIs(lab, n))
		must(t, err)
		for _, f := range inst.TAPs {
			must(t, f.Close())
		}
	}
	sleeper := Command(lab, "b", "sleep", "300")
	must(t, sleeper.Start())
	// Half-made: a crash between creating the files and mounting on them.
	must(t, createExcl(UTSPath(lab, "c")))
	must(t, createExcl(NSPath(lab, "c")))

	labs, err := ListLabs()
	must(t, err)
	if !slices.Contains(labs, lab) {
		t.Errorf("ListLabs %v lacks %s", labs, lab)
	}
	before, err := ListLabObjects(lab)
	must(t, err)
	// Three processes (the inits of a and b, then the sleep), 3 netns, 3 uts, 2 init records
	// and the two directories.
	if len(before) != 3+3+3+2+2 || !strings.HasSuffix(before[2], "(sleep) in "+NSName(lab, "b")) ||
		!strings.HasSuffix(before[0], "(ec2sim-init) in "+NSName(lab, "a")) || before[9] != "init "+InitPath(lab, "a") {
		t.Errorf("objects %q, want the two init processes and the sleep, 3 netns, 3 uts, 2 init records and 2 directories", before)
	}

	removed, err := DestroyLab(lab)
	must(t, err)
	if !slices.Equal(before, removed) {
		t.Errorf("removed %q, want %q", removed, before)
	}
	var ee *exec.ExitError
	if err := sleeper.Wait(); !errors.As(err, &ee) {
		t.Errorf("process inside ended with %v, want killed", err)
	}
	noLabObjects(t, lab)
	for _, n := range []string{"a", "b", "c"} {
		if exists(NSPath(lab, n)) {
			t.Errorf("%s left", NSPath(lab, n))
		}
	}
	if exists(filepath.Join(UTSDir, lab)) {
		t.Error("lab directory left")
	}
	labs, err = ListLabs()
	must(t, err)
	if slices.Contains(labs, lab) {
		t.Errorf("ListLabs %v still names %s", labs, lab)
	}
	again, err := DestroyLab(lab)
	must(t, err)
	if len(again) > 0 {
		t.Errorf("second DestroyLab removed %v", again)
	}
}

func TestUserDataFailureLeavesNothing(t *testing.T) {
	lab := testLab(t)
	spec := twoENIs(lab, "bad")
	spec.UserData = "echo boom-$(hostname); exit 3"
	_, err := CreateInstance(spec)
	if err == nil {
		t.Fatal("failing user data did not fail CreateInstance")
	}
	contains(t, err.Error(), "instance bad of lab "+lab, "error")
	contains(t, err.Error(), "boom-ip-10-0-1-10", "error (output, from inside the UTS namespace)")
	contains(t, err.Error(), "exit status 3", "error")
	noLabObjects(t, lab)
}

func TestUserDataRunsInside(t *testing.T) {
	lab := testLab(t)
	spec := twoENIs(lab, "ok")
	// The background job keeps the output file open; CreateInstance must not wait for it.
	spec.UserData = "echo 1 > /proc/sys/net/ipv4/ip_forward; sleep 300 &"
	start := time.Now()
	inst := create(t, spec)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("CreateInstance took %v: it waited for the background job", d)
	}
	must(t, RunIn(inst.NSPath, func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		if strings.TrimSpace(string(b)) != "1" {
			t.Errorf("ip_forward inside is %q after user data", b)
		}
		return err
	}))
	// The shell may not have exec'd sleep yet on a busy machine: wait for it a little.
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		left, err = ListLabObjects(lab)
		must(t, err)
		if strings.Contains(strings.Join(left, "\n"), "(sleep) in ") || time.Now().After(deadline) {
			break
		}
	}
	contains(t, strings.Join(left, "\n"), "(sleep) in "+NSName(lab, "ok"), "lab objects (the background job runs inside)")
}

func TestRunUserDataTimeoutKillsGroup(t *testing.T) {
	lab := testLab(t)
	create(t, twoENIs(lab, "slow"))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	out, err := RunUserData(ctx, lab, "slow", "echo started; sleep 300 & sleep 300")
	if err == nil {
		t.Fatal("no error after the timeout")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %v", d)
	}
	contains(t, err.Error(), "did not finish", "error")
	contains(t, string(out), "started", "output")
	// Both sleeps were in the script's process group and are gone.
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		left, _ := ListLabObjects(lab)
		if !strings.Contains(strings.Join(left, "\n"), "(sleep)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still running: %v", left)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	needRoot(t)
	err := Command("hvtnolab", "web", "true").Run()
	if err == nil {
		t.Fatal("ran in a missing instance")
	}
	contains(t, err.Error(), NSPath("hvtnolab", "web"), "error")
	if Command("Bad", "web", "true").Run() == nil {
		t.Error("ran with lab name Bad")
	}
	if Command("lab", "web").Run() == nil {
		t.Error("ran an empty command")
	}
	if Exec("hvtnolab", "web", []string{"true"}) == nil {
		t.Error("Exec in a missing instance returned nil")
	}
}

func TestRunIn(t *testing.T) {
	lab := testLab(t)
	inst := create(t, twoENIs(lab, "r"))
	hostNS, err := os.Readlink("/proc/thread-self/ns/net")
	must(t, err)

	var conn *net.UDPConn
	must(t, RunIn(inst.NSPath, func() error {
		ifs, err := net.Interfaces()
		if len(ifs) != 3 {
			t.Errorf("interfaces inside: %v", ifs)
		}
		if err != nil {
			return err
		}
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("10.0.1.10"), Port: 4000})
		return err
	}))
	defer conn.Close()
	// The socket made inside keeps the instance's address though we are outside now.
	if got := conn.LocalAddr().String(); got != "10.0.1.10:4000" {
		t.Errorf("socket address %s", got)
	}
	if c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("10.0.1.10"), Port: 4001}); err == nil {
		c.Close()
		t.Error("10.0.1.10 exists in the host namespace")
	}

	func() {
		defer func() {
			if r := recover(); r != "inside" {
				t.Errorf("recovered %v, want the panic from inside", r)
			}
		}()
		_ = RunIn(inst.NSPath, func() error { panic("inside") })
	}()
	if RunIn("/nonexistent", func() error { return nil }) == nil {
		t.Error("RunIn entered /nonexistent")
	}
	if RunIn("/proc/self/ns/uts", func() error { return nil }) == nil {
		t.Error("RunIn entered a UTS namespace as a network namespace")
	}
	if err := RunIn(inst.NSPath, func() error { runtime.Goexit(); return nil }); !errors.Is(err, errGoexit) {
		t.Errorf("RunIn of a function that ends its goroutine returned %v", err)
	}
	sentinel := errors.New("sentinel")
	if err := RunIn(inst.NSPath, func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("RunIn returned %v, want fn's error", err)
	}
	for i := 0; i < 50; i++ {
		now, err := os.Readlink("/proc/thread-self/ns/net")
		must(t, err)
		if now != hostNS {
			t.Fatalf("a goroutine runs in %s after RunIn, want %s", now, hostNS)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestExec runs this test binary as a program that calls Exec (see TestMain), which replaces
// it with a shell inside the instance.
func TestExec(t *testing.T) {
	lab := testLab(t)
	spec := twoENIs(lab, "ex")
	spec.ENIs[1].Name = "eth7"
	create(t, spec)
	if _, err := net.InterfaceByName("eth7"); err == nil {
		t.Skip("the host has an eth7; the /sys check needs a name only the instance has")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EC2SIM_HV_EXEC="+lab+"/ex")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 4 || lines[0] != "ip-10-0-1-10" || !slices.Equal(lines[1:], []string{"eth0", "eth7", "lo"}) {
		t.Errorf("output %q, want the hostname, then eth0 eth7 lo from /sys/class/net", lines)
	}
}

// TestCreate50Instances measures bring-up of a 50-instance lab, without and with a type
// (cgroups); every instance has its init process, PID and mount namespaces either way.
func TestCreate50Instances(t *testing.T) {
	for _, typeName := range []string{"", "t3.micro"} {
		name := typeName
		if name == "" {
			name = "untyped"
		}
		t.Run(name, func(t *testing.T) {
			var ty *InstanceType
			if typeName != "" {
				needCgroupV1(t)
				var err error
				ty, err = LookupType(typeName)
				must(t, err)
			}
			lab := testLab(t)
			const n = 50
			start := time.Now()
			insts := make([]*Instance, 0, n)
			t.Cleanup(func() { _ = DestroyAll(insts) })
			for i := 0; i < n; i++ {
				e := goodENI()
				e.MAC[5] = byte(i)
				e.Addr = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 1, byte(10 + i)}), 24)
				inst, err := CreateInstance(InstanceSpec{Lab: lab, Name: "i" + string(rune('a'+i/26)) + string(rune('a'+i%26)), ENIs: []ENISpec{e}, Type: ty})
				must(t, err)
				insts = append(insts, inst)
			}
			created := time.Since(start)
			start = time.Now()
			must(t, insts[0].Destroy())
			one := time.Since(start)
			start = time.Now()
			must(t, DestroyAll(insts))
			destroyed := time.Since(start)
			t.Logf("%d instances: created in %v (%.0f/s); one Destroy %v, DestroyAll of the rest %v", n, created, n/created.Seconds(), one, destroyed)
			noLabObjects(t, lab)
			if created > 10*time.Second {
				t.Errorf("creating %d instances took %v, want well under 10s", n, created)
			}
		})
	}
}

func BenchmarkCreateDestroy(b *testing.B) {
	lab := testLab(b)
	spec := twoENIs(lab, "bench")
	b.ReportAllocs()
	for b.Loop() {
		inst, err := CreateInstance(spec)
		if err != nil {
			b.Fatal(err)
		}
		if err := inst.Destroy(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateInstance measures creation alone, with the instances accumulating as in a
// large lab (-benchtime 1000x builds a 1000-instance lab); they are destroyed untimed.
func BenchmarkCreateInstance(b *testing.B) {
	lab := testLab(b)
	var insts []*Instance
	b.Cleanup(func() { _ = DestroyAll(insts) })
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		e := goodENI()
		e.MAC[4], e.MAC[5] = byte(n>>8), byte(n)
		inst, err := CreateInstance(InstanceSpec{Lab: lab, Name: "b" + strconv.Itoa(n), ENIs: []ENISpec{e}})
		if err != nil {
			b.Fatal(err)
		}
		insts = append(insts, inst)
		n++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inst/s")
}

func BenchmarkRunIn(b *testing.B) {
	lab := testLab(b)
	inst := create(b, twoENIs(lab, "bench"))
	b.ReportAllocs()
	for b.Loop() {
		if err := RunIn(inst.NSPath, func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentCreateDestroy creates and destroys instances of one lab from several
// goroutines, so that one goroutine's Destroy empties and removes the lab directory (and,
// typed, the lab's cgroup directories) while another creates in it.
func TestConcurrentCreateDestroy(t *testing.T) {
	for _, typeName := range []string{"", "t3.nano"} {
		name := typeName
		if name == "" {
			name = "untyped"
		}
		t.Run(name, func(t *testing.T) {
			var ty *InstanceType
			if typeName != "" {
				needCgroupV1(t)
				ty, _ = LookupType(typeName)
			}
			lab := testLab(t)
			const workers, rounds = 4, 8
			errs := make(chan error, workers)
			for w := 0; w < workers; w++ {
				go func() {
					for r := 0; r < rounds; r++ {
						e := goodENI()
						e.MAC[5] = byte(w)
						inst, err := CreateInstance(InstanceSpec{Lab: lab, Name: "w" + string(rune('0'+w)), ENIs: []ENISpec{e}, Type: ty})
						if err != nil {
							errs <- err
							return
						}
						if err := inst.Destroy(); err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for w := 0; w < workers; w++ {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			noLabObjects(t, lab)
		})
	}
}

// TestDestroyDetachesMountCopies: a mount namespace made while an instance exists (a shell of
// `ec2sim exec`, `ip netns exec`) holds copies of its bind mounts; DestroyLab must leave none
// there, or the copy would keep the namespace alive.
func TestDestroyDetachesMountCopies(t *testing.T) {
	lab := testLab(t)
	create(t, twoENIs(lab, "cp"))
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1)")
	}
	holder := exec.Command("unshare", "--mount", "--propagation", "unchanged", "sleep", "30")
	must(t, holder.Start())
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	proc := "/proc/" + strconv.Itoa(holder.Process.Pid)
	own, err := os.Readlink("/proc/self/ns/mnt")
	must(t, err)
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if ns, _ := os.Readlink(proc + "/ns/mnt"); ns != "" && ns != own {
			break // unshare has made its mount namespace
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare never made a mount namespace")
		}
	}
	b, err := os.ReadFile(proc + "/mountinfo")
	must(t, err)
	if !strings.Contains(string(b), NSName(lab, "cp")) {
		t.Fatalf("the new mount namespace has no copy of the instance's mounts:\n%s", b)
	}
	_, err = DestroyLab(lab)
	must(t, err)
	b, err = os.ReadFile(proc + "/mountinfo")
	must(t, err)
	if strings.Contains(string(b), lab) {
		t.Errorf("the other mount namespace still holds the lab's mounts:\n%s", b)
	}
}

// BenchmarkCommand measures starting and waiting for `true` inside an instance, without and
// with a type: entering the namespaces (and cgroups) on a fresh thread, fork, exec, exit.
func BenchmarkCommand(b *testing.B) {
	for _, typeName := range []string{"", "t3.micro"} {
		name := typeName
		if name == "" {
			name = "untyped"
		}
		b.Run(name, func(b *testing.B) {
			spec := twoENIs(testLab(b), "bench")
			if typeName != "" {
				needCgroupV1(b)
				spec.Type, _ = LookupType(typeName)
			}
			create(b, spec)
			b.ReportAllocs()
			for b.Loop() {
				if err := Command(spec.Lab, spec.Name, "true").Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
