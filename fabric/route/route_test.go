package route

import (
	"net/netip"
	"strings"
	"testing"
)

var (
	pfx  = netip.MustParsePrefix
	addr = netip.MustParseAddr
)

func tgt(t testing.TB, s string) Target {
	t.Helper()
	x, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// exampleVPC is the VPC of the user guide's examples: 10.0.0.0/16 and 2001:db8:1234:1a00::/56.
var exampleVPC = VPC{
	CIDRs:   []netip.Prefix{pfx("10.0.0.0/16"), pfx("2001:db8:1234:1a00::/56")},
	Subnets: []netip.Prefix{pfx("10.0.0.0/24"), pfx("10.0.1.0/24"), pfx("2001:db8:1234:1a00::/64")},
}

func TestCheckRules(t *testing.T) {
	cases := []struct {
		name  string
		route Route
		want  string // substring of AddRoute's error, "" for success
	}{
		{"igw default", Route{Dest: pfx("0.0.0.0/0"), Target: Target{Kind: IGW, ID: "igw-1"}}, ""},
		{"eigw v6 default", Route{Dest: pfx("::/0"), Target: Target{Kind: EgressOnlyIGW, ID: "eigw-1"}}, ""},
		{"peering", Route{Dest: pfx("172.31.0.0/16"), Target: Target{Kind: Peering, ID: "pcx-1"}}, ""},
		{"larger than the VPC", Route{Dest: pfx("10.0.0.0/8"), Target: Target{Kind: TGW, ID: "tgw-1"}}, ""},
		{"middlebox eni to a whole subnet", Route{Dest: pfx("10.0.1.0/24"), Target: Target{Kind: ENI, ID: "eni-1"}}, ""},
		{"middlebox nat to a whole subnet", Route{Dest: pfx("10.0.1.0/24"), Target: Target{Kind: NATGW, ID: "nat-1"}}, ""},
		{"middlebox gwlbe v6 subnet", Route{Dest: pfx("2001:db8:1234:1a00::/64"), Target: Target{Kind: GWLBEndpoint, ID: "vpce-1"}}, ""},
		{"covers the reserved range", Route{Dest: pfx("169.254.0.0/16"), Target: Target{Kind: IGW, ID: "igw-1"}}, ""},
		{"covers the reserved v6 range", Route{Dest: pfx("fd00::/8"), Target: Target{Kind: EgressOnlyIGW, ID: "eigw-1"}}, ""},
		{"blackhole target", Route{Dest: pfx("172.16.0.0/12"), Target: Target{Kind: Blackhole}}, ""},
		{"propagated", Route{Dest: pfx("192.168.0.0/16"), Target: Target{Kind: VGW, ID: "vgw-1"}, Origin: Propagated}, ""},
		{"more specific, not a subnet", Route{Dest: pfx("10.0.1.0/25"), Target: Target{Kind: ENI, ID: "eni-1"}},
			`route table "rtb-1": route 10.0.1.0/25 -> eni-1: 10.0.1.0/25 is more specific than the local route 10.0.0.0/16; AWS allows that only for a whole subnet's CIDR`},
		{"more specific, igw target", Route{Dest: pfx("10.0.1.0/24"), Target: Target{Kind: IGW, ID: "igw-1"}},
			"must target a NAT gateway, a network interface or a Gateway Load Balancer endpoint, not internet gateway igw-1"},
		{"more specific, instance target", Route{Dest: pfx("10.0.1.0/24"), Target: Target{Kind: Instance, ID: "i-1"}}, "not instance i-1"},
		{"more specific, propagated", Route{Dest: pfx("10.0.1.0/24"), Target: Target{Kind: VGW, ID: "vgw-1"}, Origin: Propagated}, "not virtual private gateway vgw-1"},
		{"more specific v6 host", Route{Dest: pfx("2001:db8:1234:1a00::5/128"), Target: Target{Kind: ENI, ID: "eni-1"}}, "more specific than the local route 2001:db8:1234:1a00::/56"},
		{"the VPC CIDR itself", Route{Dest: pfx("10.0.0.0/16"), Target: Target{Kind: ENI, ID: "eni-1"}}, "is the VPC CIDR of a local route, which cannot be replaced"},
		{"propagated onto local", Route{Dest: pfx("10.0.0.0/16"), Target: Target{Kind: VGW, ID: "vgw-1"}, Origin: Propagated}, "is the VPC CIDR of a local route"},
		{"local target", Route{Dest: pfx("172.16.0.0/12"), Target: Target{Kind: Local}}, "local routes come from the VPC's CIDRs and cannot be added"},
		{"local origin", Route{Dest: pfx("172.16.0.0/12"), Target: Target{Kind: IGW, ID: "igw-1"}, Origin: OriginLocal}, "cannot be added"},
		{"imds range", Route{Dest: pfx("169.254.169.254/32"), Target: Target{Kind: IGW, ID: "igw-1"}}, "lies in a range AWS reserves"},
		{"the reserved range itself", Route{Dest: pfx("169.254.168.0/22"), Target: Target{Kind: IGW, ID: "igw-1"}}, "lies in a range AWS reserves"},
		{"inside fd00:ec2::/32", Route{Dest: pfx("fd00:ec2::/48"), Target: Target{Kind: EgressOnlyIGW, ID: "eigw-1"}}, "lies in a range AWS reserves"},
		{"host bits", Route{Dest: pfx("172.16.0.7/12"), Target: Target{Kind: IGW, ID: "igw-1"}}, "destination 172.16.0.7/12 has host bits set: did you mean 172.16.0.0/12?"},
		{"no destination", Route{Target: Target{Kind: IGW, ID: "igw-1"}}, "no destination"},
		{"no kind", Route{Dest: pfx("172.16.0.0/12")}, "target kind kind(0)"},
		{"no id", Route{Dest: pfx("172.16.0.0/12"), Target: Target{Kind: NATGW}}, "the NAT gateway target has no ID"},
		{"eigw ipv4", Route{Dest: pfx("0.0.0.0/0"), Target: Target{Kind: EgressOnlyIGW, ID: "eigw-1"}}, "routes IPv6 only"},
		{"propagated from igw", Route{Dest: pfx("192.168.0.0/16"), Target: Target{Kind: IGW, ID: "igw-1"}, Origin: Propagated}, "propagated routes come from a virtual private gateway, not internet gateway igw-1"},
		{"bad origin", Route{Dest: pfx("192.168.0.0/16"), Target: Target{Kind: IGW, ID: "igw-1"}, Origin: 9}, "origin origin(9)"},
		{"bad state", Route{Dest: pfx("192.168.0.0/16"), Target: Target{Kind: IGW, ID: "igw-1"}, State: 7}, "state state(7)"},
	}
	for _, tc := range cases {
		tbl := NewTable("rtb-1", false, exampleVPC)
		before := len(tbl.Routes)
		err := tbl.AddRoute(tc.route, exampleVPC)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && err == nil:
			t.Errorf("%s: accepted, want %q", tc.name, tc.want)
		case tc.want != "" && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: error %q\n want it to contain %q", tc.name, err, tc.want)
		}
		if err != nil && len(tbl.Routes) != before {
			t.Errorf("%s: a refused route changed the table", tc.name)
		}
		if err == nil {
			if _, cerr := Compile(tbl, exampleVPC); cerr != nil {
				t.Errorf("%s: accepted but does not compile: %v", tc.name, cerr)
			}
		}
	}
}

