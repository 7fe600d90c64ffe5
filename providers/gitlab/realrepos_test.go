package gitlab_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/internal/gitlabfake"
	"github.com/gantry-ci/gantry/providers/gitlab"
)

// realRepoHosts are the instances the corpus's projects live on, by the
// group in their directory's name (GROUP+project).
var realRepoHosts = map[string]string{
	"GNOME":       "gitlab.gnome.org",
	"GStreamer":   "gitlab.freedesktop.org",
	"KDE":         "invent.kde.org",
	"OpenMW":      "gitlab.com",
	"xfce-mirror": "gitlab.xfce.org",
}

// realRepoSHA stands for the commit a pipeline runs at ($CI_COMMIT_SHA).
const realRepoSHA = "c0ffee0000000000000000000000000000000000"

// realReposMin is how many of the corpus's pipelines translate (through
// the fake instances, serving what the corpus holds); fewer is a
// regression. The others include projects the corpus does not hold
// (freedesktop's ci-templates, KDE's ci-utilities, gstreamer-rs).
const realReposMin = 4

// realRepoInstance serves the corpus's projects from a fake GitLab: each
// GROUP+project directory as that project on its host (all its files, on
// main, master and the commit under test), and each include target
// INCLUDES.tsv maps to a file the corpus holds, at the ref it names.
func realRepoInstance(t *testing.T, dir string) *gitlabfake.Server {
	t.Helper()
	srv := gitlabfake.New(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	type target struct{ host, project, ref string }
	commits := map[target]map[string]string{}
	add := func(tg target, file, local string) {
		data, err := os.ReadFile(local)
		if err != nil {
			return
		}
		if commits[tg] == nil {
			commits[tg] = map[string]string{}
		}
		commits[tg][strings.TrimPrefix(file, "/")] = string(data)
	}
	for _, e := range entries {
		group, name, ok := strings.Cut(e.Name(), "+")
		if !e.IsDir() || !ok {
			continue
		}
		root := filepath.Join(dir, e.Name())
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(root, p)
				for _, ref := range []string{"main", "master", realRepoSHA} {
					add(target{realRepoHosts[group], group + "/" + name, ref}, filepath.ToSlash(rel), p)
				}
			}
			return nil
		})
	}
	f, err := os.Open(filepath.Join(dir, "INCLUDES.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 7 || strings.HasPrefix(cols[0], "#") || cols[6] == "" {
			continue
		}
		group, _, _ := strings.Cut(cols[0], "/")
		host, ref := realRepoHosts[group], cols[5]
		if ref == "" || strings.HasPrefix(ref, "$") {
			ref = "main"
		}
		local := filepath.Join(filepath.Dir(dir), "..", filepath.FromSlash(cols[6]))
		switch cols[3] {
		case "project":
			project, file, _ := strings.Cut(cols[4], ":")
			add(target{host, project, ref}, file, local)
		case "component":
			path := strings.ReplaceAll(strings.ReplaceAll(cols[4], "$CI_SERVER_FQDN", host), "$CI_PROJECT_PATH", cols[0])
			h, rest, _ := strings.Cut(path, "/")
			i := strings.LastIndex(rest, "/")
			add(target{h, rest[:i], ref}, "templates/"+rest[i+1:]+".yml", local)
		}
	}
	for tg, files := range commits {
		pr := srv.Project(tg.host, tg.project)
		pr.Commit(tg.ref, files)
	}
	return srv
}

// TestRealRepos translates the pipelines of real GitLab projects
// ($GANTRY_CORPUS/gitlab/real-repos), their includes (project,
// component, local) read through the GitLab API from fake instances that
// serve what the corpus holds.
func TestRealRepos(t *testing.T) {
	dir := corpusDir(t, "real-repos")
	srv := realRepoInstance(t, dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	hosts := slices.Collect(func(yield func(string) bool) {
		for _, h := range realRepoHosts {
			if !yield(h) {
				return
			}
		}
	})
	remote := fakeRemote(t, srv, t.TempDir(), false, nil, hosts...)
	ok, total := 0, 0
	var failed []string
	for _, e := range entries {
		group, name, isRepo := strings.Cut(e.Name(), "+")
		ci := filepath.Join(dir, e.Name(), ".gitlab-ci.yml")
		data, err := os.ReadFile(ci)
		if !e.IsDir() || !isRepo || err != nil {
			continue
		}
		total++
		host := realRepoHosts[group]
		opts := gitlab.Options{
			Dir: filepath.Join(dir, e.Name()), Remote: remote, Host: host,
			Vars: map[string]string{
				"CI_SERVER_FQDN": host, "CI_SERVER_HOST": host, "CI_SERVER_URL": "https://" + host,
				"CI_PROJECT_PATH": group + "/" + name, "CI_PROJECT_NAMESPACE": group, "CI_PROJECT_NAME": name,
				"CI_COMMIT_SHA": realRepoSHA, "CI_COMMIT_REF_NAME": "main", "CI_DEFAULT_BRANCH": "main",
			},
		}
		p, l, err := gitlab.Translate(t.Context(), e.Name()+"/.gitlab-ci.yml", data, opts)
		if err != nil {
			t.Errorf("%s: internal error: %v", e.Name(), err)
			continue
		}
		for _, d := range l {
			if !d.Pos.IsValid() {
				t.Errorf("%s: finding without a position: %v", e.Name(), d)
			}
		}
		if p == nil {
			var errs []string
			for _, d := range l {
				if d.Severity != diag.Error {
					continue
				}
				errs = append(errs, d.Error())
				// What fails must be an include of a project the corpus
				// does not hold, nothing of gantry's.
				if !strings.HasPrefix(d.Code, "include-") || !strings.Contains(d.Message, "not found on") {
					t.Errorf("%s: %v", e.Name(), d)
				}
			}
			failed = append(failed, fmt.Sprintf("%s: %d errors, the first: %s", e.Name(), len(errs), errs[0]))
			continue
		}
		if err := schemaValid(p); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		ok++
	}
	t.Logf("translated %d/%d", ok, total)
	for _, f := range failed {
		t.Logf("not translated: %s", f)
	}
	if ok < realReposMin {
		t.Errorf("translated %d/%d, fewer than the %d that did", ok, total, realReposMin)
	}
}
