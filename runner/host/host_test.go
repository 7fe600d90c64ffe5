package host_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/executortest"
	"github.com/gantry-ci/gantry/runner/host"
)

// newExecutor makes a host executor with the workspace strategy
// GANTRY_TEST_WORKSPACE names (TestStrategies runs the tests again with
// each), the cheapest the machine allows when it is unset.
func newExecutor(t *testing.T, grace time.Duration) *host.Executor {
	t.Helper()
	return host.New(host.Options{TempDir: t.TempDir(), KillGrace: grace, Workspace: testStrategy(t)})
}

func testStrategy(t testing.TB) host.Strategy {
	t.Helper()
	s, err := host.ParseStrategy(cmpOr(os.Getenv("GANTRY_TEST_WORKSPACE"), "auto"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestConformance(t *testing.T) {
	executortest.Run(t, func(t *testing.T) runner.Executor { return newExecutor(t, time.Second) })
}

func TestName(t *testing.T) {
	if got := host.New(host.Options{}).Name(); got != "host" {
		t.Errorf("Name() = %q, want %q", got, "host")
	}
}

// gitEnv keeps the user's and the system's git configuration out of the
// tests' own git commands.
var gitEnv = append(os.Environ(),
	"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
	"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
	"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
	"GIT_OPTIONAL_LOCKS=0",
)

func needGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

// git runs git in dir and returns its trimmed output.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always"}, args...)...)
	cmd.Env = gitEnv
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t testing.TB, name, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil {
		t.Fatal(err)
	}
}

func symlink(t testing.TB, target, name string) {
	t.Helper()
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
}

// wsGit runs git in the workspace as a step would.
func wsGit(t *testing.T, ws runner.Workspace, dir string, args ...string) string {
	t.Helper()
	r := executortest.Exec(t.Context(), ws, runner.Command{
		Argv: append([]string{"git"}, args...),
		Env:  slices.Concat(gitEnv, []string{"PATH=" + os.Getenv("PATH")}),
		Dir:  dir,
	})
	if r.Err != nil || r.Code != 0 {
		t.Fatalf("git %s in the workspace: exit %d, %v\n%s%s", strings.Join(args, " "), r.Code, r.Err, r.Stdout, r.Stderr)
	}
	return strings.TrimSpace(r.Stdout)
}

// status is `git status --porcelain` without the lines about paths under
// the prefixes.
func status(t *testing.T, dir string, ws runner.Workspace, skip ...string) string {
	t.Helper()
	args := []string{"status", "--porcelain", "--untracked-files=all"}
	var out string
	if ws != nil {
		out = wsGit(t, ws, dir, args...)
	} else {
		out = git(t, dir, args...)
	}
	lines := slices.DeleteFunc(strings.Split(out, "\n"), func(l string) bool {
		return slices.ContainsFunc(skip, func(p string) bool { return strings.Contains(l, p) })
	})
	return strings.Join(lines, "\n")
}

// gitSource makes a repository with tracked, changed, staged, untracked
// and ignored files, symbolic links in and out of the tree, and history.
func gitSource(t *testing.T) string {
	t.Helper()
	needGit(t)
	parent := t.TempDir()
	src := filepath.Join(parent, "repo")
	write(t, filepath.Join(parent, "outside.txt"), "outside\n", 0o644)
	git(t, parent, "init", "-q", src)
	write(t, filepath.Join(src, "tracked.txt"), "v1\n", 0o644)
	write(t, filepath.Join(src, "deleted.txt"), "deleted\n", 0o644)
	write(t, filepath.Join(src, "tool.sh"), "#!/bin/sh\necho tool\n", 0o755)
	write(t, filepath.Join(src, "dir", "nested", "deep.txt"), "deep\n", 0o644)
	write(t, filepath.Join(src, "name with space.txt"), "space\n", 0o644)
	write(t, filepath.Join(src, "new\nline.txt"), "newline\n", 0o644)
	write(t, filepath.Join(src, ".gitignore"), "*.ignored\nignored-dir/\n", 0o644)
	write(t, filepath.Join(src, "sub", ".gitignore"), "local-ignored\n", 0o644)
	symlink(t, "tracked.txt", filepath.Join(src, "link-in"))
	symlink(t, "dir", filepath.Join(src, "link-dir"))
	symlink(t, "../outside.txt", filepath.Join(src, "link-out"))
	symlink(t, "/etc/hostname", filepath.Join(src, "link-abs"))
	git(t, src, "add", "-A")
	git(t, src, "commit", "-q", "-m", "first")
	write(t, filepath.Join(src, "tracked.txt"), "v2\n", 0o644)
	git(t, src, "commit", "-q", "-am", "second")
	git(t, src, "tag", "v2")

	// Work in progress.
	write(t, filepath.Join(src, "tracked.txt"), "v3 uncommitted\n", 0o640)
	if err := os.Remove(filepath.Join(src, "deleted.txt")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(src, "staged.txt"), "staged\n", 0o644)
	git(t, src, "add", "staged.txt")
	write(t, filepath.Join(src, "untracked.txt"), "untracked\n", 0o644)
	write(t, filepath.Join(src, "untracked-dir", "u.sh"), "#!/bin/sh\n", 0o700)
	write(t, filepath.Join(src, "x.ignored"), "ignored\n", 0o644)
	write(t, filepath.Join(src, "ignored-dir", "f.txt"), "ignored\n", 0o644)
	write(t, filepath.Join(src, "sub", "local-ignored"), "ignored\n", 0o644)
	write(t, filepath.Join(src, ".gantry", "runs", "1.json"), "{}\n", 0o644)
	return src
}

func prepare(t *testing.T, e runner.Executor, src string) runner.Workspace {
	t.Helper()
	ws, _ := executortest.Prepare(t, e, src)
	return ws
}

func TestPrepareGit(t *testing.T) {
	t.Parallel()
	src := gitSource(t)
	before := executortest.TreeHash(t, filepath.Dir(src))
	ws := prepare(t, newExecutor(t, time.Second), src)
	dir := ws.HostDir()

	if got, want := filepath.Base(dir), "repo"; got != want {
		t.Errorf("workspace directory named %q, want %q (the source's name)", got, want)
	}
	for _, tc := range []struct {
		path, content string
		mode          fs.FileMode
	}{
		{path: "tracked.txt", content: "v3 uncommitted\n", mode: 0o640},
		{path: "tool.sh", content: "#!/bin/sh\necho tool\n", mode: 0o755},
		{path: "dir/nested/deep.txt", content: "deep\n", mode: 0o644},
		{path: "name with space.txt", content: "space\n", mode: 0o644},
		{path: "new\nline.txt", content: "newline\n", mode: 0o644},
		{path: "staged.txt", content: "staged\n", mode: 0o644},
		{path: "untracked.txt", content: "untracked\n", mode: 0o644},
		{path: "untracked-dir/u.sh", content: "#!/bin/sh\n", mode: 0o700},
		{path: ".gitignore", content: "*.ignored\nignored-dir/\n", mode: 0o644},
	} {
		p := filepath.Join(dir, tc.path)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%q: %v", tc.path, err)
			continue
		}
		if string(b) != tc.content {
			t.Errorf("%q holds %q, want %q", tc.path, b, tc.content)
		}
		if fi, err := os.Lstat(p); err != nil || fi.Mode() != tc.mode {
			t.Errorf("%q has mode %v, want %v", tc.path, fi.Mode(), tc.mode)
		}
	}
	for _, p := range []string{"deleted.txt", "x.ignored", "ignored-dir", "sub/local-ignored", ".gantry"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%q is in the workspace (%v); want it absent", p, err)
		}
	}
	for link, target := range map[string]string{
		"link-in": "tracked.txt", "link-dir": "dir", "link-out": "../outside.txt", "link-abs": "/etc/hostname",
	} {
		fi, err := os.Lstat(filepath.Join(dir, link))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%q is not a symbolic link in the workspace: %v, %v", link, fi, err)
			continue
		}
		if got, _ := os.Readlink(filepath.Join(dir, link)); got != target {
			t.Errorf("%q points to %q, want %q", link, got, target)
		}
	}

	// History, refs and the index came along.
	if got, want := wsGit(t, ws, "", "rev-parse", "HEAD"), git(t, src, "rev-parse", "HEAD"); got != want {
		t.Errorf("HEAD in the workspace is %s, want %s", got, want)
	}
	if got, want := wsGit(t, ws, "", "log", "--format=%s"), "second\nfirst"; got != want {
		t.Errorf("git log in the workspace:\n%s\nwant:\n%s", got, want)
	}
	if got, want := wsGit(t, ws, "", "describe", "--tags"), "v2"; got != want {
		t.Errorf("git describe in the workspace = %q, want %q", got, want)
	}
	if got, want := status(t, dir, ws), status(t, src, nil, ".gantry/"); got != want {
		t.Errorf("git status in the workspace:\n%s\nwant (as in the source):\n%s", got, want)
	}

	// Steps may do anything to the workspace's repository.
	executortest.MustSh(t, ws, `set -e
export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@b
git add -A && git commit -q -m third
git checkout -q -b other && git tag -d v2 && git branch -D main
git gc -q --prune=now && git repack -a -d -q
echo x > dir/nested/deep.txt && rm -f link-in tool.sh && chmod 600 tracked.txt
git log --oneline >/dev/null`)
	if err := ws.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after := executortest.TreeHash(t, filepath.Dir(src)); after != before {
		t.Errorf("the source changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got := git(t, src, "rev-parse", "HEAD"); got == "" {
		t.Error("the source lost its HEAD")
	}
	git(t, src, "fsck", "--no-progress")
}

