package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
)

// job is one node while it runs: what its steps share and change.
type job struct {
	r        *run
	n        *dag.Node
	behavior dag.Behavior
	ws       Workspace
	// stateDir is the node's state directory on the host; the workspace
	// sees it at ws.StateDir().
	stateDir string
	// contexts are the expression contexts that do not change while the
	// node runs (github, needs, matrix, vars, secrets, ...).
	contexts contexts
	// nodeEnv is the pipeline's and the node's env, evaluated once.
	nodeEnv map[string]string
	// predefined are the predefined variables of the node's steps.
	predefined map[string]string
	// actionNames are GITHUB_ACTION of each step.
	actionNames []string
	// steps is the steps context: the steps with an id that ran so far.
	steps map[string]any
	// status is the outcome of the steps so far, for status functions.
	status expr.Status
	// env are the variables earlier steps wrote to GITHUB_ENV and the
	// dotenv reports of the nodes this one consumes.
	exported map[string]string
	// paths are what earlier steps wrote to GITHUB_PATH, newest first.
	paths   []string
	summary strings.Builder
	// posts run when the node ends, last added first (post steps, cache
	// saves).
	posts []post
	// infra is the first infrastructure failure, which ends the node.
	infra *InfraError

	// mu guards what background steps change while other steps run:
	// steps, status, exported, paths, summary, posts and infra.
	mu sync.Mutex
	// background are the background steps started and not yet joined, by
	// step index.
	background map[int]*backgroundStep
	// actionNodes are the node programs JavaScript actions run with, by
	// the major their runs.using names (see actionNode).
	actionNodes map[string]string
}

