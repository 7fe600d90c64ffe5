package dag_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
)

// TestHostileInput feeds inputs built to exhaust a decoder and checks that
// each gets a positioned error, quickly and within bounded memory.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	aliasBomb := `version: gantry/v1
a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]
nodes: []
`
	big := "version: gantry/v1\nnodes:\n" + strings.Repeat("  - {id: n, steps: [{run: echo}]}\n", 10<<20/34+1)
	deep := "version: gantry/v1\nnodes: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n"
	deepMap := "version: gantry/v1\nnodes:\n  - id: a\n    matrix:\n" + nested(200)
	for _, tc := range []struct {
		name string
		in   string
		code string
	}{
		{name: "alias bomb", in: aliasBomb, code: "yaml-too-large"},
		{name: "10 MB file", in: big, code: "dag-too-large"},
		{name: "deep flow nesting", in: deep, code: ""},
		{name: "deep block nesting", in: deepMap, code: "yaml-too-deep"},
		{name: "binary", in: "\x00\x01\x02version", code: "yaml-syntax"},
		{name: "tab indentation", in: "version: gantry/v1\nnodes:\n\t- id: a\n", code: "yaml-syntax"},
		{name: "not a mapping", in: "- a\n- b\n", code: "dag-type"},
		{name: "custom tag", in: "version: !foo gantry/v1\nnodes: []\n", code: "yaml-tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, l := dag.Decode([]byte(tc.in), "hostile.yaml")
			if p != nil || !l.HasErrors() {
				t.Fatalf("decoded without error")
			}
			for _, d := range l {
				if !d.Pos.IsValid() {
					t.Errorf("no position: %v", d)
				}
			}
			if tc.code != "" && l[0].Code != tc.code {
				t.Errorf("first finding = %v, want code %s", l[0], tc.code)
			}
		})
	}
}

func nested(depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString(strings.Repeat("  ", i+3))
		b.WriteString("k:\n")
	}
	b.WriteString(strings.Repeat("  ", depth+3))
	b.WriteString("v: 1\n")
	return b.String()
}

// FuzzDecode checks that no input makes Decode panic, and that every
// finding it reports has a position.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("version: gantry/v1\nnodes: [{id: a, needs: [a], steps: [{run: x}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, l := dag.Decode(data, "fuzz.yaml")
		for _, d := range l {
			if !d.Pos.IsValid() || d.Pos.File != "fuzz.yaml" {
				t.Fatalf("finding without a position: %#v", d)
			}
		}
		if p == nil {
			if !l.HasErrors() {
				t.Fatal("no pipeline and no error")
			}
			return
		}
		var b bytes.Buffer
		if err := dag.EncodeYAML(&b, p); err != nil {
			t.Fatalf("cannot encode a decoded pipeline: %v", err)
		}
		if _, l := dag.Decode(b.Bytes(), "again.yaml"); l.HasErrors() {
			t.Fatalf("re-encoded pipeline does not decode:\n%v\n%s", l.Err(), b.Bytes())
		}
	})
}
