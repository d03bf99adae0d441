package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ec2sim/ec2sim/lab"
)

// pingUntil pings db from web through the binary until done is closed, so that a capture that
// attaches at any moment sees traffic.
func pingUntil(name string, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		default:
		}
		exec.Command(binPath, "exec", "--lab", name, "web", "--", "ping", "-c1", "-W1", "10.0.2.10").Run()
		time.Sleep(50 * time.Millisecond)
	}
}

// startCapture runs `ec2sim capture` in the background and returns a function that waits for
// it (up to 15 s) and gives its exit code and standard error.
func startCapture(t *testing.T, args ...string) (*exec.Cmd, func() (int, string)) {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"capture"}, args...)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	return cmd, func() (int, string) {
		t.Helper()
		select {
		case err := <-exited:
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			return code, errb.String()
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("capture %v did not end:\n%s", args, errb.String())
			return 0, ""
		}
	}
}

func tcpdumpCount(t *testing.T, args ...string) int {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed (make deps installs it)")
	}
	out, err := exec.Command("tcpdump", append([]string{"-nn"}, args...)...).Output()
	if err != nil {
		t.Fatalf("tcpdump %v: %v", args, err)
	}
	return countPackets(string(out))
}

var tcpdumpLine = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{6} `)

func countPackets(out string) int { return len(tcpdumpLine.FindAllString(out, -1)) }

func TestCaptureCommand(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump is not installed (make deps installs it)")
	}
	name := uniqueName("capcli")
	file := writeFile(t, "lab.yaml", cliLab)
	t.Cleanup(func() { lab.Teardown(name) })
	if out, errOut, code := ec2sim(t, "up", file, "--name", name); code != 0 {
		t.Fatalf("up: exit %d\n%s%s", code, out, errOut)
	}
	done := make(chan struct{})
	defer close(done)
	go pingUntil(name, done)
	dir := t.TempDir()

	// -c with -w: exactly COUNT frames, each with its verdict, and tcpdump agrees.
	ng := filepath.Join(dir, "web.pcapng")
	_, wait := startCapture(t, "--lab", name, "web", "-c", "4", "-w", ng)
	code, errOut := wait()
	if code != 0 || !strings.Contains(errOut, "4 frames captured on web.eth0 (eni-") {
		t.Fatalf("capture -c 4: exit %d\n%s", code, errOut)
	}
	f, err := os.Open(ng)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		fr, err := lab.NextCapturedFrame(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if !strings.HasPrefix(fr.Comment, "out ") && !strings.HasPrefix(fr.Comment, "in ") {
			t.Errorf("frame %d has no verdict: %q", n, fr.Comment)
		}
	}
	if ifc, _ := r.Interface(0); n != 4 || !strings.HasPrefix(ifc.Name, "web.eth0 eni-") {
		t.Errorf("%d frames on interface %q, want 4 on web.eth0 eni-...", n, ifc.Name)
	}
	if got := tcpdumpCount(t, "-r", ng); got != 4 {
		t.Errorf("tcpdump read %d frames from the pcapng, want 4", got)
	}

	// Standard output into tcpdump, as the help says.
	pipe := exec.Command("bash", "-c", binPath+" capture --lab "+name+" web -c 3 -q | tcpdump -nn -r -")
	var pout, perr bytes.Buffer
	pipe.Stdout, pipe.Stderr = &pout, &perr
	if err := pipe.Run(); err != nil {
		t.Fatalf("capture | tcpdump: %v\n%s", err, perr.String())
	}
	if got := countPackets(pout.String()); got != 3 {
		t.Errorf("tcpdump read %d frames from the pipe, want 3:\n%s%s", got, pout.String(), perr.String())
	}

	// Classic pcap: verdicts on standard error, one line per frame.
	pc := filepath.Join(dir, "web.pcap")
	_, wait = startCapture(t, "--lab", name, "web", "-c", "2", "--format", "pcap", "-w", pc, "-q")
	code, errOut = wait()
	verdict := regexp.MustCompile(`(?m)^[12] \d\d:\d\d:\d\d\.\d{6} web\.eth0 (out|in) `)
	if code != 0 || len(verdict.FindAllString(errOut, -1)) != 2 {
		t.Errorf("capture --format pcap: exit %d, want two verdict lines:\n%s", code, errOut)
	}
	if got := tcpdumpCount(t, "-r", pc); got != 2 {
		t.Errorf("tcpdump read %d frames from the pcap, want 2", got)
	}

	// Ctrl-C ends a capture cleanly, with a readable file; so does --duration.
	sig := filepath.Join(dir, "sigint.pcapng")
	cmd, wait := startCapture(t, "--lab", name, "web", "-w", sig)
	// Long enough for the pinger to be seen even on a busy machine; a ping of our own makes
	// sure there is traffic during the capture.
	exec.Command(binPath, "exec", "--lab", name, "web", "--", "ping", "-c3", "-i0.3", "-W1", "10.0.2.10").Run()
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	if code, errOut := wait(); code != 0 || !strings.Contains(errOut, "frames captured") {
		t.Errorf("capture after SIGINT: exit %d\n%s", code, errOut)
	}
	if got := tcpdumpCount(t, "-r", sig); got == 0 {
		t.Error("the capture ended by SIGINT has no frames")
	}
	start := time.Now()
	_, wait = startCapture(t, "--lab", name, "web", "--duration", "500ms", "-w", filepath.Join(dir, "d.pcapng"))
	if code, errOut := wait(); code != 0 || time.Since(start) > 5*time.Second {
		t.Errorf("capture --duration 500ms: exit %d after %v\n%s", code, time.Since(start), errOut)
	}

	// Mistakes are named.
	if _, errOut, code := ec2sim(t, "capture", "--lab", name, "nosuch", "-w", filepath.Join(dir, "x")); code != 1 || !strings.Contains(errOut, `no instance "nosuch"`) {
		t.Errorf("unknown instance: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := ec2sim(t, "capture", "--lab", name, "web", "--format", "erf"); code != 2 || !strings.Contains(errOut, "want pcapng or pcap") {
		t.Errorf("bad format: exit %d\n%s", code, errOut)
	}
}
