package pool

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// validState is a state with every kind of record: memory 8 frames, disk 16 blocks.
const validState = `{
  "version": 1, "name": "lab", "scrub": "punch", "next_id": 9,
  "memory": {"file": "/run/p/memory/pool.mem", "bytes": 16777216, "unit_bytes": 2097152,
             "own_mount": "/run/p/memory", "free": [{"start": 4, "len": 4}], "reuse": [{"start": 5, "len": 1}]},
  "disk": {"file": "/run/p/disk.img", "bytes": 16777216, "unit_bytes": 1048576,
           "free": [{"start": 0, "len": 2}, {"start": 12, "len": 4}]},
  "records": [
    {"id": "mem-1", "area": "memory", "kind": "memory", "owner": "i-1", "state": "allocated",
     "runs": [{"start": 0, "len": 2, "device": "/dev/loop3"}, {"start": 3, "len": 1}]},
    {"id": "mem-2", "area": "memory", "kind": "memory", "owner": "i-2", "state": "scrub-pending",
     "after": "free", "why": "free", "runs": [{"start": 2, "len": 1}]},
    {"id": "vol-3", "area": "disk", "kind": "ebs", "owner": "i-1", "state": "allocated",
     "runs": [{"start": 2, "len": 4, "device": "/dev/loop4"}]},
    {"id": "vol-4", "area": "disk", "kind": "instance-store", "owner": "i-1", "state": "scrub-pending",
     "after": "keep", "why": "detach", "runs": [{"start": 6, "len": 4}]},
    {"id": "vol-5", "area": "disk", "kind": "ebs", "owner": "i-3", "state": "quarantined",
     "runs": [{"start": 10, "len": 2}]}
  ]
}`

func TestDecodeState(t *testing.T) {
	s, err := decodeState([]byte(validState))
	require.NoError(t, err)
	mem, disk, err := s.allocators()
	require.NoError(t, err)
	require.Equal(t, []Extent{{4, 4}}, mem.free)
	require.Equal(t, []Extent{{5, 1}}, mem.reuse)
	require.Equal(t, int64(6), disk.freeUnits())
}

