package github_test

import (
	"bytes"
	"testing"

	"github.com/gantry-ci/gantry/internal/txtartest"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/providers/github"
)

// FuzzTranslate checks that no workflow makes translation panic, that
// every finding has a position, and that every pipeline it gives decodes
// as a valid DAG.
func FuzzTranslate(f *testing.F) {
	for _, data := range txtartest.Files("testdata/fixtures/*.txtar", ".yml") {
		f.Add(data)
	}
	f.Add([]byte("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ matrix.x }}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, l, err := github.Translate(t.Context(), "fuzz.yml", data, github.Options{Dir: dir})
		if err != nil {
			t.Fatalf("internal error: %v", err)
		}
		for _, d := range l {
			if !d.Pos.IsValid() || d.Pos.File == "" {
				t.Fatalf("finding without a position: %#v", d)
			}
		}
		if p == nil {
			return
		}
		var b bytes.Buffer
		if err := dag.EncodeYAML(&b, p); err != nil {
			t.Fatalf("cannot encode: %v", err)
		}
		if _, dl := dag.Decode(b.Bytes(), "out.yaml"); dl.HasErrors() {
			t.Fatalf("translated pipeline is not a valid DAG:\n%v\n%s", dl.Err(), b.Bytes())
		}
	})
}
