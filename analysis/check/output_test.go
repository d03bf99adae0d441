package check

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// allFindings runs every fixture, so the outputs are tested on one finding of every kind.
func allFindings(t *testing.T) []Finding {
	var out []Finding
	for _, k := range Catalog() {
		out = append(out, run(t, "testdata/"+k.ID+".yaml")...)
	}
	sortFindings(out)
	return out
}

// SARIF 2.1.0's required shape, checked on the decoded document rather than on our own structs:
// version, runs[].tool.driver.name and rules, results[].ruleId, level, message.text and
// locations with physicalLocation.artifactLocation.uri and region.startLine/startColumn.
func TestSARIF(t *testing.T) {
	fs := allFindings(t)
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, "lab.yaml", fs); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc["version"] != "2.1.0" || !strings.Contains(doc["$schema"].(string), "sarif-2.1.0") {
		t.Errorf("version %v schema %v", doc["version"], doc["$schema"])
	}
	runs := doc["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
	run := runs[0].(map[string]any)
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)
	if driver["name"] != "ec2sim check" {
		t.Errorf("driver name %v", driver["name"])
	}
	rules := driver["rules"].([]any)
	ids := map[string]int{}
	for i, r := range rules {
		rm := r.(map[string]any)
		id := rm["id"].(string)
		ids[id] = i
		if rm["shortDescription"].(map[string]any)["text"] == "" || rm["defaultConfiguration"].(map[string]any)["level"] == "" {
			t.Errorf("rule %s incomplete: %v", id, rm)
		}
	}
	if len(rules) != len(Catalog()) {
		t.Errorf("%d rules, want %d", len(rules), len(Catalog()))
	}
	results := run["results"].([]any)
	if len(results) != len(fs) {
		t.Fatalf("%d results for %d findings", len(results), len(fs))
	}
	levels := map[string]bool{}
	for i, r := range results {
		rm := r.(map[string]any)
		id := rm["ruleId"].(string)
		if idx, ok := ids[id]; !ok || int(rm["ruleIndex"].(float64)) != idx {
			t.Errorf("result %d: ruleId %s ruleIndex %v does not point at its rule", i, id, rm["ruleIndex"])
		}
		level := rm["level"].(string)
		levels[level] = true
		if level != "error" && level != "warning" && level != "note" {
			t.Errorf("result %d: level %q", i, level)
		}
		if msg := rm["message"].(map[string]any)["text"].(string); !strings.Contains(msg, fs[i].Message) {
			t.Errorf("result %d: message %q", i, msg)
		}
		locs := rm["locations"].([]any)
		if len(locs) != 1 {
			t.Fatalf("result %d: %d locations", i, len(locs))
		}
		pl := locs[0].(map[string]any)["physicalLocation"].(map[string]any)
		uri := pl["artifactLocation"].(map[string]any)["uri"].(string)
		region := pl["region"].(map[string]any)
		line, col := int(region["startLine"].(float64)), int(region["startColumn"].(float64))
		if uri != fs[i].Pos.File || line != fs[i].Pos.Line || col != fs[i].Pos.Col || line < 1 || col < 1 {
			t.Errorf("result %d at %s:%d:%d, finding at %s", i, uri, line, col, fs[i].Pos)
		}
	}
	for _, l := range []string{"error", "warning", "note"} {
		if !levels[l] {
			t.Errorf("no result of level %s among the fixtures' findings", l)
		}
	}
}

func TestSARIFEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, "lab.yaml", nil); err != nil {
		t.Fatal(err)
	}
	// SARIF wants results to be an array; an empty run must not write null.
	if !strings.Contains(buf.String(), `"results": []`) {
		t.Errorf("empty run: %s", buf.String())
	}
}