func TestDuplicates(t *testing.T) {
	tbl := NewTable("rtb-1", true, exampleVPC)
	igw := Route{Dest: pfx("172.31.0.0/24"), Target: Target{Kind: IGW, ID: "igw-1"}}
	if err := tbl.AddRoute(igw, exampleVPC); err != nil {
		t.Fatal(err)
	}
	nat := Route{Dest: pfx("172.31.0.0/24"), Target: Target{Kind: NATGW, ID: "nat-1"}}
	if err := tbl.AddRoute(nat, exampleVPC); err == nil || !strings.Contains(err.Error(), "duplicate destination 172.31.0.0/24: a table has one static route per destination") {
		t.Errorf("second static route: %v", err)
	}
	vgw := Route{Dest: pfx("172.31.0.0/24"), Target: Target{Kind: VGW, ID: "vgw-1"}, Origin: Propagated}
	if err := tbl.AddRoute(vgw, exampleVPC); err != nil {
		t.Errorf("a propagated route beside a static one: %v", err)
	}
	if err := tbl.AddRoute(vgw, exampleVPC); err == nil || !strings.Contains(err.Error(), "one propagated route per destination") {
		t.Errorf("second propagated route: %v", err)
	}
}

func TestCheckLocalRoutes(t *testing.T) {
	tbl := Table{ID: "rtb-x", Routes: []Route{{Dest: pfx("0.0.0.0/0"), Target: Target{Kind: IGW, ID: "igw-1"}}}}
	err := Check(tbl, exampleVPC)
	if err == nil || !strings.Contains(err.Error(), "no local route for the VPC CIDR 10.0.0.0/16") || !strings.Contains(err.Error(), "2001:db8:1234:1a00::/56") {
		t.Errorf("missing local routes: %v", err)
	}
	tbl.Routes = append(tbl.Routes, LocalRoutes(exampleVPC)...)
	if err := Check(tbl, exampleVPC); err != nil {
		t.Error(err)
	}
	tbl.Routes = append(tbl.Routes, Route{Dest: pfx("192.168.0.0/16"), Target: Target{Kind: Local}, Origin: OriginLocal})
	if err := Check(tbl, exampleVPC); err == nil || !strings.Contains(err.Error(), "no VPC CIDR is 192.168.0.0/16") {
		t.Errorf("stray local route: %v", err)
	}
	tbl.Routes[len(tbl.Routes)-1] = Route{Dest: pfx("10.0.0.0/16"), Target: Target{Kind: ENI, ID: "eni-1"}, Origin: OriginLocal}
	if err := Check(tbl, exampleVPC); err == nil || !strings.Contains(err.Error(), "a local route's target is local") {
		t.Errorf("local route to an ENI: %v", err)
	}
	if err := Check(NewTable("rtb-y", false, VPC{CIDRs: []netip.Prefix{pfx("10.0.0.1/16")}}), VPC{CIDRs: []netip.Prefix{pfx("10.0.0.1/16")}}); err == nil || !strings.Contains(err.Error(), "VPC CIDR 10.0.0.1/16: want a canonical CIDR such as 10.0.0.0/16") {
		t.Errorf("non-canonical VPC CIDR: %v", err)
	}
}

