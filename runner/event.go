package runner

import (
	"context"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/gantry-ci/gantry/dag"
)

// Event is what a run is for: the event, the ref and what changed.
type Event struct {
	// Name is the event: push, pull_request, schedule, manual, ...
	Name string
	// Ref is the full ref: refs/heads/main, refs/tags/v1.
	Ref string
	// SHA is the commit.
	SHA string
	// BaseRef is the target branch of a pull/merge request.
	BaseRef string
	// Changed lists the changed files, relative to the repository root;
	// nil means not known (path filters then match, as GitHub does when it
	// cannot tell).
	Changed []string
	// Payload is the event's webhook payload (github.event).
	Payload map[string]any
	// Inputs are a manual or called run's inputs.
	Inputs map[string]string
	// Actor and Repository name who ran it and where.
	Actor, Repository string
	// DefaultBranch is the repository's default branch.
	DefaultBranch string
}

// RefName is the short ref: main for refs/heads/main, v1 for refs/tags/v1.
func (e Event) RefName() string {
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		if s, ok := strings.CutPrefix(e.Ref, p); ok {
			return s
		}
	}
	return e.Ref
}

// Branch is the branch of a branch ref, or "".
func (e Event) Branch() string {
	b, _ := strings.CutPrefix(e.Ref, "refs/heads/")
	if b == e.Ref {
		return ""
	}
	return b
}

// Tag is the tag of a tag ref, or "".
func (e Event) Tag() string {
	t, _ := strings.CutPrefix(e.Ref, "refs/tags/")
	if t == e.Ref {
		return ""
	}
	return t
}

// GitFacts are what git says of a repository that an event may leave
// empty: the current branch's ref, the commit, the default branch (from
// origin's HEAD), the user's name and origin's URL; "" where git has no
// answer.
type GitFacts struct {
	Ref, SHA, DefaultBranch, Actor, Origin string
}

// AskGit asks git the questions of GitFacts about the repository at dir
// in the background, at once (each is a process start), and returns a
// function that waits for the answers. A run asks as soon as it knows its
// source, before it reads its pipelines.
func AskGit(ctx context.Context, dir string) func() GitFacts {
	var (
		wg sync.WaitGroup
		f  GitFacts
	)
	for _, q := range []struct {
		into *string
		args []string
	}{
		{&f.Ref, []string{"symbolic-ref", "-q", "HEAD"}},
		{&f.SHA, []string{"rev-parse", "HEAD"}},
		{&f.DefaultBranch, []string{"symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"}},
		{&f.Actor, []string{"config", "user.name"}},
		{&f.Origin, []string{"remote", "get-url", "origin"}},
	} {
		wg.Go(func() { *q.into = gitOutput(ctx, dir, q.args...) })
	}
	var once sync.Once
	return func() GitFacts {
		once.Do(wg.Wait)
		return f
	}
}

// gitOutput is what git prints for args in dir, trimmed; "" when it fails.
func gitOutput(ctx context.Context, dir string, args ...string) string {
	out, err := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// GitEvent fills what an event leaves empty from the git repository at
// dir: the current branch and commit, and the files changed since base (a
// ref; empty means the working tree against HEAD).
func GitEvent(ctx context.Context, dir string, e Event, base string) Event {
	return FillEvent(ctx, dir, e, base, AskGit(ctx, dir))
}

// FillEvent is GitEvent with the answers of an AskGit asked before.
func FillEvent(ctx context.Context, dir string, e Event, base string, facts func() GitFacts) Event {
	git := func(args ...string) string { return gitOutput(ctx, dir, args...) }
	if e.Name == "" {
		e.Name = "push"
	}
	f := facts()
	if e.Ref == "" {
		e.Ref = f.Ref
	}
	if e.SHA == "" {
		e.SHA = f.SHA
	}
	if e.DefaultBranch == "" {
		e.DefaultBranch = strings.TrimPrefix(f.DefaultBranch, "origin/")
		if e.DefaultBranch == "" {
			e.DefaultBranch = "main"
		}
	}
	if e.Repository == "" {
		e.Repository = repositoryOf(f.Origin)
	}
	if e.Repository == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			abs = dir
		}
		e.Repository = "local/" + filepath.Base(abs)
	}
	if e.Actor == "" {
		e.Actor = f.Actor
		if e.Actor == "" {
			e.Actor = "gantry"
		}
	}
	if before, _ := e.Payload["before"].(string); e.Changed == nil && base == "" && before != "" && strings.Trim(before, "0") != "" {
		after, _ := e.Payload["after"].(string)
		if after == "" {
			after = "HEAD"
		}
		if out := git("diff", "--name-only", before+".."+after); out != "" {
			e.Changed = strings.Split(out, "\n")
		}
	}
	if e.Changed == nil && base != "" {
		if out := git("diff", "--name-only", base+"...HEAD"); out != "" {
			e.Changed = strings.Split(out, "\n")
		} else {
			e.Changed = []string{}
		}
	}
	return e
}

