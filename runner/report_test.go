package runner

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
)

func TestTextReporterFolds(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	r := &TextReporter{Out: &b, Fold: true}
	r.Group("a", "install")
	r.Line("a", "stdout", "line 1")
	r.Line("a", "stdout", "line 2")
	r.EndGroup("a")
	r.StepFinished("a", "ok step", dag.StatusSuccess, 0)
	r.Group("a", "build")
	r.Line("a", "stdout", "compiler error")
	r.StepFinished("a", "bad step", dag.StatusFailure, 0)
	got := b.String()
	for _, want := range []string{"▸ install (2 lines folded)", "▼ build", "compiler error", "✗ bad step (failure)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "line 1") {
		t.Errorf("a folded group's lines were printed:\n%s", got)
	}
}

// TestTextReporterColours: on a terminal the status marks and words are
// coloured as they read (a failure red, a success green, a skip dim), the
// prefixes never green or red, and a name longer than the prefix column is
// shortened in its middle.
func TestTextReporterColours(t *testing.T) {
	var b strings.Builder
	r := &TextReporter{Out: &b, Color: true, Width: 12}
	for i := range len(palette) + 1 {
		r.NodeStarted(fmt.Sprintf("n%d", i), "n")
	}
	r.NodeFinished(NodeResult{ID: "n0", Name: "n0", Status: dag.StatusFailure})
	r.NodeFinished(NodeResult{ID: "n1", Name: "n1", Status: dag.StatusSuccess})
	r.NodeFinished(NodeResult{ID: "n2", Name: "n2", Status: dag.StatusSkipped})
	r.Line("test-integration-ubuntu-24", "stdout", "x")
	out := b.String()
	for _, want := range []string{"\x1b[31m✗\x1b[0m n0: \x1b[31mfailure\x1b[0m", "\x1b[32m✓\x1b[0m", "\x1b[90mskipped\x1b[0m", "[test-…ntu-24]"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, c := range palette {
		if c == 31 || c == 32 || c == 91 || c == 92 {
			t.Errorf("prefix colour %d is one that says how a node went", c)
		}
	}
	if got := shorten("abcdefghij", 7); got != "abc…hij" {
		t.Errorf("shorten = %q", got)
	}
	if got := shorten("short", 12); got != "short" {
		t.Errorf("shorten of a short name = %q", got)
	}
}