func TestTableOps(t *testing.T) {
	tbl := NewTable("rtb-1", false, exampleVPC)
	r := Route{Dest: pfx("0.0.0.0/0"), Target: Target{Kind: NATGW, ID: "nat-1"}}
	if err := tbl.AddRoute(r, exampleVPC); err != nil {
		t.Fatal(err)
	}
	mb := Route{Dest: pfx("10.0.1.0/24"), Target: Target{Kind: ENI, ID: "eni-fw"}}
	if err := tbl.AddRoute(mb, exampleVPC); err != nil {
		t.Fatal(err)
	}
	// The NAT gateway is deleted: its route stays, as a blackhole.
	if n := tbl.TargetDeleted(NATGW, "nat-1"); n != 1 {
		t.Errorf("TargetDeleted changed %d routes, want 1", n)
	}
	if n := tbl.TargetDeleted(NATGW, "nat-1"); n != 0 {
		t.Errorf("second TargetDeleted changed %d routes", n)
	}
	c, err := Compile(tbl, exampleVPC)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := c.Lookup(addr("198.51.100.1"))
	if !ok || got.State != StateBlackhole || !got.Drops() || got.String() != "0.0.0.0/0 -> nat-1 (blackhole)" {
		t.Errorf("after deleting the NAT gateway: %v %v", got, ok)
	}
	// ReplaceRoute revives it with a new gateway.
	r.Target.ID = "nat-2"
	if err := tbl.ReplaceRoute(r, exampleVPC); err != nil {
		t.Fatal(err)
	}
	c, _ = Compile(tbl, exampleVPC)
	if got, _ := c.Lookup(addr("198.51.100.1")); got.Drops() || got.Target.ID != "nat-2" {
		t.Errorf("after ReplaceRoute: %v", got)
	}
	// The compiled table does not see later changes to the table.
	tbl.TargetDeleted(NATGW, "nat-2")
	if got, _ := c.Lookup(addr("198.51.100.1")); got.Drops() {
		t.Error("a Compiled table changed with its source")
	}
	if err := tbl.ReplaceRoute(Route{Dest: pfx("10.0.0.0/16"), Target: Target{Kind: ENI, ID: "eni-1"}}, exampleVPC); err == nil || !strings.Contains(err.Error(), "10.0.0.0/16 is a local route, which cannot be changed") {
		t.Errorf("replacing local: %v", err)
	}
	if err := tbl.ReplaceRoute(Route{Dest: pfx("10.0.1.0/24"), Target: Target{Kind: IGW, ID: "igw-1"}}, exampleVPC); err == nil || !strings.Contains(err.Error(), "must target a NAT gateway") {
		t.Errorf("replacing a middlebox target by an igw: %v", err)
	}
	if err := tbl.ReplaceRoute(Route{Dest: pfx("192.0.2.0/24"), Target: Target{Kind: IGW, ID: "igw-1"}}, exampleVPC); err == nil || !strings.Contains(err.Error(), "no static route to 192.0.2.0/24 (static routes: [0.0.0.0/0 10.0.1.0/24])") {
		t.Errorf("replacing a missing route: %v", err)
	}
	if err := tbl.DeleteRoute(pfx("10.0.0.0/16")); err == nil || !strings.Contains(err.Error(), "is a local route") {
		t.Errorf("deleting local: %v", err)
	}
	if err := tbl.DeleteRoute(pfx("10.0.1.0/24")); err != nil {
		t.Fatal(err)
	}
	if err := tbl.DeleteRoute(pfx("10.0.1.0/24")); err == nil {
		t.Error("deleted twice")
	}
	if len(tbl.Routes) != 3 {
		t.Errorf("routes left: %v", tbl.Routes)
	}
	// The VPC gains a CIDR: every table gets its local route.
	vpc2 := exampleVPC
	vpc2.CIDRs = append(vpc2.CIDRs[:len(vpc2.CIDRs):len(vpc2.CIDRs)], pfx("100.64.0.0/16"))
	if err := Check(tbl, vpc2); err == nil {
		t.Error("a table without the new CIDR's local route passed")
	}
	tbl.SyncLocal(vpc2)
	if err := Check(tbl, vpc2); err != nil {
		t.Error(err)
	}
	c, _ = Compile(tbl, vpc2)
	if got, _ := c.Lookup(addr("100.64.3.4")); got.Target.Kind != Local {
		t.Errorf("new CIDR routes to %v", got)
	}
}

