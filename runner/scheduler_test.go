package runner_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
)

// The scheduler's tests drive runner.Run through fakeExecutor, which runs
// no processes: it interprets each step's script file as a tiny language,
// one command per line, and records what it saw.
//
//	ok                  does nothing
//	fail N              ends the script with exit code N
//	failattempts N      exit code 1 in the node's first N attempts
//	sleep DURATION      waits, or ends at once with ctx.Err() when cancelled
//	echo TEXT           writes TEXT to stdout
//	printenv NAME       writes the value of NAME to stdout
//	output K=V          appends K=V to the file $GITHUB_OUTPUT names
//	setenv K=V          appends K=V to the file $GITHUB_ENV names
//	lose                fails as an engine that went away (a runner.InfraError)
//
// For GitLab's line scripts the runner writes "set -eo pipefail ..." first
// and "printf '%s\n' '$ LINE'" before each line: set lines are ignored and
// printf lines echo their quoted text.

// fakeExecutor is an in-memory runner.Executor.
type fakeExecutor struct {
	mu    sync.Mutex
	nodes map[string]*fakeNode
	// running counts the commands running now, overall and per matrix
	// group; max* are the most seen at once.
	running, maxRunning int
	groupRunning        map[string]int
	groupMax            map[string]int
}

// fakeNode is what the executor saw of one node, over all its attempts.
type fakeNode struct {
	attempts int // Prepare calls
	released int // workspaces released (the first Release of each)
	cmds     []*fakeCmd
}

// fakeCmd is one command (one step's script) the executor ran.
type fakeCmd struct {
	attempt    int
	env        map[string]string
	start, end time.Time
	// cancelled is set when the command ended because its context was
	// done; ctxErr says why (context.Canceled, DeadlineExceeded).
	cancelled bool
	ctxErr    error
}

func newFakeExecutor() *fakeExecutor {
	return &fakeExecutor{nodes: map[string]*fakeNode{}, groupRunning: map[string]int{}, groupMax: map[string]int{}}
}

func (e *fakeExecutor) Name() string { return "fake" }

func (e *fakeExecutor) Prepare(ctx context.Context, n *dag.Node, spec runner.WorkspaceSpec) (runner.Workspace, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	fn := e.nodes[n.ID]
	if fn == nil {
		fn = &fakeNode{}
		e.nodes[n.ID] = fn
	}
	fn.attempts++
	w := &fakeWorkspace{e: e, id: n.ID, state: spec.StateDir, attempt: fn.attempts}
	if n.Strategy != nil {
		w.group = n.Strategy.Group
	}
	return w, nil
}

// node is what the executor saw of a node; the zero fakeNode when it
// never prepared it. The caller holds no lock: call it after Run returns.
func (e *fakeExecutor) node(id string) fakeNode {
	e.mu.Lock()
	defer e.mu.Unlock()
	if fn := e.nodes[id]; fn != nil {
		return *fn
	}
	return fakeNode{}
}

type fakeWorkspace struct {
	e         *fakeExecutor
	id, group string
	state     string
	attempt   int
	released  bool
}

func (w *fakeWorkspace) Dir() string      { return "/work" }
func (w *fakeWorkspace) StateDir() string { return w.state }
func (w *fakeWorkspace) HostDir() string  { return "" }

func (w *fakeWorkspace) Release(context.Context) error {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	if !w.released {
		w.released = true
		w.e.nodes[w.id].released++
	}
	return nil
}

func (w *fakeWorkspace) Exec(ctx context.Context, c runner.Command) (int, error) {
	if len(c.Argv) == 0 {
		return 0, errors.New("fake: empty argv")
	}
	script, err := os.ReadFile(c.Argv[len(c.Argv)-1])
	if err != nil {
		return 0, fmt.Errorf("fake: reading the script: %w", err)
	}
	env := map[string]string{}
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cmd := &fakeCmd{attempt: w.attempt, env: env}
	w.begin(cmd)
	code, err := w.interpret(ctx, string(script), c, cmd)
	w.end(cmd)
	return code, err
}

func (w *fakeWorkspace) begin(cmd *fakeCmd) {
	e := w.e
	e.mu.Lock()
	defer e.mu.Unlock()
	cmd.start = time.Now()
	fn := e.nodes[w.id]
	fn.cmds = append(fn.cmds, cmd)
	e.running++
	e.maxRunning = max(e.maxRunning, e.running)
	if w.group != "" {
		e.groupRunning[w.group]++
		e.groupMax[w.group] = max(e.groupMax[w.group], e.groupRunning[w.group])
	}
}

func (w *fakeWorkspace) end(cmd *fakeCmd) {
	e := w.e
	e.mu.Lock()
	defer e.mu.Unlock()
	cmd.end = time.Now()
	e.running--
	if w.group != "" {
		e.groupRunning[w.group]--
	}
}

func (w *fakeWorkspace) cancelledBy(cmd *fakeCmd, err error) {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	cmd.cancelled, cmd.ctxErr = true, err
}

// interpret runs the script's lines, stopping at the first that fails.
func (w *fakeWorkspace) interpret(ctx context.Context, script string, c runner.Command, cmd *fakeCmd) (int, error) {
	stdout, stderr := c.Stdout, c.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if err := ctx.Err(); err != nil {
		w.cancelledBy(cmd, err)
		return -1, err
	}
	for line := range strings.SplitSeq(script, "\n") {
		line = strings.TrimSpace(line)
		verb, arg, _ := strings.Cut(line, " ")
		switch verb {
		case "", "set", "ok":
		case "fail":
			code, err := strconv.Atoi(arg)
			if err != nil {
				return 0, fmt.Errorf("fake: fail %q: %w", arg, err)
			}
			return code, nil
		case "failattempts":
			n, err := strconv.Atoi(arg)
			if err != nil {
				return 0, fmt.Errorf("fake: failattempts %q: %w", arg, err)
			}
			if w.attempt <= n {
				return 1, nil
			}
		case "sleep":
			d, err := time.ParseDuration(arg)
			if err != nil {
				return 0, fmt.Errorf("fake: sleep %q: %w", arg, err)
			}
			select {
			case <-time.After(d):
			case <-ctx.Done():
				w.cancelledBy(cmd, ctx.Err())
				return -1, ctx.Err()
			}
		case "echo":
			fmt.Fprintln(stdout, arg)
		case "printf":
			// printf '%s\n' 'QUOTED': the runner's echo of a GitLab line.
			quoted, ok := strings.CutPrefix(arg, `'%s\n' `)
			if !ok {
				return 0, fmt.Errorf("fake: unexpected printf %q", arg)
			}
			fmt.Fprintln(stdout, unquote(quoted))
		case "printenv":
			fmt.Fprintln(stdout, cmd.env[arg])
		case "output", "setenv":
			file := map[string]string{"output": "GITHUB_OUTPUT", "setenv": "GITHUB_ENV"}[verb]
			if err := appendLine(cmd.env[file], arg); err != nil {
				return 0, fmt.Errorf("fake: %s: %w", verb, err)
			}
		case "lose":
			return -1, fmt.Errorf("fake exec: %w", &runner.InfraError{What: "the engine at tcp://x was lost", Err: io.EOF})
		default:
			fmt.Fprintf(stderr, "fake: unknown command %q\n", line)
			return 127, nil
		}
	}
	return 0, nil
}

