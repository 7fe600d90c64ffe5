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

// benchSource makes a source of 1,000 small files in 30 directories; as a
// git repository, with a few commits and a few untracked and ignored
// files.
func benchSource(b *testing.B, withGit bool) string {
	b.Helper()
	src := filepath.Join(b.TempDir(), "repo")
	for i := range 1000 {
		mode := os.FileMode(0o644)
		if i%50 == 0 {
			mode = 0o755
		}
		write(b, filepath.Join(src, fmt.Sprintf("pkg%02d", i%30), fmt.Sprintf("file%04d.go", i)),
			strings.Repeat(fmt.Sprintf("// file %d\n", i), 20), mode)
	}
	if !withGit {
		return src
	}
	needGit(b)
	write(b, filepath.Join(src, ".gitignore"), "*.out\n", 0o644)
	git(b, src, "init", "-q")
	git(b, src, "add", "-A")
	git(b, src, "commit", "-q", "-m", "one")
	for c := range 3 {
		for i := c; i < 1000; i += 10 {
			write(b, filepath.Join(src, fmt.Sprintf("pkg%02d", i%30), fmt.Sprintf("file%04d.go", i)), fmt.Sprintf("// commit %d\n", c), 0o644)
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

func BenchmarkPrepare(b *testing.B) {
	for _, withGit := range []bool{true, false} {
		name := map[bool]string{true: "git", false: "plain"}[withGit]
		b.Run(name, func(b *testing.B) {
			src := benchSource(b, withGit)
			e := host.New(host.Options{TempDir: b.TempDir()})
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
		})
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
