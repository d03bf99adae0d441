package scenarios

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Step is one step of a multi-step scenario: exactly one action, run in file order after the
// lab is up (and after the expect: probes).
type Step struct {
	// Kind names the action: probe, hold, held, sg, nacl, route, set, exec, flows, wait,
	// instance or audit.
	Kind        string
	Probe       *Probe     // probe
	Hold        *HoldStep  // hold: open a TCP connection and keep it
	Held        *HeldStep  // held: check a held connection
	Command     string     // sg, nacl, route, set: the arguments as the CLI takes them
	Exec        *ExecStep  // exec: run a command inside an instance
	Flows       *FlowsStep // flows: a flow log holds (or not) a record
	Matrix      *Matrix    // matrix: a reachability matrix
	Send        *SendStep  // send: a crafted packet
	Audit       *AuditStep // audit: the hypervisor's scrub records (lifecycle.go)
	Wait        time.Duration
	Description string
	Pos         Pos
}

// HoldStep opens a TCP connection from one instance to a listener in another and keeps it open
// for later held steps: "the existing SSH session still works after the revoke".
type HoldStep struct {
	Name     string
	From, To string
	Port     int
}

// HeldStep sends data over a held connection and expects it to come back (allow) or not (deny).
type HeldStep struct {
	Name   string
	Result string
}

// FlowsStep checks a scenario flow log: within Within (default: twice the log's window plus a
// second) a record line containing every word of Contains appears — or, with Absent, none does.
type FlowsStep struct {
	Log      string
	Contains string
	Absent   bool
	Within   time.Duration
}

// ExecStep runs a command inside an instance and checks its exit status and output.
type ExecStep struct {
	Instance string
	Command  string // run by /bin/sh -c
	ExitCode int
	Output   string // a substring the combined output must contain; "" = no check
}

var stepKinds = []string{"probe", "hold", "held", "sg", "nacl", "route", "set", "exec", "flows", "wait", "matrix", "send", "instance", "audit"}

func (d *decoder) step(i int, n *yaml.Node) *Step {
	st := &Step{Pos: d.pos(d.resolve(n))}
	what := fmt.Sprintf("step %d", i+1)
	var kinds []string
	d.object(n, kStep, what, func(field string, _, v *yaml.Node) {
		d.mark(st, field, v)
		if field == "description" {
			st.Description, _ = d.str(v, what+": description")
			return
		}
		kinds = append(kinds, field)
		st.Kind = field
		switch field {
		case "probe":
			st.Probe = d.probe(i, v)
			st.Probe.Pos = d.pos(d.resolve(v))
		case "hold":
			h := &HoldStep{}
			st.Hold = h
			d.object(v, kHoldStep, what+": hold", func(f string, _, v *yaml.Node) {
				d.mark(h, f, v)
				switch f {
				case "name":
					h.Name, _ = d.str(v, what+": hold: name")
				case "from":
					h.From, _ = d.str(v, what+": hold: from")
				case "to":
					h.To, _ = d.str(v, what+": hold: to")
				case "port":
					h.Port, _ = d.integer(v, what+": hold: port")
				}
			})
		case "held":
			h := &HeldStep{}
			st.Held = h
			d.object(v, kHeldStep, what+": held", func(f string, _, v *yaml.Node) {
				d.mark(h, f, v)
				switch f {
				case "name":
					h.Name, _ = d.str(v, what+": held: name")
				case "result":
					h.Result, _ = d.str(v, what+": held: result")
				}
			})
		case "sg", "nacl", "route", "set", "instance":
			st.Command, _ = d.str(v, what+": "+field)
		case "audit":
			st.Audit = d.auditStep(v, what)
		case "exec":
			e := &ExecStep{}
			st.Exec = e
			d.object(v, kExecStep, what+": exec", func(f string, _, v *yaml.Node) {
				d.mark(e, f, v)
				switch f {
				case "instance":
					e.Instance, _ = d.str(v, what+": exec: instance")
				case "command":
					e.Command, _ = d.str(v, what+": exec: command")
				case "exit_code":
					e.ExitCode, _ = d.integer(v, what+": exec: exit_code")
				case "output":
					e.Output, _ = d.str(v, what+": exec: output")
				}
			})
		case "flows":
			fs := &FlowsStep{}
			st.Flows = fs
			d.object(v, kFlowsStep, what+": flows", func(f string, _, v *yaml.Node) {
				d.mark(fs, f, v)
				switch f {
				case "log":
					fs.Log, _ = d.str(v, what+": flows: log")
				case "contains":
					fs.Contains, _ = d.str(v, what+": flows: contains")
				case "absent":
					fs.Absent, _ = d.boolean(v, what+": flows: absent")
				case "within":
					fs.Within, _ = d.duration(v, what+": flows: within")
				}
			})
		case "wait":
			st.Wait, _ = d.duration(v, what+": wait")
		case "matrix":
			st.Matrix = d.matrix(what+": matrix", v)
		case "send":
			st.Send = d.send(what+": send", v)
		}
	})
	if len(kinds) != 1 {
		d.p.errorf(st.Pos, "%s: want exactly one action of %s, got %d (%s)", what, strings.Join(stepKinds, ", "), len(kinds), strings.Join(kinds, ", "))
	}
	return st
}

