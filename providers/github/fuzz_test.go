package github_test

import (
	"testing"

	"github.com/gantry-ci/gantry/internal/txtartest"
	"github.com/gantry-ci/gantry/providers/github"
)

// FuzzTranslate checks that no workflow makes translation panic, that
// every finding has a position, that every pipeline it gives decodes as a
// valid DAG, and that every step is placed in order (step-order).
func FuzzTranslate(f *testing.F) {
	for _, data := range txtartest.Files("testdata/fixtures/*.txtar", ".yml") {
		f.Add(data)
	}
	f.Add([]byte("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo ${{ matrix.x }}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, l, err := github.Translate(t.Context(), "fuzz.yml", data, github.Options{Dir: dir})
		txtartest.CheckFuzzed(t, p, l, err)
		for _, d := range l {
			if d.Code == "step-order" {
				t.Fatalf("a step the plan of 2026 keys did not place: %v", d)
			}
		}
	})
}
