package scenarios

// Intents: what must or must not be able to reach what, checked by `ec2sim reach` without
// starting the lab, in the spirit of Network Access Analyzer scopes.

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Intent is one declared reachability requirement: traffic From -> To that must all be
// allowed (Allow) or must all be denied (Deny). Exactly one of Allow and Deny is set.
type Intent struct {
	// Name identifies the intent in reports; "" = "intent N" by position.
	Name string
	// From and To are an instance, instance.ethN, an internet or on-prem host, or "internet"
	// (every host of the simulated internet). To may not be "internet" when From is.
	From, To string
	// Allow and Deny are the traffic as written ("any", "tcp/5432", "tcp/1024-2047, icmp");
	// Traffic is its parsed form.
	Allow, Deny string
	Traffic     []Traffic
	Description string
	Pos         Pos
}

// Label is the intent's name, or "intent N" for the i-th (0-based) unnamed one.
func (in *Intent) Label(i int) string {
	if in.Name != "" {
		return in.Name
	}
	return fmt.Sprintf("intent %d", i+1)
}

// Verb is "allow" or "deny".
func (in *Intent) Verb() string {
	if in.Deny != "" {
		return "deny"
	}
	return "allow"
}

// Traffic is one protocol's part of an intent: Proto "tcp" or "udp" with an inclusive port
// range, or "icmp" (an echo request and its reply). "any" is every port of tcp and udp plus icmp.
type Traffic struct {
	Proto    string
	From, To int
}

func (t Traffic) String() string {
	switch {
	case t.Proto == "icmp":
		return "icmp"
	case t.From == 1 && t.To == 65535:
		return t.Proto
	case t.From == t.To:
		return fmt.Sprintf("%s/%d", t.Proto, t.From)
	}
	return fmt.Sprintf("%s/%d-%d", t.Proto, t.From, t.To)
}

// InternetEndpoint names every host of the simulated internet in an intent.
const InternetEndpoint = "internet"

// ParseTraffic reads an intent's traffic: "any", or a comma-separated list of tcp, udp (all
// ports), tcp/N, tcp/N-M, udp/N, udp/N-M and icmp.
func ParseTraffic(s string) ([]Traffic, error) {
	const want = `want "any" or a comma-separated list of tcp, udp, tcp/PORT, tcp/LOW-HIGH, udp/PORT, udp/LOW-HIGH, icmp (ports 1-65535)`
	// Spaces only around items (the schema's pattern says the same), no other white space.
	if strings.Trim(s, " ") == "any" {
		return []Traffic{{"tcp", 1, 65535}, {"udp", 1, 65535}, {Proto: "icmp"}}, nil
	}
	var out []Traffic
	for _, part := range strings.Split(s, ",") {
		part = strings.Trim(part, " ")
		proto, ports, hasPorts := strings.Cut(part, "/")
		switch proto {
		case "icmp":
			if hasPorts {
				return nil, fmt.Errorf("%q: icmp takes no port (an intent's icmp is an echo request and its reply); %s", part, want)
			}
			out = append(out, Traffic{Proto: "icmp"})
			continue
		case "tcp", "udp":
		default:
			return nil, fmt.Errorf("%q: %s", part, want)
		}
		t := Traffic{Proto: proto, From: 1, To: 65535}
		if hasPorts {
			var err error
			t.From, t.To, err = parsePortRange(ports)
			switch {
			case err != nil || ports == "all" || t.From < 1 || t.To > 65535:
				return nil, fmt.Errorf("%q: ports %q: %s", part, ports, want)
			case t.From > t.To:
				return nil, fmt.Errorf("%q: port range %d-%d is reversed", part, t.From, t.To)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

func (d *decoder) intent(i int, n *yaml.Node) *Intent {
	in := &Intent{Pos: d.pos(d.resolve(n))}
	what := fmt.Sprintf("intent %d", i+1)
	d.object(n, kIntent, what, func(field string, _, v *yaml.Node) {
		d.mark(in, field, v)
		switch field {
		case "name":
			in.Name, _ = d.str(v, what+": name")
		case "from":
			in.From, _ = d.str(v, what+": from")
		case "to":
			in.To, _ = d.str(v, what+": to")
		case "allow":
			in.Allow, _ = d.str(v, what+": allow")
		case "deny":
			in.Deny, _ = d.str(v, what+": deny")
		case "description":
			in.Description, _ = d.str(v, what+": description")
		}
	})
	return in
}

// intents checks every intent: its endpoints exist, exactly one of allow and deny is given and
// its traffic parses, and names are unique.
func (v *validator) intents() {
	names := map[string]int{}
	for i, in := range v.sc.Intents {
		what := "intent " + strconv.Itoa(i+1)
		if in.Name != "" {
			what += " (" + in.Name + ")"
			if err := checkName(in.Name); err != nil {
				v.p.errorf(v.where(in, "name", in.Pos), "%s: name %v", what, err)
			} else if line, dup := names[in.Name]; dup {
				v.p.errorf(v.where(in, "name", in.Pos), "%s: name %q is already used by the intent at line %d", what, in.Name, line)
			}
			names[in.Name] = in.Pos.Line
		}
		for _, f := range []struct{ field, s string }{{"from", in.From}, {"to", in.To}} {
			if f.s != InternetEndpoint {
				v.endpoint(what, f.field, f.s, v.where(in, f.field, in.Pos), false)
			}
		}
		fromInst, _, _ := strings.Cut(in.From, ".")
		toInst, _, _ := strings.Cut(in.To, ".")
		switch {
		case in.From == InternetEndpoint && in.To == InternetEndpoint:
			v.p.errorf(v.where(in, "to", in.Pos), "%s: from and to are both the internet; an intent needs an instance on one side", what)
		case fromInst == toInst && v.sc.Instance(fromInst) != nil:
			v.p.errorf(v.where(in, "to", in.Pos), "%s: from and to are both instance %s; an intent is about traffic between two endpoints", what, fromInst)
		}
		var s, field string
		switch {
		case in.Allow != "" && in.Deny != "":
			v.p.errorf(v.where(in, "deny", in.Pos), "%s: has both allow and deny; want exactly one", what)
			continue
		case in.Allow != "":
			s, field = in.Allow, "allow"
		case in.Deny != "":
			s, field = in.Deny, "deny"
		default:
			v.p.errorf(in.Pos, "%s: want allow: TRAFFIC or deny: TRAFFIC (TRAFFIC: any, tcp/5432, udp/53, icmp, ...)", what)
			continue
		}
		t, err := ParseTraffic(s)
		if err != nil {
			v.p.errorf(v.where(in, field, in.Pos), "%s: %s %v", what, field, err)
			continue
		}
		in.Traffic = t
		if len(in.Description) > MaxDescriptionLen {
			v.p.errorf(v.where(in, "description", in.Pos), "%s: description is %d characters; at most %d", what, len(in.Description), MaxDescriptionLen)
		}
	}
}

func formatIntent(in *Intent) *yaml.Node {
	m := mapping(true)
	if in.Name != "" {
		addStr(m, "name", in.Name)
	}
	addStr(m, "from", in.From)
	addStr(m, "to", in.To)
	if in.Allow != "" {
		addStr(m, "allow", in.Allow)
	}
	if in.Deny != "" {
		addStr(m, "deny", in.Deny)
	}
	if in.Description != "" {
		addStr(m, "description", in.Description)
	}
	return m
}
