package lab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
)

// RunDir holds one directory per background lab: its metadata, control socket and engine log.
// /run is a tmpfs, so a reboot forgets labs together with their namespaces.
const RunDir = "/run/ec2sim/labs"

// Dir is the directory of lab name.
func Dir(name string) string { return filepath.Join(RunDir, name) }

// Meta is what a background lab records about itself in lab.json.
type Meta struct {
	Name    string    `json:"name"`
	File    string    `json:"file"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// streamOps are control operations that take over the connection (a capture streaming frames
// until the client hangs up). Files that add such an operation register it from init; the
// handler owns c until it returns.
var streamOps = map[string]func(l *Lab, req Request, c net.Conn) error{}

// extraOps are one-shot control operations added by other files from init: they return a value
// that is sent back as Response.Result.
var extraOps = map[string]func(l *Lab, req Request) (any, error){}

// Request is one control-socket call. Ops: status, set-source-dest-check, sg-authorize,
// sg-revoke, sg-attach, sg-detach, shutdown.
type Request struct {
	Op        string `json:"op"`
	Target    string `json:"target,omitempty"`
	On        bool   `json:"on,omitempty"`
	Group     string `json:"group,omitempty"`
	Direction string `json:"direction,omitempty"`
	Rule      string `json:"rule,omitempty"`
	// Args carries the parameters of operations added later (capture filters, trace packets).
	Args map[string]string `json:"args,omitempty"`
}

// Response answers a Request.
type Response struct {
	OK     bool            `json:"ok"`
	Error  string          `json:"error,omitempty"`
	Status *Status         `json:"status,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

// Serve runs a background lab's control loop until a shutdown request or SIGTERM/SIGINT, then
// takes the lab down. The metadata and control socket appear before Serve reports readiness on
// ready (one JSON Response line), so `up` returns only when the lab answers.
func Serve(l *Lab, file string, ready *os.File) error {
	dir := Dir(l.Plan.Lab)
	meta := Meta{Name: l.Plan.Lab, File: file, PID: os.Getpid(), Started: time.Now().UTC()}
	b, _ := json.MarshalIndent(meta, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "lab.json"), b, 0o644); err != nil {
		return err
	}
	sock := filepath.Join(dir, "ctl.sock")
	os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	defer ln.Close()

	stop := make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
			ln.Close()
		case <-stop:
		}
	}()
	if ready != nil {
		st := l.Status()
		st.PID, st.Started, st.File = meta.PID, meta.Started, file
		json.NewEncoder(ready).Encode(Response{OK: true, Status: &st})
		ready.Close()
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			break
		}
		if shutdown := l.handle(c, meta); shutdown {
			break
		}
	}
	close(stop)
	return l.Down()
}

// handle answers one connection; it returns true when the lab should shut down. The reply to a
// shutdown is sent after Down, so `ec2sim down` returns only when everything is gone.
func (l *Lab) handle(c net.Conn, meta Meta) bool {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var req Request
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&req); err != nil {
		json.NewEncoder(c).Encode(Response{Error: "bad request: " + err.Error()})
		c.Close()
		return false
	}
	if op, ok := streamOps[req.Op]; ok {
		// A stream runs beside the control loop, so status and changes keep working during a
		// capture; it ends when the client hangs up or the lab goes down.
		c.SetDeadline(time.Time{})
		go func() {
			defer c.Close()
			if err := op(l, req, c); err != nil {
				json.NewEncoder(c).Encode(Response{Error: err.Error()})
			}
		}()
		return false
	}
	defer c.Close()
	var resp Response
	switch req.Op {
	case "status":
		st := l.Status()
		st.PID, st.Started, st.File = meta.PID, meta.Started, meta.File
		resp = Response{OK: true, Status: &st}
	case "set-source-dest-check":
		if err := l.SetSourceDestCheck(req.Target, req.On); err != nil {
			resp.Error = err.Error()
		} else {
			resp.OK = true
		}
	case "sg-authorize", "sg-revoke", "sg-attach", "sg-detach":
		var err error
		switch req.Op {
		case "sg-authorize":
			err = l.Authorize(req.Group, req.Direction, req.Rule)
		case "sg-revoke":
			err = l.Revoke(req.Group, req.Direction, req.Rule)
		case "sg-attach":
			err = l.AttachGroup(req.Target, req.Group)
		default:
			err = l.DetachGroup(req.Target, req.Group)
		}
		if err != nil {
			resp.Error = err.Error()
		} else {
			resp.OK = true
		}
	case "shutdown":
		err := l.Down()
		resp.OK = err == nil
		if err != nil {
			resp.Error = err.Error()
		}
		os.RemoveAll(Dir(l.Plan.Lab))
		json.NewEncoder(c).Encode(resp)
		return true
	default:
		if op, ok := extraOps[req.Op]; ok {
			v, err := op(l, req)
			if err != nil {
				resp.Error = err.Error()
				break
			}
			b, err := json.Marshal(v)
			if err != nil {
				resp.Error = err.Error()
				break
			}
			resp.OK, resp.Result = true, b
			break
		}
		resp.Error = fmt.Sprintf("unknown op %q: want status, set-source-dest-check, sg-authorize, sg-revoke, sg-attach, sg-detach or shutdown", req.Op)
	}
	json.NewEncoder(c).Encode(resp)
	return false
}

