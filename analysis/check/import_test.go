package check

import (
	"os"
	"path/filepath"
	"testing"

	awsimport "github.com/ec2sim/ec2sim/importer/aws"
	tfimport "github.com/ec2sim/ec2sim/importer/terraform"
)

// Every AWS snapshot the importer has (real describe-* output) checks without error, its
// findings are of kinds in the catalog and placed in the imported file, and each has the
// finding its data holds for sure: every snapshot has a group (the console's launch-wizard
// ones, or Terraform's) that admits SSH from anywhere.
func TestImportedSnapshots(t *testing.T) {
	dirs, _ := filepath.Glob("../../importer/aws/testdata/aws-describe/*")
	n := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || filepath.Base(dir) == "filters" {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			snap, err := awsimport.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			sc, _, err := awsimport.Import(snap, awsimport.Options{Name: filepath.Base(dir)})
			if err != nil {
				t.Fatal(err)
			}
			fs, err := Run(sc)
			if err != nil {
				t.Fatal(err)
			}
			ssh := 0
			for _, f := range fs {
				if kind(f.ID).Title == "" || f.Pos.File != sc.File || f.Pos.Line == 0 {
					t.Errorf("finding %s %s at %q", f.ID, f.Object, f.Pos)
				}
				if f.ID == "EC2SIM-SG-001" {
					ssh++
				}
			}
			if ssh == 0 {
				t.Errorf("no EC2SIM-SG-001 in %s, which has a group admitting SSH from 0.0.0.0/0: %v", dir, labels(fs))
			}
			t.Logf("%s: %v", filepath.Base(dir), labels(fs))
		})
	}
	if n < 5 {
		t.Errorf("%d snapshots found", n)
	}
}

// Every Terraform plan fixture of the importer checks without error, with well-formed findings
// placed in the imported scenario.
func TestImportedPlans(t *testing.T) {
	plans, _ := filepath.Glob("../../importer/terraform/testdata/*.json")
	if len(plans) < 3 {
		t.Fatalf("%d plans found", len(plans))
	}
	for _, plan := range plans {
		t.Run(filepath.Base(plan), func(t *testing.T) {
			data, err := os.ReadFile(plan)
			if err != nil {
				t.Fatal(err)
			}
			res, err := tfimport.Import(plan, data, tfimport.Options{Partial: true})
			if err != nil {
				t.Fatal(err)
			}
			fs, err := Run(res.Scenario)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if kind(f.ID).Title == "" || f.Pos.File != res.Scenario.File || f.Pos.Line == 0 {
					t.Errorf("finding %s %s at %q", f.ID, f.Object, f.Pos)
				}
			}
			t.Logf("%s: %v", filepath.Base(plan), labels(fs))
		})
	}
}
