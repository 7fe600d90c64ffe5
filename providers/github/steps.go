package github

import (
	"fmt"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/expr"
)

// stepScope carries what steps inlined from a composite action see.
type stepScope struct {
	// idPrefix keeps inlined step ids apart from the caller's.
	idPrefix string
	// inputs are what the caller passed, by input name.
	inputs map[string]expr.Arg
	// stack is the chain of composite actions being inlined.
	stack []string
}

// text resolves a string of a step: matrix values, then, inside a
// composite action, inputs.X and steps.ID of the action's own steps.
func (t *translator) text(s *actionlint.String, c *combo, sc stepScope) string {
	v := t.resolve(s, c)
	if sc.inputs == nil && sc.idPrefix == "" || !expr.HasExpr(v) {
		return v
	}
	tpl, err := expr.ParseTemplate(v, t.pos(s.Pos))
	if err != nil {
		return v // reported by resolve already
	}
	if sc.inputs != nil {
		v = tpl.Substitute("inputs", sc.inputs)
	}
	if sc.idPrefix != "" {
		v = prefixStepRefs(v, sc.idPrefix)
	}
	return v
}

// prefixStepRefs rewrites steps.ID into steps.PREFIXID inside expressions.
func prefixStepRefs(s, prefix string) string {
	tpl, err := expr.ParseTemplate(s, diag.Pos{Line: 1, Col: 1})
	if err != nil {
		return s
	}
	return tpl.Rename("steps", func(id string) string { return prefix + id })
}

// jobSteps translates a job's steps in the order of its file, with the
// steps and keys of GitHub's 2026 syntax that prepare took out of the text
// put back: background steps, wait, wait-all and cancel steps, and each
// parallel: group as background steps followed by a wait for them.
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepsparallel
func (t *translator) jobSteps(j *actionlint.Job, c *combo, defaults *actionlint.DefaultsRun) []dag.Step {
	var plan *stepPlan
	if t.prep != nil && j.ID != nil {
		plan = t.prep.jobs[strings.ToLower(j.ID.Value)]
	}
	if plan == nil {
		return t.steps(j.Steps, c, defaults, stepScope{})
	}
	// The same position may hold several steps: aliases of one anchor.
	byPos := map[lineCol][]*actionlint.Step{}
	for _, s := range j.Steps {
		if s != nil && s.Pos != nil {
			k := posKey(s.Pos.Line, s.Pos.Col)
			byPos[k] = append(byPos[k], s)
		}
	}
	var (
		out []dag.Step
		// background are the ids of the background steps so far;
		// foreground the ids of steps that had to run in the foreground.
		background = map[string]bool{}
		foreground = map[string]bool{}
		group      []string
		index      int
		used       = map[*actionlint.Step]bool{}
	)
	for _, it := range plan.items {
		if it.control != nil {
			st := *it.control
			st.Wait = nil
			for _, id := range it.control.Wait {
				if t.checkBackgroundRef(&st, id, background, foreground) {
					st.Wait = append(st.Wait, id)
				}
			}
			if st.Cancel != "" && !t.checkBackgroundRef(&st, st.Cancel, background, foreground) {
				st.Cancel = ""
			}
			if st.Control() {
				out = append(out, st)
			}
			continue
		}
		if len(byPos[it.at]) == 0 {
			continue // actionlint reported why it is no step
		}
		s := byPos[it.at][0]
		byPos[it.at] = byPos[it.at][1:]
		used[s] = true
		steps := t.step(s, index, c, defaults, stepScope{})
		index++
		if it.background {
			id := s.ID
			switch {
			case len(steps) != 1:
				// A composite action inlined as several steps cannot run in
				// the background as one: it runs in the foreground, so that
				// waiting for it is already done.
				t.warnf(s.Pos, "caveat", "this step runs a composite action, which gantry inlines as steps: it runs in the foreground, not in the background").
					Hint = "a wait or cancel for it is dropped; the job's result is the same, only later steps start after it"
				if id != nil {
					foreground[id.Value] = true
				}
			default:
				steps[0].Background = true
				if steps[0].ID == "" && it.group > 0 {
					// The group's wait names its steps: GitHub gives a step
					// without an id one of its own (__run, ...) too.
					steps[0].ID = fmt.Sprintf("__parallel%d_%d", it.group, len(group)+1)
				}
				if steps[0].ID != "" {
					background[steps[0].ID] = true
					if it.group > 0 {
						group = append(group, steps[0].ID)
					}
				}
			}
		}
		out = append(out, steps...)
		if it.groupEnd {
			if len(group) > 0 {
				out = append(out, dag.Step{Name: "parallel (wait)", Wait: group, Pos: dag.SourcePos{Pos: it.groupPos}})
			}
			group = nil
		}
	}
	// Steps the plan did not place (it should place them all) keep their
	// order at the end rather than being lost, and say so.
	for _, s := range j.Steps {
		if s != nil && !used[s] {
			t.warnf(s.Pos, "step-order", "gantry could not tell where this step is among the job's steps: it runs after them").
				Hint = "this is a bug in gantry; please report it with the workflow"
			out = append(out, t.step(s, index, c, defaults, stepScope{})...)
			index++
		}
	}
	return out
}