// steps validates every step: endpoints exist, held names were held before, the one-line
// commands parse, as `ec2sim sg|nacl|route|set` would take them.
func (v *validator) steps() {
	held := map[string]bool{}
	for i, st := range v.sc.Steps {
		what := fmt.Sprintf("step %d", i+1)
		at := v.where(st, st.Kind, st.Pos)
		switch st.Kind {
		case "probe":
			v.probe(i, st.Probe)
		case "hold":
			h := st.Hold
			if h.Name == "" {
				v.p.errorf(at, "%s: hold needs a name to check it by later", what)
			}
			if held[h.Name] {
				v.p.errorf(at, "%s: a connection named %q is already held", what, h.Name)
			}
			held[h.Name] = true
			v.endpoint(what, "from", h.From, at, false)
			v.endpoint(what, "to", h.To, at, true)
			if h.Port < 1 || h.Port > 65535 {
				v.p.errorf(at, "%s: hold: port %d: want 1-65535", what, h.Port)
			}
		case "held":
			if !held[st.Held.Name] {
				v.p.errorf(at, "%s: held: no connection named %q was held by an earlier step", what, st.Held.Name)
			}
			if st.Held.Result != "allow" && st.Held.Result != "deny" {
				v.p.errorf(at, "%s: held: result %q: want allow or deny", what, st.Held.Result)
			}
		case "sg", "nacl", "route", "set":
			if err := checkCommand(st.Kind, st.Command); err != nil {
				v.p.errorf(at, "%s: %s: %v", what, st.Kind, err)
			}
		case "exec":
			if _, h := v.sc.OnPremHost(st.Exec.Instance); v.sc.Instance(st.Exec.Instance) == nil && v.sc.Host(st.Exec.Instance) == nil && h == nil {
				v.p.errorf(at, "%s: exec: no instance or internet or on-prem host %q (a host's command runs in its network's namespace)", what, st.Exec.Instance)
			}
			if st.Exec.Command == "" {
				v.p.errorf(at, "%s: exec: command is empty", what)
			}
		case "flows":
			found := false
			for _, fl := range v.sc.FlowLogs {
				found = found || fl.Name == st.Flows.Log
			}
			if !found {
				v.p.errorf(at, "%s: flows: no flow log %q in flow_logs", what, st.Flows.Log)
			}
			if strings.TrimSpace(st.Flows.Contains) == "" {
				v.p.errorf(at, "%s: flows: contains is empty; give the words a record must hold, e.g. \"10.0.1.10 10.0.2.10 ACCEPT\"", what)
			}
		case "matrix":
			v.matrix(what+": matrix", st.Matrix)
		case "send":
			v.send(what+": send", st.Send, at)
		case "instance", "audit":
			v.lifecycleStep(what, st, at)
		case "wait":
			if st.Wait <= 0 || st.Wait > maxProbeTimeout {
				v.p.errorf(at, "%s: wait %s: want a positive duration up to %s", what, st.Wait, maxProbeTimeout)
			}
		}
	}
}

