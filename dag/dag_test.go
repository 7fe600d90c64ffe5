package dag_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/internal/golden"
)

func readTestdata(t *testing.T, pattern string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata matches %s: %v", pattern, err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = data
	}
	return out
}

// TestOK decodes valid DAGs with no findings, writes them back as golden
// YAML and JSON, and checks that what gantry writes decodes to the same
// bytes again and meets the schema.
func TestOK(t *testing.T) {
	t.Parallel()
	for path, data := range readTestdata(t, "ok/*.yaml") {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		if strings.HasSuffix(name, ".out") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, l := dag.Decode(data, filepath.Base(path))
			if len(l) > 0 || p == nil {
				t.Fatalf("unexpected findings:\n%v", l.Err())
			}
			var y, j bytes.Buffer
			if err := dag.EncodeYAML(&y, p); err != nil {
				t.Fatal(err)
			}
			if err := dag.EncodeJSON(&j, p); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "ok", name+".out.yaml"), y.Bytes())
			golden.Check(t, filepath.Join("testdata", "ok", name+".out.json"), j.Bytes())

			for _, enc := range []struct {
				name string
				data []byte
				fn   func(*bytes.Buffer, *dag.Pipeline) error
			}{
				{name: "yaml", data: y.Bytes(), fn: func(b *bytes.Buffer, p *dag.Pipeline) error { return dag.EncodeYAML(b, p) }},
				{name: "json", data: j.Bytes(), fn: func(b *bytes.Buffer, p *dag.Pipeline) error { return dag.EncodeJSON(b, p) }},
			} {
				q, l := dag.Decode(enc.data, "roundtrip."+enc.name)
				if len(l) > 0 {
					t.Fatalf("%s output does not decode:\n%v", enc.name, l.Err())
				}
				var again bytes.Buffer
				if err := enc.fn(&again, q); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again.Bytes(), enc.data) {
					t.Errorf("%s round trip is not byte-identical:\n%s\n---\n%s", enc.name, enc.data, again.Bytes())
				}
			}
			var doc any
			dec := json.NewDecoder(bytes.NewReader(j.Bytes()))
			dec.UseNumber()
			if err := dec.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if l := dag.ValidateSchema(doc); len(l) > 0 {
				t.Errorf("written DAG does not meet the schema:\n%v", l.Err())
			}
		})
	}
}

// TestInvalid decodes broken DAGs and compares the diagnostics, printed one
// per line with hints, with the .out file beside each input.
func TestInvalid(t *testing.T) {
	t.Parallel()
	for path, data := range readTestdata(t, "invalid/*.yaml") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			p, l := dag.Decode(data, filepath.Base(path))
			if p != nil || !l.HasErrors() {
				t.Fatalf("decoded without errors: %+v", l)
			}
			for _, d := range l {
				if !d.Pos.IsValid() || d.Pos.File != filepath.Base(path) {
					t.Errorf("diagnostic without a valid position: %#v", d)
				}
			}
			var out bytes.Buffer
			if err := diag.WriteOneLine(&out, l); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, strings.TrimSuffix(path, ".yaml")+".out", out.Bytes())
		})
	}
}

