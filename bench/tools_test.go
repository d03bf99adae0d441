package main

import (
	"math"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

// The testdata files are real iperf3 3.12 -J output (intervals trimmed) of runs between two
// namespaces on a veth pair.
func TestParseIperfTCP(t *testing.T) {
	r, err := parseIperf(readTestdata(t, "iperf3-tcp.json"))
	require.NoError(t, err)
	bps, err := r.tcpReceivedBPS()
	require.NoError(t, err)
	assert.InDelta(t, 14.962404853e9, bps, 1e3, "end.sum_received.bits_per_second")
	_, err = r.udpReceivedPPS()
	assert.ErrorContains(t, err, `protocol "TCP"`)
}

func TestParseIperfUDP(t *testing.T) {
	r, err := parseIperf(readTestdata(t, "iperf3-udp.json"))
	require.NoError(t, err)
	pps, err := r.udpReceivedPPS()
	require.NoError(t, err)
	// 516825 counted by the server, 1324 of them lost, over 2.000054 s.
	assert.InDelta(t, float64(516825-1324)/2.000054, pps, 0.01)
	_, err = r.tcpReceivedBPS()
	assert.ErrorContains(t, err, `protocol "UDP"`)
}

func TestParseIperfErrors(t *testing.T) {
	_, err := parseIperf(readTestdata(t, "iperf3-refused.json"))
	assert.ErrorContains(t, err, "unable to connect to server: Connection refused")
	for in, want := range map[string]string{
		"":                              "not JSON",
		"iperf3: error - bad option":    "not JSON",
		`{"end": {}}`:                   "no end.sum_received",
		`{"end": {"sum_received": {}}}`: "want a positive duration",
		`{"end": {"sum_received": {"seconds": 1, "bits_per_second": -5}}}`: "finite rate",
	} {
		_, err := parseIperf([]byte(in))
		assert.ErrorContains(t, err, want, "input %q", in)
	}
	r, err := parseIperf([]byte(`{"start":{"test_start":{"protocol":"UDP"}},"end":{"sum_received":{"seconds":2,"packets":10,"lost_packets":30}}}`))
	require.NoError(t, err)
	_, err = r.udpReceivedPPS()
	assert.Error(t, err, "more lost than sent is nonsense, not a negative rate")
}

func FuzzParseIperf(f *testing.F) {
	for _, name := range []string{"iperf3-tcp.json", "iperf3-udp.json", "iperf3-refused.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"end":{"sum_received":{"seconds":1e308,"bits_per_second":1e308}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseIperf(b)
		if err != nil {
			return
		}
		for _, get := range []func() (float64, error){r.tcpReceivedBPS, r.udpReceivedPPS} {
			v, err := get()
			if err == nil && (v < 0 || math.IsNaN(v) || math.IsInf(v, 0)) {
				t.Fatalf("rate %v from %q", v, b)
			}
		}
	})
}

const pingOutput = `PING 10.0.1.11 (10.0.1.11) 56(84) bytes of data.
64 bytes from 10.0.1.11: icmp_seq=1 ttl=64 time=0.835 ms
64 bytes from 10.0.1.11: icmp_seq=2 ttl=64 time=0.059 ms
64 bytes from 10.0.1.11: icmp_seq=4 ttl=64 time=1.5 s
64 bytes from 10.0.1.11: icmp_seq=5 ttl=64 time=12 ms (DUP!)
From 10.0.1.10 icmp_seq=3 Destination Host Unreachable

--- 10.0.1.11 ping statistics ---
5 packets transmitted, 4 received, +1 duplicates, 20% packet loss, time 416ms
rtt min/avg/max/mdev = 0.056/0.212/0.835/0.311 ms
`

func TestParsePing(t *testing.T) {
	got := parsePing([]byte(pingOutput))
	want := []float64{835, 59, 1.5e6, 12000}
	require.Len(t, got, len(want))
	for i := range want {
		assert.InDelta(t, want[i], got[i], 1e-6, "reply %d", i)
	}
	assert.Empty(t, parsePing([]byte("ping: connect: Network is unreachable\n")))
	assert.Empty(t, parsePing([]byte("rtt min/avg/max/mdev = 0.056/0.212/0.835/0.311 ms\n")), "the summary is not a reply")
	assert.Empty(t, parsePing([]byte("64 bytes from x: time=-1 ms\n64 bytes from x: time=NaN ms\n64 bytes from x: time=3 fortnights\n")))
}

