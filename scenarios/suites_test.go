package scenarios

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBundledSuitesHaveGuides: every bundled suite is a teaching lab whose description is its
// guide (see docs/runner.md): goal, what to try, what to observe, questions.
func TestBundledSuitesHaveGuides(t *testing.T) {
	// The parts of a guide, in this order.
	guideParts := []string{"Goal:", "What to try:", "What to observe:", "Questions:"}
	files, err := filepath.Glob("suites/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		sc, err := Load(f)
		if !assert.NoError(t, err) {
			continue
		}
		at := -1
		for _, part := range guideParts {
			i := strings.Index(sc.Description, part)
			if assert.True(t, i > at, "%s: the guide in description needs %q after the parts before it (%s)", f, part, strings.Join(guideParts, ", ")) {
				at = i
			}
		}
	}
}
