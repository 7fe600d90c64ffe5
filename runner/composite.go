package runner

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
)

// Composite actions are inlined when a pipeline is translated. One that is
// not there then, because an earlier step writes it or checks it out
// (uses: ./path after actions/checkout with path:), is found when its step
// runs, as on GitHub, and its steps are run here, in the caller's step:
// with the inputs the caller gave, its own steps context, the caller's env
// under each inner step's own, GITHUB_ACTION_PATH, and its outputs from
// outputs.*.value.

// maxCompositeDepth is how deep composite actions may nest (GitHub's
// limit).
const maxCompositeDepth = 10

// compositeStep is a step of a composite action's action.yml.
type compositeStep struct {
	ID               string            `yaml:"id"`
	Name             string            `yaml:"name"`
	If               string            `yaml:"if"`
	Run              string            `yaml:"run"`
	Shell            string            `yaml:"shell"`
	Uses             string            `yaml:"uses"`
	With             map[string]string `yaml:"with"`
	Env              map[string]string `yaml:"env"`
	WorkingDirectory string            `yaml:"working-directory"`
	ContinueOnError  string            `yaml:"continue-on-error"`
}

// runComposite runs a composite action's steps in the caller's step.
func (j *job) runComposite(ctx context.Context, caller *dag.Step, index int, a *action, with map[string]string, se *stepEnv, outputs map[string]string, depth int) (int, error) {
	if depth >= maxCompositeDepth {
		return 1, fmt.Errorf("action %s: composite actions nest deeper than %d levels", a.uses, maxCompositeDepth)
	}
	if len(a.meta.Runs.Steps) == 0 {
		return 1, fmt.Errorf("composite action %s has no steps", a.uses)
	}
	seen, err := j.bringIn(ctx, a)
	if err != nil {
		return 1, err
	}
	inputs := map[string]any{}
	for name, in := range a.meta.Inputs {
		if v, ok := lookupFold(with, name); ok {
			inputs[name] = v
		} else if in.Default != nil {
			inputs[name] = *in.Default
		}
	}
	for k, v := range with {
		if _, ok := inputs[k]; !ok {
			inputs[k] = v
		}
	}
	// The caller's contexts, with the action's own inputs and steps.
	c := j.contexts.with("inputs", expr.FromGo(inputs))
	steps := map[string]any{}
	status := expr.StatusSuccess
	hostDir, seenDir := j.stepDir(index)
	for k, cs := range a.meta.Runs.Steps {
		name := (&dag.Step{Name: cs.Name, Uses: cs.Uses, Run: cs.Run}).Label()
		sc := c.with("steps", expr.FromGo(steps))
		// The caller's env context, then the inner step's own env.
		envCtx := maps.Clone(se.env)
		inner := dag.Behavior{Expressions: true}
		envCtx, err := addLayer(envCtx, cs.Env, inner, sc, caller.Pos)
		if err != nil {
			return 1, fmt.Errorf("action %s step %d: %w", a.uses, k+1, err)
		}
		ee := sc.exprEnv(envCtx)
		ee.Status = status
		run := status == expr.StatusSuccess
		if cs.If != "" {
			e, err := expr.Parse(cs.If, caller.Pos.Pos)
			if err != nil {
				return 1, fmt.Errorf("action %s step %d: if: %w", a.uses, k+1, err)
			}
			ok, err := e.EvalBool(ee)
			if err != nil {
				return 1, fmt.Errorf("action %s step %d: if: %w", a.uses, k+1, err)
			}
			run = ok && (expr.UsesStatusFunc(e) || status == expr.StatusSuccess)
		}
		if !run {
			if cs.ID != "" {
				steps[cs.ID] = stepEntry(nil, "skipped", "skipped")
			}
			continue
		}
		// Each inner step has a protocol directory of its own.
		dir := filepath.Join(hostDir, fmt.Sprintf("composite-%d-%d", depth, k+1))
		inStep := filepath.Join(seenDir, fmt.Sprintf("composite-%d-%d", depth, k+1))
		if err := createProtocolFiles(dir); err != nil {
			return 1, err
		}
		vars := innerVars(se.vars, cs.Env, envCtx, inStep, seen)
		cmds := newCommands(envCtx)
		innerOut := map[string]string{}
		var code int
		switch {
		case cs.Run != "":
			code, err = j.runCompositeScript(ctx, cs, name, ee, vars, dir, inStep, cmds)
		case cs.Uses != "":
			w := map[string]string{}
			for key, v := range cs.With {
				if w[key], err = expr.Interpolate(v, caller.Pos.Pos, ee); err != nil {
					break
				}
			}
			if err == nil {
				step := &dag.Step{ID: cs.ID, Name: cs.Name, Uses: cs.Uses, With: w, Pos: caller.Pos}
				nested := &stepEnv{vars: vars, env: envCtx, expr: ee, dir: dir}
				if na, lerr := j.loadAction(ctx, step.Uses); lerr == nil && strings.EqualFold(na.meta.Runs.Using, "composite") {
					code, err = j.runComposite(ctx, step, index, na, w, nested, innerOut, depth+1)
				} else {
					code, err = j.builtin(ctx, step, index, w, innerOut, nested, cmds)
				}
			}
		default:
			err = fmt.Errorf("step %d has neither run nor uses", k+1)
		}
		if err == nil {
			err = j.readProtocolFiles(dir, cmds, innerOut)
		}
		keepGoing := false
		switch f := strings.TrimSpace(cs.ContinueOnError); {
		case f == "true":
			keepGoing = true
		case strings.Contains(f, "${{"):
			keepGoing, _ = evalFlag(dag.Flag{Expr: f}, caller.Pos, ee)
		}
		outcome := "success"
		if err != nil || code != 0 {
			if err != nil {
				j.say("%s: %v", name, err)
			} else {
				j.say("%s: exit code %d", name, code)
			}
			outcome = "failure"
			if !keepGoing {
				status = expr.StatusFailure
			}
		}
		if cs.ID != "" {
			conclusion := outcome
			if keepGoing {
				conclusion = "success"
			}
			steps[cs.ID] = stepEntry(innerOut, outcome, conclusion)
		}
	}
	// The action's outputs, from its steps.
	oe := c.with("steps", expr.FromGo(steps)).exprEnv(se.env)
	for name, o := range a.meta.Outputs {
		v, err := expr.Interpolate(o.Value, caller.Pos.Pos, oe)
		if err != nil {
			return 1, fmt.Errorf("action %s: output %q: %w", a.uses, name, err)
		}
		outputs[name] = v
	}
	if status != expr.StatusSuccess {
		return 1, nil
	}
	return 0, nil
}

