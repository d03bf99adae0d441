package main

import (
	"context"
	"fmt"
	"regexp"
)

// Benchmark is one entry of the registry: a named function that measures one or more figures.
// A later issue adds its figures by adding an entry to registry; the entry gets the shared
// fixtures (the engine/veth/bridge paths, see Env.Paths) and the run's settings from env.
type Benchmark struct {
	// Name is what -only matches; short, lower case, hyphenated.
	Name string
	// What says in one line what it measures, for -list.
	What string
	Run  func(ctx context.Context, env *Env) ([]Result, error)
}

// extraBenchmarks are added from init by the files of later issues' figures, so each adds its
// own file instead of editing this list. They run after the datapath figures, in file order.
var extraBenchmarks []Benchmark

// registry lists every benchmark in the order they run. Cheap, noisy figures come first so
// that a long bring-up benchmark does not warm or load the machine before them.
func registry() []Benchmark {
	return append([]Benchmark{
		{Name: "tcp-throughput", What: "TCP bulk throughput, one iperf3 stream between two instances", Run: benchTCP},
		{Name: "udp-pps", What: "UDP 64-byte datagrams received per second, iperf3 -u -l 64 -b 0", Run: benchUDP},
		{Name: "ping-rtt", What: "ICMP echo round-trip time, median of the pings of a run", Run: benchPing},
		{Name: "tcp-crr", What: "TCP connections per second from one client (connect, 1 byte each way, close)", Run: benchCRR},
		{Name: "lab-bringup", What: "lab.Up and lab.Down of a 50-instance lab (one VPC, five subnets)", Run: benchBringUp},
	}, extraBenchmarks...)
}

// selectBenchmarks keeps the benchmarks whose name matches the -only expression ("" keeps all).
// An expression that matches nothing is an error, so a typo never yields an empty, green run.
func selectBenchmarks(all []Benchmark, only string) ([]Benchmark, error) {
	if only == "" {
		return all, nil
	}
	re, err := regexp.Compile(only)
	if err != nil {
		return nil, fmt.Errorf("-only %q is not a regular expression: %v", only, err)
	}
	var sel []Benchmark
	var names []string
	for _, b := range all {
		names = append(names, b.Name)
		if re.MatchString(b.Name) {
			sel = append(sel, b)
		}
	}
	if len(sel) == 0 {
		return nil, fmt.Errorf("-only %q matches no benchmark; the benchmarks are %v", only, names)
	}
	return sel, nil
}
