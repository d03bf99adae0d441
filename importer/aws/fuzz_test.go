package awsimport

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzImport feeds one describe file (beside a fixed VPC and subnet) to the reader and the
// converter: neither may panic, an error never comes with a scenario, and a scenario never holds
// a public address.
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
	})
}
