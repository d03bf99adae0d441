package route

import (
	"fmt"
	"strings"
)

// ParseTarget reads a route target as the CLI and scenarios write it:
//
//   - local or blackhole;
//   - an AWS ID, whose prefix gives the kind: igw-, eigw-, nat-, eni-, i-, vgw-, pcx-, tgw-,
//     vpce- (a Gateway Load Balancer endpoint), followed by letters and digits;
//   - KIND/NAME with KIND one of igw, eigw, nat, eni, instance, vgw, peering, tgw, gwlbe, for
//     objects named in a scenario ("instance/fw", "eni/fw.eth1");
//   - a bare KIND ("igw"), leaving the ID for the caller to fill in, as for a VPC's only
//     internet gateway.
//
// Index stays 0: the engine sets it.
func ParseTarget(s string) (Target, error) {
	if kind, name, ok := strings.Cut(s, "/"); ok {
		k := kindByWord(kind)
		if k == 0 || k == Local || k == Blackhole || name == "" || !printable(name) {
			return Target{}, fmt.Errorf("route target %q: want KIND/NAME with KIND igw, eigw, nat, eni, instance, vgw, peering, tgw or gwlbe", s)
		}
		return Target{Kind: k, ID: name}, nil
	}
	if k := kindByWord(s); k != 0 {
		return Target{Kind: k}, nil
	}
	for k := Local; k < numKinds; k++ {
		p := kindInfo[k].prefix
		if p == "" || !strings.HasPrefix(s, p) {
			continue
		}
		// No prefix starts another ("i-" is not the start of "igw-"), so one kind matches.
		if id := s[len(p):]; id != "" && alnum(id) {
			return Target{Kind: k, ID: s}, nil
		}
	}
	return Target{}, fmt.Errorf("unknown route target %q: want local, blackhole, an ID such as igw-0abc, nat-0abc, eni-0abc, i-0abc, vgw-, pcx-, tgw-, eigw- or vpce-, or KIND/NAME such as instance/fw", s)
}

func kindByWord(w string) TargetKind {
	for k := Local; k < numKinds; k++ {
		if kindInfo[k].word == w {
			return k
		}
	}
	return 0
}

func alnum(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// printable accepts scenario names: no spaces, slashes or control characters.
func printable(s string) bool {
	for _, c := range s {
		if c <= ' ' || c == '/' || c == 0x7f {
			return false
		}
	}
	return true
}

// String writes the target as ParseTarget reads it: an AWS ID as it is, other names as
// KIND/NAME, a target without an ID as its kind.
func (t Target) String() string {
	if !t.Kind.valid() {
		return t.Kind.String()
	}
	if t.ID == "" || !t.needsID() {
		return kindInfo[t.Kind].word
	}
	if p, err := ParseTarget(t.ID); err == nil && p.Kind == t.Kind && p.ID == t.ID {
		return t.ID
	}
	return kindInfo[t.Kind].word + "/" + t.ID
}
