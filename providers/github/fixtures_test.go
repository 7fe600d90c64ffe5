package github_test

import (
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/internal/txtartest"
	"github.com/gantry-ci/gantry/providers/github"
)

// TestFixtures translates each testdata/fixtures/*.txtar (a small
// repository; .github/workflows/ci.yml unless the archive names another
// file) and compares the DAG and the findings with NAME.golden.
func TestFixtures(t *testing.T) {
	t.Parallel()
	txtartest.RunFixtures(t, ".github/workflows/ci.yml", func(t *testing.T, path string, data []byte, dir string) (*dag.Pipeline, diag.List, error) {
		return github.Translate(t.Context(), path, data, github.Options{Dir: dir})
	})
}
