package github_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/internal/golden"
	"github.com/gantry-ci/gantry/internal/txtartest"
	"github.com/gantry-ci/gantry/providers/github"
)

// TestFixtures translates each testdata/fixtures/*.txtar: a small
// repository whose .github/workflows/ci.yml (or the file named by the
// archive's comment line "translate: PATH") is translated with the
// archive's root as the repository. The DAG and the findings are compared
// with NAME.golden.
func TestFixtures(t *testing.T) {
	t.Parallel()
	archives, err := filepath.Glob("testdata/fixtures/*.txtar")
	if err != nil || len(archives) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, a := range archives {
		name := strings.TrimSuffix(filepath.Base(a), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, ar := txtartest.Extract(t, a)
			target := txtartest.Header(ar, "translate", ".github/workflows/ci.yml")
			data, err := os.ReadFile(filepath.Join(dir, target))
			if err != nil {
				t.Fatal(err)
			}
			got := translateForGolden(t, target, data, dir)
			// actionlint names local actions by absolute path.
			got = bytes.ReplaceAll(got, []byte(dir+string(filepath.Separator)), nil)
			golden.Check(t, filepath.Join("testdata", "fixtures", name+".golden"), got)
		})
	}
}

// translateForGolden renders a translation as the DAG's YAML followed by
// the findings, one per line; a failed translation is the findings alone.
func translateForGolden(t *testing.T, path string, data []byte, dir string) []byte {
	t.Helper()
	p, l, err := github.Translate(t.Context(), path, data, github.Options{Dir: dir})
	if err != nil {
		t.Fatalf("internal error: %v", err)
	}
	var b bytes.Buffer
	if p != nil {
		if err := dag.EncodeYAML(&b, p); err != nil {
			t.Fatal(err)
		}
		// What gantry writes must meet the schema and decode again.
		if _, dl := dag.Decode(b.Bytes(), "out.yaml"); dl.HasErrors() {
			t.Errorf("translated DAG does not decode:\n%v", dl.Err())
		}
	}
	if len(l) > 0 {
		b.WriteString("# findings\n")
		var fb bytes.Buffer
		_ = diag.WriteOneLine(&fb, l)
		for _, line := range strings.SplitAfter(fb.String(), "\n") {
			if line != "" {
				b.WriteString("# " + line)
			}
		}
	}
	return b.Bytes()
}