// runCompositeScript runs a composite action's run step with its shell
// (which GitHub requires there).
func (j *job) runCompositeScript(ctx context.Context, cs compositeStep, name string, ee *expr.Env, vars []string, dir, inStep string, cmds *commands) (int, error) {
	script, err := expr.Interpolate(cs.Run, dag.SourcePos{}.Pos, ee)
	if err != nil {
		return 1, err
	}
	b := j.behavior
	b.Shell, b.WorkingDirectory, b.Script = cmp.Or(cs.Shell, "bash"), cs.WorkingDirectory, dag.ScriptFile
	argv, err := shellArgv(b, script, dir, inStep, j.ws.HostDir() != "")
	if err != nil {
		return 1, err
	}
	lw, ew := j.lineWriter("stdout", cmds), j.lineWriter("stderr", cmds)
	defer lw.Close()
	defer ew.Close()
	return j.ws.Exec(ctx, Command{Argv: argv, Name: name, Env: vars, Dir: cs.WorkingDirectory, Stdout: lw, Stderr: ew,
		Secrets: j.r.opts.Masker.Values(), Volatile: volatileVars})
}

// innerVars is an inner step's environment: the caller's, with the inner
// step's own env (evaluated in envCtx), its protocol files and the action's
// path.
func innerVars(caller []string, own map[string]string, envCtx map[string]string, inStep, actionPath string) []string {
	set := map[string]string{"GITHUB_ACTION_PATH": actionPath}
	for k := range own {
		set[k] = envCtx[k]
	}
	for v, f := range protocolFiles {
		set[v] = filepath.Join(inStep, f)
	}
	out := slices.DeleteFunc(slices.Clone(caller), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		_, replaced := set[k]
		return replaced
	})
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
