package github

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/expr"
)

// maxCallDepth is how many workflows a chain of calls may hold, the
// caller included: ten on github.com (four on GitHub Enterprise Server).
const maxCallDepth = 10

// maxWorkflows is how many distinct reusable workflows one workflow may
// call, its nested calls included: 50 on github.com.
// https://docs.github.com/en/actions/reference/workflows-and-actions/reusing-workflow-configurations#limitations-of-reusable-workflows
const maxWorkflows = 50

// callContext is what the jobs of an inlined reusable workflow see of
// their caller.
type callContext struct {
	inputs map[string]expr.Arg
	// secrets maps the callee's secret names to the caller's expressions;
	// nil means secrets: inherit.
	secrets map[string]expr.Arg
}

// applyCall rewrites inputs.X and secrets.X of an inlined workflow into
// what its caller passed.
func (t *translator) applyCall(s string) string {
	if t.call == nil || !expr.HasExpr(s) {
		return s
	}
	tpl, err := expr.ParseTemplate(s, diag.Pos{Line: 1, Col: 1})
	if err != nil {
		return s
	}
	s = tpl.Substitute("inputs", t.call.inputs)
	if t.call.secrets != nil && expr.HasExpr(s) {
		if tpl, err := expr.ParseTemplate(s, diag.Pos{Line: 1, Col: 1}); err == nil {
			s = tpl.Substitute("secrets", t.call.secrets)
		}
	}
	return s
}

// callNodes translates a job that calls a reusable workflow. A local one
// is inlined: its jobs become nodes with ids prefixed by the calling job's,
// followed by a join node with the calling job's id that carries the
// workflow's outputs. A remote one stays a reference for the resolver.
func (t *translator) callNodes(w *actionlint.Workflow, j *actionlint.Job, e *expandedJob, needs []string, scope jobScope) []*dag.Node {
	call := j.WorkflowCall
	var nodes []*dag.Node
	// tags are the YAML types of the with: values: GitHub passes a
	// boolean, a number or a string as written.
	tags := map[string]string{}
	for _, in := range call.Inputs {
		if n := t.rawNode("jobs", str(j.ID), "with", in.Name.Value); n != nil && n.Kind == yaml.ScalarNode {
			tags[in.Name.Value] = n.Tag
		}
	}
	for i, c := range e.combos {
		uses := t.selfUses(call.Uses, t.resolve(call.Uses, c))
		if !t.countWorkflow(call.Uses, uses) {
			return nodes
		}
		with := map[string]string{}
		for _, in := range call.Inputs {
			with[in.Name.Value] = t.resolve(in.Value, c)
		}
		join := &dag.Node{
			ID:          e.ids[i],
			Name:        cmp.Or(t.resolve(j.Name, c), str(j.ID)),
			Needs:       slices.Compact(slices.Sorted(slices.Values(needs))),
			If:          t.cond(j.If, stepScope{}),
			Permissions: permissions(j.Permissions),
			Concurrency: t.concurrency(j.Concurrency, c),
			Pos:         t.srcPos(j.Pos),
		}
		if c != nil {
			join.Matrix = c.values
			join.Name = fmt.Sprintf("%s (%s)", join.Name, c.label())
			join.Strategy = t.strategy(j, scope)
		}
		file := "" // a fetched remote workflow; "" for a local one
		if !strings.HasPrefix(uses, "./") && t.opts.Actions != nil {
			f, err := t.opts.Actions(uses)
			if err == nil {
				file = f
			} else {
				t.warnf(call.Uses.Pos, "remote-action", "reusable workflow %q is not inlined: %v", uses, err).
					Hint = "check the name and ref and the token, or map the repository to a checkout with --action-dir"
			}
		}
		if !strings.HasPrefix(uses, "./") && file == "" {
			join.Uses = uses
			if len(with) > 0 {
				join.With = map[string]any{}
				for k, v := range with {
					join.With[k] = typedWith(v, tags[k])
				}
			}
			join.Secrets = t.callSecretNames(call)
			nodes = append(nodes, join)
			continue
		}
		inner, outputs, ok := t.inline(j, uses, file, with, join.ID+".", scope, join.Needs, join.If)
		if !ok {
			continue
		}
		join.If = ""
		for _, n := range inner {
			join.Needs = append(join.Needs, n.ID)
		}
		slices.Sort(join.Needs)
		join.Needs = slices.Compact(join.Needs)
		join.Outputs = outputs
		nodes = append(nodes, inner...)
		nodes = append(nodes, join)
	}
	return nodes
}