// unquote undoes the runner's shell quoting of one word: 'it'\”s'.
func unquote(s string) string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "'"), "'")
	return strings.ReplaceAll(s, `'\''`, "'")
}

func appendLine(path, line string) error {
	if path == "" {
		return errors.New("no file named")
	}
	// As the shell's >> does: the runner need not have made the file.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// recorder is a runner.Reporter that keeps every line it gets.
type recorder struct {
	mu    sync.Mutex
	lines []reportedLine
}

type reportedLine struct{ node, stream, text string }

func (r *recorder) NodeStarted(id, name string)   {}
func (r *recorder) StepStarted(node, step string) {}
func (r *recorder) Line(node, stream, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, reportedLine{node, stream, text})
}
func (r *recorder) Group(node, title string)                                           {}
func (r *recorder) EndGroup(node string)                                               {}
func (r *recorder) StepFinished(node, step string, status dag.Status, d time.Duration) {}
func (r *recorder) NodeFinished(res runner.NodeResult)                                 {}

// text is what the node printed on stream ("stdout", "gantry"), in order.
func (r *recorder) text(node, stream string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if l.node == node && l.stream == stream {
			out = append(out, l.text)
		}
	}
	return out
}

// outcome is one run of the scheduler and what its executor saw.
type outcome struct {
	res   *runner.Result
	err   error
	exec  *fakeExecutor
	rep   *recorder
	start time.Time
	took  time.Duration
}

// runPipeline runs p on a fakeExecutor. opts may set Parallel (default 4),
// Jobs, KeepGoing and Vars; the rest is filled in.
func runPipeline(t *testing.T, ctx context.Context, p *dag.Pipeline, opts runner.Options) *outcome {
	t.Helper()
	o := &outcome{exec: newFakeExecutor(), rep: &recorder{}}
	opts.Executor, opts.Reporter = o.exec, o.rep
	opts.Source, opts.RunDir = t.TempDir(), t.TempDir()
	if opts.Parallel == 0 {
		opts.Parallel = 4
	}
	o.start = time.Now()
	o.res, o.err = runner.Run(ctx, p, opts)
	o.took = time.Since(o.start)
	return o
}

// result is the node's result; the test fails when the run has none.
func (o *outcome) result(t *testing.T, id string) runner.NodeResult {
	t.Helper()
	if o.res != nil {
		for _, nr := range o.res.Nodes {
			if nr.ID == id {
				return nr
			}
		}
	}
	t.Fatalf("the run has no result for node %q", id)
	return runner.NodeResult{}
}

// cmds are the commands the node ran, over all its attempts.
func (o *outcome) cmds(id string) []*fakeCmd { return o.exec.node(id).cmds }

// cmd is the node's i-th command; the test fails when there is none.
func (o *outcome) cmd(t *testing.T, id string, i int) *fakeCmd {
	t.Helper()
	cmds := o.cmds(id)
	if i >= len(cmds) {
		t.Fatalf("node %q ran %d commands, want at least %d", id, len(cmds), i+1)
	}
	return cmds[i]
}

// started is when the node's first command started.
func (o *outcome) started(t *testing.T, id string) time.Time {
	t.Helper()
	return o.cmd(t, id, 0).start
}

// finished is when the node's last command ended.
func (o *outcome) finished(t *testing.T, id string) time.Time {
	t.Helper()
	cmds := o.cmds(id)
	if len(cmds) == 0 {
		t.Fatalf("node %q ran nothing", id)
	}
	return cmds[len(cmds)-1].end
}

// decode reads a pipeline written in YAML without its version line.
func decode(t *testing.T, src string) *dag.Pipeline {
	t.Helper()
	p, l := dag.Decode([]byte("version: "+dag.Version+"\n"+src), "test.yaml")
	if l.HasErrors() {
		t.Fatalf("decoding the test's pipeline: %v", l.Err())
	}
	return p
}

// schedCase is one run of a pipeline and what must become of it.
type schedCase struct {
	name     string
	pipeline string // YAML, without the version line
	opts     runner.Options
	// cancelAfter cancels the run's context this long after it starts.
	cancelAfter time.Duration
	// wantErr is the error Run must return (nil: none).
	wantErr error
	// want is each node's status; every node of the result must be here.
	want map[string]dag.Status
	// reasons are texts each node's Reason must contain.
	reasons map[string]string
	// failed and infra are the result's Failed and InfrastructureFailed.
	failed, infra bool
	check         func(t *testing.T, o *outcome)
}

func runCases(t *testing.T, cases []schedCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := decode(t, tc.pipeline)
			ctx := t.Context()
			if tc.cancelAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				time.AfterFunc(tc.cancelAfter, cancel)
			}
			o := runPipeline(t, ctx, p, tc.opts)
			if !errors.Is(o.err, tc.wantErr) || (tc.wantErr == nil && o.err != nil) {
				t.Fatalf("Run: error %v, want %v", o.err, tc.wantErr)
			}
			if o.res == nil {
				t.Fatal("Run returned no result")
			}
			var ids []string
			for _, nr := range o.res.Nodes {
				ids = append(ids, nr.ID)
				want, ok := tc.want[nr.ID]
				switch {
				case !ok:
					t.Errorf("node %q: status %s (%s), but the test expects no such node", nr.ID, nr.Status, nr.Reason)
				case nr.Status != want:
					t.Errorf("node %q: status %s (reason %q), want %s", nr.ID, nr.Status, nr.Reason, want)
				}
			}
			for id := range tc.want {
				if !slices.Contains(ids, id) {
					t.Errorf("node %q: no result, want %s", id, tc.want[id])
				}
			}
			for id, want := range tc.reasons {
				if got := o.result(t, id).Reason; !strings.Contains(got, want) {
					t.Errorf("node %q: reason %q, want it to contain %q", id, got, want)
				}
			}
			if o.res.Failed != tc.failed || o.res.InfrastructureFailed != tc.infra {
				t.Errorf("result: Failed %v, InfrastructureFailed %v; want %v, %v", o.res.Failed, o.res.InfrastructureFailed, tc.failed, tc.infra)
			}
			// Every workspace made is released, once the run is over.
			for id := range tc.want {
				if fn := o.exec.node(id); fn.released != fn.attempts {
					t.Errorf("node %q: %d workspaces prepared, %d released", id, fn.attempts, fn.released)
				}
			}
			if tc.check != nil {
				tc.check(t, o)
			}
		})
	}
}

// before fails the test unless the node a ended before b started.
func before(t *testing.T, o *outcome, a, b string) {
	t.Helper()
	if end, start := o.finished(t, a), o.started(t, b); start.Before(end) {
		t.Errorf("%s started %s before %s ended", b, end.Sub(start), a)
	}
}

// ranNothing fails the test when the node ran a command.
func ranNothing(t *testing.T, o *outcome, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if n := len(o.cmds(id)); n > 0 {
			t.Errorf("node %q ran %d commands, want none", id, n)
		}
	}
}

