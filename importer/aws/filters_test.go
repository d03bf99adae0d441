package awsimport

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/scenarios"
)

// The filters/ files hold single objects whose VPCs and subnets are not in them; this context
// supplies those, so the files import as they are.
const filterContext = `{"Vpcs": [
  {"VpcId": "vpc-6f6f8316", "CidrBlock": "10.6.0.0/16"},
  {"VpcId": "vpc-f8fad69d", "CidrBlock": "10.8.0.0/16"}],
 "Subnets": [{"SubnetId": "subnet-1f315846", "VpcId": "vpc-f8fad69d", "CidrBlock": "10.8.1.0/24"}]}`

func importFilter(t *testing.T, file string) (*scenarios.Scenario, *Report) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(snapshots, "filters", file))
	if err != nil {
		t.Fatal(err)
	}
	snap := &Snapshot{}
	if err := snap.Add("context.json", []byte(filterContext)); err != nil {
		t.Fatal(err)
	}
	if err := snap.Add(file, data); err != nil {
		t.Fatal(err)
	}
	sc, rep, err := Import(snap, Options{Name: "filters"})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep.Text())
	}
	return sc, rep
}

// ruleString renders a rule with its ports read back, e.g. "tcp 0-22 192.0.2.1/32".
func ruleString(r *scenarios.Rule) string {
	src := r.CIDR.String()
	if r.Group != "" {
		src = "group " + r.Group
	}
	return fmt.Sprintf("%s %d-%d %s", scenarios.ProtoName(r.Proto), r.FromPort, r.ToPort, src)
}

// mappedOf returns the lab's value of an original public prefix, from the report.
func mappedOf(t *testing.T, rep *Report, orig string) string {
	t.Helper()
	for _, m := range rep.Addresses {
		if m.Original.String() == orig {
			return m.Mapped.String()
		}
	}
	t.Fatalf("%s is not in the address mapping: %v", orig, rep.Addresses)
	return ""
}

// Each security group of SecurityGroupTest.json is one reading of ports and ICMP type/code, as
// AWS and Batfish read them (docs/import-aws.md).
func TestFilterSecurityGroups(t *testing.T) {
	sc, rep := importFilter(t, "SecurityGroupTest.json")
	one := mappedOf(t, rep, "1.2.3.4/32")
	five := mappedOf(t, rep, "5.6.7.8/32")
	if !strings.HasPrefix(one, "192.0.2.") || !strings.HasPrefix(five, "192.0.2.") || one == five {
		t.Errorf("1.2.3.4 -> %s, 5.6.7.8 -> %s: want two addresses of 192.0.2.0/24", one, five)
	}
	vpc := sc.VPC("vpc-6f6f8316")
	for _, c := range []struct {
		group           string
		ingress, egress []string
	}{
		{"single-port", []string{"tcp 22-22 " + one}, []string{"all -1--1 0.0.0.0/0"}},
		{"half-open-beginning", []string{"tcp 0-22 " + one}, nil},
		{"half-open-ending", []string{"tcp 65530-65535 " + one}, nil},
		{"full-interval-ports", []string{"tcp 0-65535 " + one}, nil},
		{"all-traffic", []string{"all -1--1 0.0.0.0/0"}, nil},
		{"closed-interval", []string{"tcp 45-50 " + one}, nil},
		// FromPort -1 is 0 and ToPort -1 is 65535 for tcp (Batfish's reading).
		{"invalid-interval-beginning", []string{"tcp 0-50 " + one}, nil},
		{"invalid-interval-end", []string{"tcp 30-65535 " + one}, nil},
		{"stateful-tcp-rules", []string{"tcp 22-22 " + one}, []string{"tcp 80-80 " + five}},
		// ICMP: FromPort is the type, ToPort the code, -1 any; the ::/0 source of an icmp (v4)
		// rule matches nothing and is skipped.
		{"icmp-types-with-just-type", []string{"icmp 8--1 0.0.0.0/0"}, nil},
		{"icmp-types-with-type-and-code", []string{"icmp 8-9 0.0.0.0/0"}, nil},
		// A code without a type matches nothing (Batfish flags it): no rule.
		{"icmp-types-invalid-with-code-on", []string{}, nil},
	} {
		t.Run(c.group, func(t *testing.T) {
			g := vpc.Group(c.group)
			if g == nil {
				t.Fatalf("no group %s; groups: %v", c.group, groupNames(vpc))
			}
			var in, out []string
			for _, r := range g.Ingress {
				in = append(in, ruleString(r))
			}
			for _, r := range g.Egress {
				out = append(out, ruleString(r))
			}
			if !slices.Equal(in, c.ingress) && !(len(in) == 0 && len(c.ingress) == 0) {
				t.Errorf("ingress %q, want %q", in, c.ingress)
			}
			if c.egress != nil && !slices.Equal(out, c.egress) {
				t.Errorf("egress %q, want %q", out, c.egress)
			}
		})
	}
	skipped := 0
	for _, s := range rep.Skipped {
		if strings.Contains(s.Reason, "matches nothing") {
			skipped++
		}
	}
	// Two ::/0 sources of icmp rules and the code-only rule (whose ::/0 is never reached).
	if skipped != 3 {
		t.Errorf("%d rules reported as matching nothing, want 3: %v", skipped, rep.Skipped)
	}
}