func FuzzParsePing(f *testing.F) {
	f.Add([]byte(pingOutput))
	f.Add([]byte("64 bytes from a: time=0.1 ms"))
	f.Add([]byte("64 bytes from a: time=1e400 ms"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rtts := parsePing(b)
		if len(rtts) > strings.Count(string(b), "bytes from") {
			t.Fatalf("%d replies from %d lines that could be replies", len(rtts), strings.Count(string(b), "bytes from"))
		}
		for _, v := range rtts {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("rtt %v from %q", v, b)
			}
		}
	})
}

func TestProcNetAddrAndListening(t *testing.T) {
	// A real line of /proc/PID/net/tcp from an iperf3 server bound to 10.0.1.11:5201.
	table := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0B01000A:1451 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 154589 1 0 100 0 0 10 0
   1: 0B01000A:1452 0A01000A:9C40 01 00000000:00000000 00:00000000 00000000     0        0 154590 1 0 100 0 0 10 0
`)
	a := netip.MustParseAddr("10.0.1.11")
	assert.Equal(t, "0B01000A:1451", procNetAddr(a, 5201))
	assert.True(t, listening(table, procNetAddr(a, 5201)))
	assert.False(t, listening(table, procNetAddr(a, 5202)), "an established socket is not a listener")
	assert.False(t, listening(table, procNetAddr(netip.MustParseAddr("10.0.1.10"), 5201)))
	assert.False(t, listening(nil, procNetAddr(a, 5201)))
}

func TestInNS(t *testing.T) {
	assert.Equal(t, []string{"ip", "netns", "exec", "ns1", "taskset", "-c", "1", "iperf3", "-s"}, inNS("ns1", "1", "iperf3", "-s"))
	assert.Equal(t, []string{"ip", "netns", "exec", "ns1", "ping", "x"}, inNS("ns1", "", "ping", "x"), "no CPU, no taskset")
}

func TestPickCPUs(t *testing.T) {
	c, err := pickCPUs()
	require.NoError(t, err)
	if c.client != "" {
		assert.NotEqual(t, c.client, c.server, "client and server must be pinned apart")
	}
}

func TestParsePIDStatCPU(t *testing.T) {
	// utime 250 and stime 150 ticks; the command name has a space and a ')' of its own.
	line := "4242 (ec2sim (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 150 0 0 20 0 14 0 99 2238412 6052 18446744073709551615\n"
	got, err := parsePIDStatCPU([]byte(line))
	if err != nil || got != 4*time.Second {
		t.Errorf("parsePIDStatCPU = %v, %v; want 4s", got, err)
	}
	for _, bad := range []string{"", "4242 ec2sim S 1", "4242 (ec2sim) S 1 2 3", "4242 (e) S 1 4242 4242 0 -1 4194560 1234 0 0 0 x 150 0"} {
		if _, err := parsePIDStatCPU([]byte(bad)); err == nil {
			t.Errorf("parsePIDStatCPU(%q) accepted", bad)
		}
	}
}

func FuzzParsePIDStatCPU(f *testing.F) {
	f.Add([]byte("1 (a) S 1 1 1 0 -1 0 0 0 0 0 5 7 0 0 20 0 1 0 1 1 1 1\n"))
	f.Add([]byte("1 (a)) R"))
	f.Add([]byte("1 (a) S 1 1 1 0 -1 0 0 0 0 0 68719476736 0 0 0 20 0 1 0 1 1 1 1\n"))
	f.Add([]byte("1 (a) S 1 1 1 0 -1 0 0 0 0 0 18446744073709551615 18446744073709551615 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parsePIDStatCPU(b)
		if err == nil && (d < 0 || d > (1<<36)*10*time.Millisecond) {
			t.Errorf("CPU time %v out of range from %q", d, b)
		}
	})
}
