package runner_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/dag"
)

// Background steps as GitHub runs them (workflow syntax, steps[*].background,
// wait, wait-all, cancel; changelog 2026-06-25): a background step starts
// and the next runs at once; its outputs and outcome are known after a wait;
// cancel stops it; the job's result accounts for it.
func TestBackgroundSteps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		steps  string
		status dag.Status
		// stdout must hold these lines, in this order (others may be between).
		stdout []string
		// within bounds the node's duration.
		within time.Duration
	}{{
		name: "the next step runs while a background step does; wait gives its outputs",
		steps: `
      - {id: bg, background: true, run: 'sleep 0.5; echo "v=late" >> "$GITHUB_OUTPUT"; echo bg-done'}
      - {run: 'echo fg-ran'}
      - {wait: [bg]}
      - {run: 'echo "after ${{ steps.bg.outputs.v }} ${{ steps.bg.outcome }}"'}`,
		status: dag.StatusSuccess,
		stdout: []string{"fg-ran", "[bg] bg-done", "after late success"},
	}, {
		name: "cancel stops a background step, and the job goes on",
		steps: `
      - {id: server, background: true, run: 'echo serving; sleep 30'}
      - {run: 'sleep 0.2; echo using it'}
      - {cancel: server}
      - {run: 'echo "server ${{ steps.server.outcome }}"'}`,
		status: dag.StatusSuccess,
		stdout: []string{"[server] serving", "using it", "server cancelled"},
		within: 10 * time.Second,
	}, {
		name: "a failed background step fails the job once it is joined",
		steps: `
      - {id: bg, background: true, run: 'sleep 0.2; exit 3'}
      - {run: 'echo before-wait'}
      - {wait-all: true}
      - {run: 'echo not reached'}
      - {if: failure(), run: 'echo "bg ${{ steps.bg.outcome }}"'}`,
		status: dag.StatusFailure,
		stdout: []string{"before-wait", "bg failure"},
	}, {
		name: "continue-on-error on the wait keeps the job going past a failed background step",
		steps: `
      - {id: bg, background: true, run: 'exit 3'}
      - {wait: [bg], continue-on-error: true}
      - {run: 'echo "went on, bg ${{ steps.bg.outcome }}"'}`,
		status: dag.StatusSuccess,
		stdout: []string{"went on, bg failure"},
	}, {
		name: "the node ends when its background steps have",
		steps: `
      - {id: bg, background: true, run: 'sleep 0.3; echo "X=1" >> "$GITHUB_ENV"; echo finished'}
      - {run: 'echo quick'}`,
		status: dag.StatusSuccess,
		stdout: []string{"quick", "[bg] finished"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			res, rep := runOnHost(t, "version: gantry/v1\nnodes:\n  - id: j\n    steps:"+tc.steps+"\n")
			took := time.Since(start)
			if got := res.Nodes[0].Status; got != tc.status {
				t.Errorf("status %s (%s), want %s\n%v", got, res.Nodes[0].Reason, tc.status, rep.text("j", "gantry"))
			}
			out := rep.text("j", "stdout")
			at := 0
			for _, want := range tc.stdout {
				i := slices.Index(out[at:], want)
				if i < 0 {
					t.Errorf("stdout %q lacks %q after line %d", out, want, at)
					break
				}
				at += i + 1
			}
			if slices.ContainsFunc(out, func(l string) bool { return strings.Contains(l, "not reached") }) {
				t.Errorf("a step after the failed wait ran: %q", out)
			}
			if tc.within > 0 && took > tc.within {
				t.Errorf("the run took %s, want under %s", took, tc.within)
			}
		})
	}
}