// checkCommand checks a step's one-line command: the words `ec2sim KIND` takes after its flags.
func checkCommand(kind, cmd string) error {
	f := strings.Fields(cmd)
	if len(f) == 0 {
		return fmt.Errorf("empty; e.g. %s", commandExample(kind))
	}
	bad := func() error { return fmt.Errorf("%q: want e.g. %s", cmd, commandExample(kind)) }
	switch kind {
	case "sg":
		switch f[0] {
		case "authorize", "revoke":
			if len(f) != 4 {
				return bad()
			}
			if f[2] != "ingress" && f[2] != "egress" {
				return fmt.Errorf("%q: direction %q: want ingress or egress", cmd, f[2])
			}
			_, err := ParseRule(f[3])
			return err
		case "attach", "detach":
			if len(f) != 3 {
				return bad()
			}
			return nil
		}
	case "nacl":
		switch f[0] {
		case "add", "replace":
			if len(f) != 7 {
				return bad()
			}
			_, err := ParseACLEntry(strings.Join(f[3:], " "))
			return err
		case "delete":
			if len(f) != 4 {
				return bad()
			}
			if n, err := strconv.Atoi(f[3]); err != nil || n < 1 || n > maxNACLRuleNumber {
				return fmt.Errorf("%q: rule number %q: want 1-32766", cmd, f[3])
			}
			return nil
		case "associate":
			if len(f) != 3 {
				return bad()
			}
			return nil
		}
	case "route":
		switch f[0] {
		case "add":
			if len(f) != 4 {
				return bad()
			}
			if _, err := netip.ParsePrefix(f[2]); err != nil {
				return fmt.Errorf("%q: destination %q: want a CIDR", cmd, f[2])
			}
			return nil
		case "delete":
			if len(f) != 3 {
				return bad()
			}
			return nil
		case "associate":
			if len(f) != 3 {
				return bad()
			}
			return nil
		}
	case "set":
		if len(f) == 3 && f[1] == "source-dest-check" && (f[2] == "on" || f[2] == "off") {
			return nil
		}
	}
	return bad()
}

func commandExample(kind string) string {
	switch kind {
	case "sg":
		return `"revoke web-sg ingress tcp:22:203.0.113.1/32" or "attach web-1 admin-sg"`
	case "nacl":
		return `"add web-acl ingress 90 deny tcp:22 0.0.0.0/0", "delete web-acl ingress 90" or "associate main/web web-acl"`
	case "route":
		return `"add main 10.0.2.0/24 instance/fw", "delete main 10.0.2.0/24" or "associate main/app via-fw"`
	}
	return `"router source-dest-check off"`
}

// ParseACLEntry reads the one-line form of a network ACL rule:
//
//	NUMBER allow|deny PROTO[:PORTS | :TYPE[/CODE]] CIDR
//
// for example "100 allow tcp:443 0.0.0.0/0", "110 allow tcp:1024-65535 0.0.0.0/0",
// "120 deny icmp:8/-1 198.51.100.0/24", "130 allow all 10.0.0.0/16".
func ParseACLEntry(s string) (*ACLEntry, error) {
	const form = `want "NUMBER allow|deny PROTO[:PORTS|:TYPE/CODE] CIDR", e.g. "100 allow tcp:443 0.0.0.0/0"`
	f := strings.Fields(s)
	if len(f) != 4 {
		return nil, fmt.Errorf("network ACL rule %q: %s", s, form)
	}
	e := &ACLEntry{FromPort: 0, ToPort: 65535, ICMPType: -1, ICMPCode: -1}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 || n > maxNACLRuleNumber {
		return nil, fmt.Errorf("network ACL rule %q: number %q: want 1-32766", s, f[0])
	}
	e.Number = n
	switch f[1] {
	case "allow":
		e.Allow = true
	case "deny":
	default:
		return nil, fmt.Errorf("network ACL rule %q: action %q: want allow or deny", s, f[1])
	}
	// The protocol and ports have the one-line security group rule's syntax.
	proto, ports, _ := strings.Cut(f[2], ":")
	r, err := ParseRule(proto + ":" + ports + ":0.0.0.0/0")
	if err != nil {
		return nil, fmt.Errorf("network ACL rule %q: %v", s, err)
	}
	e.Proto = r.Proto
	switch r.Proto {
	case ProtoTCP, ProtoUDP:
		e.FromPort, e.ToPort = r.FromPort, r.ToPort
	case ProtoICMP, ProtoICMPv6:
		e.ICMPType, e.ICMPCode = r.FromPort, r.ToPort
	}
	p, err := netip.ParsePrefix(f[3])
	if err != nil {
		return nil, fmt.Errorf("network ACL rule %q: cidr %q: want a CIDR such as 0.0.0.0/0", s, f[3])
	}
	e.CIDR = p.Masked()
	return e, nil
}