// checkBackgroundRef reports whether a wait or cancel step may name id: a
// background step before it. One that ran in the foreground (a composite
// action) is done already, so the name is dropped without a finding.
func (t *translator) checkBackgroundRef(st *dag.Step, id string, background, foreground map[string]bool) bool {
	switch {
	case background[id]:
		return true
	case foreground[id]:
		return false
	}
	kind := "wait"
	if st.Cancel == id {
		kind = "cancel"
	}
	t.diags.Errorf(st.Pos.Pos, "step-wait", "%s: %q names no background step before it", kind, id).
		Hint = "give the background step that id, with background: true, before this step"
	return false
}

func (t *translator) steps(steps []*actionlint.Step, c *combo, defaults *actionlint.DefaultsRun, sc stepScope) []dag.Step {
	var out []dag.Step
	for i, s := range steps {
		out = append(out, t.step(s, i, c, defaults, sc)...)
	}
	return out
}

func (t *translator) step(s *actionlint.Step, index int, c *combo, defaults *actionlint.DefaultsRun, sc stepScope) []dag.Step {
	ds := dag.Step{
		Name: t.text(s.Name, c, sc),
		If:   t.cond(s.If, sc),
		Pos:  t.srcPos(s.Pos),
	}
	ds.Env = t.stepEnv(s.Env, c, sc)
	if env, from := t.envFrom(s.Env, c, sc); env != nil || from != "" {
		ds.Env, ds.EnvFrom = env, from
	}
	if s.ID != nil {
		ds.ID = sc.idPrefix + s.ID.Value
	} else if sc.idPrefix != "" {
		ds.ID = fmt.Sprintf("%s%d", sc.idPrefix, index+1)
	}
	ds.Timeout = t.minutes(s.TimeoutMinutes, c)
	ds.ContinueOnError = t.flag(s.ContinueOnError, c, "continue-on-error")
	switch e := s.Exec.(type) {
	case *actionlint.ExecRun:
		ds.Run = t.text(e.Run, c, sc)
		ds.Shell = t.text(e.Shell, c, sc)
		ds.WorkingDirectory = t.text(e.WorkingDirectory, c, sc)
		if defaults != nil {
			if ds.Shell == "" {
				ds.Shell = t.text(defaults.Shell, c, sc)
			}
			if ds.WorkingDirectory == "" {
				ds.WorkingDirectory = t.text(defaults.WorkingDirectory, c, sc)
			}
		}
		if len(sc.stack) > 0 && e.Shell == nil {
			t.errorf(s.Pos, "composite-shell", "a run step of a composite action needs shell:").
				Hint = "add shell: bash (GitHub rejects composite run steps without one)"
		}
		return []dag.Step{ds}
	case *actionlint.ExecAction:
		uses := t.selfUses(e.Uses, t.text(e.Uses, c, sc))
		with := map[string]string{}
		for _, in := range e.Inputs {
			with[in.Name.Value] = t.text(in.Value, c, sc)
		}
		if e.Entrypoint != nil {
			with["entrypoint"] = t.text(e.Entrypoint, c, sc)
		}
		if e.Args != nil {
			with["args"] = t.text(e.Args, c, sc)
		}
		if strings.HasPrefix(uses, "./") || strings.HasPrefix(uses, "../") {
			return t.localAction(s, index, ds, uses, with, c, sc)
		}
		if t.opts.Actions != nil && !strings.HasPrefix(uses, "docker://") && !strings.Contains(uses, "${{") && !dag.BuiltinAction(uses) {
			return t.remoteAction(s, index, ds, uses, with, c, sc)
		}
		ds.Uses = uses
		if len(with) > 0 {
			ds.With = with
		}
		t.checkRemoteRef(e.Uses, uses)
		return []dag.Step{ds}
	}
	t.errorf(s.Pos, "step", "step has neither run: nor uses:")
	return nil
}