// TestSchemaCoversTypes keeps the Go types and the JSON Schema in step:
// every JSON field of every struct is a property of the schema definition
// for that struct, and the reverse.
func TestSchemaCoversTypes(t *testing.T) {
	t.Parallel()
	var schema struct {
		Properties map[string]any `json:"properties"`
		Defs       map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(dag.Schema, &schema); err != nil {
		t.Fatal(err)
	}
	types := []struct {
		def string
		typ reflect.Type
	}{
		{def: "", typ: reflect.TypeFor[dag.Pipeline]()},
		{def: "source", typ: reflect.TypeFor[dag.Source]()},
		{def: "trigger", typ: reflect.TypeFor[dag.Trigger]()},
		{def: "input", typ: reflect.TypeFor[dag.Input]()},
		{def: "secretSpec", typ: reflect.TypeFor[dag.SecretSpec]()},
		{def: "defaults", typ: reflect.TypeFor[dag.Defaults]()},
		{def: "concurrency", typ: reflect.TypeFor[dag.Concurrency]()},
		{def: "node", typ: reflect.TypeFor[dag.Node]()},
		{def: "container", typ: reflect.TypeFor[dag.Container]()},
		{def: "credentials", typ: reflect.TypeFor[dag.Credentials]()},
		{def: "strategy", typ: reflect.TypeFor[dag.Strategy]()},
		{def: "service", typ: reflect.TypeFor[dag.Service]()},
		{def: "step", typ: reflect.TypeFor[dag.Step]()},
		{def: "artifacts", typ: reflect.TypeFor[dag.Artifacts]()},
		{def: "artifact", typ: reflect.TypeFor[dag.Artifact]()},
		{def: "artifactRef", typ: reflect.TypeFor[dag.ArtifactRef]()},
		{def: "cache", typ: reflect.TypeFor[dag.Cache]()},
		{def: "environment", typ: reflect.TypeFor[dag.Environment]()},
		{def: "retry", typ: reflect.TypeFor[dag.Retry]()},
		{def: "rule", typ: reflect.TypeFor[dag.Rule]()},
		{def: "changes", typ: reflect.TypeFor[dag.Changes]()},
	}
	for _, tc := range types {
		props := schema.Properties
		if tc.def != "" {
			props = schema.Defs[tc.def].Properties
		}
		var fields []string
		for f := range tc.typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			fields = append(fields, name)
			if _, ok := props[name]; !ok {
				t.Errorf("%s.%s (%q) is not in the schema's %q", tc.typ.Name(), f.Name, name, tc.def)
			}
		}
		for name := range props {
			if !slices.Contains(fields, name) {
				t.Errorf("schema %q has %q, which %s lacks", tc.def, name, tc.typ.Name())
			}
		}
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	p := mustDecode(t, "testdata/ok/example.yaml")
	levels, err := p.Levels()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"lint"}, {"test.go1.22", "test.go1.23"}, {"package"}, {"publish"}}
	if !reflect.DeepEqual(levels, want) {
		t.Errorf("levels = %v, want %v", levels, want)
	}
	order, err := p.TopoOrder()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"lint", "test.go1.22", "test.go1.23", "package", "publish"}; !slices.Equal(order, want) {
		t.Errorf("order = %v, want %v", order, want)
	}
	sub, err := p.Subset("package")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range sub.Nodes {
		ids = append(ids, n.ID)
	}
	if want := []string{"lint", "test.go1.22", "test.go1.23", "package"}; !slices.Equal(ids, want) {
		t.Errorf("subset = %v, want %v", ids, want)
	}
	if _, err := p.Subset("pakage"); err == nil || !strings.Contains(err.Error(), `did you mean "package"?`) {
		t.Errorf("subset of unknown node: %v", err)
	}
}

func TestGraphExports(t *testing.T) {
	t.Parallel()
	p := mustDecode(t, "testdata/ok/example.yaml")
	g, err := p.BuildGraph(dag.GraphOptions{Status: map[string]dag.Status{
		"lint": dag.StatusSuccess, "test.go1.22": dag.StatusFailure, "publish": dag.StatusSkipped,
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{name: "example.mmd", write: func(b *bytes.Buffer) error { return g.WriteMermaid(b) }},
		{name: "example.dot", write: func(b *bytes.Buffer) error { return g.WriteDOT(b) }},
		{name: "example.graph.json", write: func(b *bytes.Buffer) error { return g.WriteJSON(b) }},
		{name: "example.svg", write: func(b *bytes.Buffer) error { return g.WriteSVG(b) }},
	} {
		var b bytes.Buffer
		if err := tc.write(&b); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", "graph", tc.name), b.Bytes())
	}
}

func TestDurations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      dag.Duration
		wantErr bool
	}{
		{in: ""}, {in: "90s"}, {in: "1h30m"}, {in: "1.5h"},
		{in: "30", wantErr: true}, {in: "1 hour", wantErr: true}, {in: "-5m", wantErr: true},
	} {
		_, err := tc.in.Parse()
		if (err != nil) != tc.wantErr {
			t.Errorf("Duration(%q).Parse() error = %v, want error %v", tc.in, err, tc.wantErr)
		}
	}
}

func mustDecode(t *testing.T, path string) *dag.Pipeline {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, l := dag.Decode(data, path)
	if l.HasErrors() {
		t.Fatal(l.Err())
	}
	return p
}