func wantLines(t *testing.T, o *outcome, node, stream string, want ...string) {
	t.Helper()
	if got := o.rep.text(node, stream); !slices.Equal(got, want) {
		t.Errorf("node %q %s: %q, want %q", node, stream, got, want)
	}
}

func TestSchedulerNeeds(t *testing.T) {
	t.Parallel()
	s := dag.StatusSuccess
	runCases(t, []schedCase{
		{
			name: "a node starts after all its needs end",
			pipeline: `
nodes:
  - {id: a, steps: [{run: sleep 100ms}]}
  - {id: b, steps: [{run: sleep 30ms}]}
  - {id: c, needs: [a, b], steps: [{run: ok}]}
`,
			want: map[string]dag.Status{"a": s, "b": s, "c": s},
			check: func(t *testing.T, o *outcome) {
				before(t, o, "a", "c")
				before(t, o, "b", "c")
			},
		},
		{
			name: "independent nodes run in parallel",
			pipeline: `
nodes:
  - {id: a, steps: [{run: sleep 100ms}]}
  - {id: b, steps: [{run: sleep 100ms}]}
`,
			opts: runner.Options{Parallel: 2},
			want: map[string]dag.Status{"a": s, "b": s},
			check: func(t *testing.T, o *outcome) {
				if o.exec.maxRunning != 2 {
					t.Errorf("%d nodes ran at once, want 2", o.exec.maxRunning)
				}
			},
		},
		{
			name: "Parallel 1 runs one node at a time",
			pipeline: `
nodes:
  - {id: a, steps: [{run: sleep 30ms}]}
  - {id: b, steps: [{run: sleep 30ms}]}
  - {id: c, steps: [{run: sleep 30ms}]}
`,
			opts: runner.Options{Parallel: 1},
			want: map[string]dag.Status{"a": s, "b": s, "c": s},
			check: func(t *testing.T, o *outcome) {
				if o.exec.maxRunning != 1 {
					t.Errorf("%d nodes ran at once, want 1", o.exec.maxRunning)
				}
			},
		},
		{
			name: "a failed need skips what needs it, all the way down",
			pipeline: `
nodes:
  - {id: a, steps: [{run: fail 1}]}
  - {id: b, needs: [a], steps: [{run: ok}]}
  - {id: c, needs: [b], steps: [{run: ok}]}
`,
			want:    map[string]dag.Status{"a": dag.StatusFailure, "b": dag.StatusSkipped, "c": dag.StatusSkipped},
			reasons: map[string]string{"a": `step "fail 1" failed`, "b": "a job it needs did not succeed", "c": "a job it needs was skipped"},
			failed:  true,
			check: func(t *testing.T, o *outcome) {
				ranNothing(t, o, "b", "c")
			},
		},
	})
}

func TestSchedulerConditions(t *testing.T) {
	t.Parallel()
	s, f, sk := dag.StatusSuccess, dag.StatusFailure, dag.StatusSkipped
	runCases(t, []schedCase{
		{
			name: "if false skips the node",
			pipeline: `
nodes:
  - {id: a, if: "false", steps: [{run: ok}]}
  - {id: b, if: "true", steps: [{run: ok}]}
`,
			want:    map[string]dag.Status{"a": sk, "b": s},
			reasons: map[string]string{"a": "its if: is false"},
			check:   func(t *testing.T, o *outcome) { ranNothing(t, o, "a") },
		},
		{
			name: "failure() and always() run after a failed need; a plain node does not",
			pipeline: `
nodes:
  - {id: a, steps: [{run: fail 1}]}
  - {id: on-failure, needs: [a], if: failure(), steps: [{run: ok}]}
  - {id: always, needs: [a], if: always(), steps: [{run: ok}]}
  - {id: plain, needs: [a], steps: [{run: ok}]}
`,
			want:   map[string]dag.Status{"a": f, "on-failure": s, "always": s, "plain": sk},
			failed: true,
			check: func(t *testing.T, o *outcome) {
				before(t, o, "a", "on-failure")
				before(t, o, "a", "always")
			},
		},
		{
			name: "failure() is false and always() true after a need that succeeded",
			pipeline: `
nodes:
  - {id: a, steps: [{run: ok}]}
  - {id: on-failure, needs: [a], if: failure(), steps: [{run: ok}]}
  - {id: always, needs: [a], if: always(), steps: [{run: ok}]}
`,
			want:    map[string]dag.Status{"a": s, "on-failure": sk, "always": s},
			reasons: map[string]string{"on-failure": "its if: is false"},
		},
		{
			name: "cancelled() runs after a need cancelled by fail-fast",
			pipeline: `
nodes:
  - {id: m-1, strategy: {group: m}, steps: [{run: "sleep 20ms\nfail 1"}]}
  - {id: m-2, strategy: {group: m}, steps: [{run: sleep 2s}]}
  - {id: on-cancel, needs: [m-2], if: cancelled(), steps: [{run: ok}]}
  - {id: on-failure, needs: [m-2], if: failure(), steps: [{run: ok}]}
  - {id: not-cancelled, if: cancelled(), steps: [{run: ok}]}
`,
			want:   map[string]dag.Status{"m-1": f, "m-2": dag.StatusCancelled, "on-cancel": s, "on-failure": sk, "not-cancelled": sk},
			failed: true,
		},
		{
			name: "when on_failure, always and on_success",
			pipeline: `
nodes:
  - {id: bad, steps: [{run: fail 1}]}
  - {id: good, steps: [{run: ok}]}
  - {id: on-failure-after-bad, needs: [bad], when: on_failure, steps: [{run: ok}]}
  - {id: on-failure-after-good, needs: [good], when: on_failure, steps: [{run: ok}]}
  - {id: always-after-bad, needs: [bad], when: always, steps: [{run: ok}]}
  - {id: on-success-after-bad, needs: [bad], when: on_success, steps: [{run: ok}]}
  - {id: on-success-after-good, needs: [good], when: on_success, steps: [{run: ok}]}
`,
			want: map[string]dag.Status{
				"bad": f, "good": s,
				"on-failure-after-bad": s, "on-failure-after-good": sk,
				"always-after-bad":     s,
				"on-success-after-bad": sk, "on-success-after-good": s,
			},
			reasons: map[string]string{
				"on-failure-after-good": "when: on_failure and nothing before it failed",
				"on-success-after-bad":  "a job it needs did not succeed",
			},
			failed: true,
		},
		{
			// An if that calls no status function is success() && if.
			// The node is skipped because its need failed, not because
			// its if (true) is false: the reason should say so.
			name: "success() is implied when if calls no status function",
			pipeline: `
nodes:
  - {id: a, steps: [{run: fail 1}]}
  - {id: b, needs: [a], if: "true", steps: [{run: ok}]}
`,
			want:    map[string]dag.Status{"a": f, "b": sk},
			reasons: map[string]string{"b": "did not succeed"},
			failed:  true,
			check:   func(t *testing.T, o *outcome) { ranNothing(t, o, "b") },
		},
	})
}

