package translate_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/cischema"
	"github.com/gantry-ci/gantry/providers/github"
	"github.com/gantry-ci/gantry/providers/gitlab"
	"github.com/gantry-ci/gantry/translate"
)

// corpusPipelines translates every file of the real-world corpus that
// translates: GitHub's starter workflows and GitLab's CI templates (each
// through a minimal file including it).
func corpusPipelines(t *testing.T) map[string]*dag.Pipeline {
	t.Helper()
	root := os.Getenv("GANTRY_CORPUS")
	if root == "" {
		t.Skip("GANTRY_CORPUS is not set")
	}
	out := map[string]*dag.Pipeline{}
	starters := filepath.Join(root, "github", "starter-workflows")
	filepath.WalkDir(starters, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(p) != ".yml" && filepath.Ext(p) != ".yaml") {
			return err
		}
		data, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(starters, p)
		ps, l, err := github.Translate(t.Context(), rel, data, github.Options{Dir: t.TempDir()})
		if err == nil && !l.HasErrors() && ps != nil {
			out["github/"+rel] = ps
		}
		return nil
	})
	templates := filepath.Join(root, "gitlab", "templates")
	filepath.WalkDir(templates, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".gitlab-ci.yml") {
			return err
		}
		rel, _ := filepath.Rel(templates, p)
		src := fmt.Appendf(nil, "stages: [build, test, deploy, review, dast, staging, canary, production, performance, cleanup, fuzz]\ninclude:\n  - template: %q\ngantry-smoke:\n  stage: .pre\n  script: [\"true\"]\n", filepath.ToSlash(rel))
		ps, l, err := translate.One(t.Context(), translate.File{Path: ".gitlab-ci.yml", Data: src}, translate.Options{Dir: t.TempDir(), TemplateDir: templates})
		if err == nil && !l.HasErrors() && len(ps) == 1 {
			out["gitlab/"+rel] = ps[0]
		}
		return nil
	})
	if len(out) < 250 {
		t.Fatalf("only %d corpus files translate", len(out))
	}
	return out
}

// TestEmitAcross emits both targets, single-job and fan-out, for every
// corpus pipeline whatever its provider: every GitHub file must be clean
// under actionlint, every GitLab file valid under GitLab's CI schema, and
// every single-job file at most 25 lines.
func TestEmitAcross(t *testing.T) {
	pipelines := corpusPipelines(t)
	schema := cischema.GitLab(t)
	linter, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clean, total := 0, 0
	for name, p := range pipelines {
		for _, fanOut := range []bool{false, true} {
			opts := github.EmitOptions{DAG: ".gantry/pipelines/x.yaml", Source: name, EngineSecret: "GANTRY_BUILDKIT_HOST", FanOut: fanOut}
			total += 2
			gh, err := github.Emit(p, opts)
			if err != nil {
				t.Errorf("%s → github: %v", name, err)
			} else if errs, _ := linter.Lint("emitted.yml", gh, nil); len(errs) > 0 {
				t.Errorf("%s → github (fan-out %v): %v\n%s", name, fanOut, errs[0], gh)
			} else if !fanOut && bytes.Count(gh, []byte("\n")) > 25 {
				t.Errorf("%s → github: %d lines", name, bytes.Count(gh, []byte("\n")))
			} else {
				clean++
			}
			gl, err := gitlab.Emit(p, opts)
			var doc any
			switch {
			case err != nil:
				t.Errorf("%s → gitlab: %v", name, err)
			case yaml.Unmarshal(gl, &doc) != nil:
				t.Errorf("%s → gitlab: not YAML\n%s", name, gl)
			case schema.Validate(doc) != nil:
				t.Errorf("%s → gitlab (fan-out %v): %v\n%s", name, fanOut, schema.Validate(doc), gl)
			case !fanOut && bytes.Count(gl, []byte("\n")) > 25:
				t.Errorf("%s → gitlab: %d lines", name, bytes.Count(gl, []byte("\n")))
			default:
				clean++
			}
		}
	}
	t.Logf("emitted %d/%d clean (%d pipelines × 2 targets × single-job and fan-out)", clean, total, len(pipelines))
	if clean != total {
		t.Errorf("emitted %d/%d clean", clean, total)
	}
}
