package check

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ec2sim/ec2sim/scenarios"
)

// Severity ranks findings. The zero value is Info, the least severe.
type Severity int

const (
	Info Severity = iota
	Low
	Medium
	High
)

var severityNames = [...]string{Info: "info", Low: "low", Medium: "medium", High: "high"}

func (s Severity) String() string {
	if s >= 0 && int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// ParseSeverity reads a severity name: info, low, medium or high (any case).
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("severity %q: want one of %s", s, strings.Join(severityNames[:], ", "))
}

// MarshalText writes the severity's name, so JSON carries "high", not 3.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// Finding is one problem with the rule set.
type Finding struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Object names what the finding is about, qualified so that it is unique in the scenario:
	// "security group main/web ingress rule 2", "network ACL main/web-acl egress rule 120".
	Object  string        `json:"object"`
	Pos     scenarios.Pos `json:"-"`
	Message string        `json:"message"`
	Fix     string        `json:"fix"`
}

// MarshalJSON flattens Pos into file, line and col.
func (f Finding) MarshalJSON() ([]byte, error) {
	type plain Finding
	return json.Marshal(struct {
		plain
		File string `json:"file"`
		Line int    `json:"line"`
		Col  int    `json:"col"`
	}{plain(f), f.Pos.File, f.Pos.Line, f.Pos.Col})
}

// Kind is one kind of finding: its id, default severity and a description for humans and for
// SARIF's rule metadata.
type Kind struct {
	ID       string
	Severity Severity
	Title    string // one line
	Help     string // why it matters, and where the rule comes from
}

