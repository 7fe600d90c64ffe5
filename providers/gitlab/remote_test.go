package gitlab_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/internal/gitlabfake"
	"github.com/gantry-ci/gantry/providers/gitlab"
)

// These tests read includes from a fake GitLab (internal/gitlabfake) that
// answers the REST API as documented:
// https://docs.gitlab.com/api/repository_files/#get-file-from-repository
// https://docs.gitlab.com/api/releases/#list-releases
// https://docs.gitlab.com/api/templates/gitlab_ci_ymls/
// https://docs.gitlab.com/ci/components/#component-versions

// fakeRemote is a Remote reaching each host at the fake, caching in dir.
func fakeRemote(t *testing.T, srv *gitlabfake.Server, dir string, offline bool, creds map[string]gitlab.Credential, hosts ...string) *gitlab.Remote {
	t.Helper()
	urls := map[string]string{}
	for _, h := range append(hosts, "gitlab.com") {
		urls[h] = srv.URL(h)
	}
	r, err := gitlab.NewRemote(gitlab.RemoteOptions{URLs: urls, CacheDir: dir, Offline: offline, Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func nodeIDs(p *dag.Pipeline) []string {
	var ids []string
	for _, n := range p.Nodes {
		ids = append(ids, n.ID)
	}
	return ids
}

func mustTranslate(t *testing.T, src string, opts gitlab.Options) *dag.Pipeline {
	t.Helper()
	p, l, err := gitlab.Translate(t.Context(), ".gitlab-ci.yml", []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	if p == nil || l.HasErrors() {
		t.Fatalf("translation failed:\n%v", l.Err())
	}
	return p
}

func translateErr(t *testing.T, src string, opts gitlab.Options) diag.List {
	t.Helper()
	p, l, err := gitlab.Translate(t.Context(), ".gitlab-ci.yml", []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	if p != nil || !l.HasErrors() {
		t.Fatalf("translated, want an error; findings: %v", l)
	}
	return l
}

func has(ids []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, id := range ids {
			found = found || id == w
		}
		if !found {
			return false
		}
	}
	return true
}

func TestIncludeProject(t *testing.T) {
	srv := gitlabfake.New(t)
	tpl := srv.Project("gitlab.example.org", "Infra/CI-Templates")
	tpl.DefaultBranch = "trunk"
	tpl.Commit("trunk", map[string]string{
		"templates/build.yml":  "include:\n  - local: /templates/common.yml\nbuild:\n  stage: build\n  script: [make]\n",
		"templates/common.yml": ".common:\n  image: alpine\n",
		"lint.yml":             "lint:\n  extends: .common\n  script: [lint]\n",
	})
	v1 := tpl.Commit("v1", map[string]string{"templates/build.yml": "old-build:\n  script: [old]\n"})
	var seen []gitlab.Fetched
	opts := gitlab.Options{
		Dir:      t.TempDir(),
		Host:     "gitlab.example.org",
		Remote:   fakeRemote(t, srv, t.TempDir(), false, map[string]gitlab.Credential{"": {Token: "glpat-secret", From: "GITLAB_TOKEN"}}, "gitlab.example.org"),
		Vars:     map[string]string{"TEMPLATES": "infra/ci-templates"},
		Included: func(f gitlab.Fetched) error { seen = append(seen, f); return nil },
	}
	p := mustTranslate(t, `include:
  - project: $TEMPLATES
    file: [/templates/build.yml, lint.yml]
  - project: Infra/CI-Templates
    ref: v1
    file: templates/build.yml
`, opts)
	if ids := nodeIDs(p); !has(ids, "build", "lint", "old-build") {
		t.Errorf("nodes %v, want build, lint (from the default branch) and old-build (at v1)", ids)
	}
	// The variable was expanded, the nested local include read from the
	// same project at the same commit, and the ref's commit recorded.
	var keys []string
	for _, f := range seen {
		keys = append(keys, f.Kind+" "+f.Key+" "+f.Commit[:7])
		if f.Instance != "gitlab.example.org" || f.Project == "" || f.Path == "" || len(f.Commit) != 40 {
			t.Errorf("fetched %+v: want the instance, project, path and commit", f)
		}
	}
	want := []string{
		"project gitlab.example.org/infra/ci-templates:templates/build.yml " + tpl.Head("trunk")[:7],
		"project gitlab.example.org/infra/ci-templates:lint.yml " + tpl.Head("trunk")[:7],
		"project gitlab.example.org/infra/ci-templates:templates/common.yml@" + tpl.Head("trunk") + " " + tpl.Head("trunk")[:7],
		"project gitlab.example.org/Infra/CI-Templates:templates/build.yml@v1 " + v1[:7],
	}
	if strings.Join(keys, "\n") != strings.Join(want, "\n") {
		t.Errorf("included:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	// The API calls: the project (for its default branch), then the files
	// API with the ref, each with the token.
	var paths []string
	for _, r := range srv.Requests() {
		paths = append(paths, r.Path+"?ref="+r.Query.Get("ref"))
		if r.Host != "gitlab.example.org" || r.TokenHeader != "PRIVATE-TOKEN" || r.Token != "glpat-secret" {
			t.Errorf("request %+v: want gitlab.example.org with the PRIVATE-TOKEN", r)
		}
	}
	// The client escapes the file path's dots too (%2E), as GitLab's
	// documentation allows.
	wantPaths := []string{
		"/api/v4/projects/infra%2Fci-templates?ref=",
		"/api/v4/projects/infra%2Fci-templates/repository/files/templates%2Fbuild%2Eyml?ref=trunk",
		"/api/v4/projects/infra%2Fci-templates?ref=",
		"/api/v4/projects/infra%2Fci-templates/repository/files/lint%2Eyml?ref=trunk",
		"/api/v4/projects/infra%2Fci-templates/repository/files/templates%2Fcommon%2Eyml?ref=" + tpl.Head("trunk"),
		"/api/v4/projects/Infra%2FCI-Templates/repository/files/templates%2Fbuild%2Eyml?ref=v1",
	}
	if strings.Join(paths, "\n") != strings.Join(wantPaths, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(wantPaths, "\n"))
	}
}

func TestIncludeOffline(t *testing.T) {
	srv := gitlabfake.New(t)
	pr := srv.Project("gitlab.com", "group/shared")
	pr.Commit("main", map[string]string{"ci.yml": "shared:\n  script: [echo]\n", "templates/hello.yml": "spec:\n  inputs:\n    who: {default: world}\n---\nhello-$[[ inputs.who ]]:\n  script: [echo]\n"})
	pr.Commit("1.0.0", map[string]string{"templates/hello.yml": "spec:\n  inputs:\n    who: {default: world}\n---\nhello-$[[ inputs.who ]]:\n  script: [echo]\n"})
	pr.Release("1.0.0")
	srv.Project("gitlab.com", "gitlab-org/gitlab").Commit(srv.Revision, map[string]string{"lib/gitlab/ci/templates/Jobs/Check.gitlab-ci.yml": "check:\n  script: [check]\n"})
	cache := t.TempDir()
	src := `include:
  - project: group/shared
    file: ci.yml
  - component: gitlab.com/group/shared/hello@1
    inputs: {who: you}
  - template: Jobs/Check.gitlab-ci.yml
  - remote: https://gitlab.com/group/shared/-/raw/main/ci.yml
`
	online := gitlab.Options{Dir: t.TempDir(), Remote: fakeRemote(t, srv, cache, false, map[string]gitlab.Credential{"": {Token: "tok", From: "GITLAB_TOKEN"}})}
	p := mustTranslate(t, src, online)
	if ids := nodeIDs(p); !has(ids, "shared", "hello-you", "check") {
		t.Fatalf("nodes %v", ids)
	}
	before := len(srv.Requests())
	offline := gitlab.Options{Dir: t.TempDir(), Remote: fakeRemote(t, srv, cache, true, nil)}
	p = mustTranslate(t, src, offline)
	if ids := nodeIDs(p); !has(ids, "shared", "hello-you", "check") {
		t.Fatalf("offline nodes %v", ids)
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Errorf("offline, %d requests were made", n)
	}
	// Not in the cache: an error at the include, naming it.
	l := translateErr(t, "include:\n  - project: group/other\n    file: ci.yml\n", offline)
	if d := l[0]; d.Pos.Line != 2 || !strings.Contains(d.Message, "group/other") || !strings.Contains(d.Message, "offline") {
		t.Errorf("offline miss: %v", d)
	}
	// An instance that cannot be reached: the cache serves, and a warning
	// at each include says so.
	srv.Close()
	unreachable := gitlab.Options{Dir: t.TempDir(), Remote: fakeRemote(t, srv, cache, false, nil)}
	p, l, err := gitlab.Translate(t.Context(), ".gitlab-ci.yml", []byte(src), unreachable)
	if err != nil || p == nil {
		t.Fatalf("unreachable instance: %v\n%v", err, l)
	}
	var warned []int
	for _, d := range l {
		if d.Code == "include-cache" && strings.Contains(d.Message, "cannot be reached") {
			warned = append(warned, d.Pos.Line)
		}
	}
	if fmt.Sprint(warned) != "[2 4 6 7]" {
		t.Errorf("include-cache warnings at lines %v, want one at each of the 4 includes (2 4 6 7):\n%v", warned, l)
	}
}

func TestIncludeComponentVersions(t *testing.T) {
	srv := gitlabfake.New(t)
	pr := srv.Project("gitlab.com", "components/greet")
	tpl := func(v string) map[string]string {
		return map[string]string{"templates/greet/template.yml": "spec:\n  component: [name, version, sha, reference]\n  inputs:\n    stage: {default: test}\n---\ngreet-" + v + ":\n  stage: $[[ inputs.stage ]]\n  script: [\"echo $[[ component.name ]] $[[ component.version ]] $[[ component.reference ]] $[[ component.sha ]]\"]\n"}
	}
	var shas = map[string]string{}
	for _, v := range []string{"1.0.0", "1.2.0", "1.2.3", "2.0.0", "2.1.0-rc1"} {
		shas[v] = pr.Commit(v, tpl(strings.ReplaceAll(v, ".", "-")))
		pr.Release(v)
	}
	shas["main"] = pr.Commit("main", tpl("main"))
	opts := gitlab.Options{Dir: t.TempDir(), Remote: fakeRemote(t, srv, t.TempDir(), false, nil)}
	for _, tc := range []struct{ version, job, ref, released string }{
		{"1.2.0", "greet-1-2-0", "1.2.0", "1.2.0"},
		{"1.2", "greet-1-2-3", "1.2.3", "1.2.3"},
		{"1", "greet-1-2-3", "1.2.3", "1.2.3"},
		{"~latest", "greet-2-0-0", "2.0.0", "2.0.0"},
		{"2.1.0-rc1", "greet-2-1-0-rc1", "2.1.0-rc1", "2.1.0-rc1"},
		{"main", "greet-main", "main", ""},
		{shas["1.0.0"], "greet-1-0-0", "1.0.0", ""},
	} {
		t.Run(tc.version, func(t *testing.T) {
			p := mustTranslate(t, "include:\n  - component: gitlab.com/components/greet/greet@"+tc.version+"\n", opts)
			var n *dag.Node
			for i := range p.Nodes {
				if p.Nodes[i].ID == tc.job {
					n = p.Nodes[i]
				}
			}
			if n == nil {
				t.Fatalf("nodes %v, want %s", nodeIDs(p), tc.job)
			}
			// $[[ component.name, version, reference, sha ]].
			want := "echo greet " + tc.released + " " + tc.version + " " + shas[tc.ref]
			if got := n.Steps[0].Run; got != want {
				t.Errorf("script %q, want %q", got, want)
			}
		})
	}
	for _, tc := range []struct{ ref, want string }{
		{"gitlab.com/components/greet/greet@3", "no release matches 3 among the project's 5 releases (the newest is 2.1.0-rc1)"},
		{"gitlab.com/components/greet/greet@1.9.9", "no release 1.9.9"},
		{"gitlab.com/components/greet/missing@1.0.0", "neither templates/missing.yml nor templates/missing/template.yml"},
		{"gitlab.com/components/nosuch/greet@1", "not found on gitlab.com"},
		{"gitlab.com/components/greet/greet", "has no @VERSION"},
		{"components/greet/greet@1", "want HOST/GROUP/PROJECT/NAME@VERSION"},
		{"greet/components/greet/greet@1", "not an instance's host"},
	} {
		l := translateErr(t, "include:\n  - component: "+tc.ref+"\n", opts)
		if !strings.Contains(l[0].Message, tc.want) || l[0].Pos.Line != 2 {
			t.Errorf("%s: %v, want %q at line 2", tc.ref, l[0], tc.want)
		}
	}
}

func TestIncludeErrors(t *testing.T) {
	srv := gitlabfake.New(t)
	srv.Token = "right"
	priv := srv.Project("gitlab.com", "team/private")
	priv.Private = true
	priv.Commit("main", map[string]string{"ci.yml": "x:\n  script: [x]\n"})
	a := srv.Project("gitlab.com", "team/a")
	a.Commit("main", map[string]string{"a.yml": "include:\n  - project: team/b\n    file: b.yml\na:\n  script: [a]\n", "big.yml": strings.Repeat("#", 5<<20), "notyaml.yml": "<!DOCTYPE html>\n<html>\n<head><title>Sign in</title></head>\n"})
	srv.Project("gitlab.com", "team/b").Commit("main", map[string]string{"b.yml": "include:\n  - project: team/a\n    file: a.yml\nb:\n  script: [b]\n"})
	withToken := func(tok string) gitlab.Options {
		creds := map[string]gitlab.Credential{}
		if tok != "" {
			creds[""] = gitlab.Credential{Token: tok, From: "GITLAB_TOKEN"}
		}
		return gitlab.Options{Dir: t.TempDir(), Remote: fakeRemote(t, srv, t.TempDir(), false, creds)}
	}
	for _, tc := range []struct {
		name, src, token, want string
	}{
		{"unknown project", "include:\n  - project: team/nosuch\n    file: ci.yml\n", "right", "project team/nosuch: not found on gitlab.com; the token from GITLAB_TOKEN was sent"},
		{"missing file", "include:\n  - project: team/a\n    file: nosuch.yml\n", "right", "file nosuch.yml of project team/a at main: not found"},
		{"missing ref", "include:\n  - project: team/a\n    ref: nosuch\n    file: a.yml\n", "right", "at nosuch: not found"},
		{"private without a token", "include:\n  - project: team/private\n    file: ci.yml\n", "", "not found on gitlab.com; no token was sent"},
		{"wrong token", "include:\n  - project: team/private\n    file: ci.yml\n", "wrong", "refused it (401 Unauthorized); the token from GITLAB_TOKEN was sent"},
		{"cycle across projects", "include:\n  - project: team/a\n    file: a.yml\n", "right", "include cycle"},
		{"too big", "include:\n  - project: team/a\n    file: big.yml\n", "right", "more than the 4194304 an include may be"},
		{"not YAML", "include:\n  - project: team/a\n    file: notyaml.yml\n", "right", ".gitlab-ci.yml:2:5: gitlab.com/team/a:notyaml.yml, included here, is not a CI file gantry can read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := translateErr(t, tc.src, withToken(tc.token))
			var all []string
			found := false
			for _, d := range l {
				all = append(all, d.Error())
				found = found || strings.Contains(d.Error(), tc.want)
				if strings.Contains(d.Error(), "right") || strings.Contains(d.Error(), "wrong") {
					t.Errorf("a finding shows the token's value: %v", d)
				}
			}
			if !found {
				t.Errorf("findings:\n%s\nwant one with %q", strings.Join(all, "\n"), tc.want)
			}
		})
	}
}