func TestPrepareGitWorktree(t *testing.T) {
	t.Parallel()
	src := gitSource(t)
	wt := filepath.Join(filepath.Dir(src), "wt")
	git(t, src, "worktree", "add", "-q", "-b", "feature", wt)
	write(t, filepath.Join(wt, "feature.txt"), "feature\n", 0o644)
	git(t, wt, "add", "feature.txt")
	git(t, wt, "commit", "-q", "-m", "feature")
	write(t, filepath.Join(wt, "wip.txt"), "wip\n", 0o644)
	git(t, wt, "add", "wip.txt")
	before := executortest.TreeHash(t, filepath.Dir(src))

	ws := prepare(t, newExecutor(t, time.Second), wt)
	if fi, err := os.Lstat(filepath.Join(ws.HostDir(), ".git")); err != nil || !fi.IsDir() {
		t.Fatalf("the workspace's .git is not a directory of its own: %v, %v", fi, err)
	}
	if got, want := wsGit(t, ws, "", "rev-parse", "--abbrev-ref", "HEAD"), "feature"; got != want {
		t.Errorf("branch in the workspace %q, want %q", got, want)
	}
	if got, want := wsGit(t, ws, "", "rev-parse", "HEAD"), git(t, wt, "rev-parse", "HEAD"); got != want {
		t.Errorf("HEAD in the workspace is %s, want %s", got, want)
	}
	if got, want := status(t, ws.Dir(), ws), status(t, wt, nil); got != want {
		t.Errorf("git status in the workspace:\n%s\nwant (as in the work tree):\n%s", got, want)
	}
	executortest.MustSh(t, ws, `GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@b git commit -q -m more && git worktree prune`)
	if err := ws.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after := executortest.TreeHash(t, filepath.Dir(src)); after != before {
		t.Errorf("the repository or its work trees changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestPrepareSubmodule(t *testing.T) {
	t.Parallel()
	needGit(t)
	parent := t.TempDir()
	lib := filepath.Join(parent, "lib")
	git(t, parent, "init", "-q", lib)
	write(t, filepath.Join(lib, "lib.txt"), "lib\n", 0o644)
	git(t, lib, "add", "-A")
	git(t, lib, "commit", "-q", "-m", "lib")
	src := filepath.Join(parent, "app")
	git(t, parent, "init", "-q", src)
	write(t, filepath.Join(src, "app.txt"), "app\n", 0o644)
	git(t, src, "submodule", "add", "-q", lib, "mod")
	git(t, src, "commit", "-q", "-m", "app with lib")
	write(t, filepath.Join(src, "mod", "wip.txt"), "wip\n", 0o644)
	before := executortest.TreeHash(t, parent)

	ws := prepare(t, newExecutor(t, time.Second), src)
	mod := filepath.Join(ws.HostDir(), "mod")
	for _, p := range []string{"lib.txt", "wip.txt"} {
		if _, err := os.Stat(filepath.Join(mod, p)); err != nil {
			t.Errorf("submodule file %q: %v", p, err)
		}
	}
	if got, want := wsGit(t, ws, "mod", "rev-parse", "--show-toplevel"), filepath.Join(ws.Dir(), "mod"); got != want {
		t.Errorf("the submodule's work tree is %q, want %q (its copy)", got, want)
	}
	if got, want := wsGit(t, ws, "mod", "rev-parse", "HEAD"), git(t, filepath.Join(src, "mod"), "rev-parse", "HEAD"); got != want {
		t.Errorf("submodule HEAD %s, want %s", got, want)
	}
	if got, want := status(t, ws.Dir(), ws), status(t, src, nil); got != want {
		t.Errorf("git status in the workspace:\n%s\nwant:\n%s", got, want)
	}
	executortest.MustSh(t, ws, `cd mod && rm lib.txt && GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@b git commit -q -am gone && git checkout -q -b x`)
	if err := ws.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after := executortest.TreeHash(t, parent); after != before {
		t.Errorf("the source changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestPreparePlain(t *testing.T) {
	t.Parallel()
	src := filepath.Join(t.TempDir(), "plain")
	write(t, filepath.Join(src, "a.txt"), "a\n", 0o644)
	write(t, filepath.Join(src, "x.ignored"), "not a git repository: nothing is ignored\n", 0o644)
	write(t, filepath.Join(src, "bin", "run"), "#!/bin/sh\n", 0o750)
	write(t, filepath.Join(src, ".git", "HEAD"), "ref: refs/heads/main\n", 0o644) // not a repository
	write(t, filepath.Join(src, "vendor", "x", ".git", "config"), "", 0o644)
	write(t, filepath.Join(src, "vendor", "x", "x.go"), "package x\n", 0o644)
	write(t, filepath.Join(src, ".gantry", "runs", "1.json"), "{}\n", 0o644)
	write(t, filepath.Join(src, "sub", ".gantry"), "only the top .gantry is skipped\n", 0o644)
	if err := os.MkdirAll(filepath.Join(src, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlink(t, "/", filepath.Join(src, "root-link"))
	symlink(t, "a.txt", filepath.Join(src, "a-link"))
	if err := syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := executortest.TreeHash(t, src)

	ws := prepare(t, newExecutor(t, time.Second), src)
	want := executortest.TreeHash(t, src)
	want = strings.Join(slices.DeleteFunc(strings.SplitAfter(want, "\n"), func(l string) bool {
		return strings.HasPrefix(l, ".git") || strings.HasPrefix(l, ".gantry") || strings.HasPrefix(l, "vendor/x/.git") ||
			strings.HasPrefix(l, "fifo ") || strings.HasPrefix(l, ". ")
	}), "")
	got := executortest.TreeHash(t, ws.HostDir())
	got = strings.Join(slices.DeleteFunc(strings.SplitAfter(got, "\n"), func(l string) bool {
		return strings.HasPrefix(l, ". ")
	}), "")
	if got != want {
		t.Errorf("workspace:\n%s\nwant:\n%s", got, want)
	}
	if err := ws.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after := executortest.TreeHash(t, src); after != before {
		t.Errorf("the source changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestPrepareTempDirInSource(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		src  func(t *testing.T) string
	}{
		{name: "plain", src: executortest.Source},
		{name: "git", src: gitSource},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := tc.src(t)
			tmp := filepath.Join(src, "tmp")
			e := host.New(host.Options{TempDir: tmp})
			first := prepare(t, e, src)
			second := prepare(t, e, src)
			for _, ws := range []runner.Workspace{first, second} {
				if _, err := os.Lstat(filepath.Join(ws.HostDir(), "tmp")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the temp directory was copied into the workspace: %v", err)
				}
			}
			if _, err := host.New(host.Options{TempDir: src}).Prepare(t.Context(), nil,
				runner.WorkspaceSpec{Source: src, StateDir: t.TempDir()}); err == nil {
				t.Error("Prepare with the source as temp directory succeeded")
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	write(t, file, "", 0o644)
	for _, tc := range []struct {
		name string
		spec runner.WorkspaceSpec
		want string
	}{
		{name: "missing source", spec: runner.WorkspaceSpec{Source: "/gantry/no/such/dir", StateDir: t.TempDir()}, want: "no/such/dir"},
		{name: "source is a file", spec: runner.WorkspaceSpec{Source: file, StateDir: t.TempDir()}, want: "not a directory"},
		{name: "no source", spec: runner.WorkspaceSpec{StateDir: t.TempDir()}, want: "empty source"},
		{name: "no state directory", spec: runner.WorkspaceSpec{Source: t.TempDir()}, want: "empty state"},
		{name: "state directory is a file", spec: runner.WorkspaceSpec{Source: t.TempDir(), StateDir: file}, want: "state directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			ws, err := host.New(host.Options{TempDir: tmp}).Prepare(t.Context(), &dag.Node{ID: "build"}, tc.spec)
			if err == nil {
				ws.Release(t.Context())
				t.Fatal("Prepare succeeded")
			}
			if ws != nil {
				t.Errorf("Prepare returned a workspace with its error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"build"`) {
				t.Errorf("error %q does not say %q and name the node", err, tc.want)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("a failed Prepare left %v in the temp directory", left)
			}
		})
	}
}

// TestEnvIsolation is not parallel: it sets a variable in the test process.
func TestEnvIsolation(t *testing.T) {
	t.Setenv("GANTRY_LEAK_TEST", "leaked")
	ws := prepare(t, newExecutor(t, time.Second), "")
	for _, env := range [][]string{nil, {}, {"PATH=" + executortest.Path()}} {
		r := executortest.Exec(t.Context(), ws, runner.Command{
			Argv: []string{"sh", "-c", `echo "${GANTRY_LEAK_TEST-unset} ${HOME-unset}"; env`},
			Env:  env,
		})
		if r.Err != nil || r.Code != 0 {
			t.Fatalf("Env %q: exit %d, error %v, stderr %q", env, r.Code, r.Err, r.Stderr)
		}
		first, rest, _ := strings.Cut(r.Stdout, "\n")
		if first != "unset unset" {
			t.Errorf("Env %q: the command saw %q of the test process's environment", env, first)
		}
		for _, kv := range strings.Split(strings.TrimSpace(rest), "\n") {
			// sh adds PWD (and bash SHLVL and _) itself.
			if k, _, _ := strings.Cut(kv, "="); kv != "" && k != "PWD" && !slices.Contains(env, kv) {
				t.Errorf("Env %q: the command has %q", env, kv)
			}
		}
	}
}

func TestExecLookPath(t *testing.T) {
	t.Parallel()
	ws := prepare(t, newExecutor(t, time.Second), "")
	bin := t.TempDir() // on no PATH but the command's
	write(t, filepath.Join(bin, "gantry-tool"), "#!/bin/sh\necho tool in bin\n", 0o755)
	write(t, filepath.Join(bin, "gantry-noexec"), "#!/bin/sh\n", 0o644)
	write(t, filepath.Join(ws.HostDir(), "local", "gantry-local"), "#!/bin/sh\necho local\n", 0o755)
	path := "PATH=" + bin + ":" + executortest.Path()

	for _, tc := range []struct {
		name string
		argv []string
		env  []string
		dir  string
		want string // stdout; "" for an error
	}{
		{name: "PATH of the command", argv: []string{"gantry-tool"}, env: []string{path}, want: "tool in bin\n"},
		{name: "last PATH wins", argv: []string{"gantry-tool"}, env: []string{"PATH=/nowhere", path}, want: "tool in bin\n"},
		{name: "relative PATH entry", argv: []string{"gantry-local"}, env: []string{"PATH=local"}, want: "local\n"},
		{name: "relative to Dir", argv: []string{"./gantry-local"}, dir: "local", want: "local\n"},
		{name: "default PATH", argv: []string{"sh", "-c", "echo default"}, want: "default\n"},
		{name: "not on PATH", argv: []string{"gantry-tool"}, env: []string{"PATH=/nowhere"}},
		{name: "not executable", argv: []string{"gantry-noexec"}, env: []string{path}},
		{name: "empty PATH", argv: []string{"gantry-tool"}, env: []string{"PATH="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := executortest.Exec(t.Context(), ws, runner.Command{Argv: tc.argv, Env: tc.env, Dir: tc.dir})
			if tc.want == "" {
				if r.Err == nil {
					t.Fatalf("exit %d and no error, want an error", r.Code)
				}
				if !errors.Is(r.Err, exec.ErrNotFound) || !strings.Contains(r.Err.Error(), `"`+tc.argv[0]+`"`) {
					t.Errorf("error %q: want exec.ErrNotFound naming %q", r.Err, tc.argv[0])
				}
				return
			}
			if r.Err != nil || r.Code != 0 || r.Stdout != tc.want {
				t.Errorf("exit %d, error %v, stdout %q; want 0, nil, %q", r.Code, r.Err, r.Stdout, tc.want)
			}
		})
	}
}

// liveInGroup lists the processes of a group that are alive (zombies are
// dead: where nothing reaps orphans they stay).
func liveInGroup(t *testing.T, pgid int) []string {
	t.Helper()
	if runtime.GOOS != "linux" {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return []string{"(some)"}
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if fields[2] == strconv.Itoa(pgid) && fields[0] != "Z" && fields[0] != "X" {
			live = append(live, e.Name()+" "+s[:strings.LastIndexByte(s, ')')+1]+" "+fields[0])
		}
	}
	return live
}

// startCancellable starts script, whose first line of output must be its
// process group id ($$, the leader's pid), and returns the group and
// channels with Exec's result.
func startCancellable(t *testing.T, ctx context.Context, ws runner.Workspace, script string) (int, <-chan error, <-chan int) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close() })
	errc := make(chan error, 1)
	codec := make(chan int, 1)
	go func() {
		code, err := ws.Exec(ctx, runner.Command{
			Argv:   []string{"sh", "-c", script},
			Env:    []string{"PATH=" + executortest.Path()},
			Stdout: pw,
		})
		pw.Close()
		codec <- code
		errc <- err
	}()
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := pr.Read(b); err != nil {
			t.Fatalf("reading the group id: %v", err)
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	pgid, err := strconv.Atoi(string(line))
	if err != nil {
		t.Fatalf("group id %q: %v", line, err)
	}
	return pgid, errc, codec
}

func TestCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	const grace = 2 * time.Second
	for _, tc := range []struct {
		name     string
		script   string
		min, max time.Duration // how long Exec takes after cancel
		code     int
	}{
		{
			name:   "children end on SIGTERM",
			script: "echo $$; sleep 100 & sleep 100 & (sleep 100; echo never) & sleep 100; wait",
			max:    grace / 2, code: 128 + 15,
		},
		{
			name:   "children ignore SIGTERM",
			script: `trap "" TERM; echo $$; sleep 100 & sh -c 'sleep 100' & sleep 100; wait`,
			min:    grace, max: grace + 2*time.Second, code: 128 + 9,
		},
		{
			name:   "a child that ignores SIGTERM outlives its shell",
			script: `echo $$; (trap "" TERM; sleep 100 >/dev/null 2>&1 &); sleep 100`,
			min:    grace, max: grace + 2*time.Second, code: 128 + 15,
		},
		{
			name:   "stopped shell that traps SIGTERM",
			script: `trap "exit 7" TERM; echo $$; sleep 100 & kill -STOP $$; wait`,
			max:    grace / 2, code: 7,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws := prepare(t, newExecutor(t, grace), "")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			pgid, errc, codec := startCancellable(t, ctx, ws, tc.script)
			time.Sleep(100 * time.Millisecond) // let the children start
			if live := liveInGroup(t, pgid); len(live) < 2 {
				t.Fatalf("before cancelling, the group has %q", live)
			}
			start := time.Now()
			cancel()
			var err error
			select {
			case err = <-errc:
			case <-time.After(tc.max + 5*time.Second):
				t.Fatalf("Exec did not return %v after cancel", tc.max+5*time.Second)
			}
			took := time.Since(start)
			if took < tc.min || took > tc.max {
				t.Errorf("Exec returned %v after cancel, want between %v and %v", took, tc.min, tc.max)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
			if code := <-codec; code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			if live := liveInGroup(t, pgid); len(live) > 0 {
				t.Errorf("processes of the group survived: %q", live)
			}
		})
	}
}

func TestCancelCause(t *testing.T) {
	t.Parallel()
	ws := prepare(t, newExecutor(t, time.Second), "")
	errBoom := errors.New("node b failed")
	ctx, cancel := context.WithCancelCause(t.Context())
	_, errc, _ := startCancellable(t, ctx, ws, "echo $$; sleep 100")
	cancel(errBoom)
	if err := <-errc; !errors.Is(err, errBoom) {
		t.Errorf("error %v, want one wrapping the cause %v", err, errBoom)
	}
}

func TestBackgroundProcess(t *testing.T) {
	t.Parallel()
	const grace = 500 * time.Millisecond
	ws := prepare(t, newExecutor(t, grace), "")

	// A step starts a server for the next steps: Exec returns at once.
	start := time.Now()
	r := executortest.Sh(t.Context(), ws, "sleep 100 >/dev/null 2>&1 & echo $$")
	if r.Err != nil || r.Code != 0 {
		t.Fatalf("exit %d, error %v", r.Code, r.Err)
	}
	if took := time.Since(start); took > grace {
		t.Errorf("Exec took %v with a background process that holds no output", took)
	}
	server, _ := strconv.Atoi(strings.TrimSpace(r.Stdout))

	// One that keeps the output open holds Exec up for the grace period.
	start = time.Now()
	r = executortest.Sh(t.Context(), ws, "sleep 100 & echo $$")
	if r.Err != nil || r.Code != 0 {
		t.Fatalf("exit %d, error %v", r.Code, r.Err)
	}
	if took := time.Since(start); took < grace || took > grace+time.Second {
		t.Errorf("Exec took %v with a background process that holds its output, want the grace period %v", took, grace)
	}
	holder, _ := strconv.Atoi(strings.TrimSpace(r.Stdout))

	for _, pgid := range []int{server, holder} {
		if live := liveInGroup(t, pgid); len(live) == 0 {
			t.Fatalf("the background process of group %d is gone before Release", pgid)
		}
	}
	if err := ws.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, pgid := range []int{server, holder} {
		if live := liveInGroup(t, pgid); len(live) > 0 {
			t.Errorf("Release left processes running: %q", live)
		}
	}
}

// laterCtx is cancelled from its nth check of Err on.
type laterCtx struct {
	context.Context
	n atomic.Int32
}

func (c *laterCtx) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

func TestFailedPrepareLeavesNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		source func(t *testing.T) string
		ctx    func(t *testing.T) context.Context
		want   string
	}{
		{
			name: "cancelled half way",
			source: func(t *testing.T) string {
				src := t.TempDir()
				for i := range 600 {
					write(t, filepath.Join(src, fmt.Sprintf("d%d", i%7), fmt.Sprintf("f%03d", i)), "x", 0o644)
				}
				return src
			},
			ctx: func(t *testing.T) context.Context {
				// Checked once before copying, then every 256 files.
				ctx := &laterCtx{Context: t.Context()}
				ctx.n.Store(3)
				return ctx
			},
			want: context.Canceled.Error(),
		},
		{
			name: "unreadable file",
			source: func(t *testing.T) string {
				if os.Getuid() == 0 {
					t.Skip("root reads anything")
				}
				src := executortest.Source(t)
				write(t, filepath.Join(src, "zz", "secret"), "", 0o000)
				return src
			},
			ctx:  func(t *testing.T) context.Context { return t.Context() },
			want: "secret",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			e := host.New(host.Options{TempDir: tmp})
			ws, err := e.Prepare(tc.ctx(t), nil, runner.WorkspaceSpec{Source: tc.source(t), StateDir: t.TempDir()})
			if err == nil {
				ws.Release(t.Context())
				t.Fatal("Prepare succeeded")
			}
			if ws != nil {
				t.Error("Prepare returned a workspace with its error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("a failed Prepare left %v", left)
			}
		})
	}
}

func ExampleNew() {
	e := host.New(host.Options{KillGrace: 2 * time.Second})
	defer e.Close() // what the run's workspaces shared
	ctx := context.Background()
	src, _ := os.MkdirTemp("", "example-src-")
	defer os.RemoveAll(src)
	os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello\n"), 0o644)
	ws, err := e.Prepare(ctx, &dag.Node{ID: "build"}, runner.WorkspaceSpec{
		Source:   src,
		StateDir: filepath.Join(src, ".gantry", "state", "build"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.Release(ctx)
	code, err := ws.Exec(ctx, runner.Command{
		Argv:   []string{"sh", "-c", "cat hello.txt; exit 3"},
		Env:    []string{"PATH=/usr/bin:/bin"},
		Stdout: os.Stdout,
	})
	fmt.Println(code, err)
	// Output:
	// hello
	// 3 <nil>
}

// TestPrepareWithoutGit is not parallel: it empties PATH.
func TestPrepareWithoutGit(t *testing.T) {
	gitSrc := gitSource(t)
	plain := executortest.Source(t)
	t.Setenv("PATH", t.TempDir())
	e := newExecutor(t, time.Second)
	if _, err := e.Prepare(t.Context(), nil, runner.WorkspaceSpec{Source: gitSrc, StateDir: t.TempDir()}); err == nil ||
		!errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "git is needed") {
		t.Errorf("Prepare of a git repository without git: %v; want an error saying git is needed", err)
	}
	ws := prepare(t, e, plain)
	if _, err := os.Stat(filepath.Join(ws.HostDir(), "hello.txt")); err != nil {
		t.Errorf("Prepare of a plain directory without git: %v", err)
	}
}

// A tracked file whose directory the work tree has replaced with a link out
// of the tree: the link is copied as a link, nothing is read or written
// through it.
func TestPrepareLinkReplacesTrackedDir(t *testing.T) {
	t.Parallel()
	needGit(t)
	parent := t.TempDir()
	src := filepath.Join(parent, "repo")
	git(t, parent, "init", "-q", src)
	write(t, filepath.Join(src, "d", "f.txt"), "tracked\n", 0o644)
	git(t, src, "add", "-A")
	git(t, src, "commit", "-q", "-m", "d")
	outside := filepath.Join(parent, "outside")
	write(t, filepath.Join(outside, "f.txt"), "outside\n", 0o644)
	if err := os.RemoveAll(filepath.Join(src, "d")); err != nil {
		t.Fatal(err)
	}
	symlink(t, outside, filepath.Join(src, "d"))
	before := executortest.TreeHash(t, parent)

	ws := prepare(t, newExecutor(t, time.Second), src)
	if got, err := os.Readlink(filepath.Join(ws.HostDir(), "d")); err != nil || got != outside {
		t.Errorf("d in the workspace: %q, %v; want a link to %q", got, err, outside)
	}
	if err := ws.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after := executortest.TreeHash(t, parent); after != before {
		t.Errorf("the source or the link's target changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