func TestSchedulerSteps(t *testing.T) {
	t.Parallel()
	s, f := dag.StatusSuccess, dag.StatusFailure
	runCases(t, []schedCase{
		{
			name: "a step's if false skips only that step",
			pipeline: `
nodes:
  - id: a
    steps:
      - {run: echo one}
      - {if: "false", run: echo two}
      - {run: echo three}
`,
			want: map[string]dag.Status{"a": s},
			check: func(t *testing.T, o *outcome) {
				wantLines(t, o, "a", "stdout", "one", "three")
				steps := o.result(t, "a").Steps
				if len(steps) != 3 || steps[1].Status != dag.StatusSkipped || steps[1].Outcome != dag.StatusSkipped {
					t.Errorf("steps: %+v, want the second skipped", steps)
				}
			},
		},
		{
			name: "a failed step skips the rest but failure() and always() steps",
			pipeline: `
nodes:
  - id: a
    steps:
      - {name: breaks, run: fail 2}
      - {run: echo skipped}
      - {if: failure(), run: echo on failure}
      - {if: always(), run: echo always}
`,
			want:    map[string]dag.Status{"a": f},
			reasons: map[string]string{"a": `step "breaks" failed`},
			failed:  true,
			check: func(t *testing.T, o *outcome) {
				wantLines(t, o, "a", "stdout", "on failure", "always")
				if st := o.result(t, "a").Steps[0]; st.ExitCode != 2 {
					t.Errorf("the failed step's exit code is %d, want 2", st.ExitCode)
				}
			},
		},
		{
			name: "continue-on-error: the node succeeds, outcome failure, conclusion success",
			pipeline: `
nodes:
  - id: a
    steps:
      - {id: x, run: fail 2, continue-on-error: true}
      - if: steps.x.outcome == 'failure' && steps.x.conclusion == 'success'
        run: echo saw it
      - run: echo ${{ steps.x.outcome }} ${{ steps.x.conclusion }}
`,
			want: map[string]dag.Status{"a": s},
			check: func(t *testing.T, o *outcome) {
				wantLines(t, o, "a", "stdout", "saw it", "failure success")
				st := o.result(t, "a").Steps[0]
				if st.Status != dag.StatusSuccess || st.Outcome != dag.StatusFailure || st.ExitCode != 2 {
					t.Errorf("step x: status %s, outcome %s, exit code %d; want success, failure, 2", st.Status, st.Outcome, st.ExitCode)
				}
			},
		},
		{
			name: "step outputs become node outputs and needs.X.outputs.Y in a dependent",
			pipeline: `
nodes:
  - id: a
    outputs: {v: "${{ steps.s.outputs.v }}"}
    steps:
      - {id: s, run: output v=hello}
  - id: b
    needs: [a]
    steps:
      - {run: "echo got ${{ needs.a.outputs.v }}"}
`,
			want: map[string]dag.Status{"a": s, "b": s},
			check: func(t *testing.T, o *outcome) {
				if got := o.result(t, "a").Outputs["v"]; got != "hello" {
					t.Errorf("a's output v = %q, want %q", got, "hello")
				}
				if got := o.result(t, "a").Steps[0].Outputs["v"]; got != "hello" {
					t.Errorf("step s's output v = %q, want %q", got, "hello")
				}
				wantLines(t, o, "b", "stdout", "got hello")
			},
		},
		{
			name: "GITHUB_ENV values are in the env of later steps",
			pipeline: `
nodes:
  - id: a
    steps:
      - {run: setenv GREETING=hi}
      - {run: printenv GREETING}
      - {env: {GREETING: own}, run: printenv GREETING}
`,
			want: map[string]dag.Status{"a": s},
			check: func(t *testing.T, o *outcome) {
				if v, ok := o.cmd(t, "a", 0).env["GREETING"]; ok {
					t.Errorf("the step that sets GREETING saw it already (%q)", v)
				}
				if got := o.cmd(t, "a", 1).env["GREETING"]; got != "hi" {
					t.Errorf("GREETING = %q in the next step, want %q", got, "hi")
				}
				// A step's own env wins over GITHUB_ENV (GitHub's order).
				wantLines(t, o, "a", "stdout", "hi", "own")
			},
		},
	})
}

