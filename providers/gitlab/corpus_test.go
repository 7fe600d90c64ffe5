package gitlab_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/internal/gitlabfake"
	"github.com/gantry-ci/gantry/providers/gitlab"
)

func corpusDir(tb testing.TB, parts ...string) string {
	tb.Helper()
	root := os.Getenv("GANTRY_CORPUS")
	if root == "" {
		tb.Skip("GANTRY_CORPUS is not set")
	}
	return filepath.Join(append([]string{root, "gitlab"}, parts...)...)
}

func templateFiles(tb testing.TB) (string, []string) {
	dir := corpusDir(tb, "templates")
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".gitlab-ci.yml") {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatalf("no templates under %s", dir)
	}
	slices.Sort(files)
	return dir, files
}

// including is the minimal file that includes a template, as a project
// using it would: it declares the stages GitLab's templates use when the
// template declares none, and its one job makes templates of hidden jobs
// translatable.
func including(dir, template string) []byte {
	var stages string
	if data, err := os.ReadFile(filepath.Join(dir, template)); err == nil && !bytes.Contains(data, []byte("\nstages:")) && !bytes.HasPrefix(data, []byte("stages:")) {
		stages = "stages: [build, test, deploy, review, dast, staging, canary, production, incremental rollout 10%, incremental rollout 25%, incremental rollout 50%, incremental rollout 100%, performance, cleanup, fuzz]\n"
	}
	return fmt.Appendf(nil, "%sinclude:\n  - template: %q\ngantry-smoke:\n  stage: .pre\n  script: [\"true\"]\n", stages, template)
}

// TestTemplates translates every GitLab CI template through a minimal
// including file. Each must give a DAG that meets the schema, or fail with
// findings that have positions; the bar is 95% translated.
func TestTemplates(t *testing.T) {
	dir, files := templateFiles(t)
	ok := 0
	var failed []string
	for _, f := range files {
		p, l, err := gitlab.Translate(t.Context(), ".gitlab-ci.yml", including(dir, f), gitlab.Options{Dir: t.TempDir(), TemplateDir: dir})
		if err != nil {
			t.Errorf("%s: internal error: %v", f, err)
			continue
		}
		for _, d := range l {
			if !d.Pos.IsValid() {
				t.Errorf("%s: finding without a position: %v", f, d)
			}
		}
		if p == nil {
			var first diag.Diagnostic
			for _, d := range l {
				if d.Severity == diag.Error {
					first = d
					break
				}
			}
			failed = append(failed, fmt.Sprintf("%s: %v", f, first))
			continue
		}
		if err := schemaValid(p); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		ok++
	}
	t.Logf("translated %d/%d", ok, len(files))
	for _, f := range failed {
		t.Logf("not translated: %s", f)
	}
	if ok*100 < len(files)*95 {
		t.Errorf("translated %d/%d, below 95%%", ok, len(files))
	}
}

// TestTemplatesFromInstance translates every template through the
// instance, with no --template-dir: a fake GitLab serves the corpus as
// GitLab's own templates, the top-level ones through the templates API and
// the others (Jobs/, Security/, ...) as files of gitlab-org/gitlab at the
// revision the instance's version names. The bar is the same as
// TestTemplates': every template that translates from the directory
// translates from the instance.
func TestTemplatesFromInstance(t *testing.T) {
	dir, files := templateFiles(t)
	srv := gitlabfake.New(t)
	tree := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		tree["lib/gitlab/ci/templates/"+f] = string(data)
		if key, ok := strings.CutSuffix(f, ".gitlab-ci.yml"); ok && !strings.Contains(key, "/") {
			srv.Templates[key] = string(data)
		}
	}
	// Templates include others by name (template: Jobs/Build.gitlab-ci.yml).
	srv.Project("gitlab.com", "gitlab-org/gitlab").Commit(srv.Revision, tree)
	remote := fakeRemote(t, srv, t.TempDir(), false, map[string]gitlab.Credential{"": {Token: "glpat-test", From: "GITLAB_TOKEN"}})
	fromDir, fromInstance := 0, 0
	for _, f := range files {
		in := including(dir, f)
		if p, _, _ := gitlab.Translate(t.Context(), ".gitlab-ci.yml", in, gitlab.Options{Dir: t.TempDir(), TemplateDir: dir}); p != nil {
			fromDir++
		}
		p, l, err := gitlab.Translate(t.Context(), ".gitlab-ci.yml", in, gitlab.Options{Dir: t.TempDir(), Remote: remote})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if p == nil {
			t.Logf("%s: %v", f, l.Err())
			continue
		}
		fromInstance++
	}
	t.Logf("translated %d/%d from the instance (%d/%d from the directory)", fromInstance, len(files), fromDir, len(files))
	if fromInstance < fromDir {
		t.Errorf("%d templates translate from the directory, only %d from the instance", fromDir, fromInstance)
	}
	api, files2 := 0, 0
	for _, r := range srv.Requests() {
		switch {
		case strings.HasPrefix(r.Path, "/api/v4/templates/gitlab_ci_ymls/"):
			api++
		case strings.HasPrefix(r.Path, "/api/v4/projects/gitlab-org%2Fgitlab/repository/files/") && r.Query.Get("ref") == srv.Revision:
			files2++
		}
	}
	if api == 0 || files2 == 0 {
		t.Errorf("%d templates API and %d files API requests at the instance's revision; want both", api, files2)
	}
}

func schemaValid(p *dag.Pipeline) error {
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
	if l := dag.ValidateSchema(doc); len(l) > 0 {
		return fmt.Errorf("translated DAG does not meet the schema:\n%v", l.Err())
	}
	return nil
}

// BenchmarkTemplates translates the whole template corpus.
func BenchmarkTemplates(b *testing.B) {
	dir, files := templateFiles(b)
	inputs := make([][]byte, len(files))
	for i, f := range files {
		inputs[i] = including(dir, f)
	}
	tmp := b.TempDir()
	b.ReportAllocs()
	for b.Loop() {
		for i := range files {
			_, _, _ = gitlab.Translate(b.Context(), ".gitlab-ci.yml", inputs[i], gitlab.Options{Dir: tmp, TemplateDir: dir})
		}
	}
	b.ReportMetric(float64(len(files)*b.N)/b.Elapsed().Seconds(), "files/s")
}
