package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
)

// The CLI tests build the real binary and drive it as a user would.

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ec2sim-cli-test")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "ec2sim")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and TAP devices")
	}
	if testing.Short() {
		t.Skip("root namespace test skipped in -short mode")
	}
}

func uniqueName(prefix string) string {
	b := make([]byte, 3)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// ec2sim runs the binary and returns stdout, stderr and the exit code.
func ec2sim(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const cliLab = `
name: cli
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
      b: {cidr: 10.0.2.0/24}
instances:
  web: {subnet: main/a, ip: 10.0.1.10}
  db:  {subnet: main/b}
`

func TestHelpEverywhere(t *testing.T) {
	for _, c := range commands() {
		if c.summary == "" {
			continue
		}
		out, _, code := ec2sim(t, c.name, "--help")
		if code != 0 || !strings.Contains(out, "Usage: ec2sim "+c.name) || !strings.Contains(out, "Example") {
			t.Errorf("%s --help: exit %d, output:\n%s", c.name, code, out)
		}
	}
	if _, _, code := ec2sim(t, "bogus"); code != 2 {
		t.Errorf("unknown command exit %d, want 2", code)
	}
}

func TestUpStatusExecSetDown(t *testing.T) {
	requireRoot(t)
	name := uniqueName("cli")
	file := writeFile(t, "lab.yaml", cliLab)
	t.Cleanup(func() { lab.Teardown(name) })

	// An engine that never busy-polls (every other lab of the tests runs the default), which
	// the exec below must still get through.
	out, errOut, code := ec2sim(t, "up", file, "--name", name, "--busy-poll", "0")
	if code != 0 {
		t.Fatalf("up: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{hypervisor.NSName(name, "web"), "10.0.1.10", "10.0.2.4", "eth0"} {
		if !strings.Contains(out, want) {
			t.Errorf("up output lacks %q:\n%s", want, out)
		}
	}
	// The engine sizes its runtime for pump threads in system calls (engineProcs) and took
	// --busy-poll.
	want := 2 * runtime.NumCPU()
	if v := os.Getenv("GOMAXPROCS"); v != "" {
		want, _ = strconv.Atoi(v)
	}
	if log, err := os.ReadFile(filepath.Join(lab.Dir(name), "engine.log")); err != nil || !strings.Contains(string(log), fmt.Sprintf(", GOMAXPROCS %d, busy-poll 0s\n", want)) {
		t.Errorf("engine.log (%v) does not say GOMAXPROCS %d, busy-poll 0s:\n%s", err, want, log)
	}
	// A second up of the same name is refused and changes nothing.
	if _, errOut, code := ec2sim(t, "up", file, "--name", name); code == 0 || !strings.Contains(errOut, "already running") {
		t.Errorf("second up: exit %d, %s", code, errOut)
	}
	out, _, code = ec2sim(t, "status", name, "--json")
	if code != 0 {
		t.Fatalf("status: exit %d", code)
	}
	var st lab.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if len(st.Instances) != 2 || st.PID == 0 || st.Instances[1].ENIs[0].IPs[0] != "10.0.2.4" {
		t.Errorf("status: %+v", st)
	}
	out, errOut, code = ec2sim(t, "exec", "--lab", name, "web", "--", "sh", "-c", "hostname; ping -c1 -W2 10.0.2.4 >/dev/null && echo reached")
	if code != 0 || !strings.Contains(out, "ip-10-0-1-10") || !strings.Contains(out, "reached") {
		t.Errorf("exec: exit %d\n%s%s", code, out, errOut)
	}
	// exec passes the command's exit status through.
	if _, _, code := ec2sim(t, "exec", "--lab", name, "web", "--", "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exec exit status %d, want 7", code)
	}
	if _, errOut, code := ec2sim(t, "set", "--lab", name, "web", "source-dest-check", "off"); code != 0 {
		t.Errorf("set: exit %d %s", code, errOut)
	}
	out, _, _ = ec2sim(t, "status", name, "--json")
	json.Unmarshal([]byte(out), &st)
	if st.Instances[0].ENIs[0].SourceDestCheck {
		t.Error("source/dest check still on after set off")
	}
	if _, errOut, code := ec2sim(t, "set", "--lab", name, "nosuch", "source-dest-check", "off"); code == 0 || !strings.Contains(errOut, "no instance") {
		t.Errorf("set on a missing instance: exit %d %s", code, errOut)
	}
	out, errOut, code = ec2sim(t, "down", name)
	if code != 0 {
		t.Fatalf("down: exit %d\n%s%s", code, out, errOut)
	}
	if left, _ := hypervisor.ListLabObjects(name); len(left) > 0 {
		t.Errorf("left after down: %v", left)
	}
	if _, err := os.Stat(lab.Dir(name)); !os.IsNotExist(err) {
		t.Errorf("lab directory still there: %v", err)
	}
}

// TestUpBusyPollFlag checks that --busy-poll outside 0-1ms, or not a duration, is refused
// before anything is made.
func TestUpBusyPollFlag(t *testing.T) {
	file := writeFile(t, "lab.yaml", cliLab)
	for _, tc := range []struct {
		arg, want string
		code      int
	}{
		{"2ms", "--busy-poll 2ms: want 0 (off) to 1ms", 2},
		{"-1us", "--busy-poll -1µs: want 0 (off) to 1ms", 2},
		{"fast", "invalid value \"fast\" for flag -busy-poll", 1}, // as every flag parse error
	} {
		name := uniqueName("bp")
		_, errOut, code := ec2sim(t, "up", file, "--name", name, "--busy-poll", tc.arg)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("up --busy-poll %s: exit %d, %q; want %d and %q", tc.arg, code, errOut, tc.code, tc.want)
		}
		if _, err := os.Stat(lab.Dir(name)); !os.IsNotExist(err) {
			t.Errorf("up --busy-poll %s made the lab directory", tc.arg)
		}
	}
}

func TestDownAfterEngineCrash(t *testing.T) {
	requireRoot(t)
	name := uniqueName("crash")
	file := writeFile(t, "lab.yaml", cliLab)
	t.Cleanup(func() { lab.Teardown(name) })
	if out, errOut, code := ec2sim(t, "up", file, "--name", name); code != 0 {
		t.Fatalf("up: exit %d\n%s%s", code, out, errOut)
	}
	m, err := lab.ReadMeta(name)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(m.PID, syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(m.PID, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out, _, _ := ec2sim(t, "status")
	if !strings.Contains(out, name) || !strings.Contains(out, "NOT RUNNING") {
		t.Errorf("status after crash:\n%s", out)
	}
	if out, errOut, code := ec2sim(t, "down", name); code != 0 {
		t.Fatalf("down after crash: exit %d\n%s%s", code, out, errOut)
	}
	if left, _ := hypervisor.ListLabObjects(name); len(left) > 0 {
		t.Errorf("left after down: %v", left)
	}
	// The dead engine's hypervisor pool (a tmpfs, loop devices, files) goes too.
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), lab.Dir(name)) {
		t.Errorf("a mount under %s is left after down", lab.Dir(name))
	}
	if _, err := os.Stat(lab.Dir(name)); err == nil {
		t.Errorf("%s left after down", lab.Dir(name))
	}
}

func TestBadScenarioChangesNothing(t *testing.T) {
	requireRoot(t)
	name := uniqueName("bad")
	file := writeFile(t, "bad.yaml", strings.Replace(cliLab, "web: {subnet: main/a", "web: {subnet: main/zzz", 1))
	_, errOut, code := ec2sim(t, "up", file, "--name", name)
	if code != 2 || !strings.Contains(errOut, "bad.yaml:") {
		t.Errorf("up with a bad file: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(lab.Dir(name)); !os.IsNotExist(err) {
		t.Error("a bad scenario created the lab directory")
	}
	if left, _ := hypervisor.ListLabObjects(name); len(left) > 0 {
		t.Errorf("a bad scenario left: %v", left)
	}
}

func TestTestCommandExitCodesAndJUnit(t *testing.T) {
	requireRoot(t)
	good := writeFile(t, "good.yaml", cliLab+`
expect:
  - {from: web, to: db, proto: tcp, port: 5432, result: allow}
  - {from: web, to: 10.0.2.99, proto: icmp, result: deny}
`)
	wrong := writeFile(t, "wrong.yaml", cliLab+`
expect:
  - {from: web, to: db, proto: udp, port: 53, result: deny}
`)
	junit := filepath.Join(t.TempDir(), "r.xml")
	out, errOut, code := ec2sim(t, "test", good, "--junit", junit)
	if code != 0 || !strings.Contains(out, "2 passed, 0 failed") {
		t.Errorf("good: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = ec2sim(t, "test", good, wrong, "--junit", junit)
	if code != 1 || !strings.Contains(out, "FAIL") {
		t.Errorf("a wrong expectation: exit %d\n%s", code, out)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil || doc.Tests != 3 || doc.Failures != 1 {
		t.Errorf("junit: %+v %v\n%s", doc, err, b)
	}
	bad := writeFile(t, "bad.yaml", "name: x\nbogus: 1\n")
	if _, _, code := ec2sim(t, "test", bad); code != 2 {
		t.Errorf("invalid file: exit %d, want 2", code)
	}
}

func TestSGCommands(t *testing.T) {
	requireRoot(t)
	name := uniqueName("sgcli")
	file := writeFile(t, "lab.yaml", cliLab)
	t.Cleanup(func() { lab.Teardown(name) })
	if out, errOut, code := ec2sim(t, "up", file, "--name", name); code != 0 {
		t.Fatalf("up: exit %d\n%s%s", code, out, errOut)
	}
	ping := func() bool {
		_, _, code := ec2sim(t, "exec", "--lab", name, "db", "--", "ping", "-c1", "-W1", "10.0.1.10")
		return code == 0
	}
	if !ping() {
		t.Fatal("ping within the default group failed")
	}
	// The default group admits its members only; detaching web from it needs another group first.
	if _, errOut, code := ec2sim(t, "sg", "--lab", name, "detach", "web", "default"); code == 0 || !strings.Contains(errOut, "no security group") {
		t.Errorf("detaching the last group: exit %d %s", code, errOut)
	}
	if _, errOut, code := ec2sim(t, "sg", "--lab", name, "revoke", "default", "ingress", "all::sg=default"); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	if ping() {
		t.Error("ping passed after the default group's inbound rule was revoked")
	}
	if _, errOut, code := ec2sim(t, "sg", "--lab", name, "authorize", "default", "ingress", "icmp:8:10.0.2.0/24"); code != 0 {
		t.Fatalf("authorize: %s", errOut)
	}
	if !ping() {
		t.Error("ping failed after an ICMP echo rule was authorized")
	}
	out, _, _ := ec2sim(t, "sg", "--lab", name, "list")
	if !strings.Contains(out, "icmp type 8") || strings.Contains(out, "all sg") {
		t.Errorf("sg list:\n%s", out)
	}
	if _, errOut, code := ec2sim(t, "sg", "--lab", name, "authorize", "default", "ingress", "tcp:70-60:0.0.0.0/0"); code == 0 || !strings.Contains(errOut, "reversed") {
		t.Errorf("a reversed range: exit %d %s", code, errOut)
	}
}

func TestTraceStaticFile(t *testing.T) {
	out, errOut, code := ec2sim(t, "trace", "../../scenarios/suites/aws-web-db-groups.yaml", "--from", "web", "--to", "db", "--proto", "tcp", "--port", "3306")
	if code != 0 || !strings.Contains(out, "reachable both ways") || !strings.Contains(out, "tcp 3306") {
		t.Errorf("reachable trace: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = ec2sim(t, "trace", "../../scenarios/suites/aws-web-db-groups.yaml", "--from", "other", "--to", "db", "--proto", "tcp", "--port", "3306", "--json")
	var res struct {
		Forward struct {
			Reachable bool
			Blockers  []struct{ Code string }
		}
	}
	if code != 1 || json.Unmarshal([]byte(out), &res) != nil || res.Forward.Reachable || len(res.Forward.Blockers) != 1 || res.Forward.Blockers[0].Code != "ENI_SG_RULES_MISMATCH" {
		t.Errorf("blocked trace: exit %d\n%s", code, out)
	}
	if _, errOut, code := ec2sim(t, "trace", "../../scenarios/suites/aws-web-db-groups.yaml", "--from", "nobody", "--to", "db", "--proto", "tcp", "--port", "1"); code != 2 || !strings.Contains(errOut, "no instance") {
		t.Errorf("unknown instance: exit %d %s", code, errOut)
	}
}

// TestInterruptLeavesNothing: Ctrl-C during a run tears every lab down.
func TestInterruptLeavesNothing(t *testing.T) {
	requireRoot(t)
	scen := uniqueName("intr")
	body := strings.Replace(cliLab, "name: cli", "name: "+scen, 1) + "expect:\n"
	for i := 0; i < 8; i++ {
		body += "  - {from: web, to: 10.0.2.99, proto: icmp, result: deny, timeout: 5s}\n"
	}
	file := writeFile(t, "slow.yaml", body)
	interruptRun(t, scen, file, file)
}
