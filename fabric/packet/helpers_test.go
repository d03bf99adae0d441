package packet

import (
	"fmt"
	"reflect"
	"strings"
)

// diffParsed lists the fields in which got differs from want, one "Field: got X, want Y" per
// line, or "" when they are equal. (Plain reflection rather than testify: the module's go.sum
// does not yet carry testify's own dependencies.)
func diffParsed(got, want Parsed) string {
	var b strings.Builder
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		if gf != wf {
			fmt.Fprintf(&b, "\n\t%s: got %v, want %v", g.Type().Field(i).Name, gf, wf)
		}
	}
	return b.String()
}
