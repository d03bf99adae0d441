package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rtBase has the runtime settings on lines 8-12.
const rtBase = `name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets: {a: {cidr: 10.0.1.0/24}}
instances:
  x: {subnet: main/a}
clock: {speed: 10}
hypervisor: {scrub: true, memory_pool: 2GiB, disk_pool: 8GiB}
flow_logs:
  all: {resource: vpc/main, traffic: ALL, interval: 60, format: "${version} ${interface-id} ${action}", destination: text}
  eni: {resource: eni/x.eth0, interval: 600s}
`

func rtFile() string { return rtBase }

func TestRuntimeModel(t *testing.T) {
	sc := mustParse(t, rtFile())
	assert.Empty(t, sc.Warnings)
	assert.Equal(t, Clock{Speed: 10}, sc.Clock)
	assert.Equal(t, Hypervisor{Scrub: true, MemoryPool: 2 << 30, DiskPool: 8 << 30}, sc.Hypervisor)
	require.Len(t, sc.FlowLogs, 2)
	assert.Equal(t, FlowLog{Name: "all", Resource: "vpc/main", Traffic: "ALL", Interval: time.Minute, Format: "${version} ${interface-id} ${action}",
		Destination: "text", Pos: Pos{"t.yaml", 11, 3}}, *sc.FlowLogs[0])
	assert.Equal(t, 10*time.Minute, sc.FlowLogs[1].Interval, "a duration")
	assert.Equal(t, "ALL", sc.FlowLogs[1].Traffic, "the default")

	// Defaults: real time, scrubbing on, the lab's pool sizes.
	sc = mustParse(t, "name: t\n")
	assert.Equal(t, Clock{Speed: 1}, sc.Clock)
	assert.Equal(t, Hypervisor{Scrub: true}, sc.Hypervisor)
	sc = mustParse(t, "name: t\nclock: {}\nhypervisor: {}\n")
	assert.Equal(t, Clock{Speed: 1}, sc.Clock)
	assert.Equal(t, DefaultHypervisor(), sc.Hypervisor)
	assert.Equal(t, 2.5, mustParse(t, "name: t\nclock: {speed: 2.5}\n").Clock.Speed)
}

