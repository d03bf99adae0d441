package main

import (
	"fmt"
	"sort"
	"strings"
)

// importer is one source that `ec2sim import SOURCE ...` reads; each source's file registers
// itself in importers from init, so sources are added without touching this dispatcher.
type importer struct {
	summary string
	example string // one command line for 'ec2sim import --help'
	run     func(args []string) error
}

// importers maps a source name (aws, terraform) to its importer.
var importers = map[string]importer{}

var importCmd = &command{
	name:    "import",
	summary: "write a scenario from AWS describe-* output or a Terraform plan",
	usage: `Usage: ec2sim import SOURCE [ARGS]

Reads an existing AWS configuration and writes an ec2sim scenario that reproduces it. Run
'ec2sim import SOURCE --help' for the flags of one source.

Sources:
`,
}

func init() {
	importCmd.run = runImport
	extraCommands = append(extraCommands, importCmd)
}

func importSources() []string {
	var names []string
	for n := range importers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func runImport(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Print(importCmd.usage)
		for _, n := range importSources() {
			fmt.Printf("  %-10s %s\n", n, importers[n].summary)
		}
		fmt.Print("\nExamples:\n")
		for _, n := range importSources() {
			if e := importers[n].example; e != "" {
				fmt.Printf("  %s\n", e)
			}
		}
		if len(args) == 0 {
			return &exitError{2, nil}
		}
		return nil
	}
	imp, ok := importers[args[0]]
	if !ok {
		return &exitError{2, fmt.Errorf("import: unknown source %q; valid sources are %s", args[0], strings.Join(importSources(), ", "))}
	}
	return imp.run(args[1:])
}
