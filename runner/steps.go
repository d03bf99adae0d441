package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

// heldConn is a connection a hold step opened, with the echo server at its other end.
type heldConn struct {
	c  net.Conn
	ln net.Listener
}

// runSteps runs a scenario's steps in order. A step that changes the lab reports a failure when
// the change is refused; probes and held checks compare what happened with what the step
// expects.
func runSteps(ctx context.Context, l *lab.Lab, steps []*scenarios.Step, opts Options, progress func(*ProbeResult)) []ProbeResult {
	held := map[string]*heldConn{}
	defer func() {
		for _, h := range held {
			h.c.Close()
			h.ln.Close()
		}
	}()
	var out []ProbeResult
	for i, st := range steps {
		if ctx.Err() != nil {
			break
		}
		start := time.Now()
		r := ProbeResult{Name: fmt.Sprintf("step %d: %s", i+1, stepName(st)), Pos: st.Pos.String(), Expected: "ok"}
		var err error
		switch st.Kind {
		case "probe":
			r = runProbe(l, st.Probe, opts)
			r.Name = fmt.Sprintf("step %d: %s", i+1, r.Name)
		case "matrix":
			r = runMatrix(ctx, l, st.Matrix, opts)
			r.Name = fmt.Sprintf("step %d: %s", i+1, r.Name)
		case "send":
			r.Expected, r.Observed, r.Detail, r.Passed, err = sendStep(l, st.Send, opts)
		case "hold":
			var h *heldConn
			h, err = hold(l, st.Hold)
			if err == nil {
				held[st.Hold.Name] = h
			}
		case "held":
			r.Expected = st.Held.Result
			r.Observed = "deny"
			if h := held[st.Held.Name]; h != nil && echo(h.c) {
				r.Observed = "allow"
			}
			r.Passed = r.Observed == r.Expected
			r.Detail = "data over the held connection " + st.Held.Name
		case "sg", "nacl", "route", "set":
			err = apply(l, st.Kind, st.Command)
		case "exec":
			err = execStep(ctx, l, st.Exec)
		case "flows":
			err = flowsStep(ctx, l, st.Flows)
		case "instance", "audit": // lifecycle.go
			var detail string
			if st.Kind == "instance" {
				detail, err = instanceStep(l, st.Command)
			} else {
				detail, err = auditStep(l, st.Audit)
			}
			r.Detail = detail
		case "wait":
			select {
			case <-time.After(st.Wait):
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		switch st.Kind {
		case "probe", "held", "matrix":
		case "send":
			if err != nil {
				r.Observed, r.Detail = "error", err.Error()
			}
		default:
			r.Observed, r.Passed = "ok", err == nil
			if r.Detail == "" {
				r.Detail = "done"
			}
			if err != nil {
				r.Observed, r.Detail = "error", err.Error()
			}
		}
		if st.Description != "" {
			r.Detail = st.Description + ": " + r.Detail
		}
		r.Duration = time.Since(start)
		out = append(out, r)
		if progress != nil {
			progress(&out[len(out)-1])
		}
	}
	return out
}

func stepName(st *scenarios.Step) string {
	switch st.Kind {
	case "hold":
		return fmt.Sprintf("hold %s: %s -> %s tcp/%d", st.Hold.Name, st.Hold.From, st.Hold.To, st.Hold.Port)
	case "held":
		return "held " + st.Held.Name
	case "sg", "nacl", "route", "set":
		return st.Kind + " " + st.Command
	case "exec":
		return fmt.Sprintf("exec %s: %s", st.Exec.Instance, st.Exec.Command)
	case "flows":
		if st.Flows.Absent {
			return fmt.Sprintf("flows %s: no %q", st.Flows.Log, st.Flows.Contains)
		}
		return fmt.Sprintf("flows %s: %q", st.Flows.Log, st.Flows.Contains)
	case "wait":
		return "wait " + st.Wait.String()
	case "send":
		return sendName(st.Send)
	case "instance", "audit":
		return lifecycleStepName(st)
	}
	return st.Kind
}

// hold starts a TCP echo server in the target and connects to it from the source.
func hold(l *lab.Lab, h *scenarios.HoldStep) (*heldConn, error) {
	dst, err := l.ResolveTarget(h.To)
	if err != nil {
		return nil, err
	}
	owner, _ := strings.CutSuffix(h.To, "@public")
	owner = l.Plan.Namespace(owner)
	if _, err := netip.ParseAddr(h.To); err == nil {
		owner = l.OwnerOf(dst)
	}
	hc := &heldConn{}
	if err := hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, owner), func() error {
		var err error
		hc.ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", h.Port))
		return err
	}); err != nil {
		return nil, fmt.Errorf("listen in %s: %w", owner, err)
	}
	go func() {
		for {
			c, err := hc.ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	// A host of the internet or of an on-premises network dials from its own address in its
	// network's namespace.
	d := net.Dialer{Timeout: 2 * time.Second}
	if _, a, ok := l.Plan.HostNamespace(h.From); ok {
		d.LocalAddr = &net.TCPAddr{IP: a.AsSlice()}
	}
	err = hypervisor.RunIn(hypervisor.NSPath(l.Plan.Lab, l.Plan.Namespace(h.From)), func() error {
		var err error
		hc.c, err = d.Dial("tcp4", net.JoinHostPort(dst.String(), strconv.Itoa(h.Port)))
		return err
	})
	if err != nil {
		hc.ln.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return hc, nil
}

var echoSeq int

// echo sends a token over c and reports whether it came back within two seconds (the engine
// and both kernels answer in microseconds; the margin is for a busy machine).
func echo(c net.Conn) bool {
	echoSeq++
	tok := []byte(fmt.Sprintf("held-%08d", echoSeq))
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(tok); err != nil {
		return false
	}
	got := make([]byte, len(tok))
	_, err := io.ReadFull(c, got)
	return err == nil && string(got) == string(tok)
}

// apply runs a one-line change command on the lab, the way `ec2sim KIND` does.
func apply(l *lab.Lab, kind, cmd string) error {
	f := strings.Fields(cmd)
	switch kind + " " + f[0] {
	case "sg authorize":
		return l.Authorize(f[1], f[2], f[3])
	case "sg revoke":
		return l.Revoke(f[1], f[2], f[3])
	case "sg attach":
		return l.AttachGroup(f[1], f[2])
	case "sg detach":
		return l.DetachGroup(f[1], f[2])
	case "nacl add", "nacl replace":
		return l.SetACLEntry(f[1], f[2], strings.Join(f[3:], " "), f[0] == "replace")
	case "nacl delete":
		n, _ := strconv.Atoi(f[3])
		return l.DeleteACLEntry(f[1], f[2], n)
	case "nacl associate":
		return l.AssociateACL(f[1], f[2])
	case "route add":
		return l.AddRoute(f[1], f[2], f[3])
	case "route delete":
		return l.DeleteRoute(f[1], f[2])
	case "route associate":
		return l.AssociateRouteTable(f[1], f[2])
	}
	if kind == "set" && len(f) == 3 {
		return l.SetSourceDestCheck(f[0], f[2] == "on")
	}
	return fmt.Errorf("%s %q: not a command", kind, cmd)
}

// execStep runs a command inside an instance and checks its exit status and output.
func execStep(ctx context.Context, l *lab.Lab, e *scenarios.ExecStep) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// An internet or on-premises host's command runs in its network's namespace.
	out, err := hypervisor.CommandContext(ctx, l.Plan.Lab, l.Plan.Namespace(e.Instance), "/bin/sh", "-c", e.Command).CombinedOutput()
	code := 0
	if err != nil {
		code = -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
	}
	if code != e.ExitCode {
		return fmt.Errorf("exit status %d, want %d; output: %s", code, e.ExitCode, strings.TrimSpace(string(out)))
	}
	if e.Output != "" && !strings.Contains(string(out), e.Output) {
		return fmt.Errorf("output does not contain %q: %s", e.Output, strings.TrimSpace(string(out)))
	}
	return nil
}

// flowsStep waits for a flow log to hold a record with all the given words (or, with Absent,
// for its windows to close without one).
func flowsStep(ctx context.Context, l *lab.Lab, f *scenarios.FlowsStep) error {
	var info *lab.FlowLogInfo
	for _, i := range l.FlowLogList() {
		if i.Name == f.Log {
			info = &i
			break
		}
	}
	if info == nil {
		return fmt.Errorf("no flow log %q is running", f.Log)
	}
	within := f.Within
	if within == 0 {
		// Two capture windows on the lab clock, plus real time for the write.
		w, _ := time.ParseDuration(info.Window)
		within = l.Clock.Real(2*w) + 3*time.Second
	}
	words := strings.Fields(f.Contains)
	match := func() (string, bool) {
		b, err := os.ReadFile(info.Path)
		if err != nil {
			return "", false
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := " " + strings.Join(strings.Fields(line), " ") + " "
			all := len(words) > 0
			for _, w := range words {
				if !strings.Contains(fields, " "+w+" ") {
					all = false
					break
				}
			}
			if all {
				return line, true
			}
		}
		return "", false
	}
	deadline := time.Now().Add(within)
	for {
		line, ok := match()
		switch {
		case ok && f.Absent:
			return fmt.Errorf("a record holds %q: %s", f.Contains, line)
		case ok:
			return nil
		case time.Now().After(deadline):
			if f.Absent {
				return nil
			}
			b, _ := os.ReadFile(info.Path)
			return fmt.Errorf("no record holds %q within %s; the log has:\n%s", f.Contains, within, strings.TrimSpace(string(b)))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
