package gitlab_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/cischema"
	"github.com/gantry-ci/gantry/providers/gitlab"
)

// TestEmitTemplates emits a thin .gitlab-ci.yml for every GitLab template
// that translates: each must validate against GitLab's CI schema, be at
// most 25 lines long, and translate back.
func TestEmitTemplates(t *testing.T) {
	schema := cischema.GitLab(t)
	dir, files := templateFiles(t)
	clean, total := 0, 0
	for _, f := range files {
		p, _, err := gitlab.Translate(t.Context(), ".gitlab-ci.yml", including(dir, f), gitlab.Options{Dir: t.TempDir(), TemplateDir: dir})
		if err != nil || p == nil {
			continue
		}
		total++
		name := strings.TrimSuffix(filepath.Base(f), ".gitlab-ci.yml")
		out, err := gitlab.Emit(p, gitlab.EmitOptions{DAG: ".gantry/pipelines/" + name + ".yaml", Source: f, GantryVersion: "v0.1.0", EngineSecret: "GANTRY_BUILDKIT_HOST"})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		var doc any
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Errorf("%s: the emitted file is not YAML: %v\n%s", f, err, out)
			continue
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s: the emitted file does not validate against GitLab's schema: %v\n%s", f, err, out)
			continue
		}
		if n := bytes.Count(out, []byte("\n")); n > 25 {
			t.Errorf("%s: the emitted file has %d lines, want at most 25:\n%s", f, n, out)
			continue
		}
		back, l, err := gitlab.Translate(t.Context(), ".gitlab-ci.yml", out, gitlab.Options{Dir: t.TempDir()})
		if err != nil || back == nil || len(back.Nodes) != 1 {
			t.Errorf("%s: the emitted file does not translate back to one job: %v %v", f, err, l.Err())
			continue
		}
		fan, err := gitlab.Emit(p, gitlab.EmitOptions{DAG: ".gantry/pipelines/" + name + ".yaml", Source: f, FanOut: true})
		if err != nil {
			t.Errorf("%s: fan-out: %v", f, err)
			continue
		}
		doc = nil
		if err := yaml.Unmarshal(fan, &doc); err != nil {
			t.Errorf("%s: the fan-out file is not YAML: %v\n%s", f, err, fan)
			continue
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s: the fan-out file does not validate against GitLab's schema: %v\n%s", f, err, fan)
			continue
		}
		backFan, l, err := gitlab.Translate(t.Context(), ".gitlab-ci.yml", fan, gitlab.Options{Dir: t.TempDir()})
		if err != nil || backFan == nil {
			t.Errorf("%s: the fan-out file does not translate back: %v %v", f, err, l.Err())
			continue
		}
		if got, want := workingNodes(backFan), workingNodes(p); got != want {
			t.Errorf("%s: fan-out has %d jobs, want one per working node (%d):\n%s", f, got, want, fan)
			continue
		}
		clean++
	}
	t.Logf("emitted %d/%d clean", clean, total)
	if clean != total || total == 0 {
		t.Errorf("emitted %d/%d clean", clean, total)
	}
}

// TestEmitRules checks the workflow rules written for GitHub-style
// triggers, and that the schema check above can fail.
func TestEmitRules(t *testing.T) {
	schema := cischema.GitLab(t)
	p := &dag.Pipeline{Name: "CI", Triggers: []dag.Trigger{
		{Event: "push", Branches: []string{"main", "release/**"}, Tags: []string{"v*"}},
		{Event: "pull_request", Branches: []string{"main"}},
		{Event: "schedule", Cron: "0 3 * * *"},
		{Event: "manual"},
		{Event: "issues"},
	}, Nodes: []*dag.Node{{ID: "a", Secrets: []string{"TOKEN"}}}}
	out, err := gitlab.Emit(p, gitlab.EmitOptions{DAG: ".gantry/pipelines/ci.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`- if: '$CI_PIPELINE_SOURCE == "push" && ($CI_COMMIT_BRANCH =~ /^(main|release\/.*)$/ || $CI_COMMIT_TAG =~ /^(v[^\/]*)$/)'`,
		`- if: '$CI_PIPELINE_SOURCE == "merge_request_event" && $CI_MERGE_REQUEST_TARGET_BRANCH_NAME =~ /^(main)$/'`,
		`- if: '$CI_PIPELINE_SOURCE == "schedule"'`,
		`- if: '$CI_PIPELINE_SOURCE == "web"'`,
		`--secret TOKEN`,
		`gantry@latest`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the emitted file lacks %s:\n%s", want, out)
		}
	}
	var doc any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Errorf("does not validate: %v\n%s", err, out)
	}
	if back, l, err := gitlab.Translate(t.Context(), ".gitlab-ci.yml", out, gitlab.Options{Dir: t.TempDir()}); err != nil || back == nil || len(back.Rules) != 4 {
		t.Errorf("the emitted file does not translate back with its 4 rules: %v %v", err, l.Err())
	}
	var broken any
	yaml.Unmarshal([]byte("gantry:\n  script: 3\n  when: sometimes\n"), &broken)
	if schema.Validate(broken) == nil {
		t.Error("GitLab's schema accepted a job with when: sometimes")
	}
}

// workingNodes counts the nodes with steps or a downstream trigger.
func workingNodes(p *dag.Pipeline) int {
	n := 0
	for _, node := range p.Nodes {
		if len(node.Steps) > 0 || node.Uses != "" {
			n++
		}
	}
	return n
}