func TestTargetDeletedAcrossTables(t *testing.T) {
	tables := []Table{NewTable("a", true, exampleVPC), NewTable("b", false, exampleVPC)}
	for i := range tables {
		if err := tables[i].AddRoute(Route{Dest: pfx("10.0.1.0/24"), Target: Target{Kind: ENI, ID: "eni-fw"}}, exampleVPC); err != nil {
			t.Fatal(err)
		}
	}
	if n := TargetDeleted(tables, ENI, "eni-fw"); n != 2 {
		t.Errorf("changed %d, want 2", n)
	}
	if n := TargetDeleted(tables, Local, ""); n != 0 {
		t.Errorf("local routes marked deleted: %d", n)
	}
}

func TestAssociations(t *testing.T) {
	a := NewAssociations("rtb-main")
	if tb, ex := a.TableFor("subnet-1"); tb != "rtb-main" || ex {
		t.Errorf("implicit: %s %v", tb, ex)
	}
	a.Associate("subnet-1", "rtb-public")
	a.Associate("subnet-2", "rtb-main") // explicitly with the main table
	if tb, ex := a.TableFor("subnet-1"); tb != "rtb-public" || !ex {
		t.Errorf("explicit: %s %v", tb, ex)
	}
	// Replacing the main table moves implicit subnets only (the user guide's example 2).
	a.ReplaceMain("rtb-new")
	for subnet, want := range map[string]string{"subnet-1": "rtb-public", "subnet-2": "rtb-main", "subnet-3": "rtb-new"} {
		if tb, _ := a.TableFor(subnet); tb != want {
			t.Errorf("after ReplaceMain, %s uses %s, want %s", subnet, tb, want)
		}
	}
	if !a.InUse("rtb-main") || !a.InUse("rtb-new") || !a.InUse("rtb-public") || a.InUse("rtb-other") {
		t.Error("InUse")
	}
	if err := a.Disassociate("subnet-1"); err != nil {
		t.Fatal(err)
	}
	if tb, ex := a.TableFor("subnet-1"); tb != "rtb-new" || ex {
		t.Errorf("after Disassociate: %s %v", tb, ex)
	}
	if err := a.Disassociate("subnet-3"); err == nil || !strings.Contains(err.Error(), `subnet "subnet-3" has no explicit route table association; it uses the main table "rtb-new"`) {
		t.Errorf("disassociating an implicit subnet: %v", err)
	}
	if got := a.Explicit(); len(got) != 1 || got[0] != "subnet-2" || a.Main() != "rtb-new" {
		t.Errorf("Explicit %v Main %s", got, a.Main())
	}
}

