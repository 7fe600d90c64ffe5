package runner

import (
	"bytes"
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
