package check

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// WriteText prints the findings grouped by severity, most severe first, each with its place in
// the file and its fix. file names the scenario in the header.
func WriteText(w io.Writer, file string, fs []Finding) error {
	counts := map[Severity]int{}
	for _, f := range fs {
		counts[f.Severity]++
	}
	var parts []string
	for s := High; s >= Info; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	noun := "findings"
	if len(fs) == 1 {
		noun = "finding"
	}
	if len(fs) == 0 {
		_, err := fmt.Fprintf(w, "%s: no findings\n", file)
		return err
	}
	fmt.Fprintf(w, "%s: %d %s (%s)\n", file, len(fs), noun, strings.Join(parts, ", "))
	var last Severity = -1
	for _, f := range fs {
		if f.Severity != last {
			fmt.Fprintf(w, "\n%s\n", strings.ToUpper(f.Severity.String()))
			last = f.Severity
		}
		fmt.Fprintf(w, "  %s  %s\n    %s: %s\n    fix: %s\n", f.ID, f.Object, f.Pos, f.Message, f.Fix)
	}
	return nil
}

// jsonReport is the document WriteJSON writes.
type jsonReport struct {
	File     string    `json:"file"`
	Findings []Finding `json:"findings"`
}

// WriteJSON writes {"file": ..., "findings": [...]}, each finding with id, severity, object,
// message, fix, file, line and col.
func WriteJSON(w io.Writer, file string, fs []Finding) error {
	if fs == nil {
		fs = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonReport{File: file, Findings: fs})
}

// SARIF 2.1.0, the subset code-scanning services read.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri,omitempty"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifRule struct {
		ID                   string         `json:"id"`
		Name                 string         `json:"name"`
		ShortDescription     sarifText      `json:"shortDescription"`
		FullDescription      sarifText      `json:"fullDescription"`
		Help                 sarifText      `json:"help"`
		DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
		Properties           map[string]any `json:"properties"`
	}
	sarifConfig struct {
		Level string `json:"level"`
	}
	sarifResult struct {
		RuleID     string          `json:"ruleId"`
		RuleIndex  int             `json:"ruleIndex"`
		Level      string          `json:"level"`
		Message    sarifText       `json:"message"`
		Locations  []sarifLocation `json:"locations"`
		Properties map[string]any  `json:"properties"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical  `json:"physicalLocation"`
		LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine   int `json:"startLine"`
		StartColumn int `json:"startColumn,omitempty"`
	}
	sarifLogical struct {
		FullyQualifiedName string `json:"fullyQualifiedName"`
	}
)

// sarifLevel maps a severity to SARIF's levels: high is an error, medium a warning, the rest
// notes.
func sarifLevel(s Severity) string {
	switch s {
	case High:
		return "error"
	case Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the CVSS-like score GitHub code scanning reads from a rule's
// "security-severity" property to rank alerts.
func securitySeverity(s Severity) string {
	return [...]string{Info: "0.0", Low: "3.0", Medium: "5.5", High: "8.0"}[s]
}

// WriteSARIF writes a SARIF 2.1.0 log with one run: every kind of the catalog as a rule, and
// each finding as a result located at its file, line and column. file is the artifact's URI
// when a finding has no file of its own.
func WriteSARIF(w io.Writer, file string, fs []Finding) error {
	cat := Catalog()
	index := map[string]int{}
	rules := make([]sarifRule, len(cat))
	for i, k := range cat {
		index[k.ID] = i
		rules[i] = sarifRule{ID: k.ID, Name: ruleName(k.ID), ShortDescription: sarifText{k.Title},
			FullDescription: sarifText{k.Help}, Help: sarifText{k.Help},
			DefaultConfiguration: sarifConfig{sarifLevel(k.Severity)},
			Properties:           map[string]any{"security-severity": securitySeverity(k.Severity), "tags": []string{"security", "network"}}}
	}
	results := make([]sarifResult, 0, len(fs))
	for _, f := range fs {
		uri := f.Pos.File
		if uri == "" {
			uri = file
		}
		loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{filepath.ToSlash(uri)}},
			LogicalLocations: []sarifLogical{{f.Object}}}
		if f.Pos.Line > 0 {
			loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Pos.Line, StartColumn: f.Pos.Col}
		}
		results = append(results, sarifResult{RuleID: f.ID, RuleIndex: index[f.ID], Level: sarifLevel(f.Severity),
			Message:    sarifText{f.Object + ": " + f.Message + ". Fix: " + f.Fix},
			Locations:  []sarifLocation{loc},
			Properties: map[string]any{"severity": f.Severity.String(), "object": f.Object, "fix": f.Fix}})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0",
		Runs: []sarifRun{{Tool: sarifTool{Driver: sarifDriver{Name: "ec2sim check",
			Rules: rules}}, Results: results}}})
}

// ruleName turns EC2SIM-SG-001 into the CamelCase name SARIF viewers show: Ec2simSg001.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + strings.ToLower(part[1:]))
	}
	return b.String()
}
