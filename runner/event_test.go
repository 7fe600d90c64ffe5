package runner

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gantry-ci/gantry/dag"
)

func TestMatchTrigger(t *testing.T) {
	t.Parallel()
	push := func(ref string, changed ...string) Event {
		return Event{Name: "push", Ref: ref, Changed: changed}
	}
	for _, tc := range []struct {
		name    string
		trigger dag.Trigger
		event   Event
		want    bool
	}{
		{name: "event differs", trigger: dag.Trigger{Event: "pull_request"}, event: push("refs/heads/main"), want: false},
		{name: "branch glob", trigger: dag.Trigger{Event: "push", Branches: []string{"release/**"}}, event: push("refs/heads/release/v1/x"), want: true},
		{name: "single star stops at slash", trigger: dag.Trigger{Event: "push", Branches: []string{"release/*"}}, event: push("refs/heads/release/v1/x"), want: false},
		{name: "negation last wins", trigger: dag.Trigger{Event: "push", Branches: []string{"**", "!main"}}, event: push("refs/heads/main"), want: false},
		{name: "branches-ignore", trigger: dag.Trigger{Event: "push", BranchesIgnore: []string{"dependabot/**"}}, event: push("refs/heads/dependabot/npm"), want: false},
		{name: "tag with only branch filters", trigger: dag.Trigger{Event: "push", Branches: []string{"main"}}, event: push("refs/tags/v1"), want: false},
		{name: "tags filter", trigger: dag.Trigger{Event: "push", Tags: []string{"v*"}}, event: push("refs/tags/v1.2"), want: true},
		{name: "paths match", trigger: dag.Trigger{Event: "push", Paths: []string{"src/**"}}, event: push("refs/heads/main", "src/a/b.go"), want: true},
		{name: "paths no match", trigger: dag.Trigger{Event: "push", Paths: []string{"src/**"}}, event: push("refs/heads/main", "docs/x.md"), want: false},
		{name: "paths-ignore all ignored", trigger: dag.Trigger{Event: "push", PathsIgnore: []string{"docs/**"}}, event: push("refs/heads/main", "docs/x.md"), want: false},
		{name: "paths unknown changes", trigger: dag.Trigger{Event: "push", Paths: []string{"src/**"}}, event: push("refs/heads/main"), want: true},
		{name: "pull request base branch", trigger: dag.Trigger{Event: "pull_request", Branches: []string{"main"}}, event: Event{Name: "pull_request", Ref: "refs/heads/feature", BaseRef: "refs/heads/main"}, want: true},
		{name: "types", trigger: dag.Trigger{Event: "pull_request", Types: []string{"opened"}}, event: Event{Name: "pull_request", Payload: map[string]any{"action": "closed"}}, want: false},
	} {
		if got, why := matchTrigger(tc.trigger, tc.event); got != tc.want {
			t.Errorf("%s: matchTrigger = %v (%s), want %v", tc.name, got, why, tc.want)
		}
	}
}

func TestRepositoryOf(t *testing.T) {
	t.Parallel()
	for remote, want := range map[string]string{
		"https://github.com/gantry-ci/gantry.git":        "gantry-ci/gantry",
		"https://github.com/gantry-ci/gantry":            "gantry-ci/gantry",
		"git@github.com:gantry-ci/gantry.git":            "gantry-ci/gantry",
		"ssh://git@gitlab.example.com:2222/grp/sub/proj": "grp/sub/proj",
		"https://gitlab.com/group/subgroup/project.git/": "group/subgroup/project",
		"/srv/git/project.git":                           "",
		"file:///srv/git/project.git":                    "",
		"../other":                                       "",
		"":                                               "",
	} {
		if got := repositoryOf(remote); got != want {
			t.Errorf("repositoryOf(%q) = %q, want %q", remote, got, want)
		}
	}
}

// GITHUB_REPOSITORY comes from the origin remote, as a checkout of that
// repository on GitHub would have it.
func TestGitEventRepository(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q"}, {"remote", "add", "origin", "git@github.com:octo/hello-world.git"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if got := GitEvent(t.Context(), dir, Event{}, "").Repository; got != "octo/hello-world" {
		t.Errorf("with an origin: %q", got)
	}
	bare := t.TempDir()
	if got := GitEvent(t.Context(), bare, Event{}, "").Repository; got != "local/"+filepath.Base(bare) {
		t.Errorf("without one: %q", got)
	}
}
