package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/pool"
)

// Path is a way for traffic to go from a client namespace to a server namespace: through the
// engine, or through one of the kernel baselines. Benchmarks run the same commands on every path
// (`ip netns exec` into ClientNS and ServerNS), so the only difference is what lies between.
type Path struct {
	Name     string // short: "engine", "veth", "c1"; a figure names its baseline with it
	What     string // one line for the log and the docs
	ClientNS string // network namespace names under /run/netns
	ServerNS string
	ServerIP netip.Addr
	close    func() error
	// engineCPU, for the engine's paths, is the CPU time its engine process has used so far.
	engineCPU func() (time.Duration, error)
}

// Close removes the path's namespaces (and, for the engine, its lab).
func (p *Path) Close() error {
	if p.close == nil {
		return nil
	}
	err := p.close()
	p.close = nil
	if err != nil {
		return fmt.Errorf("path %s: %w", p.Name, err)
	}
	return nil
}

// Names. Every namespace this program makes itself starts with benchNSPrefix and carries the
// pid of the run that made it, so a later run can tell leftovers of a killed run (pid gone) from
// those of a run still going. Labs are named labPrefix-<pid>-<hex>: not "bench-...", because
// hypervisor.DestroyLab("bench-x") would also claim namespaces named ec2sim-bench-x-*.
const (
	benchNSPrefix = hypervisor.NSPrefix + "bench-"
	labPrefix     = "benchlab"
	// Addresses of the two ends on every path: the same as the engine lab's two instances, so
	// that no path differs by its addresses, and all of them inside namespaces this run made.
	clientAddr = "10.0.1.10/24"
	serverAddr = "10.0.1.11/24"
	// pathMTU is the MTU the hypervisor gives every ENI (EC2's jumbo frames); the kernel
	// baselines use it too so that no path wins by its frame size.
	pathMTU = "9001"
)

// runTag is unique to one run and one fixture: the pid and a random suffix.
func runTag() string {
	b := make([]byte, 2)
	rand.Read(b)
	return strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b)
}

// ipCmd runs the ip tool with args and makes its output part of the error.
func ipCmd(ctx context.Context, stdin string, args ...string) error {
	return runTool(ctx, stdin, "ip", args...)
}

// runTool runs a program with args (and stdin, if not empty) and makes its output part of the
// error.
func runTool(ctx context.Context, stdin, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// netnsSet makes namespaces and removes all of them again, also those made before a failure.
type netnsSet struct{ names []string }

func (s *netnsSet) add(ctx context.Context, name string) error {
	if err := ipCmd(ctx, "", "netns", "add", name); err != nil {
		return err
	}
	s.names = append(s.names, name)
	return nil
}

// remove deletes the namespaces; deleting a namespace also deletes the veths inside it. It uses
// a fresh context: cleanup must run after the run's context was cancelled by a signal.
func (s *netnsSet) remove() error {
	var errs []error
	for i := len(s.names) - 1; i >= 0; i-- {
		if err := ipCmd(context.Background(), "", "netns", "del", s.names[i]); err != nil {
			errs = append(errs, err)
		}
	}
	s.names = nil
	return errors.Join(errs...)
}

// buildNS makes the namespaces of a path and runs its setup commands (each an `ip` argument
// list); on failure it removes what it made.
func buildNS(ctx context.Context, names []string, steps [][]string) (*netnsSet, error) {
	s := &netnsSet{}
	for _, n := range names {
		if err := s.add(ctx, n); err != nil {
			return nil, errors.Join(err, s.remove())
		}
	}
	for _, st := range steps {
		if err := ipCmd(ctx, "", st...); err != nil {
			return nil, errors.Join(err, s.remove())
		}
	}
	return s, nil
}

// endSteps configures one end of a path: its eth0 (already there) with an address, and lo.
func endSteps(ns, addr string) [][]string {
	return [][]string{
		{"-n", ns, "addr", "add", addr, "dev", "eth0"},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "link", "set", "eth0", "up"},
	}
}

// newVethPath is the lower bound of any path: the two namespaces joined by one veth pair.
func newVethPath(ctx context.Context) (*Path, error) {
	tag := benchNSPrefix + runTag()
	c, s := tag+"-veth-c", tag+"-veth-s"
	steps := [][]string{{"-n", c, "link", "add", "eth0", "mtu", pathMTU, "type", "veth", "peer", "name", "eth0", "netns", s, "mtu", pathMTU}}
	steps = append(steps, endSteps(c, clientAddr)...)
	steps = append(steps, endSteps(s, serverAddr)...)
	set, err := buildNS(ctx, []string{c, s}, steps)
	if err != nil {
		return nil, fmt.Errorf("veth path: %w", err)
	}
	return &Path{Name: "veth", What: "two namespaces joined by a veth pair", ClientNS: c, ServerNS: s,
		ServerIP: netip.MustParsePrefix(serverAddr).Addr(), close: set.remove}, nil
}

