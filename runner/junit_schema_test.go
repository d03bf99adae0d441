package runner

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// xsd is the part of XML Schema that testdata/junit-10.xsd uses: global elements, each either
// of a simple type (text) or a complex type with a sequence of element references and
// attributes.
type xsd struct {
	Elements []xsdElement `xml:"element"`
}

type xsdElement struct {
	Name    string `xml:"name,attr"`
	Type    string `xml:"type,attr"`
	Complex *struct {
		Mixed    bool `xml:"mixed,attr"`
		Sequence []struct {
			Ref       string `xml:"ref,attr"`
			MinOccurs string `xml:"minOccurs,attr"`
			MaxOccurs string `xml:"maxOccurs,attr"`
		} `xml:"sequence>element"`
		Attributes []struct {
			Name string `xml:"name,attr"`
			Type string `xml:"type,attr"`
			Use  string `xml:"use,attr"`
		} `xml:"attribute"`
	} `xml:"complexType"`
}

// xmlNode is an element of a document: its attributes, children and text.
type xmlNode struct {
	name     string
	attrs    []xml.Attr
	children []*xmlNode
	text     string
	line     int
}

func parseXML(data []byte) (*xmlNode, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := dec.InputPos()
			n := &xmlNode{name: t.Name.Local, attrs: t.Attr, line: line}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no root element")
	}
	return root, nil
}

// validate checks n against the schema and returns every violation.
func (s *xsd) validate(n *xmlNode) []string {
	var errs []string
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Sprintf("line %d: <%s>: ", n.line, n.name)+fmt.Sprintf(format, a...))
	}
	var decl *xsdElement
	for i := range s.Elements {
		if s.Elements[i].Name == n.name {
			decl = &s.Elements[i]
		}
	}
	if decl == nil {
		bad("no such element in the schema")
		return errs
	}
	if decl.Complex == nil { // a simple type: text only
		if len(n.attrs) > 0 || len(n.children) > 0 {
			bad("of type %s: text only, no attributes or children", decl.Type)
		}
		return errs
	}
	ct := decl.Complex
	for _, a := range n.attrs {
		found := false
		for _, d := range ct.Attributes {
			if d.Name != a.Name.Local {
				continue
			}
			found = true
			switch d.Type {
			case "xs:int":
				if _, err := strconv.Atoi(a.Value); err != nil {
					bad("attribute %s=%q: want an xs:int", d.Name, a.Value)
				}
			case "xs:decimal":
				if _, err := strconv.ParseFloat(a.Value, 64); err != nil || strings.ContainsAny(a.Value, "eE") {
					bad("attribute %s=%q: want an xs:decimal", d.Name, a.Value)
				}
			}
		}
		if !found {
			bad("attribute %q is not in the schema", a.Name.Local)
		}
	}
	for _, d := range ct.Attributes {
		if d.Use != "required" {
			continue
		}
		found := false
		for _, a := range n.attrs {
			found = found || a.Name.Local == d.Name
		}
		if !found {
			bad("required attribute %q is missing", d.Name)
		}
	}
	if strings.TrimSpace(n.text) != "" && !ct.Mixed {
		bad("text %q where the schema allows only elements", strings.TrimSpace(n.text))
	}
	// Children follow the sequence: each one matches the current or a later entry, and each
	// entry's count is within minOccurs..maxOccurs.
	pos, counts := 0, make([]int, len(ct.Sequence))
	for _, c := range n.children {
		k := -1
		for j := pos; j < len(ct.Sequence); j++ {
			if ct.Sequence[j].Ref == c.name {
				k = j
				break
			}
		}
		if k < 0 {
			bad("child <%s> at line %d is not allowed here (or out of order)", c.name, c.line)
			continue
		}
		pos = k
		counts[k]++
		errs = append(errs, s.validate(c)...)
	}
	for j, e := range ct.Sequence {
		min, max := 1, 1
		if e.MinOccurs != "" {
			min, _ = strconv.Atoi(e.MinOccurs)
		}
		switch e.MaxOccurs {
		case "unbounded":
			max = int(^uint(0) >> 1)
		case "":
		default:
			max, _ = strconv.Atoi(e.MaxOccurs)
		}
		if counts[j] < min || counts[j] > max {
			bad("%d <%s> children; want %s to %s", counts[j], e.Ref, e.MinOccurs, e.MaxOccurs)
		}
	}
	return errs
}