// execNode runs a node's steps in a fresh workspace.
func (r *run) execNode(ctx context.Context, n *dag.Node, needs map[string]any) NodeResult {
	res := NodeResult{ID: n.ID, Name: n.Label()}
	fail := func(format string, args ...any) NodeResult {
		res.Status, res.Reason = dag.StatusFailure, r.opts.Masker.Mask(fmt.Sprintf(format, args...))
		r.opts.Reporter.Line(n.ID, "gantry", res.Reason)
		return res
	}
	// What is known only now: a timeout, images from expressions.
	n, err := r.evaluated(n, needs)
	if err != nil {
		return fail("%v", err)
	}
	if d, _ := n.Timeout.Parse(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	stateDir := filepath.Join(r.scratch, n.ID)
	if err := os.MkdirAll(filepath.Join(stateDir, "tmp"), 0o755); err != nil {
		return fail("%v", err)
	}
	ignoreImage := r.opts.PlatformHost && len(n.Services) == 0
	ws, err := r.opts.Executor.Prepare(ctx, n, WorkspaceSpec{Source: r.opts.Source, StateDir: stateDir, IgnoreImage: ignoreImage})
	if err != nil {
		var infra *InfraError
		switch {
		case errors.Is(err, ErrNeedsContainer):
			hint := "run it with --executor buildkit, or with --platform-host to run it on this machine anyway"
			if len(n.Services) > 0 {
				hint = "run it with --executor buildkit (services need containers)"
			}
			return fail("this job runs in a container (%s); %s", cmp.Or(n.Image, "services"), hint)
		case errors.As(err, &infra):
			res = fail("preparing the workspace: %v", err)
			res.Infrastructure = true
			return res
		}
		return fail("preparing the workspace: %v", err)
	}
	if n.Image != "" && ws.HostDir() != "" {
		r.opts.Reporter.Line(n.ID, "gantry", fmt.Sprintf("running on this machine, not in %s (--platform-host)", n.Image))
	}
	if sn := n.Snapshot; sn != nil {
		// GitHub makes a custom runner image of the job's runner when the
		// job ends; a local run has no runner to make one of.
		r.opts.Reporter.Line(n.ID, "gantry", r.opts.Masker.Mask(fmt.Sprintf("snapshot %s: not made locally (GitHub makes a runner image of the job's runner when it ends there)", sn.ImageName)))
	}
	// Removing a workspace takes a while; the node is done before that, so
	// it happens in the background and Run waits for it at the end.
	r.releases.Add(1)
	defer func() {
		go func() {
			defer r.releases.Done()
			_ = ws.Release(context.WithoutCancel(ctx))
		}()
	}()
	j := &job{
		r: r, n: n, behavior: r.p.Behavior(n), ws: ws, stateDir: stateDir,
		contexts: r.contexts(n, needs, ws.Dir(), ws.HostDir()).with("job", jobContext(ws)), steps: map[string]any{}, status: expr.StatusSuccess,
		exported: map[string]string{},
	}
	j.predefined = r.predefined(n, j.behavior, ws.Dir())
	j.actionNames = actionNames(n.Steps)
	if j.nodeEnv, err = r.nodeEnv(n, j.behavior, j.contexts, j.predefined); err != nil {
		return fail("env: %v", err)
	}
	if err := j.consumeArtifacts(ctx); err != nil {
		return fail("artifacts: %v", err)
	}
	saveCaches := j.nodeCaches(ctx)
	res.Steps = j.runSteps(ctx)
	res.Steps = append(res.Steps, j.runPosts(ctx)...)
	timedOut := n.Timeout != "" && errors.Is(ctx.Err(), context.DeadlineExceeded)
	switch {
	case j.infra != nil:
		res.Status, res.Reason, res.Infrastructure = dag.StatusFailure, j.infra.Error(), true
	case timedOut:
		res.Status, res.Reason = dag.StatusFailure, fmt.Sprintf("timed out after %s", n.Timeout)
	case j.status == expr.StatusFailure:
		res.Status, res.Reason = dag.StatusFailure, "a step failed"
		for _, st := range res.Steps {
			if st.Status == dag.StatusFailure {
				res.Reason = fmt.Sprintf("step %q failed", st.Name)
				if st.why != "" {
					res.Reason = fmt.Sprintf("step %q %s", st.Name, st.why)
				} else if st.ExitCode != 0 {
					res.Reason = fmt.Sprintf("step %q failed with exit code %d", st.Name, st.ExitCode)
				}
				break
			}
		}
	case j.status == expr.StatusCancelled || ctx.Err() != nil:
		res.Status, res.Reason = dag.StatusCancelled, cancelled(ctx)
	default:
		res.Status = dag.StatusSuccess
	}
	if j.infra == nil {
		saveCaches(res.Status)
		if err := j.produceArtifacts(ctx, res.Status, &res); err != nil {
			r.opts.Reporter.Line(n.ID, "gantry", "artifacts: "+err.Error())
			if res.Status == dag.StatusSuccess {
				res.Status, res.Reason = dag.StatusFailure, "artifacts: "+err.Error()
			}
		}
	}
	res.Outputs = r.nodeOutputs(n, needs, j.steps)
	res.Summary = r.opts.Masker.Mask(j.summary.String())
	return res
}

// runSteps runs the node's steps in order, background ones beside the
// others, and returns their results in step order.
func (j *job) runSteps(ctx context.Context) []StepResult {
	pres := j.runPres(ctx)
	results := make([]StepResult, 0, len(j.n.Steps))
	for i := range j.n.Steps {
		if j.lost() {
			// What runs the steps is gone: nothing after this can run.
			break
		}
		s := &j.n.Steps[i]
		results = append(results, StepResult{Name: s.Label(), Status: dag.StatusSkipped, Outcome: dag.StatusSkipped})
		switch {
		case s.Background:
			j.startBackground(ctx, s, i)
			continue
		case s.Control():
			results[i] = j.control(ctx, s, i, results)
		default:
			results[i] = j.runStep(ctx, s, i)
		}
		j.record(ctx, s, results[i], false)
	}
	// The node ends when its background steps have.
	j.join(ctx, j.pending(), results, false)
	return append(pres, results...)
}

// record makes a step's result part of the steps context and the job's
// status. A step stopped by a cancel: step does not change the status:
// stopping it was the plan.
func (j *job) record(ctx context.Context, s *dag.Step, sr StepResult, stopped bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if s.ID != "" {
		j.steps[s.ID] = stepEntry(sr.Outputs, outcomeWord(sr.Outcome), outcomeWord(sr.Status))
	}
	switch {
	case stopped:
	case sr.Status == dag.StatusFailure:
		j.status = expr.StatusFailure
	case sr.Status == dag.StatusCancelled:
		if j.status == expr.StatusSuccess {
			j.status = expr.StatusCancelled
		}
	}
	if ctx.Err() != nil && j.status == expr.StatusSuccess {
		j.status = expr.StatusCancelled
	}
}

// lost reports whether an infrastructure failure ended the node.
func (j *job) lost() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.infra != nil
}

// say prints a line of gantry's own about the node, masked.
func (j *job) say(format string, args ...any) {
	j.r.opts.Reporter.Line(j.n.ID, "gantry", j.r.opts.Masker.Mask(fmt.Sprintf(format, args...)))
}

// stepEntry is a step's entry in the steps context.
func stepEntry(outputs map[string]string, outcome, conclusion string) map[string]any {
	return map[string]any{"outputs": maps.Clone(outputs), "outcome": outcome, "conclusion": conclusion}
}

func outcomeWord(s dag.Status) string {
	switch s {
	case dag.StatusSuccess, dag.StatusAllowed:
		return "success"
	case dag.StatusFailure:
		return "failure"
	case dag.StatusCancelled:
		return "cancelled"
	}
	return "skipped"
}
