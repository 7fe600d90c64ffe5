package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
)

// stepEnv is what one step runs with: its environment and the expression
// contexts its run, with and env see.
type stepEnv struct {
	vars []string
	// env is the env context: the variables before the host's and the
	// protocol's.
	env  map[string]string
	expr *expr.Env
	// dir is the step's protocol directory on the host.
	dir string
	// cached is set by the executor: the step's command was replayed
	// from its cache.
	cached bool
}

// runStep runs one step: its condition, its command or built-in action,
// and the step protocol's files.
func (j *job) runStep(ctx context.Context, s *dag.Step, index int) StepResult {
	return j.runStepNotify(ctx, s, index, nil)
}

// runStepNotify is runStep calling started, when not nil, once the step
// is reported started.
func (j *job) runStepNotify(ctx context.Context, s *dag.Step, index int, started func()) StepResult {
	r := j.r
	name := s.Label()
	sr := StepResult{Name: name, Status: dag.StatusSkipped, Outcome: dag.StatusSkipped}
	j.mu.Lock()
	status := j.status
	j.mu.Unlock()
	if ctx.Err() != nil {
		status = expr.StatusCancelled
	}
	env, err := j.environ(s, index)
	if err == nil {
		env.expr.Status = status
	}
	// The condition, with the implicit success().
	run := status == expr.StatusSuccess
	if s.If != "" && err == nil {
		var e *expr.Expr
		if e, err = expr.Parse(s.If, s.Pos.Pos); err == nil {
			var ok bool
			if ok, err = e.EvalBool(env.expr); err == nil {
				run = ok && (expr.UsesStatusFunc(e) || status == expr.StatusSuccess)
			}
		}
	}
	if err != nil {
		j.say("%s: %v", name, err)
		sr.Status, sr.Outcome = dag.StatusFailure, dag.StatusFailure
		return sr
	}
	if !run {
		return sr
	}
	sctx := ctx
	graced := ctx.Err() != nil
	if graced {
		// always() steps still run after a cancel, with a grace period.
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
	}
	d, err := evalDuration(s.Timeout, s.Pos, env.expr)
	if err != nil {
		j.say("%s: timeout: %v", name, err)
		sr.Status, sr.Outcome = dag.StatusFailure, dag.StatusFailure
		return sr
	}
	if d > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(sctx, d)
		defer cancel()
	}
	r.opts.Reporter.StepStarted(j.n.ID, name)
	var traced []string
	sctx, traced = r.observeStep(sctx, j.n.ID, name)
	env.vars = append(env.vars, traced...)
	if started != nil {
		started()
	}
	start := time.Now()
	code, outputs, err := j.execStep(sctx, s, index, env)
	sr.Duration = time.Since(start)
	sr.ExitCode = code
	sr.Outputs = outputs
	sr.Cached = env.cached
	var infra *InfraError
	switch {
	case errors.As(err, &infra):
		j.say("%s: %v", name, infra)
		j.mu.Lock()
		if j.infra == nil {
			j.infra = infra
		}
		j.mu.Unlock()
		sr.Outcome, sr.why = dag.StatusFailure, infra.Error()
	case errors.Is(ctx.Err(), context.Canceled) && !graced:
		j.say("%s: %s", name, cancelled(ctx))
		sr.Outcome = dag.StatusCancelled
	case errors.Is(sctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		// The engine may give up on the deadline it was sent a moment
		// before this side's timer fires: its error says so.
		sr.why = fmt.Sprintf("timed out after %s", sr.Duration.Round(time.Millisecond))
		j.say("%s: %s", name, sr.why)
		sr.Outcome = dag.StatusFailure
	case err != nil:
		j.say("%v", err)
		sr.Outcome, sr.why = dag.StatusFailure, "could not run: "+err.Error()
	case code != 0:
		j.say("%s: exit code %d", name, code)
		sr.Outcome = dag.StatusFailure
	default:
		sr.Outcome = dag.StatusSuccess
	}
	sr.Status = sr.Outcome
	if sr.Outcome == dag.StatusFailure && infra == nil {
		if keepGoing, err := evalFlag(s.ContinueOnError, s.Pos, env.expr); err != nil {
			j.say("%s: continue-on-error: %v", name, err)
		} else if keepGoing {
			sr.Status = dag.StatusSuccess
		}
	}
	r.opts.Reporter.StepFinished(j.n.ID, name, sr.Status, sr.Duration)
	return sr
}

// execStep runs a step's command or built-in action, then reads what it
// wrote to the step protocol's files.
func (j *job) execStep(ctx context.Context, s *dag.Step, index int, env *stepEnv) (int, map[string]string, error) {
	if err := createProtocolFiles(env.dir); err != nil {
		return 1, nil, err
	}
	var code int
	var err error
	outputs := map[string]string{}
	cmds := newCommands(env.env)
	if s.Background {
		cmds.prefix = "[" + s.Label() + "] "
	}
	if s.Uses != "" {
		with := map[string]string{}
		for k, v := range s.With {
			if with[k], err = j.interpolate(v, s, env.expr); err != nil {
				return 1, nil, err
			}
		}
		if code, err = j.builtin(ctx, s, index, with, outputs, env, cmds); err != nil {
			return 1, outputs, err
		}
	} else {
		script, err := j.interpolate(s.Run, s, env.expr)
		if err != nil {
			return 1, nil, err
		}
		b := j.behavior.Step(s)
		argv, err := j.shellCommand(b, script, env.dir, index, env.expr)
		if err != nil {
			return 1, nil, err
		}
		lw, ew := j.lineWriter("stdout", cmds), j.lineWriter("stderr", cmds)
		code, err = j.ws.Exec(ctx, Command{Argv: argv, Name: s.Label(), Env: env.vars, Dir: b.WorkingDirectory, Stdout: lw, Stderr: ew,
			Secrets: j.r.opts.Masker.Values(), Volatile: volatileVars, Cached: &env.cached})
		lw.Close()
		ew.Close()
		if err != nil {
			return 1, nil, err
		}
	}
	return code, outputs, j.readProtocolFiles(env.dir, cmds, outputs)
}

// interpolate evaluates the ${{ }} in a step's text, where the DAG says
// its text holds expressions.
func (j *job) interpolate(text string, s *dag.Step, env *expr.Env) (string, error) {
	if !j.behavior.Expressions {
		return text, nil
	}
	return expr.Interpolate(text, s.Pos.Pos, env)
}

// stepDir is a step's protocol directory on the host, and as steps see it.
func (j *job) stepDir(index int) (host, seen string) {
	name := fmt.Sprintf("step-%d", index+1)
	return filepath.Join(j.stateDir, name), filepath.Join(j.ws.StateDir(), name)
}
