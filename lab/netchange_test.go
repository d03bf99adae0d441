package lab

import (
	"testing"
)

const naclLab = `
name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
      b: {cidr: 10.0.2.0/24, network_acl: b-acl}
    network_acls:
      b-acl:
        ingress:
          - {rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0}
        egress:
          - {rule: 100, action: allow, proto: all, cidr: 0.0.0.0/0}
    security_groups:
      open:
        ingress:
          - {proto: all, cidr: 10.0.0.0/16}
instances:
  client: {subnet: main/a, ip: 10.0.1.10, security_groups: [open]}
  server: {subnet: main/b, ip: 10.0.2.10, security_groups: [open]}
  peer:   {subnet: main/b, ip: 10.0.2.11, security_groups: [open]}
`

// TestNACLChangeCutsEstablishedConnection: security groups keep tracked connections across rule
// changes, network ACLs do not — AWS's way to cut traffic at once.
func TestNACLChangeCutsEstablishedConnection(t *testing.T) {
	l := upLab(t, "naclcut", naclLab)
	c, err := hold(t, l, "client", "server", 5432)
	if err != nil {
		t.Fatal(err)
	}
	if !c.echo() {
		t.Fatal("the connection does not work before the change")
	}
	if err := l.SetACLEntry("b-acl", "ingress", "90 deny tcp:5432 10.0.1.0/24", false); err != nil {
		t.Fatal(err)
	}
	if c.echo() {
		t.Error("an established connection survived a NACL deny rule")
	}
	// Inside the subnet the ACL plays no part, even a deny-all one.
	if err := l.SetACLEntry("b-acl", "ingress", "100 deny all 0.0.0.0/0", true); err != nil {
		t.Fatal(err)
	}
	if err := l.SetACLEntry("b-acl", "egress", "100 deny all 0.0.0.0/0", true); err != nil {
		t.Fatal(err)
	}
	if r := probeOK(t, l, "peer", "server", "tcp", 7000); !r.Completed {
		t.Errorf("traffic inside a subnet was stopped by its NACL: %s", r.Detail)
	}
	if r := probeOK(t, l, "client", "server", "icmp", 0); r.Completed {
		t.Error("a deny-all NACL let a ping into its subnet")
	}
	// Removing the deny rules and associating the default ACL restores everything.
	if err := l.AssociateACL("main/b", "default"); err != nil {
		t.Fatal(err)
	}
	if r := probeOK(t, l, "client", "server", "tcp", 7001); !r.Completed {
		t.Errorf("after associating the default ACL: %s", r.Detail)
	}
	// Bad changes change nothing and say why.
	for _, bad := range []string{"0 allow all 0.0.0.0/0", "100 permit all 0.0.0.0/0", "100 allow tcp:90-80 0.0.0.0/0", "100 allow tcp:80 nonsense"} {
		if err := l.SetACLEntry("b-acl", "ingress", bad, false); err == nil {
			t.Errorf("rule %q accepted", bad)
		}
	}
	if err := l.SetACLEntry("b-acl", "ingress", "100 allow all 0.0.0.0/0", false); err == nil {
		t.Error("a duplicate rule number was accepted by add")
	}
}

func TestRouteChangesLive(t *testing.T) {
	l := upLab(t, "rtlive", naclLab)
	if r := probeOK(t, l, "client", "server", "icmp", 0); !r.Completed {
		t.Fatalf("before: %s", r.Detail)
	}
	// A middlebox route: subnet b's CIDR to peer, whose source/dest check is on, so it drops
	// what is not addressed to it.
	if err := l.AddRoute("main", "10.0.2.0/24", "instance/peer"); err != nil {
		t.Fatal(err)
	}
	if r := probeOK(t, l, "client", "server", "icmp", 0); r.Completed {
		t.Error("a route via an appliance with its check on still delivered")
	}
	if err := l.DeleteRoute("main", "10.0.2.0/24"); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteRoute("main", "10.0.0.0/16"); err == nil {
		t.Error("the local route was deleted")
	}
	if r := probeOK(t, l, "client", "server", "icmp", 0); !r.Completed {
		t.Errorf("after deleting the route: %s", r.Detail)
	}
	if err := l.AddRoute("main", "198.51.100.0/24", "blackhole"); err != nil {
		t.Fatal(err)
	}
	if err := l.AddRoute("main", "198.51.100.0/24", "blackhole"); err == nil {
		t.Error("a duplicate route was added")
	}
}