func TestSchedulerMatrix(t *testing.T) {
	t.Parallel()
	s, f, c := dag.StatusSuccess, dag.StatusFailure, dag.StatusCancelled
	// withinASecond fails the test unless the nodes' commands were
	// cancelled and ended well before their 2s sleep.
	withinASecond := func(t *testing.T, o *outcome, ids ...string) {
		t.Helper()
		for _, id := range ids {
			cmd := o.cmd(t, id, 0)
			if took := cmd.end.Sub(cmd.start); !cmd.cancelled || took > time.Second {
				t.Errorf("%s: cancelled %v after %s; want cancelled within 1s", id, cmd.cancelled, took)
			}
		}
	}
	runCases(t, []schedCase{
		{
			name: "fail-fast cancels the running siblings at once",
			pipeline: `
nodes:
  - {id: m-1, strategy: {group: m}, steps: [{run: "sleep 50ms\nfail 1"}]}
  - {id: m-2, strategy: {group: m}, steps: [{run: sleep 2s}]}
  - {id: m-3, strategy: {group: m}, steps: [{run: sleep 2s}]}
  - {id: other, steps: [{run: sleep 150ms}]}
`,
			want:    map[string]dag.Status{"m-1": f, "m-2": c, "m-3": c, "other": s},
			reasons: map[string]string{"m-2": "m-1", "m-3": "m-1"},
			failed:  true,
			check: func(t *testing.T, o *outcome) {
				withinASecond(t, o, "m-2", "m-3")
				if !errors.Is(o.cmd(t, "m-2", 0).ctxErr, context.Canceled) {
					t.Errorf("m-2 ended with %v, want context.Canceled", o.cmd(t, "m-2", 0).ctxErr)
				}
			},
		},
		{
			name: "fail-fast cancels the siblings waiting for max-parallel",
			pipeline: `
nodes:
  - {id: m-1, strategy: {group: m, max-parallel: 1}, steps: [{run: "sleep 50ms\nfail 1"}]}
  - {id: m-2, needs: [gate], strategy: {group: m, max-parallel: 1}, steps: [{run: sleep 50ms}]}
  - {id: m-3, needs: [gate], strategy: {group: m, max-parallel: 1}, steps: [{run: sleep 50ms}]}
  - {id: gate, steps: [{run: sleep 10ms}]}
`,
			want:    map[string]dag.Status{"m-1": f, "m-2": c, "m-3": c, "gate": s},
			reasons: map[string]string{"m-2": "m-1", "m-3": "m-1"},
			failed:  true,
			check:   func(t *testing.T, o *outcome) { ranNothing(t, o, "m-2", "m-3") },
		},
		{
			name: "fail-fast false lets the siblings finish",
			pipeline: `
nodes:
  - {id: m-1, strategy: {group: m, fail-fast: false}, steps: [{run: "sleep 20ms\nfail 1"}]}
  - {id: m-2, strategy: {group: m, fail-fast: false}, steps: [{run: sleep 200ms}]}
`,
			want:   map[string]dag.Status{"m-1": f, "m-2": s},
			failed: true,
		},
		{
			// GitHub evaluates strategy with github, needs, vars and inputs
			// (docs: contexts, context availability: jobs.<job_id>.strategy).
			name: "fail-fast and max-parallel from expressions, evaluated when the matrix starts",
			pipeline: `
nodes:
  - {id: m-1, strategy: {group: m, fail-fast: "${{ vars.FAIL_FAST == 'true' }}", max-parallel: "${{ fromJSON(vars.MAX) }}"}, steps: [{run: "sleep 20ms\nfail 1"}]}
  - {id: m-2, strategy: {group: m, fail-fast: "${{ vars.FAIL_FAST == 'true' }}", max-parallel: "${{ fromJSON(vars.MAX) }}"}, steps: [{run: sleep 60ms}]}
  - {id: m-3, strategy: {group: m, fail-fast: "${{ vars.FAIL_FAST == 'true' }}", max-parallel: "${{ fromJSON(vars.MAX) }}"}, steps: [{run: sleep 60ms}]}
`,
			opts:   runner.Options{Parallel: 8, Vars: map[string]string{"FAIL_FAST": "false", "MAX": "2"}},
			want:   map[string]dag.Status{"m-1": f, "m-2": s, "m-3": s},
			failed: true,
			check: func(t *testing.T, o *outcome) {
				if got := o.exec.groupMax["m"]; got != 2 {
					t.Errorf("at most %d of m ran at once, want max-parallel's 2", got)
				}
			},
		},
		{
			name: "fail-fast true from an expression cancels the siblings",
			pipeline: `
nodes:
  - {id: m-1, strategy: {group: m, fail-fast: "${{ vars.FAIL_FAST == 'true' }}"}, steps: [{run: "sleep 50ms\nfail 1"}]}
  - {id: m-2, strategy: {group: m, fail-fast: "${{ vars.FAIL_FAST == 'true' }}"}, steps: [{run: sleep 2s}]}
`,
			opts:    runner.Options{Vars: map[string]string{"FAIL_FAST": "true"}},
			want:    map[string]dag.Status{"m-1": f, "m-2": c},
			reasons: map[string]string{"m-2": "m-1"},
			failed:  true,
		},
		{
			name: "a max-parallel that is no number fails the matrix's nodes",
			pipeline: `
nodes:
  - {id: m-1, strategy: {group: m, max-parallel: "${{ vars.MAX }}"}, steps: [{run: echo}]}
`,
			opts:    runner.Options{Vars: map[string]string{"MAX": "lots"}},
			want:    map[string]dag.Status{"m-1": f},
			reasons: map[string]string{"m-1": `strategy.max-parallel: ${{ vars.MAX }} gave "lots", not a number`},
			failed:  true,
		},
		{
			name: "KeepGoing lets the siblings finish",
			pipeline: `
nodes:
  - {id: m-1, strategy: {group: m}, steps: [{run: "sleep 20ms\nfail 1"}]}
  - {id: m-2, strategy: {group: m}, steps: [{run: sleep 200ms}]}
`,
			opts:   runner.Options{KeepGoing: true},
			want:   map[string]dag.Status{"m-1": f, "m-2": s},
			failed: true,
		},
		{
			name: "max-parallel 1 serialises its group while another group runs alongside",
			pipeline: `
nodes:
  - {id: g-1, strategy: {group: g, max-parallel: 1}, steps: [{run: sleep 40ms}]}
  - {id: g-2, strategy: {group: g, max-parallel: 1}, steps: [{run: sleep 40ms}]}
  - {id: g-3, strategy: {group: g, max-parallel: 1}, steps: [{run: sleep 40ms}]}
  - {id: h-1, strategy: {group: h}, steps: [{run: sleep 100ms}]}
  - {id: h-2, strategy: {group: h}, steps: [{run: sleep 100ms}]}
`,
			opts: runner.Options{Parallel: 8},
			want: map[string]dag.Status{"g-1": s, "g-2": s, "g-3": s, "h-1": s, "h-2": s},
			check: func(t *testing.T, o *outcome) {
				if g, h := o.exec.groupMax["g"], o.exec.groupMax["h"]; g != 1 || h != 2 {
					t.Errorf("at most %d of g and %d of h ran at once, want 1 and 2", g, h)
				}
				if o.exec.maxRunning < 3 {
					t.Errorf("at most %d nodes ran at once, want g beside h's two (3)", o.exec.maxRunning)
				}
			},
		},
	})
}

func TestSchedulerRetry(t *testing.T) {
	t.Parallel()
	attempts := func(n int) func(t *testing.T, o *outcome) {
		return func(t *testing.T, o *outcome) {
			t.Helper()
			if got := o.exec.node("a").attempts; got != n {
				t.Errorf("a ran %d times, want %d", got, n)
			}
			if got := len(o.rep.text("a", "gantry")); n > 1 && got == 0 {
				t.Errorf("no line says a is retried")
			}
		}
	}
	runCases(t, []schedCase{
		{
			name: "a node that fails twice then succeeds, with retry max 2",
			pipeline: `
nodes:
  - {id: a, retry: {max: 2}, steps: [{run: failattempts 2}]}
  - {id: b, needs: [a], steps: [{run: ok}]}
`,
			want:  map[string]dag.Status{"a": dag.StatusSuccess, "b": dag.StatusSuccess},
			check: attempts(3),
		},
		{
			name: "a node that always fails runs 1 + max times",
			pipeline: `
nodes:
  - {id: a, retry: {max: 2}, steps: [{run: fail 1}]}
`,
			want:   map[string]dag.Status{"a": dag.StatusFailure},
			failed: true,
			check:  attempts(3),
		},
		{
			name: "no retry runs once",
			pipeline: `
nodes:
  - {id: a, steps: [{run: failattempts 1}]}
`,
			want:   map[string]dag.Status{"a": dag.StatusFailure},
			failed: true,
			check:  attempts(1),
		},
	})
}

func TestSchedulerTimeouts(t *testing.T) {
	t.Parallel()
	f := dag.StatusFailure
	stoppedEarly := func(t *testing.T, o *outcome) {
		t.Helper()
		cmd := o.cmd(t, "a", 0)
		if !errors.Is(cmd.ctxErr, context.DeadlineExceeded) || cmd.end.Sub(cmd.start) > time.Second {
			t.Errorf("the step ended after %s with %v; want it stopped by its deadline", cmd.end.Sub(cmd.start), cmd.ctxErr)
		}
	}
	runCases(t, []schedCase{
		{
			name: "step timeout",
			pipeline: `
nodes:
  - id: a
    steps:
      - {name: slow, timeout: 100ms, run: sleep 2s}
      - {run: echo after}
`,
			want:    map[string]dag.Status{"a": f},
			reasons: map[string]string{"a": "timed out"},
			failed:  true,
			check: func(t *testing.T, o *outcome) {
				stoppedEarly(t, o)
				if n := len(o.cmds("a")); n != 1 {
					t.Errorf("a ran %d commands, want 1 (nothing after the timed-out step)", n)
				}
				if !slices.ContainsFunc(o.rep.text("a", "gantry"), func(s string) bool { return strings.Contains(s, "slow: timed out after") }) {
					t.Errorf("no line says the step timed out: %q", o.rep.text("a", "gantry"))
				}
			},
		},
		{
			name: "node timeout",
			pipeline: `
nodes:
  - {id: a, timeout: 100ms, steps: [{run: sleep 2s}]}
`,
			want:    map[string]dag.Status{"a": f},
			reasons: map[string]string{"a": "timed out after 100ms"},
			failed:  true,
			check:   stoppedEarly,
		},
		{
			name: "node timeout across steps",
			pipeline: `
nodes:
  - {id: a, timeout: 150ms, steps: [{run: sleep 100ms}, {run: sleep 2s}, {run: ok}]}
`,
			want:    map[string]dag.Status{"a": f},
			reasons: map[string]string{"a": "timed out after 150ms"},
			failed:  true,
			check: func(t *testing.T, o *outcome) {
				if n := len(o.cmds("a")); n != 2 {
					t.Errorf("a ran %d commands, want 2", n)
				}
				if !errors.Is(o.cmd(t, "a", 1).ctxErr, context.DeadlineExceeded) {
					t.Errorf("the second step ended with %v, want its deadline", o.cmd(t, "a", 1).ctxErr)
				}
			},
		},
	})
}

