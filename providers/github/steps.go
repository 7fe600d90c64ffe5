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
		If:   t.condition(s.If),
		Env:  t.stepEnv(s.Env, c, sc),
		Pos:  t.srcPos(s.Pos),
	}
	if s.ID != nil {
		ds.ID = sc.idPrefix + s.ID.Value
	} else if sc.idPrefix != "" {
		ds.ID = fmt.Sprintf("%s%d", sc.idPrefix, index+1)
	}
	if ds.If != "" {
		// Conditions keep matrix references: the runner evaluates them with
		// the node's matrix, where a missing key is null, as on GitHub.
		ds.If = t.text(&actionlint.String{Value: ds.If, Pos: s.If.Pos, Quoted: s.If.Quoted}, nil, sc)
	}
	ds.Timeout = t.minutes(s.TimeoutMinutes, c)
	ds.ContinueOnError = t.boolValue(s.ContinueOnError, c, "continue-on-error")
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
		uses := t.text(e.Uses, c, sc)
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
	if e == nil {
		return nil
	}
	if e.Expression != nil {
		t.unsupported(e.Expression.Pos, "env: set from one expression ("+e.Expression.Value+")",
			"the variables it sets are known only at run time, and gantry needs their names when it translates",
			"list the variables one by one")
		return nil
	}
	out := map[string]string{}
	for _, v := range e.Vars {
		out[v.Name.Value] = t.text(v.Value, c, sc)
	}
	return out
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
