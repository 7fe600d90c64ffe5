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

// TestTextReporterKeepsStatusWhole: only the prefix is shortened to the
// column; a step's name and a node's failure reason print whole, however
// long, so the terminal wraps them and their end is never lost.
func TestTextReporterKeepsStatusWhole(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	r := &TextReporter{Out: &b, Color: true, Width: 12}
	id := "test-integration-with-a-long-id.ubuntu-24"
	step := "a step whose name is long enough to reach past the right edge of an eighty column terminal"
	reason := fmt.Sprintf("step %q failed with exit code 3", step) + strings.Repeat(" and more", 20) + " END"
	r.StepFinished(id, step, dag.StatusFailure, 0)
	r.NodeFinished(NodeResult{ID: id, Name: id, Status: dag.StatusFailure, Reason: reason})
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %d:\n%s", len(lines), b.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, "[test-…ntu-24]") {
			t.Errorf("prefix not shortened to 12: %q", l)
		}
	}
	if !strings.HasSuffix(lines[0], step+" (\x1b[31mfailure\x1b[0m)") {
		t.Errorf("the failed step's line lost its end: %q", lines[0])
	}
	if !strings.HasSuffix(lines[1], "("+reason+")") {
		t.Errorf("the failure reason lost its end: %q", lines[1])
	}
}