func loadJUnitSchema(t *testing.T) *xsd {
	t.Helper()
	data, err := os.ReadFile("testdata/junit-10.xsd")
	require.NoError(t, err)
	var s xsd
	require.NoError(t, xml.Unmarshal(data, &s))
	require.NotEmpty(t, s.Elements)
	return &s
}

// TestJUnitValidatesAgainstSchema: the report of a run with every kind of result — passed and
// failed probes, a failed matrix with its tables, a file that could not run, a lab clock — is
// valid JUnit XML.
func TestJUnitValidatesAgainstSchema(t *testing.T) {
	s := loadJUnitSchema(t)
	mr := &MatrixResult{Name: "tiers", From: []string{"a"}, To: []string{"b"}, Ports: []string{"tcp/22"}, Expected: []string{"."}, Observed: []string{"X"}}
	mr.Wrong, mr.Correct = mr.count()
	results := []*FileResult{
		{File: "a.yaml", Scenario: "a", ClockSpeed: 60, Duration: 2 * time.Second, Probes: []ProbeResult{
			{Name: "x -> y tcp/80", Expected: "allow", Observed: "allow", Passed: true, Duration: time.Millisecond},
			{Name: "x -> y icmp", Expected: "deny", Observed: "allow", Detail: "echo reply <&>", Pos: "a.yaml:9:5"},
			{Name: "matrix tiers", Expected: "1 correct", Observed: "1 wrong", Matrix: mr, Detail: "1 wrong, 0 correct"},
		}},
		{File: "b.yaml", Error: "bring-up: boom"},
		{File: "c.yaml", Scenario: "c", Probes: []ProbeResult{}},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteJUnit(&buf, results))
	root, err := parseXML(buf.Bytes())
	require.NoError(t, err)
	assert.Equal(t, "testsuites", root.name)
	assert.Empty(t, s.validate(root), "%s", buf.String())
	assert.Contains(t, buf.String(), `<property name="lab_clock_speed" value="60">`)
	matrixCase := root.children[0].children[3]
	require.Equal(t, "failure", matrixCase.children[0].name)
	assert.Contains(t, matrixCase.children[0].text, "difference, ! = wrong (tcp/22):\n  from \\ to  b\n  a          !\n", "the failure holds the tables")
}

// TestJUnitSchemaValidatorRefuses: the validator finds what is wrong, so the test above can fail.
func TestJUnitSchemaValidatorRefuses(t *testing.T) {
	s := loadJUnitSchema(t)
	cases := map[string]string{
		`<testsuites><testsuite tests="1"></testsuite></testsuites>`:                                            `required attribute "name" is missing`,
		`<testsuites><testsuite name="a" tests="one"></testsuite></testsuites>`:                                 `tests="one": want an xs:int`,
		`<testsuites><testsuite name="a" tests="1" colour="red"></testsuite></testsuites>`:                      `attribute "colour" is not in the schema`,
		`<testsuites><testsuite name="a" tests="1"><testcase name="x"/><properties/></testsuite></testsuites>`:  `child <properties> at line 1 is not allowed here (or out of order)`,
		`<testsuites><testsuite name="a" tests="1"><testcase name="x">text</testcase></testsuite></testsuites>`: `text "text" where the schema allows only elements`,
		`<testsuites><testsuite name="a" tests="1"><testcase name="x" time="1e3"/></testsuite></testsuites>`:    `time="1e3": want an xs:decimal`,
		`<testsuites><testsuite name="a" tests="1"><properties/><properties/></testsuite></testsuites>`:         `2 <properties> children; want 0 to 1`,
		`<testsuite name="a" tests="1"><case/></testsuite>`:                                                     `child <case> at line 1 is not allowed`,
	}
	for doc, want := range cases {
		root, err := parseXML([]byte(doc))
		require.NoError(t, err)
		errs := s.validate(root)
		assert.Contains(t, strings.Join(errs, "\n"), want, doc)
	}
}
