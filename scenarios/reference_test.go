package scenarios

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReferenceIsUpToDate: the committed reference is what the schema renders to.
func TestReferenceIsUpToDate(t *testing.T) {
	want, err := Reference()
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join("..", ReferencePath))
	require.NoError(t, err)
	if string(got) != string(want) {
		t.Fatalf("%s is out of date with the schema: run `go generate ./scenarios` (or `make docs`) and commit it", ReferencePath)
	}
}

// TestReferenceCoversEveryField: every field of every object kind the decoder knows has a row
// with a description, and every step kind and every value type has a section.
func TestReferenceCoversEveryField(t *testing.T) {
	b, err := Reference()
	require.NoError(t, err)
	doc := string(b)
	var root map[string]any
	require.NoError(t, json.Unmarshal(Schema(), &root))
	defs := root["$defs"].(map[string]any)
	for kind, fields := range formatSpec() {
		section := doc[strings.Index(doc, "\n## "+kind+"\n"):]
		require.NotEqual(t, -1, strings.Index(doc, "\n## "+kind+"\n"), "no section for %s", kind)
		section = section[:strings.Index(section[4:], "\n## ")+4]
		for _, f := range fields {
			i := strings.Index(section, "| `"+f.name+"` |")
			if !assert.NotEqual(t, -1, i, "%s.%s has no row", kind, f.name) {
				continue
			}
			row := section[i : i+strings.Index(section[i:], "\n")]
			cols := strings.Split(row, " | ")
			assert.NotEmpty(t, strings.TrimSuffix(cols[len(cols)-1], " |"), "%s.%s has no description", kind, f.name)
		}
		assert.NotEmpty(t, defs[kind].(map[string]any)["description"], "$defs/%s has no description", kind)
	}
	for _, k := range stepKinds {
		assert.Contains(t, doc, "| `"+k+"` |", "step %s", k)
	}
	assert.Contains(t, doc, "\n### duration\n")
}
