package hypervisor

import (
	"fmt"
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
