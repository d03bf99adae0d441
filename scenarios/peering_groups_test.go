package scenarios

import (
	"strings"
	"testing"
)

// peeredGroups: vpc a's group db admits b's group app across the peering ab; vpc c is not peered
// with a.
const peeredGroups = `name: t
vpcs:
  a:
    cidr: 10.0.0.0/16
    subnets: {s: {cidr: 10.0.1.0/24}}
    security_groups:
      db:
        ingress:
          - {proto: tcp, ports: 5432, group: REF}
  b:
    cidr: 10.1.0.0/16
    subnets: {s: {cidr: 10.1.1.0/24}}
    security_groups:
      app: {}
  c:
    cidr: 10.2.0.0/16
    subnets: {s: {cidr: 10.2.1.0/24}}
    security_groups:
      app: {}
peerings:
  ab: {requester: a, accepter: b}
instances:
  db: {subnet: a/s, security_groups: [db]}
`

func TestSecurityGroupReferenceAcrossPeering(t *testing.T) {
	for _, c := range []struct {
		ref, want string // want: "" for no error, else part of the error
	}{
		{"b/app", ""},
		{"a/db", ""}, // its own VPC, qualified
		{"db", ""},
		{"c/app", "vpc c, which is not peered with vpc a"},
		{"b/nope", `vpc b has no security group "nope"`},
		{"x/app", `no vpc "x"`},
		{"b/sg-app", `AWS refuses group names that start with "sg-"`},
		{"app", `group "app" is not a security group of vpc a`},
	} {
		_, err := Parse("t.yaml", []byte(strings.Replace(peeredGroups, "REF", c.ref, 1)))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("group %s: %v", c.ref, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("group %s: error %v, want one containing %q", c.ref, err, c.want)
		case c.want != "" && !strings.Contains(err.Error(), "t.yaml:9:"):
			t.Errorf("group %s: the error does not name the rule's line 9: %v", c.ref, err)
		}
	}
}
