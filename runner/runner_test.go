package runner

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/lab"
)

func TestTestLabNamesAreValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, sc := range []string{"x", "a-very-long-scenario-name-that-goes-on-and-on", "ends-with-dash-at-24-cut-x"} {
		for i := 0; i < 50; i++ {
			n := testLabName(sc)
			if err := lab.ValidateName(n); err != nil {
				t.Fatalf("testLabName(%q) = %q: %v", sc, n, err)
			}
			if seen[n] {
				t.Fatalf("name %q given twice", n)
			}
			seen[n] = true
		}
	}
}

func TestInvalidFileIsReportedNotRun(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte("name: x\nvpcs: 3\n"), 0o644)
	r := RunFile(context.Background(), p, Options{}, nil)
	if !r.Invalid || r.Error == "" || r.Passed() || r.Lab != "" {
		t.Errorf("invalid file: %+v", r)
	}
	if !strings.Contains(r.Error, "bad.yaml:2:") {
		t.Errorf("error lacks file:line: %s", r.Error)
	}
}

// TestJUnitShape checks the report against the structure of the JUnit XML schema that CI systems
// read: testsuites > testsuite[name,tests,failures,errors,time] > testcase[name,classname,time]
// with an optional failure or error carrying a message attribute.
func TestJUnitShape(t *testing.T) {
	results := []*FileResult{
		{File: "a.yaml", Scenario: "a", Probes: []ProbeResult{
			{Name: "x -> y tcp/80", Expected: "allow", Observed: "allow", Passed: true},
			{Name: "x -> y icmp", Expected: "deny", Observed: "allow", Passed: false, Detail: "echo reply", Pos: "a.yaml:9:5"},
		}},
		{File: "b.yaml", Error: "bring-up: boom"},
	}
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, results); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Errors   int      `xml:"errors,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
			Time     string `xml:"time,attr"`
			Cases    []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Time      string `xml:"time,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if doc.Tests != 3 || doc.Failures != 1 || doc.Errors != 1 || len(doc.Suites) != 2 {
		t.Fatalf("totals: %+v", doc)
	}
	s := doc.Suites[0]
	if s.Name != "a" || s.Tests != 2 || s.Failures != 1 || s.Time == "" {
		t.Errorf("suite a: %+v", s)
	}
	f := s.Cases[1].Failure
	if f == nil || f.Message != "expected deny, observed allow" || !strings.Contains(f.Text, "a.yaml:9:5") {
		t.Errorf("failure: %+v", f)
	}
	if doc.Suites[1].Cases[0].Error == nil || doc.Suites[1].Name != "b.yaml" {
		t.Errorf("errored file: %+v", doc.Suites[1])
	}
	for _, c := range s.Cases {
		if c.Name == "" || c.Classname == "" || c.Time == "" {
			t.Errorf("testcase lacks required attributes: %+v", c)
		}
	}
}
