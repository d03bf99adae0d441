package hypervisor

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestInitState(t *testing.T) {
	s := initState{PID: 4242, Start: 123456789, Cgroup: 1}
	b := s.marshal()
	if string(b) != "pid 4242\nstart 123456789\ncgroup 1\n" {
		t.Errorf("marshal: %q", b)
	}
	got, err := parseInitState(b)
	must(t, err)
	if got != s {
		t.Errorf("round trip %+v, want %+v", got, s)
	}
	for _, bad := range []string{
		"", "pid 1\nstart 2\ncgroup 1", "pid 1\nstart 2\ncgroup 1\n\n", "pid 0\nstart 2\ncgroup 1\n",
		"pid 1\nstart 2\ncgroup 3\n", "pid 01\nstart 2\ncgroup 1\n", "start 2\npid 1\ncgroup 1\n",
		"pid -1\nstart 2\ncgroup 1\n", "pid 1\nstart x\ncgroup 1\n", "pid  1\nstart 2\ncgroup 1\n",
		"pid 99999999\nstart 2\ncgroup 0\n", "pid 1\nstart 18446744073709551615\ncgroup 0\n",
	} {
		if s, err := parseInitState([]byte(bad)); err == nil {
			t.Errorf("parsed %q as %+v", bad, s)
		}
	}
}

func FuzzParseInitState(f *testing.F) {
	f.Add([]byte("pid 4242\nstart 123456789\ncgroup 1\n"))
	f.Add([]byte("pid 1\nstart 0\ncgroup 0\n"))
	f.Add([]byte("pid 1\nstart 2\ncgroup 2"))
	f.Add([]byte("pid +1\nstart 2\ncgroup 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseInitState(b)
		if err != nil {
			return
		}
		// Whatever parses is what marshal writes, byte for byte.
		if again := s.marshal(); string(again) != string(b) {
			t.Errorf("%q parsed as %+v, which marshals as %q", b, s, again)
		}
		if s.PID < 1 || s.Cgroup < 0 || s.Cgroup > 2 {
			t.Errorf("%q parsed as %+v", b, s)
		}
	})
}

func TestParsePids(t *testing.T) {
	got, err := parsePids([]byte("12\n7\n300\n"))
	must(t, err)
	if !slices.Equal(got, []int{12, 7, 300}) {
		t.Errorf("got %v", got)
	}
	if got, err := parsePids(nil); err != nil || len(got) != 0 {
		t.Errorf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"x\n", "0\n", "-3\n", "1 2\n"} {
		if _, err := parsePids([]byte(bad)); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

func FuzzParsePids(f *testing.F) {
	f.Add([]byte("12\n7\n"))
	f.Add([]byte("\n\n1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pids, err := parsePids(b)
		if err != nil {
			return
		}
		var sb strings.Builder
		for _, p := range pids {
			if p <= 0 {
				t.Fatalf("%q gave pid %d", b, p)
			}
			fmt.Fprintf(&sb, "%d\n", p)
		}
		// Reparsing the canonical form gives the same list.
		again, err := parsePids([]byte(sb.String()))
		if err != nil || !slices.Equal(again, pids) {
			t.Errorf("%q: %v, canonical form gives %v %v", b, pids, again, err)
		}
	})
}

func TestParseMountinfo(t *testing.T) {
	in := "22 27 0:21 / /proc rw,relatime - proc proc rw\n" +
		"27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n" +
		"39 31 0:36 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:2 master:1 - cgroup cgroup rw,cpu,cpuacct\n" +
		"90 27 7:3 / /tmp/a\\040b\\134c\\012 rw master:2 - ext4 /dev/xvdb rw\n"
	ms, err := parseMountinfo([]byte(in))
	must(t, err)
	want := []mountEntry{{0, 21, "/proc", "proc", []string{"rw"}}, {254, 0, "/", "ext4", []string{"rw"}},
		{0, 36, "/sys/fs/cgroup/cpu,cpuacct", "cgroup", []string{"rw", "cpu", "cpuacct"}}, {7, 3, "/tmp/a b\\c\n", "ext4", []string{"rw"}}}
	if !reflect.DeepEqual(ms, want) {
		t.Errorf("got %+v, want %+v", ms, want)
	}
	for _, bad := range []string{"1 2 3 / /x rw - a b c\n", "1 2 7:x / /x rw - a b c\n", "1 2 7:3 / /x\n",
		"1 2 7:3 / /x rw - a b\n", "1 2 7:3 / /x rw - a b c d\n", "1 2 7:3 / - rw a b c d\n"} {
		if _, err := parseMountinfo([]byte(bad)); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	for in, want := range map[string]string{`a\040`: "a ", `\4`: `\4`, `\477`: `\477`, `\0401`: " 1", `x\\`: `x\\`, `\101\102`: "AB"} {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte("90 27 7:3 / /tmp/a\\040b rw master:2 - ext4 /dev/xvdb rw\n"))
	f.Add([]byte("22 27 0:21 / /proc rw,relatime - proc proc rw\n\n"))
	f.Add([]byte("1 2 4294967295:0 / \\377 rw - a b c"))
	f.Add([]byte("39 31 0:36 / /sys/fs/cgroup/cpu rw shared:2 - cgroup cgroup rw,cpu,cpuacct\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := parseMountinfo(b)
		if err != nil {
			return
		}
		lines := 0
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" {
				lines++
			}
		}
		if len(ms) != lines {
			t.Errorf("%q: %d entries for %d lines", b, len(ms), lines)
		}
	})
}
