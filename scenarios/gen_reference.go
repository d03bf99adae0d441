//go:build ignore

// gen_reference writes docs/scenario-reference.md from the JSON schema; `go generate
// ./scenarios` runs it (in the scenarios directory).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ec2sim/ec2sim/scenarios"
)

func main() {
	b, err := scenarios.Reference()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen_reference:", err)
		os.Exit(1)
	}
	path := filepath.Join("..", scenarios.ReferencePath)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen_reference:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", path)
}