func TestDecodeStateRejects(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"version", `"version": 1`, `"version": 2`, "version 2"},
		{"unknown field", `"next_id": 9`, `"next_id": 9, "extra": 1`, "unknown field"},
		{"overlapping records", `"start": 6, "len": 4`, `"start": 5, "len": 5`, "overlaps"},
		{"free list disagrees", `"free": [{"start": 4, "len": 4}]`, `"free": [{"start": 4, "len": 3}]`, "not what the records leave free"},
		{"a unit in no place", `{"start": 12, "len": 4}`, `{"start": 13, "len": 3}`, "not what the records leave free"},
		{"extent past the end", `"start": 10, "len": 2`, `"start": 15, "len": 2`, "not inside"},
		{"empty extent", `"start": 3, "len": 1`, `"start": 3, "len": 0`, "not inside"},
		{"device not a loop", `/dev/loop3`, `/dev/sda`, "device"},
		{"device on a pending record", `"start": 2, "len": 1}`, `"start": 2, "len": 1, "device": "/dev/loop9"}`, "allocated extents only"},
		{"volume with two runs", `"runs": [{"start": 2, "len": 4, "device": "/dev/loop4"}]`, `"runs": [{"start": 2, "len": 2}, {"start": 4, "len": 2}]`, "2 runs"},
		{"memory kind on disk", `"kind": "ebs", "owner": "i-3"`, `"kind": "memory", "owner": "i-3"`, "not ebs or instance-store"},
		{"volume kind in memory", `"kind": "memory", "owner": "i-2"`, `"kind": "ebs", "owner": "i-2"`, "in the memory area"},
		{"unknown area", `"area": "disk", "kind": "ebs", "owner": "i-3"`, `"area": "tape", "kind": "ebs", "owner": "i-3"`, "not memory or disk"},
		{"duplicate id", `"id": "vol-5"`, `"id": "vol-4"`, "repeated"},
		{"empty owner", `"owner": "i-3"`, `"owner": ""`, "owner"},
		{"unknown state", `"state": "quarantined"`, `"state": "lost"`, "not allocated"},
		{"pending without after", `"after": "keep", `, ``, "after"},
		{"after on allocated", `"owner": "i-1", "state": "allocated",
     "runs": [{"start": 0`, `"owner": "i-1", "state": "allocated", "after": "free",
     "runs": [{"start": 0`, "after/why"},
		{"unit not a power of two", `"unit_bytes": 1048576`, `"unit_bytes": 1000000`, "power of two"},
		{"size not whole units", `"bytes": 16777216, "unit_bytes": 1048576`, `"bytes": 16777217, "unit_bytes": 1048576`, "whole number"},
		{"relative file", `"/run/p/disk.img"`, `"disk.img"`, "absolute"},
		{"reuse hint out of range", `"reuse": [{"start": 5, "len": 1}]`, `"reuse": [{"start": 7, "len": 2}]`, "reuse hint"},
		{"trailing data", "\n}", "\n} {}", "after the state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, validState, tc.old, "the test's edit must apply")
			_, err := decodeState([]byte(strings.Replace(validState, tc.old, tc.new, 1)))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestDecodeStateAreaMissing(t *testing.T) {
	s := strings.Replace(validState, `"memory": {"file": "/run/p/memory/pool.mem", "bytes": 16777216, "unit_bytes": 2097152,
             "own_mount": "/run/p/memory", "free": [{"start": 4, "len": 4}], "reuse": [{"start": 5, "len": 1}]},`, "", 1)
	_, err := decodeState([]byte(s))
	require.ErrorContains(t, err, "no memory area")
}

// FuzzDecodeState: any input is rejected or decodes into a state that encodes and decodes to
// the same thing, and whose records and free lists tile each area.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(validState))
	f.Add([]byte(`{"version":1,"next_id":1,"disk":{"file":"/d","bytes":4096,"unit_bytes":4096,"free":[{"start":0,"len":1}]},"records":[]}`))
	f.Add([]byte(`{"version":1,"records":[{"id":"x","area":"memory"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeState(b)
		if err != nil {
			return
		}
		enc, err := json.Marshal(s)
		require.NoError(t, err)
		s2, err := decodeState(enc)
		require.NoError(t, err, "%s", enc)
		enc2, err := json.Marshal(s2)
		require.NoError(t, err)
		require.JSONEq(t, string(enc), string(enc2))
		mem, disk, err := s.allocators()
		require.NoError(t, err)
		for _, x := range []struct {
			a  *allocator
			st *areaState
		}{{mem, s.Memory}, {disk, s.Disk}} {
			if x.st == nil {
				continue
			}
			var used int64
			for _, r := range s.Records {
				if (r.Area == areaMemory) == (x.st == s.Memory) {
					for _, run := range r.Runs {
						used += run.Len
					}
				}
			}
			require.Equal(t, x.a.units, used+x.a.freeUnits(), "records and free list tile the area")
		}
	})
}

func TestOptions(t *testing.T) {
	o, err := Options{Dir: "/run/x/lab1", MemoryBytes: mib(8), DiskBytes: mib(8)}.withDefaults()
	require.NoError(t, err)
	require.Equal(t, "lab1", o.Name)
	require.Equal(t, int64(DefaultFrameBytes), o.FrameBytes)
	require.Equal(t, int64(DefaultBlockBytes), o.BlockBytes)
	require.Equal(t, ScrubPunch, o.Scrub)
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "Dir is empty"},
		{Options{Dir: "/x", FrameBytes: 3 << 20}, "FrameBytes 3145728 is not a power of two"},
		{Options{Dir: "/x", BlockBytes: 512}, "BlockBytes 512 is not a power of two of at least 4096"},
		{Options{Dir: "/x", MemoryBytes: mib(3)}, "MemoryBytes 3145728 is not a whole number of frames of 2097152 bytes (try 2097152)"},
		{Options{Dir: "/x", DiskBytes: -1}, "DiskBytes -1"},
		{Options{Dir: "/x", Scrub: ScrubNone + 1}, "Scrub 4"},
		{Options{Dir: "/x", Name: "a\nb"}, "newline"},
	} {
		_, err := tc.o.withDefaults()
		require.ErrorContains(t, err, tc.want)
	}
	require.Contains(t, ScrubNone.String(), "UNSAFE")
	require.Equal(t, "instance-store", InstanceStore.String())
	k, err := parseKind("ebs")
	require.NoError(t, err)
	require.Equal(t, EBS, k)
	_, err = parseKind("gp3")
	require.Error(t, err)
}
