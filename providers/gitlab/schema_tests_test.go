package gitlab_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/providers/gitlab"
)

// TestSchemaSuite runs GitLab's own test files for its CI schema: every
// positive file must translate, and every negative one must be rejected
// with a positioned finding. It reports both rates.
func TestSchemaSuite(t *testing.T) {
	dir := corpusDir(t, "schema", "tests", "yaml_tests")
	for _, kind := range []string{"positive_tests", "negative_tests"} {
		var files []string
		_ = filepath.WalkDir(filepath.Join(dir, kind), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yml") {
				files = append(files, p)
			}
			return err
		})
		if len(files) == 0 {
			t.Fatalf("no files in %s", kind)
		}
		ok := 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, f)
			p, l, err := gitlab.Translate(t.Context(), rel, data, gitlab.Options{Dir: t.TempDir()})
			if err != nil {
				t.Errorf("%s: internal error: %v", rel, err)
				continue
			}
			for _, d := range l {
				if !d.Pos.IsValid() {
					t.Errorf("%s: finding without a position: %v", rel, d)
				}
			}
			if kind == "positive_tests" {
				if p != nil {
					ok++
				} else {
					t.Logf("positive not translated: %s: %v", rel, firstError(l))
				}
				continue
			}
			if l.HasErrors() {
				ok++
			} else {
				t.Logf("negative not rejected: %s", rel)
			}
		}
		t.Logf("%s: %d/%d as expected", kind, ok, len(files))
	}
}

func firstError(l diag.List) diag.Diagnostic {
	for _, d := range l {
		if d.Severity == diag.Error {
			return d
		}
	}
	return diag.Diagnostic{}
}
