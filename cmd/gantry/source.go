package main

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/providers/gitlab"
	"github.com/gantry-ci/gantry/translate"
)

// sourceFlags are how commands that read CI files find what those files
// refer to: the repository, GitLab's instances, templates, other
// projects, caches.
type sourceFlags struct {
	Dir         string
	TemplateDir string
	Projects    []string
	Offline     bool
	// GitLab maps instances' hosts to URLs (and tokens): HOST=URL[,token-env=VAR].
	GitLab []string
	// Vars are --var KEY=VALUE, which GitLab include paths may use.
	Vars []string
	// Provider forces the CI system the files are read as.
	Provider string

	cmd *cobra.Command
}

func (f *sourceFlags) register(cmd *cobra.Command) {
	f.cmd = cmd
	cmd.Flags().StringVar(&f.Dir, "dir", ".", "repository root that local actions, reusable workflows and includes resolve against (default: the named file's git repository, else the current directory)")
	cmd.Flags().StringVar(&f.TemplateDir, "template-dir", os.Getenv("GANTRY_GITLAB_TEMPLATES"), "GitLab's CI templates, for include:template, instead of the instance's (env GANTRY_GITLAB_TEMPLATES)")
	cmd.Flags().StringArrayVar(&f.Projects, "project-dir", nil, "GROUP/PROJECT=PATH: a local checkout for GitLab include:project, instead of the instance's (repeatable)")
	cmd.Flags().BoolVar(&f.Offline, "offline", false, "fetch nothing: remote includes and actions come from the cache only")
	cmd.Flags().StringArrayVar(&f.GitLab, "gitlab", nil, "HOST=URL[,token-env=VAR]: reach GitLab instance HOST at URL, with the token in $VAR (repeatable; env GANTRY_GITLAB, entries separated by spaces)")
	if cmd.Flags().Lookup("provider") == nil {
		cmd.Flags().StringVar(&f.Provider, "provider", "", "the CI system the files are for (github, gitlab, gantry), instead of detecting it")
	}
	if cmd.Flags().Lookup("var") == nil {
		cmd.Flags().StringArrayVar(&f.Vars, "var", nil, "KEY=VALUE: a variable GitLab include paths may use (repeatable)")
	}
}

// options builds the translation options for files (the repository root
// is theirs when --dir is not given); a malformed flag is a usage error.
func (f *sourceFlags) options(provider string, files ...string) (translate.Options, error) {
	if f.cmd != nil && !f.cmd.Flags().Changed("dir") && len(files) > 0 {
		f.Dir = projectRoot(files[0])
	}
	o := translate.Options{Provider: cmp.Or(provider, f.Provider), Dir: f.Dir, TemplateDir: f.TemplateDir}
	for _, p := range f.Projects {
		name, path, ok := strings.Cut(p, "=")
		if !ok || name == "" || path == "" {
			return o, usagef("--project-dir %q: expected GROUP/PROJECT=PATH", p)
		}
		if o.Projects == nil {
			o.Projects = map[string]string{}
		}
		o.Projects[name] = path
	}
	remote, err := f.gitlab()
	if err != nil {
		return o, err
	}
	o.GitLab = remote
	// Five git processes: only for a GitLab pipeline that needs them.
	o.GitLabContext = sync.OnceValues(func() (string, map[string]string) {
		host := f.instanceHost()
		return host, f.includeVars(host)
	})
	return o, nil
}

// projectRoot is the repository a CI file belongs to: its git work tree's
// top, else its directory. A .gitlab-ci.yml's include:local paths are
// relative to its project, wherever gantry is started.
func projectRoot(file string) string {
	dir := filepath.Dir(file)
	if fi, err := os.Stat(file); err == nil && fi.IsDir() {
		dir = file
	}
	top, err := workTreeTop(dir)
	if err == nil {
		if top != "" {
			if rel, err := filepath.Rel(mustAbs("."), top); err == nil && !strings.HasPrefix(rel, "..") {
				return rel
			}
			return top
		}
	}
	// Files under .github/workflows belong to the directory above it.
	if filepath.Base(dir) == "workflows" && filepath.Base(filepath.Dir(dir)) == ".github" {
		return filepath.Dir(filepath.Dir(dir))
	}
	return dir
}

