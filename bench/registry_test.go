package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	nameRE := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	for _, b := range registry() {
		assert.Regexp(t, nameRE, b.Name)
		assert.False(t, seen[b.Name], "duplicate benchmark %s", b.Name)
		seen[b.Name] = true
		assert.NotNil(t, b.Run, b.Name)
		assert.NotEmpty(t, b.What, b.Name)
	}
	for _, want := range []string{"tcp-throughput", "udp-pps", "ping-rtt", "lab-bringup"} {
		assert.True(t, seen[want], "the issue's figure %s has no benchmark", want)
	}
}

func TestSelectBenchmarks(t *testing.T) {
	all := []Benchmark{{Name: "tcp-throughput"}, {Name: "udp-pps"}, {Name: "ping-rtt"}, {Name: "lab-bringup"}}
	names := func(bs []Benchmark) (n []string) {
		for _, b := range bs {
			n = append(n, b.Name)
		}
		return n
	}
	for only, want := range map[string][]string{
		"":           {"tcp-throughput", "udp-pps", "ping-rtt", "lab-bringup"},
		"tcp|ping":   {"tcp-throughput", "ping-rtt"},
		"^lab":       {"lab-bringup"},
		"pps$":       {"udp-pps"},
		"throughput": {"tcp-throughput"},
	} {
		sel, err := selectBenchmarks(all, only)
		require.NoError(t, err, only)
		assert.Equal(t, want, names(sel), "-only %q", only)
	}
	_, err := selectBenchmarks(all, "nothing")
	assert.ErrorContains(t, err, "matches no benchmark")
	_, err = selectBenchmarks(all, "(")
	assert.ErrorContains(t, err, "not a regular expression")
}

func TestConfig(t *testing.T) {
	require.NoError(t, defaultConfig(false).validate())
	require.NoError(t, defaultConfig(true).validate())
	assert.Less(t, defaultConfig(true).IperfTime, defaultConfig(false).IperfTime)
	assert.GreaterOrEqual(t, defaultConfig(false).Runs, 3, "the issue asks for medians of at least 3")
	bad := defaultConfig(false)
	bad.Runs = 0
	assert.ErrorContains(t, bad.validate(), "-runs 0")
	bad = defaultConfig(false)
	bad.IperfTime = 10 * time.Minute
	assert.Error(t, bad.validate(), "an iperf3 run must stay bounded")
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-only", "("}, {"-only", "zzz"}, {"extra"}, {"-runs", "0", "-bogus"}} {
		var out, errb bytes.Buffer
		assert.Equal(t, 2, run(args, &out, &errb), "args %q: %s", args, errb.String())
	}
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"-list"}, &out, &errb))
	assert.Contains(t, out.String(), "lab-bringup")
}

// fakeEnv is an Env whose paths are set up front, for the pure parts of the data-path code.
func fakeEnv(runs int, names ...string) *Env {
	env := &Env{Config: defaultConfig(true), Log: &bytes.Buffer{}}
	env.Runs = runs
	for _, n := range names {
		env.paths = append(env.paths, &Path{Name: n, What: n + " path", ServerIP: netip.MustParseAddr("10.0.1.11")})
	}
	return env
}

