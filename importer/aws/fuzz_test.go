package awsimport

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/scenarios"
)

// FuzzImport feeds one describe file (beside a fixed VPC and subnet) to the reader and the
// converter: neither may panic, an error never comes with a scenario, a scenario never holds a
// public address, and its export imports back into the same scenario.
func FuzzImport(f *testing.F) {
	_ = filepath.WalkDir(snapshots, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".json") {
			if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
				f.Add(data)
			}
		}
		return nil
	})
	f.Add([]byte(`{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "54.0.0.0/16"}]}`))
	f.Add([]byte(`{"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "x", "VpcId": "vpc-6f6f8316", "IpPermissions": [{"IpProtocol": "6", "FromPort": -1, "ToPort": 5, "IpRanges": [{"CidrIp": "8.8.8.8/32"}]}]}]}`))
	f.Add([]byte(`{"Vpcs": [}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		snap := &Snapshot{}
		if err := snap.Add("context.json", []byte(filterContext)); err != nil {
			t.Fatal(err)
		}
		if err := snap.Add("f.json", data); err != nil {
			return
		}
		sc, rep, err := Import(snap, Options{Name: "fuzz"})
		if rep == nil {
			t.Fatal("no report")
		}
		_ = rep.Text()
		if err != nil {
			if sc != nil {
				t.Fatal("an error and a scenario")
			}
			return
		}
		if left := publicLeft(sc); len(left) > 0 {
			t.Fatalf("public addresses left: %v", left)
		}
		// The round trip holds for whatever imports: the first export makes a VPC's implicit
		// default group, main table and default ACL explicit (as AWS describes them); from then
		// on export and import change nothing.
		once, _, _ := roundTrip(t, sc)
		twice, _, _ := roundTrip(t, once)
		a, _ := scenarios.Format(once)
		b, _ := scenarios.Format(twice)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip changed the scenario:\n%s\n---\n%s", a, b)
		}
	})
}

// roundTrip exports sc as describe output and imports it again.
func roundTrip(t *testing.T, sc *scenarios.Scenario) (*scenarios.Scenario, *Report, []string) {
	t.Helper()
	files, warn, err := Export(sc)
	if err != nil {
		t.Fatal(err)
	}
	snap := &Snapshot{}
	for _, f := range files {
		if err := snap.Add(f.Name, f.Data); err != nil {
			t.Fatal(err)
		}
	}
	back, rep, err := Import(snap, Options{Name: sc.Name})
	if err != nil {
		t.Fatalf("the export does not import: %v\n%s", err, rep.Text())
	}
	return back, rep, warn
}
