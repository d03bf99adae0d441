package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
)

func needRoot(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces, TAP devices and labs")
	}
	if testing.Short() {
		t.Skip("namespace test skipped in -short mode")
	}
	for _, tool := range append([]string{"ip", "ping", "taskset"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (make deps installs it)", tool)
		}
	}
}

// The engine paths run labs with the ec2sim binary, as `make bench` does; the tests build it
// once, on first use, into a directory TestMain removes.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func ec2simBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "ec2sim-bench-test"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ec2sim")
		if out, err := exec.Command("go", "build", "-o", binPath, "github.com/ec2sim/ec2sim/cmd/ec2sim").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ec2sim: %v: %s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

func testEnv(t *testing.T) *Env {
	t.Helper()
	cfg := defaultConfig(true)
	if os.Geteuid() == 0 && !testing.Short() {
		cfg.Ec2sim = ec2simBinary(t)
	}
	env, err := newEnv(cfg, testLog{t})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return env
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) { l.t.Log(string(b)); return len(b), nil }

func nsExists(name string) bool {
	_, err := os.Lstat(filepath.Join(hypervisor.NetnsDir, name))
	return err == nil
}

// TestPaths builds the three paths of a run, checks each carries pings and a short TCP stream,
// that the c1 baseline really filters (the server cannot open a flow to the client), and that
// Close leaves nothing behind.
func TestPaths(t *testing.T) {
	needRoot(t, "iperf3", "nft")
	env := testEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	paths, err := env.Paths(ctx)
	require.NoError(t, err)
	require.Len(t, paths, 3)
	assert.Equal(t, []string{"engine", "veth", "c1"}, []string{paths[0].Name, paths[1].Name, paths[2].Name})

	for _, p := range paths {
		bps, err := runIperf(ctx, env, p, tcpBulk)
		require.NoError(t, err, p.Name)
		// Any rate proves the path carries TCP; how fast is the benchmark's business, and a
		// test must not fail because the shared machine was busy.
		assert.Greater(t, bps, 0.0, "%s: TCP at %v bit/s", p.Name, bps)
		rtts, err := runPing(ctx, env, p, 3, 10*time.Millisecond)
		require.NoError(t, err, p.Name)
		assert.Len(t, rtts, 3, p.Name)

		// The reverse direction: a new flow from the server is allowed on veth and through the
		// engine (the security group allows the VPC), and dropped by c1's one-rule policy.
		back := &Path{Name: p.Name + "-back", ClientNS: p.ServerNS, ServerNS: p.ClientNS, ServerIP: mustAddr(clientAddr)}
		_, err = runPing(ctx, env, back, 2, 10*time.Millisecond)
		if p.Name == "c1" {
			assert.Error(t, err, "c1 let a flow the rule does not allow through: it is not filtering")
		} else {
			assert.NoError(t, err, p.Name)
		}
	}
	// The engine's process carried all of that: it has used CPU, and only it has a CPU reading.
	cpu, err := paths[0].engineCPU()
	require.NoError(t, err)
	assert.Greater(t, cpu, time.Duration(0), "engine CPU after TCP and pings")
	assert.Nil(t, paths[1].engineCPU, "veth has no engine")
	var names []string
	for _, p := range paths {
		names = append(names, p.ClientNS, p.ServerNS)
	}
	require.NoError(t, env.Close())
	for _, n := range names {
		assert.False(t, nsExists(n), "namespace %s left after Close", n)
	}
	assert.Empty(t, ownLeftovers(t), "left after Close")
}

// ownLeftovers lists namespaces and labs of this process still on the machine.
func ownLeftovers(t *testing.T) []string {
	var own []string
	ents, err := os.ReadDir(hypervisor.NetnsDir)
	require.NoError(t, err)
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), benchNSPrefix)
		if pid, okPID := tagPID(rest); ok && okPID && pid == os.Getpid() {
			own = append(own, e.Name())
		}
	}
	labs, err := hypervisor.ListLabs()
	require.NoError(t, err)
	for _, l := range labs {
		if strings.HasPrefix(l, labPrefix+"-"+strconv.Itoa(os.Getpid())+"-") {
			own = append(own, "lab "+l)
		}
	}
	return own
}

func mustAddr(prefix string) netip.Addr { return netip.MustParsePrefix(prefix).Addr() }

// TestIperfServerStops checks the iperf3 server of a run does not outlive it when the client
// fails: the measurement errors and the server is gone.
func TestIperfServerStops(t *testing.T) {
	needRoot(t, "iperf3")
	env := testEnv(t)
	ctx := context.Background()
	p, err := newVethPath(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	// Point the client at an address nobody has: it cannot connect.
	bad := *p
	bad.ServerIP = mustAddr("10.0.1.99/24")
	_, err = runIperf(ctx, env, &bad, tcpBulk)
	require.Error(t, err, "a server bound to an absent address")
	out, _ := exec.Command("ip", "netns", "pids", p.ServerNS).Output()
	assert.Empty(t, string(out), "processes left in the server namespace")
}

func TestBringUpSmall(t *testing.T) {
	needRoot(t)
	env := testEnv(t)
	env.Instances = 6
	rs, err := benchBringUp(context.Background(), env)
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.Equal(t, "lab_up_time", rs[0].Name)
	assert.Equal(t, "lab_down_time", rs[1].Name)
	for _, r := range rs {
		assert.Greater(t, r.Value, 0.0, r.Name)
		assert.Equal(t, "target", r.Baseline)
		assert.InDelta(t, r.Value/r.BaselineValue, r.Ratio, 1e-3*r.Ratio+1e-9, r.Name)
	}
}

// TestReapStale checks that leftovers of a dead run are removed and those of a live run kept.
func TestReapStale(t *testing.T) {
	needRoot(t)
	env := testEnv(t)
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	deadPID := dead.Process.Pid
	if alive(deadPID) {
		t.Skipf("pid %d was reused already", deadPID)
	}
	stale := benchNSPrefix + strconv.Itoa(deadPID) + "-beef-x"
	live := benchNSPrefix + runTag() + "-x"
	for _, n := range []string{stale, live} {
		require.NoError(t, ipCmd(context.Background(), "", "netns", "add", n))
		t.Cleanup(func() {
			if nsExists(n) {
				ipCmd(context.Background(), "", "netns", "del", n)
			}
		})
	}
	// A lab that `ec2sim up` ran for a run that died: its engine is still running.
	staleLab := &daemonLab{bin: env.Ec2sim, name: labPrefix + "-" + strconv.Itoa(deadPID) + "-beef", dir: t.TempDir()}
	file := filepath.Join(staleLab.dir, "pair.yaml")
	require.NoError(t, os.WriteFile(file, []byte(pairScenario), 0o644))
	require.NoError(t, staleLab.run(context.Background(), "up", file, "--name", staleLab.name))
	t.Cleanup(func() { lab.Teardown(staleLab.name) })

	reapStale(env)
	assert.False(t, nsExists(stale), "a dead run's namespace was kept")
	assert.False(t, nsExists(staleLab.ns("client")), "a dead run's lab was kept")
	left, err := hypervisor.ListLabObjects(staleLab.name)
	assert.NoError(t, err)
	assert.Empty(t, left, "a dead run's lab left objects")
	_, err = os.Stat(lab.Dir(staleLab.name))
	assert.True(t, os.IsNotExist(err), "a dead run's lab directory was kept: %v", err)
	assert.True(t, nsExists(live), "a live run's namespace was removed")
}
