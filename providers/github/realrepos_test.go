package github_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/providers/github"
)

// TestRealRepos translates every workflow file of the real repositories
// under $GANTRY_CORPUS/github/real-repos (one directory per repository,
// its .github/ as the repository holds it), each with its repository as
// the root: GitHub runs these workflows, so every one must translate to a
// DAG that meets the schema. A failure names the file, line and column of
// each error. The corpus has the 2026 keys (background, wait, parallel:,
// uses: $/path), YAML anchors, and what actionlint refuses and GitHub runs.
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax
func TestRealRepos(t *testing.T) {
	root := os.Getenv("GANTRY_CORPUS")
	if root == "" {
		t.Skip("GANTRY_CORPUS is not set")
	}
	base := filepath.Join(root, "github", "real-repos")
	repos, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	total, ok := 0, 0
	for _, r := range repos {
		if !r.IsDir() {
			continue
		}
		dir := filepath.Join(base, r.Name())
		files, _ := filepath.Glob(filepath.Join(dir, ".github", "workflows", "*.y*ml"))
		for _, f := range files {
			if ext := filepath.Ext(f); ext != ".yml" && ext != ".yaml" {
				continue
			}
			total++
			rel, _ := filepath.Rel(dir, f)
			rel = filepath.ToSlash(rel)
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, l, err := github.Translate(t.Context(), rel, data, github.Options{Dir: dir})
			if err != nil {
				t.Errorf("%s: %s: internal error: %v", r.Name(), rel, err)
				continue
			}
			if p == nil {
				var errs []string
				for _, d := range l {
					if d.Severity == diag.Error {
						errs = append(errs, strings.TrimPrefix(d.Error(), dir+"/"))
					}
				}
				t.Errorf("%s: not translated:\n\t%s", r.Name(), strings.Join(errs, "\n\t"))
				continue
			}
			if err := meetsSchema(p); err != nil {
				t.Errorf("%s: %s: the DAG does not meet the schema:\n%v", r.Name(), rel, err)
				continue
			}
			ok++
		}
	}
	t.Logf("translated %d/%d", ok, total)
	if total == 0 {
		t.Fatalf("no workflows under %s", base)
	}
}

// meetsSchema validates a pipeline's JSON against the DAG's schema.
func meetsSchema(p *dag.Pipeline) error {
	var b bytes.Buffer
	if err := dag.EncodeJSON(&b, p); err != nil {
		return err
	}
	var doc any
	dec := json.NewDecoder(&b)
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	return dag.ValidateSchema(doc).Err()
}
