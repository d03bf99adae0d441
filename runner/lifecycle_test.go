package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/lab"
)

// TestHypervisorSuites runs the two scrub suites through the runner: both pass, only the
// unsafe one is marked UNSAFE, and the safe one fails when its audit step expects what the
// unsafe lab does (so the step can fail).
func TestHypervisorSuites(t *testing.T) {
	if os.Geteuid() != 0 || testing.Short() {
		t.Skip("needs root (namespaces, loop devices, cgroups) and no -short")
	}
	for file, unsafe := range map[string]bool{"hypervisor-scrub.yaml": false, "hypervisor-scrub-unsafe.yaml": true} {
		r := RunFile(context.Background(), filepath.Join("../scenarios/suites", file), Options{}, nil)
		if !r.Passed() {
			t.Errorf("%s: %s %+v", file, r.Error, r.Probes)
		}
		if (r.Unsafe == lab.UnsafeWarning) != unsafe {
			t.Errorf("%s: unsafe marking %q", file, r.Unsafe)
		}
	}
	src, err := os.ReadFile("../scenarios/suites/hypervisor-scrub.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wrong := strings.Replace(string(src), "verified: true", "verified: false", 1)
	if wrong == string(src) {
		t.Fatal("the suite has no verified: true to flip")
	}
	path := filepath.Join(t.TempDir(), "flipped.yaml")
	if err := os.WriteFile(path, []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	r := RunFile(context.Background(), path, Options{}, nil)
	if r.Passed() {
		t.Fatal("an audit step expecting unverified scrubs passed in a lab that scrubs")
	}
	for _, p := range r.Probes {
		if strings.Contains(p.Name, "audit") && (p.Passed || !strings.Contains(p.Detail, "verified=true, want false")) {
			t.Errorf("audit step: passed %v, detail %q", p.Passed, p.Detail)
		}
	}
}