func TestRuntimeErrors(t *testing.T) {
	for _, c := range []struct{ name, old, new, at, msg string }{
		{"clock too fast", "speed: 10", "speed: 1001", "8:16", "clock: speed 1001: want 1 (real time, the default) to 1000"},
		{"clock slow motion", "speed: 10", "speed: 0.5", "8:16", "clock: speed 0.5: want 1"},
		{"clock not a number", "speed: 10", "speed: fast", "8:16", `clock: speed: want a number, not "fast"`},
		{"clock nan", "speed: 10", "speed: .nan", "8:16", "clock: speed: want a number"},
		{"clock unknown field", "{speed: 10}", "{rate: 10}", "8:9", `clock: unknown field "rate"; valid fields here: speed`},
		{"memory pool not in frames", "memory_pool: 2GiB", "memory_pool: 3MiB", "9:40", "hypervisor: memory_pool 3MiB: want a whole number of 2 MiB frames, such as 2MiB or 4MiB"},
		{"disk pool not in blocks", "disk_pool: 8GiB", "disk_pool: 1000000", "9:57", "hypervisor: disk_pool 1000000: want a whole number of 1 MiB blocks, such as 0 or 1MiB"},
		{"memory pool too big", "memory_pool: 2GiB", "memory_pool: 2048GiB", "9:40", "hypervisor: memory_pool 2TiB: want up to 1TiB"},
		{"size with SI unit", "memory_pool: 2GiB", "memory_pool: 2GB", "9:40", `hypervisor: memory_pool: size "2GB": want a size in bytes, or with a unit: 512MiB, 2GiB, 1TiB`},
		{"size negative", "disk_pool: 8GiB", "disk_pool: -1", "9:57", `size "-1"`},
		{"size overflow", "disk_pool: 8GiB", "disk_pool: 9999999999TiB", "9:57", `size "9999999999TiB"`},
		{"scrub not a bool", "scrub: true", "scrub: yes", "9:21", `hypervisor: scrub: want true or false, not "yes"`},
		{"flow log resource", "resource: eni/x.eth0", "resource: eni/x.eth1", "12:19", `flow log eni: resource "eni/x.eth1": no such instance ENI`},
		{"flow log traffic", "traffic: ALL", "traffic: all", "11:38", `flow log all: traffic "all": want ACCEPT, REJECT or ALL`},
		{"flow log interval", "interval: 60,", "interval: 120,", "11:53", "flow log all: interval 2m0s: want 60s or 600s (AWS), or 1s-59s in whole seconds"},
		{"flow log interval word", "interval: 60,", "interval: sixty,", "11:53", `flow log all: interval: want seconds (60) or a duration (60s, 10m), not "sixty"`},
		{"flow log format field", "${action}", "${verdict}", "11:65", `flow log all: log format: unknown flow log field "verdict"; valid fields: version account-id interface-id`},
		{"flow log format syntax", "${action}", "action", "11:65", `"action" is not a field; write each field as ${name}`},
		{"flow log destination", "destination: text", "destination: s3", "11:118", `flow log all: destination "s3": want text or jsonl`},
		{"seconds beyond a duration", "speed: 10}", "speed: 10}\nsettings: {conntrack: {udp_timeout: 99999999999}}", "9:37", "settings: conntrack: udp_timeout: 99999999999 seconds: want a number of seconds from 0 to 2147483647"},
		{"flow log without resource", "{resource: eni/x.eth0, interval: 600s}", "{interval: 600s}", "12:8", `flow log eni: missing required field "resource"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, 1, strings.Count(rtFile(), c.old), c.old)
			_, err := Parse("t.yaml", []byte(strings.Replace(rtFile(), c.old, c.new, 1)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "t.yaml:"+c.at+": ")
			assert.Contains(t, err.Error(), c.msg)
		})
	}
}

func TestRuntimeWarnings(t *testing.T) {
	src := strings.Replace(strings.Replace(rtFile(), "scrub: true", "scrub: false", 1), "interval: 60,", "interval: 5,", 1)
	sc := mustParse(t, src)
	var got []string
	for _, w := range sc.Warnings {
		got = append(got, w.String())
	}
	assert.Equal(t, []string{
		"t.yaml:9:21: hypervisor: scrub: false is UNSAFE: an instance's memory and volumes go to the next instance without being zeroed, which AWS never does; for teaching only",
		"t.yaml:11:53: flow log all: interval 5s is an ec2sim test setting; AWS offers 60s and 600s",
	}, got)
}

func TestRuntimeFormat(t *testing.T) {
	sc := mustParse(t, strings.Replace(rtFile(), "scrub: true", "scrub: false", 1))
	out, err := Format(sc)
	require.NoError(t, err)
	assert.Contains(t, string(out), "clock: {speed: 10}\n")
	assert.Contains(t, string(out), "hypervisor: {scrub: false, memory_pool: 2GiB, disk_pool: 8GiB}\n")
	back, err := Parse("t.yaml", out)
	require.NoError(t, err, "%s", out)
	assert.Equal(t, withoutPositions(sc), withoutPositions(back))
	// Defaults are left out.
	out, err = Format(mustParse(t, "name: t\nclock: {speed: 1}\nhypervisor: {scrub: true}\n"))
	require.NoError(t, err)
	assert.Equal(t, "name: t\n", string(out))
}

func TestSizes(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "4096": 4096, "1KiB": 1024, "512MiB": 512 << 20, "2GiB": 2 << 30, "1TiB": 1 << 40} {
		got, err := parseSize(s)
		require.NoError(t, err, s)
		assert.Equal(t, want, got, s)
	}
	for _, s := range []string{"", "GiB", "2 GiB", "2GB", "2gib", "+2GiB", "02GiB", "1.5GiB", "-1", "8589934592GiB"} {
		_, err := parseSize(s)
		assert.Error(t, err, s)
	}
	for v, want := range map[int64]string{0: "0", 1: "1", 1024: "1KiB", 1536: "1536", 3 << 20: "3MiB", 1 << 40: "1TiB", 5 << 40: "5TiB"} {
		assert.Equal(t, want, formatSize(v))
		if v > 0 {
			back, err := parseSize(want)
			require.NoError(t, err)
			assert.Equal(t, v, back, "formatSize and parseSize agree")
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "4096", "2GiB", "512MiB", "1TiB", "9223372036854775807", "8388607TiB", "x", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseSize(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("parseSize(%q) = %d", s, v)
		}
		back, err := parseSize(formatSize(v))
		if err != nil || back != v {
			t.Fatalf("parseSize(%q) = %d, formatted %q, read back %d, %v", s, v, formatSize(v), back, err)
		}
	})
}
