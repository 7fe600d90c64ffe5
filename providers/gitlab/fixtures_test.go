package gitlab_test

import (
	"path/filepath"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/internal/txtartest"
	"github.com/gantry-ci/gantry/providers/gitlab"
)

// TestFixtures translates each testdata/fixtures/*.txtar (a small project;
// .gitlab-ci.yml unless the archive names another file, its templates/
// directory as the template directory, shared/ as group/shared) and
// compares the DAG and the findings with NAME.golden.
func TestFixtures(t *testing.T) {
	t.Parallel()
	txtartest.RunFixtures(t, ".gitlab-ci.yml", func(t *testing.T, path string, data []byte, dir string) (*dag.Pipeline, diag.List, error) {
		opts := gitlab.Options{Dir: dir, TemplateDir: filepath.Join(dir, "templates"), Projects: map[string]string{"group/shared": filepath.Join(dir, "shared")}}
		return gitlab.Translate(t.Context(), path, data, opts)
	})
}