// TestAlternate checks the interleaving: every round measures every path once, and each path
// is measured first in some round, so drift during a run is shared out evenly.
func TestAlternate(t *testing.T) {
	env := fakeEnv(3, "engine", "veth", "c1")
	var order []string
	n := 0.0
	samples, err := alternate(context.Background(), env, "x", env.paths, func(_ context.Context, _ *Env, p *Path) (float64, error) {
		order = append(order, p.Name)
		n++
		return n, nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"engine", "veth", "c1", "veth", "c1", "engine", "c1", "engine", "veth"}, order)
	assert.Equal(t, [][]float64{{1, 6, 8}, {2, 4, 9}, {3, 5, 7}}, samples)

	_, err = alternate(context.Background(), env, "tcp", env.paths, func(_ context.Context, _ *Env, p *Path) (float64, error) {
		if p.Name == "c1" {
			return 0, errors.New("boom")
		}
		return 1, nil
	})
	assert.ErrorContains(t, err, "tcp on path c1, run 1: boom")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = alternate(ctx, env, "x", env.paths, func(context.Context, *Env, *Path) (float64, error) {
		t.Fatal("measured after cancellation")
		return 0, nil
	})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestComparePaths(t *testing.T) {
	env := fakeEnv(3, "engine", "veth", "c1")
	vals := map[string]float64{"engine": 10, "veth": 40, "c1": 20}
	f := figure{name: "tcp_throughput", unit: "Gbit/s", better: higher, notes: "n", targets: map[string]float64{"veth": 0.5}}
	rs, err := comparePaths(context.Background(), env, f, func(_ context.Context, _ *Env, p *Path) (float64, error) {
		return vals[p.Name], nil
	})
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.Equal(t, "tcp_throughput", rs[0].Name)
	assert.Equal(t, "veth", rs[0].Baseline)
	assert.Equal(t, 0.25, rs[0].Ratio)
	assert.Equal(t, 0.5, rs[0].TargetRatio)
	assert.Equal(t, "tcp_throughput_vs_c1", rs[1].Name)
	assert.Equal(t, "c1", rs[1].Baseline)
	assert.Equal(t, 0.5, rs[1].Ratio)
	assert.Zero(t, rs[1].TargetRatio)
	assert.True(t, strings.HasPrefix(rs[1].Notes, "n; CPUs "), rs[1].Notes)
	assert.True(t, strings.HasSuffix(rs[1].Notes, "; c1 path"), rs[1].Notes)
	assert.Len(t, rs[0].Samples, 3)
}

// TestScenariosPlan checks the labs the benchmarks bring up without bringing them up: they
// parse, plan, and the pair's addresses are those of the kernel baselines' ends.
func TestScenariosPlan(t *testing.T) {
	sc, err := scenarios.Parse("bench-pair.yaml", []byte(pairScenario))
	require.NoError(t, err)
	p, err := lab.NewPlan(sc, "benchlab-test")
	require.NoError(t, err)
	require.Len(t, p.Instances, 2)
	addr := func(name string) string {
		in := p.Instance(name)
		require.NotNil(t, in, name)
		return p.State.ENIs[in.ENIs[0]].Identity.Addrs[0].String()
	}
	assert.Equal(t, netip.MustParsePrefix(clientAddr).Addr().String(), addr("client"))
	assert.Equal(t, netip.MustParsePrefix(serverAddr).Addr().String(), addr("server"))

	for _, n := range []int{2, 50, 250} {
		sc, err := scenarios.Parse("bench-bringup.yaml", []byte(bringUpScenario(n)))
		require.NoError(t, err, "n=%d", n)
		p, err := lab.NewPlan(sc, "benchlab-test")
		require.NoError(t, err, "n=%d", n)
		assert.Len(t, p.Instances, n)
		subnets := map[uint32]bool{}
		for _, e := range p.State.ENIs {
			subnets[e.Subnet] = true
		}
		assert.Len(t, subnets, min(n, 5), "n=%d: instances spread over the five subnets", n)
	}
}

func TestNames(t *testing.T) {
	tag := runTag()
	pid, ok := tagPID(tag)
	require.True(t, ok, tag)
	assert.True(t, alive(pid), "the tag carries this process's pid")
	assert.NoError(t, lab.ValidateName(labPrefix+"-"+tag), "lab names must be valid")
	for in, want := range map[string]int{"123-ab": 123, "1-x-c1-w": 1} {
		got, ok := tagPID(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "ab-12", "123", "-1-ab", "0-ab"} {
		_, ok := tagPID(in)
		assert.False(t, ok, in)
	}
	// Lab namespaces must never look like this program's own namespaces, nor the other way
	// round, or DestroyLab of one would claim the other's.
	assert.False(t, strings.HasPrefix(fmt.Sprintf("ec2sim-%s-%s-client", labPrefix, tag), benchNSPrefix))
}
