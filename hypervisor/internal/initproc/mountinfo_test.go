package initproc

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	in := "22 27 0:21 / /proc rw,relatime - proc proc rw\n" +
		"27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n" +
		"39 31 0:36 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:2 master:1 - cgroup cgroup rw,cpu,cpuacct\n" +
		"90 27 7:3 / /tmp/a\\040b\\134c\\012 rw master:2 - ext4 /dev/xvdb rw\n"
	ms, err := ParseMountinfo([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{{0, 21, "/proc", "proc", []string{"rw"}}, {254, 0, "/", "ext4", []string{"rw"}},
		{0, 36, "/sys/fs/cgroup/cpu,cpuacct", "cgroup", []string{"rw", "cpu", "cpuacct"}}, {7, 3, "/tmp/a b\\c\n", "ext4", []string{"rw"}}}
	if !reflect.DeepEqual(ms, want) {
		t.Errorf("got %+v, want %+v", ms, want)
	}
	for _, bad := range []string{"1 2 3 / /x rw - a b c\n", "1 2 7:x / /x rw - a b c\n", "1 2 7:3 / /x\n",
		"1 2 7:3 / /x rw - a b\n", "1 2 7:3 / /x rw - a b c d\n", "1 2 7:3 / - rw a b c d\n"} {
		if _, err := ParseMountinfo([]byte(bad)); err == nil {
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
		ms, err := ParseMountinfo(b)
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