// repositoryOf is the repository path (owner/repo, or group/sub/project on
// GitLab) of a remote's URL: https://host/owner/repo.git,
// git@host:owner/repo.git, ssh://git@host:22/owner/repo; "" for a local
// path or anything else.
func repositoryOf(remote string) string {
	remote = strings.TrimSpace(remote)
	var path string
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && u.Host != "" && u.Scheme != "file" {
		path = u.Path
	} else if at, rest, ok := strings.Cut(remote, ":"); ok && strings.Contains(at, "@") && !strings.HasPrefix(rest, "/") {
		path = rest // scp-like: git@host:owner/repo.git
	} else {
		return ""
	}
	path = strings.TrimSuffix(strings.Trim(path, "/"), ".git")
	if strings.Count(path, "/") < 1 || strings.Contains(path, "..") {
		return ""
	}
	return path
}

// isChangeRequest says whether an event is a pull request (GitHub) or
// merge request (GitLab): a pipeline from one provider triggered from the
// other sees them as the same.
func isChangeRequest(event string) bool { return event == "pull_request" || event == "merge_request" }

// matchTrigger reports whether a trigger starts the pipeline for the
// event, and if not, why.
func matchTrigger(t dag.Trigger, e Event) (bool, string) {
	if t.Event != e.Name && !(isChangeRequest(t.Event) && isChangeRequest(e.Name)) {
		return false, ""
	}
	if len(t.Types) > 0 {
		action, _ := e.Payload["action"].(string)
		if action != "" && !contains(t.Types, action) {
			return false, "its types " + strings.Join(t.Types, ", ") + " do not include " + action
		}
	}
	ref := e.Branch()
	if e.Name == "pull_request" || e.Name == "pull_request_target" {
		ref = strings.TrimPrefix(e.BaseRef, "refs/heads/")
	}
	tag := e.Tag()
	hasRefFilter := len(t.Branches)+len(t.BranchesIgnore)+len(t.Tags)+len(t.TagsIgnore) > 0
	if hasRefFilter {
		switch {
		case tag != "":
			if len(t.Tags)+len(t.TagsIgnore) == 0 {
				return false, "it filters branches and this is tag " + tag
			}
			if !filterMatch(t.Tags, t.TagsIgnore, tag) {
				return false, "tag " + tag + " does not match its tag filters"
			}
		default:
			if len(t.Branches)+len(t.BranchesIgnore) == 0 {
				return false, "it filters tags and this is branch " + ref
			}
			if !filterMatch(t.Branches, t.BranchesIgnore, ref) {
				return false, "branch " + ref + " does not match its branch filters"
			}
		}
	}
	if (len(t.Paths)+len(t.PathsIgnore) > 0) && e.Changed != nil && tag == "" {
		any := false
		for _, f := range e.Changed {
			if filterMatch(t.Paths, t.PathsIgnore, f) {
				any = true
				break
			}
		}
		if !any {
			return false, "no changed file matches its path filters"
		}
	}
	return true, ""
}

// filterMatch applies GitHub's filter patterns: with include patterns,
// the last matching one decides (a !pattern excludes); ignore patterns
// exclude.
func filterMatch(include, ignore []string, s string) bool {
	if len(include) > 0 {
		ok := false
		for _, p := range include {
			if neg, found := strings.CutPrefix(p, "!"); found {
				if globMatch(neg, s) {
					ok = false
				}
			} else if globMatch(p, s) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	for _, p := range ignore {
		if globMatch(p, s) {
			return false
		}
	}
	return true
}

// globMatch matches GitHub filter patterns: * within a segment, ** across,
// ?, [..], and + (one or more of the previous character).
func globMatch(pattern, s string) bool {
	if strings.Contains(pattern, "+") {
		// Rare; approximate x+ as xx* for doublestar.
		var b strings.Builder
		for i := 0; i < len(pattern); i++ {
			if pattern[i] == '+' && i > 0 {
				b.WriteByte(pattern[i-1])
				b.WriteByte('*')
				continue
			}
			b.WriteByte(pattern[i])
		}
		pattern = b.String()
	}
	ok, err := doublestar.Match(pattern, s)
	return err == nil && ok
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