func (t *translator) callSecretNames(call *actionlint.WorkflowCall) []string {
	names := map[string]bool{}
	for _, s := range call.Secrets {
		secretNames(str(s.Value), names)
	}
	if len(names) == 0 {
		return nil
	}
	out := make([]string, 0, len(names))
	for n := range names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// inline translates a local reusable workflow for one calling job.
func (t *translator) inline(j *actionlint.Job, uses, file string, with map[string]string, prefix string, scope jobScope, needs []string, cond string) ([]*dag.Node, map[string]string, bool) {
	call := j.WorkflowCall
	at := call.Uses.Pos
	rel := filepath.ToSlash(filepath.Clean(uses))
	path := filepath.Join(t.opts.dir(), filepath.FromSlash(rel))
	if file != "" {
		rel, path = uses, file
	}
	if i := slices.Index(t.callers, rel); i >= 0 {
		chain := append(slices.Clone(t.callers[i:]), rel)
		t.errorf(at, "workflow-cycle", "reusable workflow %q calls itself: %s", uses, strings.Join(chain, " → "))
		return nil, nil, false
	}
	if depth := max(len(t.callers), 1) + 1; depth > maxCallDepth {
		t.errorf(at, "workflow-depth", "this call makes a chain of %d workflows; GitHub allows %d (the caller and %d nested)", depth, maxCallDepth, maxCallDepth-1)
		return nil, nil, false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.errorf(at, "reusable-workflow", "reusable workflow %q: %v", uses, err).
			Hint = "local workflows resolve against the repository root (--dir)"
		return nil, nil, false
	}
	cw, prep, l := parseWorkflow(rel, data)
	blocking := relax(l, false)
	t.diags.Add(l...)
	if cw == nil || blocking {
		return nil, nil, false
	}
	var callEvent *actionlint.WorkflowCallEvent
	for _, ev := range cw.On {
		if ce, ok := ev.(*actionlint.WorkflowCallEvent); ok {
			callEvent = ce
		}
	}
	if callEvent == nil {
		t.errorf(at, "reusable-workflow", "%q is not a reusable workflow: it has no on.workflow_call", uses)
		return nil, nil, false
	}
	// Inputs are typed as the callee declares them: a number or boolean
	// input is a number or boolean in its expressions (toJSON shows 1, not
	// "1"), and one not given without a default is false, 0 or "".
	// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#onworkflow_callinputs
	cc := &callContext{inputs: map[string]expr.Arg{}}
	for _, in := range callEvent.Inputs {
		name := in.Name.Value
		typ := callType(in.Type)
		switch v, ok := lookupFold(with, name); {
		case ok:
			cc.inputs[name] = typedArg(typ, v)
		case in.Default != nil:
			cc.inputs[name] = typedArg(typ, in.Default.Value)
		case in.Required != nil && in.Required.Value:
			t.errorf(at, "workflow-input", "input %q of reusable workflow %q is required but not given", name, uses)
		default:
			cc.inputs[name] = typedArg(typ, map[string]string{"boolean": "false", "number": "0"}[typ])
		}
	}
	if !call.InheritSecrets {
		cc.secrets = map[string]expr.Arg{}
		for _, s := range call.Secrets {
			cc.secrets[s.Name.Value] = expr.ArgOf(str(s.Value))
		}
	}
	sub := &translator{path: rel, src: data, opts: t.opts, callers: append(slices.Clone(t.callers), rel), call: cc, prep: prep, shared: t.shared}
	if file != "" {
		// $/path in a fetched workflow names its own repository at its ref.
		sub.self = selfRepoOf(uses)
	}
	if len(sub.callers) == 1 {
		sub.callers = append([]string{filepath.ToSlash(t.path)}, sub.callers...)
	}
	// The caller's workflow env does not reach the called workflow.
	_, from := sub.envFrom(cw.Env, nil, stepScope{})
	nodes := sub.jobs(cw, jobScope{defaults: cw.Defaults, prefix: prefix, needs: needs, env: sub.env(cw.Env, nil), envFrom: from})
	t.diags.Add(sub.diags...)
	// The caller's if: guards every job of the callee.
	for _, n := range nodes {
		if cond != "" {
			n.If = andConditions(cond, n.If)
		}
		if n.Meta == nil {
			n.Meta = map[string]string{}
		}
		n.Meta["called-from"] = strings.TrimSuffix(prefix, ".")
	}
	t.inlined = true
	outputs := map[string]string{}
	jobs := map[string]expr.Arg{}
	for _, cj := range cw.Jobs {
		jobs[str(cj.ID)] = expr.Arg{Text: fmt.Sprintf("needs['%s%s']", prefix, dag.SanitizeID(str(cj.ID)))}
	}
	for _, o := range callEvent.Outputs {
		v := str(o.Value)
		if tpl, err := expr.ParseTemplate(v, diag.Pos{Line: 1, Col: 1}); err == nil && expr.HasExpr(v) {
			v = tpl.Substitute("jobs", jobs)
		}
		outputs[o.Name.Value] = v
	}
	if len(outputs) == 0 {
		outputs = nil
	}
	return nodes, outputs, true
}

// countWorkflow counts a distinct reusable workflow of the translation and
// reports, at the call, one past GitHub's limit.
func (t *translator) countWorkflow(at *actionlint.String, uses string) bool {
	if t.shared == nil {
		return true
	}
	key := uses
	if strings.HasPrefix(uses, "./") {
		key = filepath.ToSlash(filepath.Clean(uses))
	}
	if t.shared.workflows[key] {
		return true
	}
	if len(t.shared.workflows) >= maxWorkflows {
		t.errorf(at.Pos, "workflow-limit", "calling %q makes %d distinct reusable workflows for this workflow, nested calls included; GitHub allows %d", uses, len(t.shared.workflows)+1, maxWorkflows).
			Hint = "call fewer distinct reusable workflows, or merge some of them"
		return false
	}
	t.shared.workflows[key] = true
	return true
}

// selfUses turns a uses: written $/path (which prepare made ./path) into
// what it names: the file's own repository at the running commit, which
// is ./path for the repository's own files and owner/repo/path@ref for a
// file fetched from owner/repo at ref.
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#example-using-an-action-in-the-same-repository-as-the-workflow-at-the-running-commit-recommended
func (t *translator) selfUses(s *actionlint.String, uses string) string {
	if s == nil || s.Pos == nil || t.prep == nil || !t.prep.self[posKey(s.Pos.Line, s.Pos.Col)] {
		return uses
	}
	if t.self == nil {
		return uses
	}
	rel := strings.TrimPrefix(path.Clean(strings.TrimPrefix(uses, "./")), "/")
	if rel == "." || rel == "" {
		return t.self.repo + "@" + t.self.ref
	}
	return t.self.repo + "/" + rel + "@" + t.self.ref
}

// selfRepoOf is the repository and ref of owner/repo[/path]@ref.
func selfRepoOf(uses string) *selfRepo {
	name, ref, _ := strings.Cut(uses, "@")
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 {
		return nil
	}
	return &selfRepo{repo: parts[0] + "/" + parts[1], ref: ref}
}

// typedArg is what an input of a reusable workflow declared typ
// (string, number or boolean) gets from the text v: a number or boolean
// literal for those types, else text; an expression stays one.
func typedArg(typ, v string) expr.Arg {
	if expr.HasExpr(v) {
		return expr.ArgOf(v)
	}
	switch typ {
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return expr.Arg{Text: "true"}
		case "false":
			return expr.Arg{Text: "false"}
		}
	case "number":
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return expr.Arg{Text: strconv.FormatFloat(f, 'f', -1, 64)}
		}
	}
	return expr.Arg{Text: v, Literal: true}
}

// typedWith is a with: value of a call kept for the resolver, typed as its
// YAML tag says (GitHub passes booleans, numbers and strings as written).
func typedWith(v, tag string) any {
	if expr.HasExpr(v) {
		return v
	}
	switch tag {
	case "!!bool":
		if b, err := strconv.ParseBool(strings.ToLower(v)); err == nil {
			return b
		}
	case "!!int":
		if n, err := strconv.ParseInt(v, 0, 64); err == nil {
			return n
		}
	case "!!float":
		if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	}
	return v
}
