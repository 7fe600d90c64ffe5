package runner

import (
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
)

// FuzzWorkflowCommand: any line a step prints is either a command or a
// line, never a panic; what a command stores has a name, and an add-mask
// never leaves its value in the output.
func FuzzWorkflowCommand(f *testing.F) {
	for _, seed := range []string{
		"::set-output name=v::hello%0Aworld", "::save-state name=s::x", "::set-env name=X::1", "::add-path::/bin",
		"::add-mask::hunter2", "::error file=a.go,line=3,col=4::boom", "::group::g", "::endgroup::", "::stop-commands::tok",
		"::warning ::w", "::", "::::", "::set-output::", "::set-output name=::v", "::debug::%25%0D",
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, line string, unsecure bool) {
		r := &run{opts: Options{Reporter: &TextReporter{Out: discard{}}, Masker: &Masker{}}}
		j := &job{r: r, n: &dag.Node{ID: "n"}, behavior: dag.Behavior{WorkflowCommands: true}}
		cmds := newCommands(nil)
		cmds.unsecure = unsecure
		stop := ""
		j.workflowCommand(line, cmds, &stop)
		for k := range cmds.outputs {
			if k == "" {
				t.Fatalf("%q stored an output with no name", line)
			}
		}
		if strings.HasPrefix(line, "::add-mask::") {
			// One-line values of two characters or more are masked (one
			// character would garble every line; see Masker.Add).
			v := unescapeData(strings.TrimPrefix(line, "::add-mask::"))
			if len(v) > 1 && !strings.ContainsAny(v, "*\r\n") && strings.Contains(r.opts.Masker.Mask("x"+v+"y"), v) {
				t.Fatalf("%q: the masked value is still shown", line)
			}
		}
	})
}

// FuzzRepositoryOf: any remote URL gives "" or a path of at least two
// parts with no "..", never a panic.
func FuzzRepositoryOf(f *testing.F) {
	for _, seed := range []string{"https://github.com/o/r.git", "git@github.com:o/r.git", "ssh://git@h:22/g/s/p", "/srv/x", "file:///x", "::", "a@b:c"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, remote string) {
		got := repositoryOf(remote)
		if got == "" {
			return
		}
		if !strings.Contains(got, "/") || strings.Contains(got, "..") || strings.HasPrefix(got, "/") {
			t.Fatalf("repositoryOf(%q) = %q", remote, got)
		}
	})
}

// FuzzWantedPlatform: any labels give a known OS and architecture or none.
func FuzzWantedPlatform(f *testing.F) {
	for _, seed := range []string{"ubuntu-latest", "macos-14", "self-hosted,linux,ARM64", "windows-2022", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, labels string) {
		goos, goarch := wantedPlatform(labels)
		if goos != "" && osNames[goos] == "" {
			t.Fatalf("%q: unknown os %q", labels, goos)
		}
		switch goarch {
		case "", "amd64", "arm64", "arm":
		default:
			t.Fatalf("%q: unknown arch %q", labels, goarch)
		}
		_ = platformMismatch(labels, nil)
	})
}