func TestParseTarget(t *testing.T) {
	cases := map[string]Target{
		"local":        {Kind: Local},
		"blackhole":    {Kind: Blackhole},
		"igw":          {Kind: IGW},
		"igw-0abc123":  {Kind: IGW, ID: "igw-0abc123"},
		"eigw-aabb":    {Kind: EgressOnlyIGW, ID: "eigw-aabb"},
		"nat-1":        {Kind: NATGW, ID: "nat-1"},
		"eni-0f":       {Kind: ENI, ID: "eni-0f"},
		"i-1234":       {Kind: Instance, ID: "i-1234"},
		"vgw-9":        {Kind: VGW, ID: "vgw-9"},
		"pcx-11223344": {Kind: Peering, ID: "pcx-11223344"},
		"tgw-1":        {Kind: TGW, ID: "tgw-1"},
		"vpce-1":       {Kind: GWLBEndpoint, ID: "vpce-1"},
		"instance/fw":  {Kind: Instance, ID: "fw"},
		"eni/fw.eth1":  {Kind: ENI, ID: "fw.eth1"},
		"peering/east": {Kind: Peering, ID: "east"},
	}
	for in, want := range cases {
		got, err := ParseTarget(in)
		if err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), in)
		}
	}
	for _, bad := range []string{"", "igw-", "gateway", "nat-a b", "i-", "local/x", "blackhole/x", "instance/", "eni/a/b", "nat/x y", "IGW-1"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		}
	}
	if s := (Target{Kind: ENI, ID: "i-123"}).String(); s != "eni/i-123" {
		t.Errorf("an ENI named like an instance: %q", s)
	}
}