func (t *translator) stepEnv(e *actionlint.Env, c *combo, sc stepScope) map[string]string {
	if e == nil || e.Expression != nil {
		// A whole-mapping expression is the node's or step's env-from
		// (see envFrom).
		return nil
	}
	out := map[string]string{}
	for _, v := range e.Vars {
		out[v.Name.Value] = t.text(v.Value, c, sc)
	}
	return out
}

// envFrom translates a whole-mapping env: ${{ expr }} of a workflow, job
// or step, which GitHub allows (its schema gives workflow-env, job-env and
// step-env contexts, and a mapping with contexts may be one expression).
// An expression over the matrix alone is evaluated now and gives literal
// entries; anything else is kept, matrix values filled in, as the
// env-from template the runner evaluates when the node or step starts.
// https://docs.github.com/en/actions/reference/workflows-and-actions/contexts#context-availability
func (t *translator) envFrom(e *actionlint.Env, c *combo, sc stepScope) (map[string]string, string) {
	if e == nil || e.Expression == nil {
		return nil, ""
	}
	s := e.Expression
	tpl := t.checkTemplate(s, c)
	if tpl == nil {
		return nil, ""
	}
	static := c != nil && !c.value.IsNull()
	for _, x := range tpl.Exprs() {
		for _, ctx := range x.Contexts() {
			static = static && ctx == "matrix"
		}
	}
	if static && sc.inputs == nil && t.call == nil {
		v, err := tpl.Value(&expr.Env{Contexts: map[string]expr.Value{"matrix": c.value}})
		if err != nil {
			t.diags.Add(diag.AsList(err)...)
			return nil, ""
		}
		switch {
		case v.IsNull():
			return nil, ""
		case v.Kind() != expr.KindObject:
			t.errorf(s.Pos, "env", "env: %s gives %s, not an object of variables", s.Value, v.Kind())
			return nil, ""
		}
		out := map[string]string{}
		for _, k := range v.Keys() {
			m, _ := v.Get(k)
			out[k] = m.String()
		}
		return out, ""
	}
	return nil, strings.TrimSpace(t.text(s, c, sc))
}

// checkRemoteRef reports uses: values no runner could fetch.
func (t *translator) checkRemoteRef(s *actionlint.String, uses string) {
	if strings.HasPrefix(uses, "docker://") || expr.HasExpr(uses) {
		if expr.HasExpr(uses) {
			t.unsupported(s.Pos, fmt.Sprintf("uses: %q with an expression", uses), "GitHub does not allow it either: the action must be known before the job runs", "name the action literally")
		}
		return
	}
	name, ref, ok := strings.Cut(uses, "@")
	if !ok || ref == "" || strings.Count(name, "/") < 1 {
		t.errorf(s.Pos, "action-ref", "uses: %q is not owner/repo[/path]@ref, ./path or docker://image", uses)
	}
}