// Catalog lists every kind of finding, in id order. Ids are stable: a kind is never renumbered
// or given another meaning.
func Catalog() []Kind {
	return []Kind{
		{"EC2SIM-FILE-001", Info, "the scenario loader warned about the file",
			"The loader accepted the file with a warning: a value it canonicalised as AWS's API would (a CIDR with host bits set, so the file does not say what is enforced), a rule that matches nothing, a setting AWS does not offer. The message is the loader's."},
		{"EC2SIM-NACL-001", Medium, "network ACL admits SSH or RDP from the whole internet",
			"An inbound rule with 0.0.0.0/0 or ::/0 is the first match for tcp/22, tcp/3389 or udp/3389 from some address (CIS AWS Foundations 5.1, AWS Config nacl-no-unrestricted-ssh-rdp, Security Hub EC2.21). A deny with a lower number removes the finding."},
		{"EC2SIM-NACL-002", Medium, "network ACL rule shadowed by an earlier rule with the opposite action",
			"A lower-numbered rule matches every packet this rule matches and does the opposite, so this rule never takes effect: what it was written to allow (or deny) is decided otherwise."},
		{"EC2SIM-NACL-003", Low, "network ACL rule redundant: an earlier rule does the same",
			"A lower-numbered rule with the same action matches every packet this rule matches, so removing it changes nothing; it takes one of the 20 rules a direction may have."},
		{"EC2SIM-NACL-004", Low, "network ACL rule can never match",
			"Every packet the rule could match is taken by some lower-numbered rule (no single one covers it), so the rule has no effect."},
		{"EC2SIM-NACL-005", Medium, "network ACL lets a service in (or out) but no replies back",
			"Network ACLs are stateless: replies to an allowed connection need a rule for the client's ephemeral ports in the other direction (aws-semantics.md §1.3). None of those ports is allowed, so the service cannot work across the subnet boundary."},
		{"EC2SIM-NACL-006", Low, "network ACL allows replies on only part of the ephemeral range",
			"Clients pick source ports from different ranges: Linux 32768-60999, Windows 49152-65535, NAT gateways and ELB 1024-65535 (aws-semantics.md §1.3). Replies to the ports the ACL does not allow are dropped, so some clients hang."},
		{"EC2SIM-NACL-007", Info, "network ACL associated with no subnet",
			"A custom network ACL that no subnet uses has no effect; it is either left over or was meant to be associated."},
		{"EC2SIM-NACL-008", Low, "network ACL rule's protocol belongs to the other address family",
			"ICMP (1) with an IPv6 CIDR or ICMPv6 (58) with an IPv4 CIDR matches no real traffic: ICMPv6 exists only over IPv6 and ICMP only over IPv4. (For security group rules the loader itself warns, which arrives as EC2SIM-FILE-001.)"},
		{"EC2SIM-NACL-009", Low, "network ACL lets ping through but not the echo reply",
			"A rule admits ICMP echo requests (or all traffic) in one direction, but the other direction denies the echo reply (type 0, ICMPv6 129): ping fails across the subnet boundary though everything looks open (the lesson of AWS's flow-log example)."},
		{"EC2SIM-NACL-010", Low, "network ACL blocks path MTU discovery",
			"A rule lets tcp through to or from a peer outside the VPC, but the inbound rules deny that peer's ICMP fragmentation-needed (type 3 code 4; ICMPv6 Packet Too Big). AWS advises allowing it in and out (aws-semantics.md §1.3): the internet gateway's MTU is 1500 while instances send 9001-byte frames, so without it large segments are lost and connections hang."},
		{"EC2SIM-NET-001", Medium, "public IP address in a private subnet",
			"The subnet's route table has no route to an internet gateway, so a public or Elastic IP there is unreachable today, and becomes reachable the moment someone adds a default route; map_public_ip_on_launch in a private subnet hands such addresses out."},
		{"EC2SIM-NET-002", Medium, "route through an ENI whose source/destination check is on",
			"A route sends traffic to an instance or ENI that must forward it, but its source/destination check is on, so the hypervisor drops every packet not addressed to it or not sent from its own address (aws-semantics.md §1.4; trace reports EC2SIM_SOURCE_DEST_CHECK)."},
		{"EC2SIM-NET-003", Low, "source/destination check off on an ENI that no route uses",
			"With the check off an ENI may send packets from any source address: anti-spoofing is given up (aws-semantics.md §1.4). NAT, router and firewall instances need that, but no route table routes through this ENI; routes configured inside other instances, or added by a scenario's steps, are not visible to check."},
		{"EC2SIM-NET-004", Medium, "public NAT gateway in a subnet without a route to an internet gateway",
			"A public NAT gateway sends what it translates through its own subnet's route table; without a route to the internet gateway there, nothing behind it reaches the internet (aws-semantics.md §1.5, AWS's NAT gateway troubleshooting)."},
		{"EC2SIM-NET-005", Low, "blackhole route",
			"A route whose target is gone (AWS keeps it in state blackhole, aws-semantics.md §1.5) silently drops what it matches: the routing counterpart of a stale reference. A deliberate drop is better written as a network ACL deny, which flow logs and trace name."},
		{"EC2SIM-NET-006", Info, "route table associated with no subnet",
			"A route table that is not the main table and that no subnet uses has no effect; it is either left over or was meant to be associated."},
		{"EC2SIM-PL-001", Low, "rule references an empty prefix list",
			"A prefix list without entries matches nothing, so the rule has no effect until entries are added (and then changes behaviour without a rule change)."},
		{"EC2SIM-PL-002", Info, "prefix list referenced by no rule", "The prefix list is unused."},
		{"EC2SIM-SG-001", High, "security group admits SSH or RDP from the whole internet",
			"An ingress rule from 0.0.0.0/0, ::/0 or a prefix list holding them admits tcp/22, tcp/3389 or udp/3389, directly, through a port range or through all traffic (CIS AWS Foundations 5.2/5.3, Security Hub EC2.13/EC2.14)."},
		{"EC2SIM-SG-002", Medium, "default security group allows traffic",
			"AWS and CIS (5.4, Security Hub EC2.2) recommend that every VPC's default group restricts all traffic, so that a resource launched without a group gets no access by accident. Security Hub rates this higher; ec2sim uses Medium because AWS's default rules admit only the group's own members, so every scenario that keeps them would otherwise fail the default --fail-on high."},
		{"EC2SIM-SG-003", Low, "redundant security group rule",
			"Another rule of the group in the same direction admits everything this rule admits (exact duplicates the loader already rejects, as AWS does with InvalidPermission.Duplicate); security groups apply the most permissive rule, so this one adds nothing but a place in the 60-rule quota."},
		{"EC2SIM-SG-004", Low, "security group attached to nothing",
			"No ENI uses the group, so its rules have no effect; unused groups hide which rules are live."},
		{"EC2SIM-SG-005", Low, "rule references a security group that no ENI uses",
			"A group reference matches the private addresses of the ENIs in the referenced group; that group has none, so the rule matches nothing."},
		{"EC2SIM-SG-006", Medium, "security group admits the whole internet to ports other than 80 and 443",
			"An ingress rule from 0.0.0.0/0 or ::/0 opens ports beyond HTTP and HTTPS (Security Hub EC2.18); databases and admin ports should admit known sources or groups only."},
	}
}

// kind returns the catalog entry for id; the ids used in this package are all in the catalog
// (a test checks that).
func kind(id string) Kind {
	for _, k := range Catalog() {
		if k.ID == id {
			return k
		}
	}
	return Kind{ID: id}
}

// sortFindings orders findings most severe first, then by file position, then id and object, so
// that output is stable.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.ID, b.ID), cmp.Compare(a.Object, b.Object))
	})
}

// AtLeast returns the findings of severity min or more, in order.
func AtLeast(fs []Finding, min Severity) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity >= min {
			out = append(out, f)
		}
	}
	return out
}

// ParseIDs reads a comma-separated list of finding ids, each of which must be in the catalog;
// "" is the empty list.
func ParseIDs(s string) ([]string, error) {
	var out []string
	for _, id := range strings.Split(s, ",") {
		id = strings.ToUpper(strings.TrimSpace(id))
		if id == "" {
			continue
		}
		if kind(id).Title == "" {
			var ids []string
			for _, k := range Catalog() {
				ids = append(ids, k.ID)
			}
			return nil, fmt.Errorf("no finding has the id %q; the ids are %s", id, strings.Join(ids, ", "))
		}
		out = append(out, id)
	}
	return out, nil
}

// Without returns the findings whose id is not in ids, in order.
func Without(fs []Finding, ids []string) []Finding {
	var out []Finding
	for _, f := range fs {
		if !slices.Contains(ids, f.ID) {
			out = append(out, f)
		}
	}
	return out
}