// ErrNotRunning means a lab's engine does not answer on its control socket.
var ErrNotRunning = errors.New("engine not running")

// Call sends one request to a background lab.
func Call(name string, req Request, timeout time.Duration) (*Response, error) {
	c, err := net.DialTimeout("unix", filepath.Join(Dir(name), "ctl.sock"), 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w (%v)", name, ErrNotRunning, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, err
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return nil, fmt.Errorf("lab %s: no answer from the engine: %w", name, err)
	}
	if !resp.OK {
		return &resp, errors.New(resp.Error)
	}
	return &resp, nil
}

// ReadMeta reads a background lab's lab.json.
func ReadMeta(name string) (*Meta, error) {
	b, err := os.ReadFile(filepath.Join(Dir(name), "lab.json"))
	if err != nil {
		return nil, err
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(Dir(name), "lab.json"), err)
	}
	return &m, nil
}

// List names every lab that has a directory under RunDir or objects on the machine (namespaces
// left by a crashed run), sorted.
func List() ([]string, error) {
	seen := map[string]bool{}
	ents, err := os.ReadDir(RunDir)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range ents {
		if e.IsDir() {
			seen[e.Name()] = true
		}
	}
	orphans, err := hypervisor.ListLabs()
	if err != nil {
		return nil, err
	}
	for _, n := range orphans {
		seen[n] = true
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// Teardown removes a background lab: it asks the engine to shut down and, if the engine is dead
// or does not answer, ends it by pid (only if that pid is still an ec2sim engine) and removes what
// the lab left on the machine. It reports what it had to do.
func Teardown(name string) (string, error) {
	if _, err := Call(name, Request{Op: "shutdown"}, 60*time.Second); err == nil {
		return "engine shut down", nil
	}
	var notes []string
	if m, err := ReadMeta(name); err == nil && m.PID > 0 && isEngine(m.PID, name) {
		syscall.Kill(m.PID, syscall.SIGTERM)
		if !waitGone(m.PID, 10*time.Second) {
			syscall.Kill(m.PID, syscall.SIGKILL)
			waitGone(m.PID, 5*time.Second)
			notes = append(notes, fmt.Sprintf("engine pid %d killed", m.PID))
		} else {
			notes = append(notes, fmt.Sprintf("engine pid %d stopped", m.PID))
		}
	} else {
		notes = append(notes, "engine was not running")
	}
	removed, err := hypervisor.DestroyLab(name)
	if len(removed) > 0 {
		notes = append(notes, fmt.Sprintf("removed %d leftover objects", len(removed)))
	}
	// After the instances: their devices are then free. Opening the pool first finishes a
	// scrub the dead engine left half done.
	if perr := destroyPool(name); perr != nil {
		err = errors.Join(err, fmt.Errorf("hypervisor pool: %w", perr))
	}
	if rerr := os.RemoveAll(Dir(name)); rerr != nil && err == nil {
		err = rerr
	}
	return strings.Join(notes, "; "), err
}

// isEngine reports whether pid is an ec2sim engine process serving lab name, so that a stale pid
// reused by another program is never signalled.
func isEngine(pid int, name string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	hasEngine, hasName := false, false
	for _, a := range args {
		if a == "__engine" {
			hasEngine = true
		}
		if a == name {
			hasName = true
		}
	}
	return hasEngine && hasName
}

func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); err != nil {
			return true
		}
		// A zombie child still answers kill(0); the engine is not our child, so this ends.
		time.Sleep(50 * time.Millisecond)
	}
	return false
}
