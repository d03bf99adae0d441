package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	awsimport "github.com/ec2sim/ec2sim/importer/aws"
	"github.com/ec2sim/ec2sim/scenarios"
)

// `ec2sim import aws` and its inverse, `ec2sim export aws` (docs/import-aws.md).

const importAWSUsage = `Usage: ec2sim import aws DIR [-o FILE] [--name NAME] [--partial]

Reads the raw JSON output of 'aws ec2 describe-*' calls, one call per file, and writes a
scenario that reproduces VPCs, subnets, route tables, internet/NAT/VPN gateways, peering, prefix
lists, security groups, network ACLs, instances and their ENIs. Files are dispatched on their
top-level key (Vpcs, Subnets, SecurityGroups, Reservations, ...), not on their names. DIR may be
flat, hold one folder per region (DIR/us-east-1/*.json), or accounts/ID/REGION/*.json; all of it
becomes one scenario.

Every public address is mapped into the documentation ranges (192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24), so that no packet of the lab carries a real one. The report — what was imported,
skipped and not modelled (by name and count), the address mapping and the AWS id behind every
name — goes to stderr and into the scenario as a comment header.

On an error in the data (malformed JSON, a reference to an object that is not in it, overlapping
CIDRs) nothing is written and the exit status is 1, unless --partial is given: then errors become
skips, the report starts with PARTIAL IMPORT, and the scenario is written.

Examples:
  aws ec2 describe-vpcs > aws/vpcs.json; aws ec2 describe-subnets > aws/subnets.json; ...
  ec2sim import aws aws/ -o lab.yaml
  ec2sim import aws snapshot/ -o lab.yaml --name prod --partial
`

const exportAWSUsage = `Usage: ec2sim export aws FILE -o DIR

Writes a scenario as the output of 'aws ec2 describe-*' calls, one file per call (Vpcs.json,
Subnets.json, RouteTables.json, InternetGateways.json, NatGateways.json, VpnGateways.json,
VpnConnections.json, VpcPeeringConnections.json, PrefixLists.json, SecurityGroups.json,
NetworkAcls.json, Reservations.json), with made-up but stable ids and each object's name as its
Name tag. 'ec2sim import aws DIR' reads it back into the same scenario.

Examples:
  ec2sim export aws lab.yaml -o describe/
  ec2sim import aws describe/ -o again.yaml
`

var exportCmd = &command{
	name:    "export",
	summary: "write a scenario as AWS describe-* output (export aws FILE -o DIR)",
	usage:   exportAWSUsage,
}

func init() {
	importers["aws"] = importer{summary: "the JSON output of aws ec2 describe-* calls (a folder)",
		example: "ec2sim import aws describe/ -o lab.yaml", run: runImportAWS}
	exportCmd.run = runExport
	extraCommands = append(extraCommands, exportCmd)
}

func runImportAWS(args []string) error {
	c := &command{name: "import aws", usage: importAWSUsage}
	fs := newFlags(c)
	out := fs.String("o", "", "the scenario file to write (default: standard output)")
	name := fs.String("name", "", "the scenario's name (default: the folder's name)")
	partial := fs.Bool("partial", false, "write the scenario even when the data has errors, skipping what is wrong")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return &exitError{2, errors.New("import aws: want one folder of describe-* output")}
	}
	dir := pos[0]
	n := *name
	if n == "" {
		abs, _ := filepath.Abs(dir)
		n = awsimport.ScenarioName(filepath.Base(abs))
	}
	snap, err := awsimport.Load(dir)
	if err != nil {
		return err
	}
	sc, rep, err := awsimport.Import(snap, awsimport.Options{Name: n, Partial: *partial})
	fmt.Fprint(os.Stderr, rep.Text())
	if err != nil {
		return fmt.Errorf("nothing written: %w", err)
	}
	body, err := scenarios.Format(sc)
	if err != nil {
		return err
	}
	data := append([]byte(rep.Comment()), body...)
	if *out == "" {
		_, err = os.Stdout.Write(data)
		return err
	}
	return writeAtomic(*out, data)
}

// writeAtomic writes a file through a temporary one, so that a failed write leaves no partial
// scenario behind.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ec2sim-import-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func runExport(args []string) error {
	if len(args) == 0 || args[0] != "aws" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Print(exportAWSUsage)
			return nil
		}
		return &exitError{2, errors.New("export: want 'export aws FILE -o DIR'; aws is the only target")}
	}
	fs := newFlags(exportCmd)
	out := fs.String("o", "", "the folder to write the describe-* files into (created if missing)")
	pos, _, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 || *out == "" {
		fs.Usage()
		return &exitError{2, errors.New("export aws: want one scenario file and -o DIR")}
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	sc, err := scenarios.Parse(pos[0], data)
	if err != nil {
		return err
	}
	files, warnings, err := awsimport.Export(sc)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(os.Stderr, "warning: %s\n", w)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(*out, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "wrote %d files to %s\n", len(files), *out)
	return nil
}
