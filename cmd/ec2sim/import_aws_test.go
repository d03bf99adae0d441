package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/scenarios"
)

const awsSnapshots = "../../importer/aws/testdata/aws-describe"

func TestImportAWSWritesALoadableScenario(t *testing.T) {
	out := filepath.Join(t.TempDir(), "lab.yaml")
	_, stderr, code := ec2sim(t, "import", "aws", filepath.Join(awsSnapshots, "nat-gateway"), "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Public addresses mapped", "18.216.129.140/32", "Not modelled", "Instances.ImageId"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "# Imported by 'ec2sim import aws'") || !strings.Contains(string(data), "#   Public addresses mapped") {
		t.Errorf("the file has no report header:\n%.400s", data)
	}
	sc, err := scenarios.Parse(out, data)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "nat-gateway" || len(sc.Instances) != 3 {
		t.Errorf("scenario %s with %d instances, want nat-gateway with 3", sc.Name, len(sc.Instances))
	}
}

// An error in the data writes nothing and exits 1; --partial writes a scenario that says so.
func TestImportAWSErrorWritesNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vpcs.json"), []byte(`{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "subnets.json"), []byte(`{"Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-9", "CidrBlock": "10.0.1.0/24"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "lab.yaml")
	_, stderr, code := ec2sim(t, "import", "aws", dir, "-o", out)
	if code != 1 || !strings.Contains(stderr, "subnets.json:1: subnet subnet-1: VpcId vpc-9 is not in the data") {
		t.Errorf("exit %d, stderr %s; want 1 and the subnet's error", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed import wrote %s", out)
	}
	_, stderr, code = ec2sim(t, "import", "aws", dir, "-o", out, "--partial")
	data, err := os.ReadFile(out)
	if code != 0 || err != nil || !strings.Contains(string(data), "PARTIAL IMPORT") {
		t.Errorf("--partial: exit %d, %v, stderr %s", code, err, stderr)
	}

	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{\n \"Vpcs\": [,]\n}"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = ec2sim(t, "import", "aws", dir, "-o", out, "--partial")
	if code != 1 || !strings.Contains(stderr, "broken.json:2:11: malformed JSON") {
		t.Errorf("malformed JSON: exit %d, stderr %s; want 1 and broken.json:2:11", code, stderr)
	}
}

func TestExportAWSAndBack(t *testing.T) {
	tmp := t.TempDir()
	lab1 := filepath.Join(tmp, "one.yaml")
	if _, stderr, code := ec2sim(t, "import", "aws", filepath.Join(awsSnapshots, "vpc-peering"), "-o", lab1); code != 0 {
		t.Fatal(stderr)
	}
	dir := filepath.Join(tmp, "describe")
	if _, stderr, code := ec2sim(t, "export", "aws", lab1, "-o", dir); code != 0 {
		t.Fatal(stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "SecurityGroups.json")); err != nil {
		t.Fatal(err)
	}
	lab2 := filepath.Join(tmp, "two.yaml")
	if _, stderr, code := ec2sim(t, "import", "aws", dir, "-o", lab2, "--name", "vpc-peering"); code != 0 {
		t.Fatal(stderr)
	}
	body := func(p string) string {
		data, _ := os.ReadFile(p)
		var lines []string
		for _, l := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n")
	}
	if a, b := body(lab1), body(lab2); a != b {
		t.Errorf("import -> export -> import changed the scenario:\n%s\n---\n%s", a, b)
	}
	if _, _, code := ec2sim(t, "export", "gcp", lab1, "-o", dir); code != 2 {
		t.Errorf("export to an unknown target: exit %d, want 2", code)
	}
}
