package scenarios

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// withoutPositions copies what a model says, leaving out where it was said: positions, the file
// name and the warnings, which a formatted copy cannot keep.
func withoutPositions(sc *Scenario) *Scenario {
	c := deepCopy(reflect.ValueOf(sc)).Interface().(*Scenario)
	c.File, c.Warnings = "", nil
	return c
}

var posType = reflect.TypeOf(Pos{})

func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Elem().Type())
		c.Elem().Set(deepCopy(v.Elem()))
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	case reflect.Struct:
		if v.Type() == posType {
			return reflect.Zero(posType)
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(v) // unexported fields (netip's) are copied as values
		for i := 0; i < v.NumField(); i++ {
			if c.Field(i).CanSet() {
				c.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return c
	}
	return v
}

func fuzzSeeds(f *testing.F) {
	paths, _ := filepath.Glob("examples/*.yaml")
	paths = append(paths, "testdata/full.yaml")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		gwBase,
		strings.Replace(peeredGroups, "REF", "b/app", 1),
		rtBase,
		"",
		"name: t\n",
		"name: t\nvpcs: {a: {cidr: 10.0.0.0/16, subnets: {b: {cidr: 10.0.0.0/24}}}}\ninstances: {x: {subnet: b}}\n",
		rulesFile("{proto: tcp, ports: 70-60, cidr: 0.0.0.0/0}"),
		rulesFile("{proto: icmp, icmp_type: -1, icmp_code: 0, cidr: 0.0.0.0/0}"),
		rulesFile("{proto: all, ports: 80, cidr: 10.1.2.3/8}"),
		instancesFile("  x: {subnet: main/a, ip: 10.0.1.10, user_data: \"a\\n b\\t\\n\"}", "  y:", "    enis: [{subnet: main/b, source_dest_check: false, secondary_ips: []}]"),
		instancesFile("  x: {subnet: main/a}") + "expect:\n  - {from: x, to: x, proto: tcp, port: 1, result: allow, timeout: 1h2m3.5s}\n",
		"name: t\nx: &a [*a]\n",
		"name: t\nvpcs:\n  v: &v {cidr: 10.0.0.0/16}\n  w: *v\n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzParse: the loader never panics; whatever it accepts is a valid model (Validate agrees),
// formats to a file that loads back to the same model, and conforms to the JSON schema.
//
// The seeds are whole scenario files, and minimising a new input one byte at a time can take a
// short run's whole budget; run it as
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 20s -fuzzminimizetime 1s ./scenarios
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	schema := loadSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) { checkParseProperties(t, schema, data) })
}

// TestMutatedFiles applies FuzzParse's properties to seeded random mutations of the seed files,
// so that every `go test` run, not only a fuzzing session, exercises them on inputs off the
// beaten path.
func TestMutatedFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("mutation test skipped in -short mode")
	}
	var seeds [][]byte
	paths, _ := filepath.Glob("examples/*.yaml")
	for _, p := range append(paths, "testdata/full.yaml") {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	seeds = append(seeds, []byte(gwBase), []byte(rtBase))
	schema := loadSchema(t)
	r := rand.New(rand.NewSource(1))
	const alphabet = "&*[]{}:-#|'\"\n ab0"
	for i := 0; i < 1500; i++ {
		s := append([]byte(nil), seeds[r.Intn(len(seeds))]...)
		for k := 0; k < 1+r.Intn(4) && len(s) > 0; k++ {
			j := r.Intn(len(s))
			switch r.Intn(3) {
			case 0:
				s[j] = alphabet[r.Intn(len(alphabet))]
			case 1:
				s = append(s[:j], s[j+1:]...)
			default:
				s = append(s[:j], append([]byte{alphabet[r.Intn(len(alphabet))]}, s[j:]...)...)
			}
		}
		checkParseProperties(t, schema, s)
	}
}

func checkParseProperties(t *testing.T, schema *jsonSchema, data []byte) {
	sc, err := Parse("f.yaml", data)
	if err != nil {
		var list ErrorList
		if sc != nil || !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("Parse returned %v, %v: want nil and a non-empty ErrorList", sc, err)
		}
		for _, e := range list {
			if e.Pos.File != "f.yaml" || e.Msg == "" {
				t.Fatalf("error without a file or message: %#v", e)
			}
		}
		return
	}
	if err := Validate(sc); err != nil {
		t.Fatalf("Parse accepted a model that Validate refuses: %v\n%s", err, data)
	}
	out, err := Format(sc)
	if err != nil {
		t.Fatalf("Format: %v", err)
	}
	again, err := Parse("f.yaml", out)
	if err != nil {
		t.Fatalf("the formatted file does not load: %v\ninput:\n%s\nformatted:\n%s", err, data, out)
	}
	if a, b := withoutPositions(sc), withoutPositions(again); !reflect.DeepEqual(a, b) {
		t.Fatalf("the formatted file loads as another model\ninput:\n%s\nformatted:\n%s", data, out)
	}
	if out2, _ := Format(again); !bytes.Equal(out, out2) {
		t.Fatalf("Format is not stable:\n%s\n---\n%s", out, out2)
	}
	if v, err := yamlToJSON(data); err == nil {
		if errs := schema.validate(schema.root, v, "#"); len(errs) > 0 {
			t.Fatalf("the loader accepts what the schema refuses: %v\n%s", errs, data)
		}
	}
}

func TestWithoutPositionsSeesDifferences(t *testing.T) {
	// The round-trip property is only as good as this comparison: it must see a changed field.
	a := mustParse(t, rulesFile("{proto: tcp, ports: 22, cidr: 10.0.0.0/8}"))
	b := mustParse(t, "\n\n"+rulesFile("{proto: tcp, ports: 22, cidr: 10.0.0.0/8}"))
	c := mustParse(t, rulesFile("{proto: tcp, ports: 23, cidr: 10.0.0.0/8}"))
	d := mustParse(t, rulesFile("{proto: tcp, ports: 22, cidr: 10.0.0.0/9}"))
	if !reflect.DeepEqual(withoutPositions(a), withoutPositions(b)) {
		t.Error("the same scenario at other lines compares unequal")
	}
	if reflect.DeepEqual(withoutPositions(a), withoutPositions(c)) {
		t.Error("a changed port compares equal")
	}
	if reflect.DeepEqual(withoutPositions(a), withoutPositions(d)) {
		t.Error("a changed CIDR compares equal")
	}
	if a.VPCs[0].Pos == (Pos{}) {
		t.Error("withoutPositions changed the original")
	}
}

func BenchmarkParse(b *testing.B) {
	for _, file := range []string{"examples/security-groups.yaml", "examples/public-private.yaml", "testdata/full.yaml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(file), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Parse(file, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