func TestJSON(t *testing.T) {
	fs := allFindings(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, "lab.yaml", fs); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		File     string
		Findings []struct {
			ID, Severity, Object, Message, Fix, File string
			Line, Col                                int
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.File != "lab.yaml" || len(doc.Findings) != len(fs) {
		t.Fatalf("file %q, %d findings for %d", doc.File, len(doc.Findings), len(fs))
	}
	for i, f := range doc.Findings {
		w := fs[i]
		if f.ID != w.ID || f.Severity != w.Severity.String() || f.Object != w.Object || f.Message != w.Message ||
			f.Fix != w.Fix || f.File != w.Pos.File || f.Line != w.Pos.Line || f.Col != w.Pos.Col {
			t.Errorf("finding %d: %+v, want %+v", i, f, w)
		}
	}
	buf.Reset()
	if err := WriteJSON(&buf, "lab.yaml", nil); err != nil || !strings.Contains(buf.String(), `"findings": []`) {
		t.Errorf("no findings: %s %v", buf.String(), err)
	}
}

func TestText(t *testing.T) {
	fs := allFindings(t)
	var buf bytes.Buffer
	if err := WriteText(&buf, "lab.yaml", fs); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// Grouped by severity, most severe first, each group once.
	last := -1
	for _, h := range []string{"\nHIGH\n", "\nMEDIUM\n", "\nLOW\n", "\nINFO\n"} {
		i := strings.Index(out, h)
		if i < 0 || i < last || strings.Count(out, h) != 1 {
			t.Errorf("heading %q at %d (previous %d), %d times", strings.TrimSpace(h), i, last, strings.Count(out, h))
		}
		last = i
	}
	for _, f := range fs {
		if !strings.Contains(out, f.ID+"  "+f.Object+"\n    "+f.Pos.String()+": "+f.Message+"\n    fix: "+f.Fix) {
			t.Errorf("finding %s %s missing from the text", f.ID, f.Object)
		}
	}
	buf.Reset()
	WriteText(&buf, "lab.yaml", nil)
	if buf.String() != "lab.yaml: no findings\n" {
		t.Errorf("no findings: %q", buf.String())
	}
}

func TestSeverity(t *testing.T) {
	for s := Info; s <= High; s++ {
		got, err := ParseSeverity(strings.ToUpper(s.String()))
		if err != nil || got != s {
			t.Errorf("ParseSeverity(%s) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseSeverity("critical"); err == nil || !strings.Contains(err.Error(), "info, low, medium, high") {
		t.Errorf("critical: %v", err)
	}
	fs := []Finding{{ID: "a", Severity: Low}, {ID: "b", Severity: High}, {ID: "c", Severity: Info}}
	if got := AtLeast(fs, Low); len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
		t.Errorf("AtLeast(low) = %v", got)
	}
}

func FuzzParseSeverity(f *testing.F) {
	for _, s := range []string{"info", "LOW", "Medium", "high", "", "critical", "hi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSeverity(s)
		if err != nil {
			return
		}
		if !strings.EqualFold(v.String(), s) {
			t.Errorf("ParseSeverity(%q) = %v", s, v)
		}
		var back Severity
		text, _ := v.MarshalText()
		if back.UnmarshalText(text) != nil || back != v {
			t.Errorf("round trip of %v: %v", v, back)
		}
	})
}

func TestParseIDs(t *testing.T) {
	ids, err := ParseIDs(" ec2sim-sg-001,,EC2SIM-NACL-004 ")
	if err != nil || !slices.Equal(ids, []string{"EC2SIM-SG-001", "EC2SIM-NACL-004"}) {
		t.Errorf("ParseIDs = %q, %v", ids, err)
	}
	if ids, err := ParseIDs(""); err != nil || len(ids) != 0 {
		t.Errorf("empty: %q, %v", ids, err)
	}
	if _, err := ParseIDs("EC2SIM-SG-001,SG-001"); err == nil || !strings.Contains(err.Error(), `"SG-001"`) {
		t.Errorf("unknown id: %v", err)
	}
	fs := []Finding{{ID: "EC2SIM-SG-001"}, {ID: "EC2SIM-SG-002"}, {ID: "EC2SIM-SG-001"}}
	if got := Without(fs, []string{"EC2SIM-SG-001"}); len(got) != 1 || got[0].ID != "EC2SIM-SG-002" {
		t.Errorf("Without = %v", got)
	}
}

func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{"", "EC2SIM-SG-001", "ec2sim-nacl-004, EC2SIM-NET-001", ",,", "EC2SIM-SG-999", "SG-001,EC2SIM-SG-001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := ParseIDs(s)
		if err != nil {
			return
		}
		if len(ids) > strings.Count(s, ",")+1 {
			t.Errorf("ParseIDs(%q) = %d ids", s, len(ids))
		}
		for _, id := range ids {
			if kind(id).Title == "" {
				t.Errorf("ParseIDs(%q) accepted %q", s, id)
			}
		}
	})
}
