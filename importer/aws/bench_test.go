package awsimport

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ec2sim/ec2sim/scenarios"
)

// bigSnapshot is the describe output of a scenario with 200 instances, 100 groups (each with a
// rule from a public /32 and one naming another group) and 10 subnets.
func bigSnapshot(b *testing.B) *Snapshot {
	b.Helper()
	sc := &scenarios.Scenario{Name: "big"}
	v := &scenarios.VPC{Name: "main", CIDR: netip.MustParsePrefix("10.0.0.0/16")}
	for i := range 10 {
		v.Subnets = append(v.Subnets, &scenarios.Subnet{Name: fmt.Sprintf("s%d", i), VPC: "main", CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(i), 0}), 24)})
	}
	for i := range 100 {
		v.SecurityGroups = append(v.SecurityGroups, &scenarios.SecurityGroup{Name: fmt.Sprintf("g%d", i), VPC: "main",
			Ingress: []*scenarios.Rule{
				{Proto: scenarios.ProtoTCP, FromPort: 443, ToPort: 443, CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{54, 1, byte(i), 7}), 32)},
				{Proto: scenarios.ProtoTCP, FromPort: 5432, ToPort: 5432, Group: fmt.Sprintf("g%d", (i+1)%100)},
			},
			Egress: []*scenarios.Rule{{Proto: scenarios.ProtoAll, FromPort: -1, ToPort: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}}})
	}
	sc.VPCs = []*scenarios.VPC{v}
	for i := range 200 {
		sc.Instances = append(sc.Instances, &scenarios.Instance{Name: fmt.Sprintf("i%d", i), ENIs: []*scenarios.ENI{{
			Subnet: fmt.Sprintf("main/s%d", i%10), IP: netip.AddrFrom4([4]byte{10, 0, byte(i % 10), byte(10 + i/10)}),
			SourceDestCheck: true, SecurityGroups: []string{fmt.Sprintf("g%d", i%100)}}}})
	}
	files, _, err := Export(sc)
	if err != nil {
		b.Fatal(err)
	}
	snap := &Snapshot{}
	for _, f := range files {
		if err := snap.Add(f.Name, f.Data); err != nil {
			b.Fatal(err)
		}
	}
	return snap
}

// BenchmarkImport measures Import (both conversion runs, Format and Parse) of describe output
// already read.
func BenchmarkImport(b *testing.B) {
	hybrid, err := Load(filepath.Join(snapshots, "pybatfish-hybrid-cloud"))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		snap *Snapshot
	}{{"hybrid-cloud", hybrid}, {"200-instances-100-groups", bigSnapshot(b)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, rep, err := Import(c.snap, Options{Name: "bench"}); err != nil {
					b.Fatalf("%v\n%s", err, rep.Text())
				}
			}
		})
	}
}
