package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	tfimport "github.com/ec2sim/ec2sim/importer/terraform"
)

var importTerraformCmd = &command{
	name:    "import terraform",
	summary: "a Terraform plan (terraform show -json) as a scenario",
	usage: `Usage: ec2sim import terraform PLAN.json|- [-o lab.yaml] [--name NAME] [--partial] [--report-json FILE]

Reads the JSON of 'terraform show -json PLANFILE' and writes the ec2sim scenario it describes:
VPCs, subnets, route tables and routes, internet and NAT gateways, Elastic IPs, security groups
and their rules in every form, network ACLs, instances and network interfaces, VPC peering.
Values known only after apply (vpc_id, security group ids, gateway ids) are resolved through the
plan's configuration references, across modules and count/for_each. Elastic and public IPs come
from the documentation ranges, never from the plan.

A report on stdout (on stderr when the scenario goes to stdout) maps every resource address to
what it became, lists the public addresses given, counts the resource types that are not
modelled, and names every value that could not be resolved. When values cannot be resolved,
nothing is written unless --partial is given. --report-json writes the same report as JSON,
also when the import fails, for CI systems. The scenario is re-read by the scenario loader
before it is written, so a written file always loads.

Get the plan with:
  terraform plan -out=tfplan && terraform show -json tfplan > plan.json
or read it from stdin with '-' (the scenario is then named terraform-plan unless --name says):
  terraform show -json tfplan | ec2sim import terraform - -o lab.yaml

Exit status: 0 written, 1 invalid plan or unresolved values, 2 bad arguments.

Examples:
  ec2sim import terraform plan.json -o lab.yaml
  ec2sim import terraform importer/terraform/testdata/basic.json --name shop -o shop.yaml
  ec2sim import terraform plan.json --partial -o draft.yaml
  ec2sim import terraform plan.json -o lab.yaml --report-json import-report.json
`,
}

func init() {
	importers["terraform"] = importer{summary: importTerraformCmd.summary, example: "ec2sim import terraform plan.json -o lab.yaml", run: runImportTerraform}
}

func runImportTerraform(args []string) error {
	fs := newFlags(importTerraformCmd)
	out := fs.String("o", "", "write the scenario to this file (default: stdout)")
	name := fs.String("name", "", "the scenario's name (default: from the plan file's name)")
	partial := fs.Bool("partial", false, "write the scenario even when some values cannot be resolved (its description says it is partial)")
	reportJSON := fs.String("report-json", "", "also write the report as JSON to this file")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return &exitError{2, fmt.Errorf("want one plan file, got %d arguments", len(pos))}
	}
	file := pos[0]
	var data []byte
	if file == "-" {
		// terraform show -json tfplan | ec2sim import terraform - -o lab.yaml
		file = "stdin"
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return err
	}
	if *name == "" && pos[0] == "-" {
		*name = "terraform-plan"
	}
	res, err := tfimport.Import(file, data, tfimport.Options{Name: *name, Partial: *partial})
	var report io.Writer = os.Stdout
	if *out == "" {
		report = os.Stderr
	}
	if res != nil && res.Report != nil {
		res.Report.WriteText(report)
		if *reportJSON != "" {
			j, jerr := json.MarshalIndent(res.Report, "", "  ")
			if jerr == nil {
				jerr = writeFileAtomic(*reportJSON, append(j, '\n'))
			}
			if jerr != nil {
				return jerr
			}
		}
	}
	if err != nil {
		return err
	}
	if *out == "" {
		_, err := os.Stdout.Write(res.YAML)
		return err
	}
	if err := writeFileAtomic(*out, res.YAML); err != nil {
		return err
	}
	fmt.Fprintf(report, "wrote %s\n", *out)
	return nil
}

// writeFileAtomic writes through a temporary file and a rename, so that a failed write never
// leaves a partial scenario at path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
