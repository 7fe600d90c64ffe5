package host_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/executortest"
	"github.com/gantry-ci/gantry/runner/host"
)

// benchSourceN makes a source of files small files in files/33
// directories; as a git repository, with a few commits and a few
// untracked and ignored files.
func benchSourceN(b *testing.B, withGit bool, files int) string {
	b.Helper()
	src := filepath.Join(b.TempDir(), "repo")
	for i := range files {
		mode := os.FileMode(0o644)
		if i%50 == 0 {
			mode = 0o755
		}
		write(b, filepath.Join(src, fmt.Sprintf("pkg%03d", i%(files/33)), fmt.Sprintf("file%05d.go", i)),
			strings.Repeat(fmt.Sprintf("// file %d\n", i), 20), mode)
	}
	if !withGit {
		return src
	}
	needGit(b)
	write(b, filepath.Join(src, ".gitignore"), "*.out\n", 0o644)
	git(b, src, "init", "-q")
	git(b, src, "config", "gc.auto", "0")
	git(b, src, "add", "-A")
	git(b, src, "commit", "-q", "-m", "one")
	for c := range 3 {
		for i := c; i < files; i += 10 {
			write(b, filepath.Join(src, fmt.Sprintf("pkg%03d", i%(files/33)), fmt.Sprintf("file%05d.go", i)), fmt.Sprintf("// commit %d\n", c), 0o644)
		}
		git(b, src, "commit", "-q", "-am", fmt.Sprint(c))
	}
	git(b, src, "gc", "-q")
	for i := range 10 {
		write(b, filepath.Join(src, fmt.Sprintf("untracked%d.go", i)), "package x\n", 0o644)
		write(b, filepath.Join(src, fmt.Sprintf("ignored%d.out", i)), "x\n", 0o644)
	}
	return src
}

// BenchmarkPrepare: a job's workspace (Prepare, then Release outside the
// timing) of a git repository and of a plain directory of 1,000 files, for
// each strategy that can run here (reflink: set TMPDIR to a btrfs or XFS
// filesystem). The run's snapshot is made before the timing: what is
// timed is what each job costs.
func BenchmarkPrepare(b *testing.B) {
	for _, bc := range []struct {
		files int
		git   bool
	}{{1000, true}, {1000, false}, {20000, true}} {
		for _, s := range []host.Strategy{host.Overlay, host.Reflink, host.Copy} {
			name := fmt.Sprintf("%s/%s/%d", s, map[bool]string{true: "git", false: "plain"}[bc.git], bc.files)
			b.Run(name, func(b *testing.B) { benchPrepare(b, s, bc.files, bc.git) })
		}
	}
}

func benchPrepare(b *testing.B, s host.Strategy, files int, withGit bool) {
	{
		{
			src := benchSourceN(b, withGit, files)
			e := host.New(host.Options{TempDir: b.TempDir(), Workspace: s})
			defer e.Close()
			if _, _, err := e.Workspaces(src); err != nil {
				b.Skip(err)
			}
			first := time.Now()
			ws, err := e.Prepare(b.Context(), nil, runner.WorkspaceSpec{Source: src, StateDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			firstTook := time.Since(first)
			ws.Release(b.Context())
			spec := runner.WorkspaceSpec{Source: src, StateDir: b.TempDir()}
			var release time.Duration
			for b.Loop() {
				ws, err := e.Prepare(b.Context(), nil, spec)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				start := time.Now()
				if err := ws.Release(b.Context()); err != nil {
					b.Fatal(err)
				}
				release += time.Since(start)
				b.StartTimer()
			}
			b.ReportMetric(float64(release.Nanoseconds())/float64(b.N), "release-ns/op")
			// The first Prepare lists the checkout and makes the run's
			// snapshot (overlay: its layer).
			b.ReportMetric(float64(firstTook.Microseconds())/1000, "first-ms")
		}
	}
}

func BenchmarkExec(b *testing.B) {
	e := host.New(host.Options{TempDir: b.TempDir()})
	ws, err := e.Prepare(b.Context(), nil, runner.WorkspaceSpec{Source: b.TempDir(), StateDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Release(b.Context())
	env := []string{"PATH=" + executortest.Path()}
	for _, bc := range []struct {
		name string
		out  io.Writer
	}{
		{name: "no-output"},               // /dev/null
		{name: "writer", out: io.Discard}, // through pipes and copying goroutines
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				code, err := ws.Exec(b.Context(), runner.Command{Argv: []string{"true"}, Env: env, Stdout: bc.out, Stderr: bc.out})
				if err != nil || code != 0 {
					b.Fatal(code, err)
				}
			}
		})
	}
}