// c1Rules is the kernel doing our job, as performance-notes.md's "c1" baseline: a stateful
// filter with one allow rule, in the inet family reached through br_netfilter (this kernel has no
// bridge-family conntrack). The chain is not called "fwd": that is an nft keyword.
const c1Rules = `table inet ec2simbench {
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		ip saddr %s ip daddr %s accept
	}
}
`

// newBridgePath is c1: client and server on a Linux bridge in a third namespace, with
// br_netfilter sending bridged IPv4 through nftables conntrack and one allow rule.
func newBridgePath(ctx context.Context) (*Path, error) {
	tag := benchNSPrefix + runTag()
	c, s, w := tag+"-c1-c", tag+"-c1-s", tag+"-c1-w"
	steps := [][]string{
		{"-n", c, "link", "add", "eth0", "mtu", pathMTU, "type", "veth", "peer", "name", "pc", "netns", w, "mtu", pathMTU},
		{"-n", s, "link", "add", "eth0", "mtu", pathMTU, "type", "veth", "peer", "name", "ps", "netns", w, "mtu", pathMTU},
		{"-n", w, "link", "add", "br0", "mtu", pathMTU, "type", "bridge", "stp_state", "0", "forward_delay", "0"},
		{"-n", w, "link", "set", "pc", "master", "br0", "up"},
		{"-n", w, "link", "set", "ps", "master", "br0", "up"},
		{"-n", w, "link", "set", "br0", "up"},
		{"-n", w, "link", "set", "lo", "up"},
	}
	steps = append(steps, endSteps(c, clientAddr)...)
	steps = append(steps, endSteps(s, serverAddr)...)
	set, err := buildNS(ctx, []string{c, s, w}, steps)
	if err != nil {
		return nil, fmt.Errorf("c1 path: %w", err)
	}
	cli, srv := netip.MustParsePrefix(clientAddr).Addr(), netip.MustParsePrefix(serverAddr).Addr()
	// bridge-nf-call-iptables is per namespace and on by default; set it anyway, since without it
	// this path silently becomes a plain bridge.
	brnf := func() error {
		return os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-iptables", []byte("1"), 0)
	}
	if err := hypervisor.RunIn(filepath.Join(hypervisor.NetnsDir, w), brnf); err != nil {
		return nil, errors.Join(fmt.Errorf("c1 path (needs br_netfilter): %w", err), set.remove())
	}
	if err := ipCmd(ctx, fmt.Sprintf(c1Rules, cli, srv), "netns", "exec", w, "nft", "-f", "-"); err != nil {
		return nil, errors.Join(fmt.Errorf("c1 path: %w", err), set.remove())
	}
	return &Path{Name: "c1", What: "Linux bridge + br_netfilter + nftables conntrack, one allow rule",
		ClientNS: c, ServerNS: s, ServerIP: srv, close: set.remove}, nil
}

// reapStale removes what killed runs of this program left: namespaces named benchNSPrefix<pid>-…
// and labs named labPrefix-<pid>-… whose pid no longer runs. Those of a live run are left alone.
func reapStale(env *Env) {
	ents, err := os.ReadDir(hypervisor.NetnsDir)
	if err == nil {
		for _, e := range ents {
			if pid, ok := tagPID(strings.TrimPrefix(e.Name(), benchNSPrefix)); ok && strings.HasPrefix(e.Name(), benchNSPrefix) && !alive(pid) {
				if err := ipCmd(context.Background(), "", "netns", "del", e.Name()); err != nil {
					env.Logf("leftover namespace %s: %v", e.Name(), err)
				} else {
					env.Logf("removed namespace %s left by run %d", e.Name(), pid)
				}
			}
		}
	}
	pools, _ := filepath.Glob(filepath.Join(benchPoolDir, benchPoolPrefix+"*"))
	for _, dir := range pools {
		if pid, ok := tagPID(strings.TrimPrefix(filepath.Base(dir), benchPoolPrefix)); ok && !alive(pid) {
			if err := pool.DestroyAt(dir); err != nil {
				env.Logf("leftover pool %s: %v", dir, err)
			} else {
				env.Logf("removed pool %s left by run %d", dir, pid)
			}
		}
	}
	// Labs: those of this process's in-process paths and those `ec2sim up` ran for it, whose
	// engine may still be running; Teardown ends such an engine (by its pid, only if it is an
	// ec2sim engine of that lab) and removes what the lab left.
	labs, err := lab.List()
	if err != nil {
		return
	}
	for _, l := range labs {
		rest, ok := strings.CutPrefix(l, labPrefix+"-")
		if pid, okPID := tagPID(rest); ok && okPID && !alive(pid) {
			notes, err := lab.Teardown(l)
			if err != nil {
				env.Logf("leftover lab %s: %v", l, err)
			} else {
				env.Logf("removed lab %s left by run %d (%s)", l, pid, notes)
			}
		}
	}
}

// tagPID reads the pid at the start of "<pid>-<hex>...".
func tagPID(s string) (int, bool) {
	num, _, ok := strings.Cut(s, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(num)
	return pid, err == nil && pid > 0
}

// alive reports whether a process with that pid exists (EPERM: it does, as someone else's).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
