package runner

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gantry-ci/gantry/dag"
)

func TestPlanGitLabRules(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &dag.Pipeline{
		Version:  dag.Version,
		Source:   &dag.Source{Provider: "gitlab", Path: ".gitlab-ci.yml"},
		Defaults: dag.GitLabDefaults(),
		Rules:    []dag.Rule{{If: "env.CI_COMMIT_TAG", When: dag.WhenNever}, {}},
		Nodes: []*dag.Node{
			{ID: "main-only", Steps: []dag.Step{{Run: "x"}}, Rules: []dag.Rule{{If: "matches(env.CI_COMMIT_BRANCH, '^main$')"}}},
			{ID: "docs", Steps: []dag.Step{{Run: "x"}}, Rules: []dag.Rule{{Changes: &dag.Changes{Paths: []string{"docs/**"}}}}},
			{ID: "image", Steps: []dag.Step{{Run: "x"}}, Rules: []dag.Rule{{Exists: []string{"Dockerfile"}, When: dag.WhenManual}}},
			{ID: "never", Steps: []dag.Step{{Run: "x"}}, Rules: []dag.Rule{{If: "env.CI_COMMIT_BRANCH", When: dag.WhenNever}, {}}},
		},
	}
	plan := func(e Event, jobs ...string) map[string]PlannedNode {
		t.Helper()
		pl, err := MakePlan(p, Options{Source: src, Event: e, Jobs: jobs})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]PlannedNode{}
		for _, pn := range pl.Nodes {
			out[pn.Node.ID] = pn
		}
		if !pl.Triggered && len(jobs) == 0 {
			out["_"] = PlannedNode{Why: pl.Why}
		}
		return out
	}
	got := plan(Event{Name: "push", Ref: "refs/heads/main", Changed: []string{"src/a.go"}})
	for id, want := range map[string]bool{"main-only": true, "docs": false, "image": false, "never": false} {
		if got[id].Run != want {
			t.Errorf("push to main: %s runs = %v (%s), want %v", id, got[id].Run, got[id].Why, want)
		}
	}
	if why := got["image"].Why; why != "manual: run it with --job image" {
		t.Errorf("manual node: why = %q", why)
	}
	got = plan(Event{Name: "push", Ref: "refs/heads/feature", Changed: []string{"docs/x.md"}}, "image", "docs")
	if !got["image"].Run || !got["docs"].Run {
		t.Errorf("--job image docs on a docs change: image %v, docs %v", got["image"].Run, got["docs"].Run)
	}
	got = plan(Event{Name: "push", Ref: "refs/tags/v1"})
	if got["_"].Why == "" {
		t.Errorf("a tag push should not trigger (workflow rule never)")
	}
}
