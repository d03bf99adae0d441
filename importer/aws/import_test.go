package awsimport

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/scenarios"
)

// The snapshots are real describe-* output (testdata/aws-describe/NOTICE.md).
const snapshots = "testdata/aws-describe"

func importDir(t *testing.T, dir string) (*scenarios.Scenario, *Report) {
	t.Helper()
	snap, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sc, rep, err := Import(snap, Options{Name: ScenarioName(filepath.Base(dir))})
	if err != nil {
		t.Fatalf("%s: %v\n%s", dir, err, rep.Text())
	}
	return sc, rep
}

// publicLeft lists every address or prefix of sc that is public (not mapped): there must be none.
func publicLeft(sc *scenarios.Scenario) []string {
	var out []string
	check := func(what string, p netip.Prefix) {
		if p.IsValid() && isPublic(p) {
			out = append(out, what+" "+p.String())
		}
	}
	addr := func(what string, a netip.Addr) {
		if a.IsValid() {
			check(what, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	for _, v := range sc.VPCs {
		for _, g := range v.SecurityGroups {
			for _, r := range slices.Concat(g.Ingress, g.Egress) {
				check("rule of "+g.Name, r.CIDR)
			}
		}
		for _, a := range v.NetworkACLs {
			for _, e := range slices.Concat(a.Ingress, a.Egress) {
				check("ACL entry of "+a.Name, e.CIDR)
			}
		}
		for _, t := range v.RouteTables {
			for _, r := range t.Routes {
				check("route of "+t.Name, r.Destination)
			}
		}
		for _, n := range v.NATGateways {
			addr("NAT gateway "+n.Name, n.ElasticIP)
		}
	}
	for _, pl := range sc.PrefixLists {
		for _, e := range pl.Entries {
			check("prefix list "+pl.Name, e)
		}
	}
	for _, in := range sc.Instances {
		for _, e := range in.ENIs {
			addr("instance "+in.Name, e.ElasticIP)
			addr("instance "+in.Name, e.IP)
		}
	}
	for _, o := range sc.OnPrem {
		check("on-prem "+o.Name, o.CIDR)
	}
	return out
}

func count(sc *scenarios.Scenario) map[string]int {
	n := map[string]int{"vpcs": len(sc.VPCs), "instances": len(sc.Instances), "peerings": len(sc.Peerings), "prefix lists": len(sc.PrefixLists), "on-prem": len(sc.OnPrem)}
	for _, v := range sc.VPCs {
		n["subnets"] += len(v.Subnets)
		n["groups"] += len(v.SecurityGroups)
		n["tables"] += len(v.RouteTables)
		n["acls"] += len(v.NetworkACLs)
		n["nats"] += len(v.NATGateways)
		if v.InternetGateway {
			n["igws"]++
		}
	}
	return n
}

func route(v *scenarios.VPC, dest string) *scenarios.Route {
	for _, t := range v.RouteTables {
		for _, r := range t.Routes {
			if r.Destination.String() == dest {
				return r
			}
		}
	}
	return nil
}

func TestSnapshots(t *testing.T) {
	for _, c := range []struct {
		dir   string
		count map[string]int
		check func(t *testing.T, sc *scenarios.Scenario, rep *Report)
	}{
		{"nat-gateway", map[string]int{"vpcs": 1, "subnets": 3, "instances": 3, "groups": 3, "tables": 3, "acls": 2, "nats": 1, "igws": 1}, func(t *testing.T, sc *scenarios.Scenario, rep *Report) {
			v := sc.VPCs[0]
			if v.Name != "vpc-a" || v.CIDR.String() != "10.1.0.0/16" {
				t.Errorf("vpc = %s %s, want vpc-a 10.1.0.0/16 (its Name tag)", v.Name, v.CIDR)
			}
			if r := route(v, "0.0.0.0/0"); r == nil {
				t.Error("no default route")
			}
			nat := v.NATGateways[0]
			if !scenarios.InDocumentationRange(nat.ElasticIP) || nat.Private {
				t.Errorf("NAT gateway %+v: want a public one with a documentation-range Elastic IP", nat)
			}
			jump := sc.Instance("jump-host")
			if jump == nil || !scenarios.InDocumentationRange(jump.ENIs[0].ElasticIP) {
				t.Fatalf("jump-host: want its public IP mapped, got %+v", jump)
			}
			if !slices.ContainsFunc(rep.Addresses, func(m Mapping) bool {
				return m.Original.String() == "18.216.129.140/32" && m.Mapped.Addr() == jump.ENIs[0].ElasticIP
			}) {
				t.Errorf("the report does not show 18.216.129.140 -> %s: %v", jump.ENIs[0].ElasticIP, rep.Addresses)
			}
			if sn := v.Subnet("public-subnet"); sn == nil || !sn.MapPublicIP {
				t.Errorf("public-subnet: want map_public_ip_on_launch, got %+v", sn)
			}
		}},
		{"public-private-subnet", map[string]int{"vpcs": 1, "subnets": 2, "instances": 2, "groups": 3, "tables": 2, "acls": 1, "igws": 1, "on-prem": 1}, func(t *testing.T, sc *scenarios.Scenario, rep *Report) {
			v := sc.VPCs[0]
			if v.VPNGateway == "" || sc.OnPrem[0].CIDR.String() != "100.64.0.0/16" {
				t.Errorf("VPN: vpc %q, on-prem %v; want the public 19.168.0.0/16 mapped to 100.64.0.0/16", v.VPNGateway, sc.OnPrem[0].CIDR)
			}
			if r := route(v, "0.0.0.0/0"); r == nil {
				t.Error("no default route")
			}
			if rep.Unmodelled["CustomerGateways (whole object type)"] != 1 {
				t.Errorf("customer gateways not reported: %v", rep.Unmodelled)
			}
		}},
		{"public-subnet", map[string]int{"vpcs": 1, "subnets": 1, "instances": 1, "groups": 2, "tables": 2, "acls": 1, "igws": 1}, nil},
		{"pybatfish-hybrid-cloud", map[string]int{"vpcs": 4, "subnets": 8, "instances": 4, "groups": 8, "tables": 4, "acls": 4, "igws": 2, "prefix lists": 4}, func(t *testing.T, sc *scenarios.Scenario, rep *Report) {
			if n := rep.Unmodelled["RouteTables: routes to transit gateways"]; n != 8 {
				t.Errorf("transit gateway routes reported %d times, want 8", n)
			}
			if n := rep.Unmodelled["TransitGateways (whole object type)"]; n != 2 {
				t.Errorf("transit gateways reported %d, want 2", n)
			}
			regions := map[string]bool{}
			for _, n := range rep.Names {
				regions[n.Region] = true
			}
			if !regions["us-east-2"] || !regions["us-west-2"] {
				t.Errorf("the names do not say their region: %v", regions)
			}
			s3 := sc.PrefixList("com-amazonaws-us-east-2-s3")
			if s3 == nil || len(s3.Entries) != 4 {
				t.Fatalf("prefix list com.amazonaws.us-east-2.s3: %+v", s3)
			}
		}},
		{"subnet", map[string]int{"vpcs": 1, "subnets": 1, "instances": 2, "groups": 3, "tables": 1, "acls": 1}, nil},
		{"vpc-peering", map[string]int{"vpcs": 3, "subnets": 3, "instances": 3, "groups": 6, "tables": 3, "acls": 3, "peerings": 2}, func(t *testing.T, sc *scenarios.Scenario, rep *Report) {
			b := sc.VPC("vpc-b")
			if r := route(b, "0.0.0.0/0"); r == nil || r.Target.Kind != "blackhole" {
				t.Errorf("vpc-b 0.0.0.0/0: want a blackhole route, got %+v", r)
			}
			if r := route(b, "10.10.0.0/16"); r == nil || r.Target.String() != "peering/a-b" {
				t.Errorf("vpc-b 10.10.0.0/16: want peering/a-b, got %+v", r)
			}
			if !slices.ContainsFunc(rep.Skipped, func(s Skip) bool { return strings.Contains(s.Object, "192.169.0.0/16") }) {
				t.Errorf("the disassociated CIDR is not reported: %v", rep.Skipped)
			}
		}},
	} {
		t.Run(c.dir, func(t *testing.T) {
			sc, rep := importDir(t, filepath.Join(snapshots, c.dir))
			got := count(sc)
			for k, want := range c.count {
				if got[k] != want {
					t.Errorf("%s: %d, want %d", k, got[k], want)
				}
			}
			for _, k := range []string{"peerings", "prefix lists", "on-prem", "nats", "igws"} {
				if _, ok := c.count[k]; !ok && got[k] != 0 {
					t.Errorf("%s: %d, want 0", k, got[k])
				}
			}
			if left := publicLeft(sc); len(left) > 0 {
				t.Errorf("public addresses left unmapped: %v", left)
			}
			if c.check != nil {
				c.check(t, sc, rep)
			}
			// What the command writes — the report as a comment, then the scenario — loads.
			body, err := scenarios.Format(sc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := scenarios.Parse("out.yaml", append([]byte(rep.Comment()), body...)); err != nil {
				t.Errorf("the written file does not load: %v", err)
			}
		})
	}
}

// Every instance's ENIs keep their private IPs, groups and source/dest check.
func TestENIFields(t *testing.T) {
	sc, _ := importDir(t, filepath.Join(snapshots, "nat-gateway"))
	in := sc.Instance("test1")
	if in == nil {
		t.Fatal("no instance test1")
	}
	e := in.ENIs[0]
	if !e.IP.IsValid() || !e.SourceDestCheck || len(e.SecurityGroups) == 0 || e.ElasticIP.IsValid() {
		t.Errorf("test1 eth0 = %+v: want a fixed private IP, source/dest check on, its groups and no public IP", e)
	}
}

// The round trip: import, export as describe output, import again: the same scenario.
func TestRoundTrip(t *testing.T) {
	dirs, _ := os.ReadDir(snapshots)
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "filters" {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			sc1, _ := importDir(t, filepath.Join(snapshots, d.Name()))
			files, warn, err := Export(sc1)
			if err != nil {
				t.Fatal(err)
			}
			if len(warn) > 0 {
				t.Errorf("export warnings for an imported scenario: %v", warn)
			}
			out := filepath.Join(t.TempDir(), d.Name())
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(out, f.Name), f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sc2, _ := importDir(t, out)
			a, _ := scenarios.Format(sc1)
			b, _ := scenarios.Format(sc2)
			if !bytes.Equal(a, b) {
				t.Errorf("round trip changed the scenario:\n--- imported\n%s\n--- exported and imported again\n%s", a, b)
			}
		})
	}
}

// A scenario with every modelled field survives export and import unchanged.
func TestRoundTripEveryField(t *testing.T) {
	file := "testdata/scenarios/every-field.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Parse(file, data)
	if err != nil {
		t.Fatal(err)
	}
	back, rep, warn := roundTrip(t, sc)
	if len(warn) > 0 {
		t.Errorf("export warnings: %v", warn)
	}
	if len(rep.Unmodelled) > 0 || len(rep.Skipped) > 0 || len(rep.Addresses) > 0 {
		t.Errorf("an export of a scenario should import without losses or mapping: %s", rep.Text())
	}
	a, _ := scenarios.Format(sc)
	b, _ := scenarios.Format(back)
	if !bytes.Equal(a, b) {
		t.Errorf("round trip changed the scenario:\n--- file\n%s\n--- exported and imported\n%s", a, b)
	}
}