func TestSchedulerAllowFailure(t *testing.T) {
	t.Parallel()
	al, s, f := dag.StatusAllowed, dag.StatusSuccess, dag.StatusFailure
	runCases(t, []schedCase{
		{
			name: "an allowed failure does not fail the run and its dependents run",
			pipeline: `
nodes:
  - {id: a, allow-failure: true, steps: [{run: fail 1}]}
  - {id: b, needs: [a], steps: [{run: ok}]}
`,
			want: map[string]dag.Status{"a": al, "b": s},
		},
		{
			name: "allow-failure-exit-codes [3] with exit 3",
			pipeline: `
nodes:
  - {id: a, allow-failure: true, allow-failure-exit-codes: [3], steps: [{run: fail 3}]}
  - {id: b, needs: [a], steps: [{run: ok}]}
`,
			want: map[string]dag.Status{"a": al, "b": s},
		},
		{
			name: "allow-failure-exit-codes [3] with exit 4",
			pipeline: `
nodes:
  - {id: a, allow-failure: true, allow-failure-exit-codes: [3], steps: [{run: fail 4}]}
  - {id: b, needs: [a], steps: [{run: ok}]}
`,
			want:   map[string]dag.Status{"a": f, "b": dag.StatusSkipped},
			failed: true,
		},
		{
			// A step that timed out never exited; it must not count as
			// exit code 1.
			name: "allow-failure-exit-codes [1] does not allow a timeout",
			pipeline: `
nodes:
  - {id: a, allow-failure: true, allow-failure-exit-codes: [1], steps: [{timeout: 50ms, run: sleep 2s}]}
`,
			want:   map[string]dag.Status{"a": f},
			failed: true,
		},
		{
			name: "an infrastructure failure is not allowed",
			pipeline: `
nodes:
  - {id: a, allow-failure: true, steps: [{run: lose}]}
`,
			want:  map[string]dag.Status{"a": f},
			infra: true,
		},
	})
}

func TestSchedulerSkippedNeeds(t *testing.T) {
	t.Parallel()
	s, sk := dag.StatusSuccess, dag.StatusSkipped
	runCases(t, []schedCase{
		{
			name: "skipped-needs unset: a node whose need was skipped is skipped",
			pipeline: `
nodes:
  - {id: a, if: "false", steps: [{run: ok}]}
  - {id: b, needs: [a], steps: [{run: ok}]}
`,
			want:    map[string]dag.Status{"a": sk, "b": sk},
			reasons: map[string]string{"b": "a job it needs was skipped"},
			check:   func(t *testing.T, o *outcome) { ranNothing(t, o, "b") },
		},
		{
			name: "skipped-needs run: it runs",
			pipeline: `
defaults: {skipped-needs: run}
nodes:
  - {id: a, if: "false", steps: [{run: ok}]}
  - {id: b, needs: [a], steps: [{run: ok}]}
`,
			want: map[string]dag.Status{"a": sk, "b": s},
		},
		{
			// docs/dag.md: skip applies to a node "whose if calls no
			// status function", as on GitHub.
			name: "skipped-needs unset: an if without a status function is skipped too",
			pipeline: `
nodes:
  - {id: a, if: "false", steps: [{run: ok}]}
  - {id: b, needs: [a], if: "true", steps: [{run: ok}]}
`,
			want:  map[string]dag.Status{"a": sk, "b": sk},
			check: func(t *testing.T, o *outcome) { ranNothing(t, o, "b") },
		},
		{
			name: "skipped-needs unset: always() runs",
			pipeline: `
nodes:
  - {id: a, if: "false", steps: [{run: ok}]}
  - {id: b, needs: [a], if: always(), steps: [{run: ok}]}
`,
			want: map[string]dag.Status{"a": sk, "b": s},
		},
	})
}

func TestSchedulerStages(t *testing.T) {
	t.Parallel()
	s, f, sk := dag.StatusSuccess, dag.StatusFailure, dag.StatusSkipped
	runCases(t, []schedCase{
		{
			name: "a stage barrier after a failed node fails and what follows is skipped",
			pipeline: `
nodes:
  - {id: build, steps: [{run: fail 1}]}
  - {id: lint, steps: [{run: ok}]}
  - {id: stage-test, needs: [build, lint]}
  - {id: test, needs: [stage-test], steps: [{run: ok}]}
`,
			want:    map[string]dag.Status{"build": f, "lint": s, "stage-test": f, "test": sk},
			reasons: map[string]string{"stage-test": "a job it waits for did not succeed"},
			failed:  true,
			check:   func(t *testing.T, o *outcome) { ranNothing(t, o, "test") },
		},
		{
			name: "a stage barrier after an allowed failure passes",
			pipeline: `
nodes:
  - {id: build, allow-failure: true, steps: [{run: fail 1}]}
  - {id: stage-test, needs: [build]}
  - {id: test, needs: [stage-test], steps: [{run: ok}]}
`,
			want: map[string]dag.Status{"build": dag.StatusAllowed, "stage-test": s, "test": s},
		},
		{
			name: "a stage barrier waits for the whole stage",
			pipeline: `
nodes:
  - {id: b1, steps: [{run: sleep 80ms}]}
  - {id: b2, steps: [{run: sleep 20ms}]}
  - {id: stage-test, needs: [b1, b2]}
  - {id: test, needs: [stage-test], steps: [{run: ok}]}
`,
			want: map[string]dag.Status{"b1": s, "b2": s, "stage-test": s, "test": s},
			check: func(t *testing.T, o *outcome) {
				before(t, o, "b1", "test")
				before(t, o, "b2", "test")
			},
		},
	})
}

