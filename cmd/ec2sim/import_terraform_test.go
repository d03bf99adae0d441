package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/scenarios"
)

// ec2sim import terraform writes a scenario that loads, prints its report, and writes nothing
// for a plan it cannot import completely.
func TestImportTerraformCLI(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "shop.yaml")
	stdout, stderr, code := ec2sim(t, "import", "terraform", "../../importer/terraform/testdata/basic.json", "-o", out, "--name", "shop")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"aws_security_group.db", "-> security group main/db", "198.51.100.10", "aws_s3_bucket", "wrote " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	sc, err := scenarios.Load(out)
	if err != nil || sc.Name != "shop" {
		t.Fatalf("written file: %v, %+v", err, sc)
	}

	// to stdout: the YAML on stdout, the report on stderr
	stdout, stderr, code = ec2sim(t, "import", "terraform", "../../importer/terraform/testdata/modules.json")
	if code != 0 || !strings.HasPrefix(stdout, "name: modules") || !strings.Contains(stderr, "module.net.aws_vpc.this") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// a plan with a reference to something not in it: exit 1, nothing written
	bad := filepath.Join(dir, "bad.json")
	data, _ := os.ReadFile("../../importer/terraform/testdata/basic.json")
	os.WriteFile(bad, []byte(strings.Replace(string(data), `"aws_vpc.main.id"`, `"data.aws_vpc.shared.id"`, 1)), 0o644)
	none := filepath.Join(dir, "none.yaml")
	rep := filepath.Join(dir, "report.json")
	_, stderr, code = ec2sim(t, "import", "terraform", bad, "-o", none, "--report-json", rep)
	if code != 1 || !strings.Contains(stderr, "data.aws_vpc.shared.id, a data source") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	var report struct {
		Unresolved []struct{ Address, Attribute string } `json:"unresolved"`
	}
	if j, err := os.ReadFile(rep); err != nil || json.Unmarshal(j, &report) != nil || len(report.Unresolved) == 0 || report.Unresolved[0].Attribute != "vpc_id" {
		t.Errorf("JSON report of the failed import: %v, %+v", err, report)
	}
	if _, err := os.Stat(none); !os.IsNotExist(err) {
		t.Errorf("a file was written for a plan that cannot be imported: %v", err)
	}

	// from stdin
	cmd := exec.Command(binPath, "import", "terraform", "-")
	in, _ := os.Open("../../importer/terraform/testdata/twotier.json")
	defer in.Close()
	cmd.Stdin = in
	if y, err := cmd.Output(); err != nil || !strings.HasPrefix(string(y), "name: terraform-plan\n") {
		t.Errorf("stdin: %v, %.40q", err, y)
	}

	// bad arguments: exit 2
	if _, _, code := ec2sim(t, "import", "terraform"); code != 2 {
		t.Errorf("no plan file: exit %d, want 2", code)
	}
	if stdout, _, code := ec2sim(t, "import", "--help"); code != 0 || !strings.Contains(stdout, "terraform") {
		t.Errorf("import --help: exit %d, %q", code, stdout)
	}
}