func groupNames(v *scenarios.VPC) []string {
	var out []string
	for _, g := range v.SecurityGroups {
		out = append(out, g.Name)
	}
	return out
}

func entryString(e *scenarios.ACLEntry) string {
	action := "deny"
	if e.Allow {
		action = "allow"
	}
	return fmt.Sprintf("%d %s %s ports %d-%d icmp %d/%d %s", e.Number, action, scenarios.ProtoName(e.Proto), e.FromPort, e.ToPort, e.ICMPType, e.ICMPCode, e.CIDR)
}

// NetworkAclTest.json: the same rule number in both directions, a deny for one public /32 (mapped),
// and no written rule 32767 (the format implies the final deny).
func TestFilterNetworkACL(t *testing.T) {
	sc, rep := importFilter(t, "NetworkAclTest.json")
	acl := sc.VPC("vpc-f8fad69d").NetworkACL(scenarios.DefaultACL)
	if acl == nil || acl.Implicit {
		t.Fatal("the default ACL was not imported")
	}
	mapped := mappedOf(t, rep, "162.243.144.192/32")
	checkEntries(t, "ingress", acl.Ingress, []string{"100 deny tcp ports 3306-3306 icmp -1/-1 " + mapped})
	checkEntries(t, "egress", acl.Egress, []string{"100 allow all ports 0-65535 icmp -1/-1 0.0.0.0/0"})
}

// NetworkAclIcmpTest.json: ICMP type -1 is any type and code; type 0 code 1 is exactly that.
func TestFilterNetworkACLICMP(t *testing.T) {
	sc, _ := importFilter(t, "NetworkAclIcmpTest.json")
	acl := sc.VPC("vpc-f8fad69d").NetworkACL(scenarios.DefaultACL)
	checkEntries(t, "egress", acl.Egress, []string{
		"100 allow icmp ports 0-65535 icmp -1/-1 0.0.0.0/0",
		"200 allow icmp ports 0-65535 icmp 0/1 0.0.0.0/0",
	})
	if len(acl.Ingress) != 0 {
		t.Errorf("ingress: %d entries, want none (the file has none, so everything inbound is denied)", len(acl.Ingress))
	}
}

func checkEntries(t *testing.T, dir string, es []*scenarios.ACLEntry, want []string) {
	t.Helper()
	var got []string
	for _, e := range es {
		got = append(got, entryString(e))
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: %q, want %q", dir, got, want)
	}
}

// The port readings, as a table.
func TestPorts(t *testing.T) {
	p := func(v int) *int { return &v }
	for _, c := range []struct {
		proto    int
		from, to *int
		lo, hi   int
		ok       bool
	}{
		{scenarios.ProtoTCP, nil, nil, 0, 65535, true},
		{scenarios.ProtoTCP, p(-1), p(-1), 0, 65535, true},
		{scenarios.ProtoUDP, p(53), p(53), 53, 53, true},
		{scenarios.ProtoTCP, p(100), p(10), 0, 0, false},
		{scenarios.ProtoICMP, p(-1), p(-1), -1, -1, true},
		{scenarios.ProtoICMP, nil, nil, -1, -1, true},
		{scenarios.ProtoICMP, p(-1), p(3), 0, 0, false},
		{scenarios.ProtoICMPv6, p(128), p(-1), 128, -1, true},
		{scenarios.ProtoAll, p(-1), p(-1), -1, -1, true},
		{50, p(1), p(2), -1, -1, true},
	} {
		lo, hi, ok, _ := ports(c.proto, c.from, c.to)
		if ok != c.ok || ok && (lo != c.lo || hi != c.hi) {
			t.Errorf("ports(%d, %v, %v) = %d-%d %v, want %d-%d %v", c.proto, c.from, c.to, lo, hi, ok, c.lo, c.hi, c.ok)
		}
	}
}

// SecurityGroupTest.json describes three groups with one GroupId; that is said, not hidden.
func TestDuplicateGroupIDReported(t *testing.T) {
	_, rep := importFilter(t, "SecurityGroupTest.json")
	n := 0
	for _, w := range rep.Warnings {
		if strings.Contains(w, "sg-0de0ddfa8a5a12348") && strings.Contains(w, "more than once") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d warnings about sg-0de0ddfa8a5a12348, want 2 (its 2nd and 3rd descriptions): %v", n, rep.Warnings)
	}
}