// workTreeTop is `git rev-parse --show-toplevel` in dir, without a git
// process when it can be: the nearest directory up from dir with a .git
// (a directory, or a file in linked work trees and submodules). Where
// git's environment or a bare repository could change the answer, git is
// asked.
func workTreeTop(dir string) (string, error) {
	if os.Getenv("GIT_DIR") == "" && os.Getenv("GIT_WORK_TREE") == "" {
		abs, err := filepath.Abs(dir)
		if err == nil {
			for d := abs; ; d = filepath.Dir(d) {
				if fi, err := os.Stat(filepath.Join(d, ".git")); err == nil {
					if fi.IsDir() {
						if _, err := os.Stat(filepath.Join(d, ".git", "HEAD")); err != nil {
							break // not a repository git would take
						}
					}
					if real, err := filepath.EvalSymlinks(d); err == nil {
						d = real
					}
					return d, nil
				}
				if filepath.Dir(d) == d {
					// Not in a work tree: git would say so too.
					return "", errors.New("not in a git work tree")
				}
			}
		}
	}
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func mustAbs(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return abs
}

// gitlab makes the Remote GitLab includes are read through. Tokens: a
// mapping's token-env, else GITLAB_TOKEN, else CI_JOB_TOKEN inside a
// GitLab CI job.
func (f *sourceFlags) gitlab() (*gitlab.Remote, error) {
	opts := gitlab.RemoteOptions{Offline: f.Offline, URLs: map[string]string{}, Credentials: map[string]gitlab.Credential{}}
	if dir, err := os.UserCacheDir(); err == nil {
		opts.CacheDir = filepath.Join(dir, "gantry", "gitlab")
	}
	switch {
	case os.Getenv("GITLAB_TOKEN") != "":
		opts.Credentials[""] = gitlab.Credential{Token: os.Getenv("GITLAB_TOKEN"), From: "GITLAB_TOKEN"}
	case os.Getenv("CI_JOB_TOKEN") != "" && os.Getenv("GITLAB_CI") == "true":
		opts.Credentials[""] = gitlab.Credential{Token: os.Getenv("CI_JOB_TOKEN"), From: "CI_JOB_TOKEN", Job: true}
	}
	entries := append(strings.Fields(os.Getenv("GANTRY_GITLAB")), f.GitLab...)
	for _, e := range entries {
		host, rest, ok := strings.Cut(e, "=")
		u, extra, _ := strings.Cut(rest, ",")
		if !ok || host == "" || u == "" {
			return nil, usagef("--gitlab %q: expected HOST=URL[,token-env=VAR]", e)
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, usagef("--gitlab %q: %q is not an http(s) URL", e, u)
		}
		host = strings.ToLower(host)
		opts.URLs[host] = u
		if extra != "" {
			name, ok := strings.CutPrefix(extra, "token-env=")
			if !ok || name == "" {
				return nil, usagef("--gitlab %q: after the URL, expected token-env=VAR (the variable holding that instance's token)", e)
			}
			if tok := os.Getenv(name); tok != "" {
				opts.Credentials[host] = gitlab.Credential{Token: tok, From: name + " (--gitlab " + host + ")"}
			}
		}
	}
	remote, err := gitlab.NewRemote(opts)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return remote, nil
}

// instanceHost is the GitLab instance the repository's pipelines run on:
// its origin remote's host (unless that is a forge other than GitLab),
// else CI_SERVER_URL's, else gitlab.com.
func (f *sourceFlags) instanceHost() string {
	if host := remoteHost(gitOutput(f.Dir, "remote", "get-url", "origin")); host != "" {
		switch host {
		case "github.com", "bitbucket.org", "codeberg.org", "dev.azure.com", "ssh.dev.azure.com":
		default:
			return host
		}
	}
	if u, err := url.Parse(os.Getenv("CI_SERVER_URL")); err == nil && u.Hostname() != "" {
		return strings.ToLower(u.Hostname())
	}
	return "gitlab.com"
}

// includeVars are the variables GitLab lets include paths use, as the
// repository gives them, then --var's.
func (f *sourceFlags) includeVars(host string) map[string]string {
	vars := map[string]string{
		"CI_SERVER_FQDN": host,
		"CI_SERVER_HOST": host,
		"CI_SERVER_URL":  "https://" + host,
	}
	if u := os.Getenv("CI_SERVER_URL"); u != "" && os.Getenv("GITLAB_CI") == "true" {
		vars["CI_SERVER_URL"] = u
	}
	origin := gitOutput(f.Dir, "remote", "get-url", "origin")
	if path := remotePath(origin); path != "" {
		vars["CI_PROJECT_PATH"] = path
		i := strings.LastIndex(path, "/")
		vars["CI_PROJECT_NAMESPACE"], vars["CI_PROJECT_NAME"] = path[:i], path[i+1:]
		vars["CI_PROJECT_ROOT_NAMESPACE"], _, _ = strings.Cut(path, "/")
	}
	if sha := gitOutput(f.Dir, "rev-parse", "HEAD"); sha != "" {
		vars["CI_COMMIT_SHA"] = sha
	}
	if branch := gitOutput(f.Dir, "symbolic-ref", "-q", "--short", "HEAD"); branch != "" {
		vars["CI_COMMIT_REF_NAME"], vars["CI_COMMIT_BRANCH"] = branch, branch
	}
	if def := strings.TrimPrefix(gitOutput(f.Dir, "symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"), "origin/"); def != "" {
		vars["CI_DEFAULT_BRANCH"] = def
	}
	for _, kv := range f.Vars {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			vars[k] = v
		}
	}
	return vars
}

func gitOutput(dir string, args ...string) string {
	out, err := exec.CommandContext(context.Background(), "git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// remoteHost is the host of a git remote URL (https://host/..., ssh://,
// git@host:path), lower-cased; "" for a local path.
func remoteHost(remote string) string {
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && u.Host != "" && u.Scheme != "file" {
		return strings.ToLower(u.Hostname())
	}
	if at, _, ok := strings.Cut(remote, ":"); ok {
		if _, host, ok := strings.Cut(at, "@"); ok {
			return strings.ToLower(host)
		}
	}
	return ""
}

// remotePath is the project path of a git remote URL (group/sub/project).
func remotePath(remote string) string {
	var p string
	if u, err := url.Parse(remote); err == nil && u.Scheme != "" && u.Host != "" && u.Scheme != "file" {
		p = u.Path
	} else if _, rest, ok := strings.Cut(remote, ":"); ok && strings.Contains(remote[:len(remote)-len(rest)], "@") {
		p = rest
	}
	p = strings.TrimSuffix(strings.Trim(p, "/"), ".git")
	if !strings.Contains(p, "/") || strings.Contains(p, "..") {
		return ""
	}
	return p
}