func TestSchedulerManualDelayed(t *testing.T) {
	t.Parallel()
	s, sk := dag.StatusSuccess, dag.StatusSkipped
	runCases(t, []schedCase{
		{
			name: "a manual node does not run unless named",
			pipeline: `
nodes:
  - {id: a, steps: [{run: ok}]}
  - {id: deploy, needs: [a], when: manual, steps: [{run: ok}]}
`,
			want:    map[string]dag.Status{"a": s, "deploy": sk},
			reasons: map[string]string{"deploy": "manual: run it with --job deploy"},
			check:   func(t *testing.T, o *outcome) { ranNothing(t, o, "deploy") },
		},
		{
			name: "a manual node named in Jobs runs, after what it needs",
			pipeline: `
nodes:
  - {id: a, steps: [{run: sleep 20ms}]}
  - {id: deploy, needs: [a], when: manual, steps: [{run: ok}]}
  - {id: unrelated, steps: [{run: ok}]}
`,
			opts: runner.Options{Jobs: []string{"deploy"}},
			want: map[string]dag.Status{"a": s, "deploy": s},
			check: func(t *testing.T, o *outcome) {
				before(t, o, "a", "deploy")
				ranNothing(t, o, "unrelated")
			},
		},
		{
			name: "a delayed node starts after its delay",
			pipeline: `
nodes:
  - {id: a, steps: [{run: ok}]}
  - {id: later, when: delayed, start-in: 100ms, steps: [{run: ok}]}
`,
			want: map[string]dag.Status{"a": s, "later": s},
			check: func(t *testing.T, o *outcome) {
				if d := o.started(t, "later").Sub(o.start); d < 100*time.Millisecond {
					t.Errorf("the delayed node started after %s, want at least 100ms", d)
				}
				wantLines(t, o, "later", "gantry", "delayed: starts in 100ms")
			},
		},
	})
}

func TestSchedulerRules(t *testing.T) {
	t.Parallel()
	s, sk := dag.StatusSuccess, dag.StatusSkipped
	runCases(t, []schedCase{
		{
			name: "rules:needs replaces the node's needs",
			pipeline: `
nodes:
  - {id: a, steps: [{run: sleep 300ms}]}
  - {id: b, steps: [{run: sleep 20ms}]}
  - id: c
    needs: [a]
    rules: [{if: "true", needs: [b]}]
    steps: [{run: ok}]
`,
			want: map[string]dag.Status{"a": s, "b": s, "c": s},
			check: func(t *testing.T, o *outcome) {
				before(t, o, "b", "c")
				if o.started(t, "c").After(o.finished(t, "a")) {
					t.Errorf("c waited for a, which its rule's needs do not name")
				}
			},
		},
		{
			name: "rules:start_in delays the node",
			pipeline: `
nodes:
  - id: later
    rules: [{when: delayed, start-in: 100ms}]
    steps: [{run: ok}]
`,
			want: map[string]dag.Status{"later": s},
			check: func(t *testing.T, o *outcome) {
				if d := o.started(t, "later").Sub(o.start); d < 100*time.Millisecond {
					t.Errorf("the delayed node started after %s, want at least 100ms", d)
				}
			},
		},
		{
			name: "no rule matched, a never rule, and a rule's allow-failure",
			pipeline: `
nodes:
  - {id: none, rules: [{if: "false"}], steps: [{run: ok}]}
  - {id: never, rules: [{if: "true", when: never}], steps: [{run: ok}]}
  - {id: allowed, rules: [{allow-failure: true}], steps: [{run: fail 1}]}
`,
			want:    map[string]dag.Status{"none": sk, "never": sk, "allowed": dag.StatusAllowed},
			reasons: map[string]string{"none": "no rule matched", "never": "says never"},
			check:   func(t *testing.T, o *outcome) { ranNothing(t, o, "none", "never") },
		},
	})
}

func TestSchedulerRulesCycle(t *testing.T) {
	t.Parallel()
	p := decode(t, `
nodes:
  - {id: a, rules: [{needs: [b]}], steps: [{run: ok}]}
  - {id: b, needs: [a], steps: [{run: ok}]}
`)
	o := runPipeline(t, t.Context(), p, runner.Options{})
	if o.err == nil || !strings.Contains(o.err.Error(), "cycle") {
		t.Fatalf("Run: error %v, want one about a cycle", o.err)
	}
	if len(o.exec.nodes) > 0 {
		t.Errorf("nodes ran despite the cycle")
	}
}

func TestSchedulerCancel(t *testing.T) {
	t.Parallel()
	c := dag.StatusCancelled
	// stopped fails the test unless the nodes' commands were cancelled
	// soon after the run was.
	stopped := func(ids ...string) func(t *testing.T, o *outcome) {
		return func(t *testing.T, o *outcome) {
			t.Helper()
			for _, id := range ids {
				cmd := o.cmd(t, id, 0)
				if !cmd.cancelled || !errors.Is(cmd.ctxErr, context.Canceled) || cmd.end.Sub(o.start) > time.Second {
					t.Errorf("%s: cancelled %v (%v) %s after the start; want cancelled within 1s", id, cmd.cancelled, cmd.ctxErr, cmd.end.Sub(o.start))
				}
			}
			if o.took > time.Second {
				t.Errorf("Run returned after %s, want soon after the cancel", o.took)
			}
		}
	}
	runCases(t, []schedCase{
		{
			name: "running steps and nodes not started end as cancelled",
			pipeline: `
nodes:
  - {id: a, steps: [{run: sleep 2s}, {run: ok}]}
  - {id: b, needs: [a], steps: [{run: ok}]}
`,
			cancelAfter: 100 * time.Millisecond,
			wantErr:     context.Canceled,
			want:        map[string]dag.Status{"a": c, "b": c},
			reasons:     map[string]string{"a": "the run was cancelled", "b": "the run was cancelled"},
			check: func(t *testing.T, o *outcome) {
				stopped("a")(t, o)
				ranNothing(t, o, "b")
				if n := len(o.cmds("a")); n != 1 {
					t.Errorf("a ran %d commands, want 1", n)
				}
			},
		},
		{
			name: "a node waiting for a slot is cancelled",
			pipeline: `
nodes:
  - {id: a, steps: [{run: sleep 2s}]}
  - {id: b, steps: [{run: sleep 2s}]}
`,
			opts:        runner.Options{Parallel: 1},
			cancelAfter: 100 * time.Millisecond,
			wantErr:     context.Canceled,
			want:        map[string]dag.Status{"a": c, "b": c},
			check: func(t *testing.T, o *outcome) {
				if n := len(o.cmds("a")) + len(o.cmds("b")); n != 1 {
					t.Errorf("%d commands ran, want 1", n)
				}
				if o.took > time.Second {
					t.Errorf("Run returned after %s, want soon after the cancel", o.took)
				}
			},
		},
		{
			name: "a node with a timeout is cancelled, not timed out",
			pipeline: `
nodes:
  - {id: a, timeout: 10s, steps: [{run: sleep 2s}]}
`,
			cancelAfter: 100 * time.Millisecond,
			wantErr:     context.Canceled,
			want:        map[string]dag.Status{"a": c},
			check:       stopped("a"),
		},
		{
			name: "a step with a timeout is cancelled, not failed",
			pipeline: `
nodes:
  - {id: a, steps: [{timeout: 10s, run: sleep 2s}]}
`,
			cancelAfter: 100 * time.Millisecond,
			wantErr:     context.Canceled,
			want:        map[string]dag.Status{"a": c},
			reasons:     map[string]string{"a": "the run was cancelled"},
			check: func(t *testing.T, o *outcome) {
				stopped("a")(t, o)
				if st := o.result(t, "a").Steps[0]; st.Outcome != c {
					t.Errorf("the step's outcome is %s, want %s", st.Outcome, c)
				}
			},
		},
	})
}

