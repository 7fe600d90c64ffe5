package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
)

// post is what runs when a node's steps are done, last added first:
// actions' post steps, and saving caches.
type post struct {
	// label names it in the node's steps ("Post actions/cache@v4").
	label string
	// cond is its post-if (always() when empty), evaluated against the
	// job's status when it comes to run.
	cond string
	// step is an action's post step: a step of the node whose failure
	// fails it. Saving a cache is not.
	step bool
	// run runs it; env is the expression environment of the job's end.
	run func(ctx context.Context) (exitCode int, err error)
	// env makes the expression environment its cond sees.
	env func() (*expr.Env, error)
}

// addPost adds what runs when the node ends.
func (j *job) addPost(p post) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.posts = append(j.posts, p)
}

// runPosts runs the posts in reverse order, each when its condition holds
// for the job's status then, and returns the results of those that are
// steps.
func (j *job) runPosts(ctx context.Context) []StepResult {
	var results []StepResult
	// Post steps run even after a cancel, as always() steps do.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	for i := len(j.posts) - 1; i >= 0 && !j.lost(); i-- {
		if sr, ok := j.runHook(ctx, pctx, j.posts[i]); ok {
			results = append(results, sr)
		}
	}
	return results
}

// runHook runs a pre or post script, or a cache save, when its condition
// holds (judged on ctx; run with runCtx). When it is a step it is reported
// as one and its result counts in the job's status; ok says so.
func (j *job) runHook(ctx, runCtx context.Context, p post) (sr StepResult, ok bool) {
	sr = StepResult{Name: p.label, Status: dag.StatusSkipped, Outcome: dag.StatusSkipped}
	run, err := j.postCondition(ctx, p)
	if err != nil {
		j.say("%s: %v", p.label, err)
		run, sr.Status, sr.Outcome = false, dag.StatusFailure, dag.StatusFailure
	}
	if run {
		if p.step {
			j.r.opts.Reporter.StepStarted(j.n.ID, p.label)
			// The executor's calls carry the step's span, and its
			// commands the Observer's variables (TRACEPARENT).
			var vars []string
			runCtx, vars = j.r.observeStep(runCtx, j.n.ID, p.label)
			runCtx = context.WithValue(runCtx, observedVars{}, vars)
		}
		start := time.Now()
		code, err := p.run(runCtx)
		sr.Duration, sr.ExitCode = time.Since(start), code
		switch {
		case err != nil:
			j.say("%s: %v", p.label, err)
			sr.Outcome, sr.why = dag.StatusFailure, "could not run: "+err.Error()
		case code != 0:
			j.say("%s: exit code %d", p.label, code)
			sr.Outcome = dag.StatusFailure
		default:
			sr.Outcome = dag.StatusSuccess
		}
		sr.Status = sr.Outcome
		if p.step {
			j.r.opts.Reporter.StepFinished(j.n.ID, p.label, sr.Status, sr.Duration)
		}
	}
	if p.step {
		j.record(ctx, &dag.Step{}, sr, false)
	}
	return sr, p.step
}

// postCondition evaluates a post's post-if (always() when it has none)
// with the job's status now.
func (j *job) postCondition(ctx context.Context, p post) (bool, error) {
	j.mu.Lock()
	status := j.status
	j.mu.Unlock()
	if ctx.Err() != nil && status == expr.StatusSuccess {
		status = expr.StatusCancelled
	}
	cond := p.cond
	if cond == "" {
		cond = "always()"
	}
	e, err := expr.Parse(cond, j.n.Pos.Pos)
	if err != nil {
		return false, fmt.Errorf("post-if: %w", err)
	}
	env := &expr.Env{}
	if p.env != nil {
		if env, err = p.env(); err != nil {
			return false, err
		}
	}
	env.Status = status
	ok, err := e.EvalBool(env)
	if err != nil {
		return false, fmt.Errorf("post-if: %w", err)
	}
	return ok && (expr.UsesStatusFunc(e) || status == expr.StatusSuccess), nil
}