func TestSchedulerInfrastructure(t *testing.T) {
	t.Parallel()
	f := dag.StatusFailure
	lost := func(t *testing.T, o *outcome) {
		t.Helper()
		a := o.result(t, "a")
		if !a.Infrastructure {
			t.Errorf("a: Infrastructure is false, want true")
		}
		if n := len(o.cmds("a")); n != 1 {
			t.Errorf("a ran %d commands, want 1: nothing after the engine was lost", n)
		}
		if len(a.Steps) != 1 {
			t.Errorf("a has %d step results, want 1", len(a.Steps))
		}
	}
	runCases(t, []schedCase{
		{
			name: "a lost engine fails the node as an infrastructure failure",
			pipeline: `
nodes:
  - {id: a, steps: [{run: lose}, {run: echo after}, {if: always(), run: echo always}]}
  - {id: b, needs: [a], steps: [{run: ok}]}
`,
			want:    map[string]dag.Status{"a": f, "b": dag.StatusSkipped},
			reasons: map[string]string{"a": "the engine at tcp://x was lost"},
			infra:   true,
			check:   lost,
		},
		{
			name: "with another failure the run failed too",
			pipeline: `
nodes:
  - {id: a, steps: [{run: lose}, {run: echo after}]}
  - {id: b, steps: [{run: fail 1}]}
`,
			want:    map[string]dag.Status{"a": f, "b": f},
			reasons: map[string]string{"a": "the engine at tcp://x was lost"},
			failed:  true,
			infra:   true,
			check: func(t *testing.T, o *outcome) {
				lost(t, o)
				if o.result(t, "b").Infrastructure {
					t.Errorf("b: Infrastructure is true, want false")
				}
			},
		},
	})
}

func TestSchedulerEnvironment(t *testing.T) {
	t.Parallel()
	s := dag.StatusSuccess
	// env checks the first command of node a saw these variables (""
	// meaning unset).
	env := func(want map[string]string) func(t *testing.T, o *outcome) {
		return func(t *testing.T, o *outcome) {
			t.Helper()
			got := o.cmd(t, "a", 0).env
			for k, w := range want {
				if v, ok := got[k]; w == "" && ok {
					t.Errorf("%s = %q, want it unset", k, v)
				} else if w != "" && v != w {
					t.Errorf("%s = %q, want %q", k, v, w)
				}
			}
		}
	}
	runCases(t, []schedCase{
		{
			name: "predefined gitlab gives CI_JOB_NAME",
			pipeline: `
defaults: {predefined: gitlab}
nodes:
  - {id: a, name: build job, stage: build, steps: [{run: ok}]}
`,
			want:  map[string]dag.Status{"a": s},
			check: env(map[string]string{"CI_JOB_NAME": "build job", "CI_JOB_STAGE": "build", "GITLAB_CI": "true", "GITHUB_ACTIONS": ""}),
		},
		{
			name: "predefined unset gives GitHub's",
			pipeline: `
nodes:
  - {id: a, steps: [{run: ok}]}
`,
			want:  map[string]dag.Status{"a": s},
			check: env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_JOB": "a", "CI_JOB_NAME": ""}),
		},
		{
			name: "export-vars makes the run's vars env",
			pipeline: `
defaults: {export-vars: true}
nodes:
  - {id: a, steps: [{run: ok}]}
`,
			opts:  runner.Options{Vars: map[string]string{"TARGET": "staging"}},
			want:  map[string]dag.Status{"a": s},
			check: env(map[string]string{"TARGET": "staging"}),
		},
		{
			name: "without export-vars vars are only a context",
			pipeline: `
nodes:
  - {id: a, env: {FROM_CONTEXT: "${{ vars.TARGET }}"}, steps: [{run: ok}]}
`,
			opts:  runner.Options{Vars: map[string]string{"TARGET": "staging"}},
			want:  map[string]dag.Status{"a": s},
			check: env(map[string]string{"TARGET": "", "FROM_CONTEXT": "staging"}),
		},
		{
			name: "expand-variables expands $A in a node's env",
			pipeline: `
defaults: {expand-variables: true}
env: {A: one}
nodes:
  - {id: a, env: {B: "$A-two", C: "${A}3", D: "$$A"}, steps: [{run: ok}]}
`,
			want:  map[string]dag.Status{"a": s},
			check: env(map[string]string{"B": "one-two", "C": "one3", "D": "$A"}),
		},
		{
			name: "without expand-variables $A stays",
			pipeline: `
env: {A: one}
nodes:
  - {id: a, env: {B: "$A-two"}, steps: [{run: ok}]}
`,
			want:  map[string]dag.Status{"a": s},
			check: env(map[string]string{"B": "$A-two"}),
		},
		{
			name: "inherit-env [] hides the pipeline's env",
			pipeline: `
env: {P: pipeline}
nodes:
  - {id: a, inherit-env: [], env: {N: node}, steps: [{run: ok}]}
`,
			want:  map[string]dag.Status{"a": s},
			check: env(map[string]string{"P": "", "N": "node"}),
		},
		{
			name: "inherit-env [P] passes only P",
			pipeline: `
env: {P: pipeline, Q: other}
nodes:
  - {id: a, inherit-env: [P], steps: [{run: ok}]}
`,
			want:  map[string]dag.Status{"a": s},
			check: env(map[string]string{"P": "pipeline", "Q": ""}),
		},
		{
			name: "expressions false leaves ${{ }} in run as it is",
			pipeline: `
defaults: {expressions: false}
nodes:
  - {id: a, steps: [{run: "echo ${{ x }}"}]}
`,
			want: map[string]dag.Status{"a": s},
			check: func(t *testing.T, o *outcome) {
				wantLines(t, o, "a", "stdout", "${{ x }}")
			},
		},
		{
			name: "expressions unset evaluates ${{ }} in run",
			pipeline: `
nodes:
  - {id: a, steps: [{run: "echo ${{ 'evaluated' }}"}]}
`,
			want: map[string]dag.Status{"a": s},
			check: func(t *testing.T, o *outcome) {
				wantLines(t, o, "a", "stdout", "evaluated")
			},
		},
		{
			name: "script lines echo each line and stop at the first that fails",
			pipeline: `
defaults: {script: lines, expressions: false}
nodes:
  - {id: a, steps: [{run: "echo one\nfail 3\necho two"}]}
`,
			want:   map[string]dag.Status{"a": dag.StatusFailure},
			failed: true,
			check: func(t *testing.T, o *outcome) {
				wantLines(t, o, "a", "stdout", "$ echo one", "one", "$ fail 3")
				if st := o.result(t, "a").Steps[0]; st.ExitCode != 3 {
					t.Errorf("exit code %d, want 3", st.ExitCode)
				}
			},
		},
	})
}
