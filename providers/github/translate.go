package github

import (
	"context"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/expr"
)

// Options tune translation. The zero value reads local actions and
// reusable workflows relative to the working directory and lints.
type Options struct {
	// Dir is the repository root: ./ references in uses: resolve here.
	Dir string
	// NoLint skips actionlint's rules (parsing still reports syntax errors).
	NoLint bool
	// MaxMatrix caps the combinations of one matrix; GitHub's cap, 256, by default.
	MaxMatrix int
	// Actions makes a remote action (owner/repo[/path]@ref) available on
	// this machine and returns its directory (a Remote.Action bound to the
	// caller's context): composite actions are then inlined like local
	// ones. Nil keeps remote actions as references for the runner.
	Actions func(uses string) (string, error)
}

func (o Options) dir() string {
	if o.Dir == "" {
		return "."
	}
	return o.Dir
}

// Translate turns one workflow file into a pipeline. Lint findings come
// back as warnings (GitHub may still run such a workflow); syntax errors,
// bad expressions and constructs that cannot be translated are errors, and
// then the pipeline is nil.
func Translate(ctx context.Context, path string, data []byte, opts Options) (*dag.Pipeline, diag.List, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	p, l, err := translate(path, data, opts, false)
	l.Sort()
	if err != nil || l.HasErrors() {
		return nil, l, err
	}
	return p, l, nil
}

// translate does the work of Translate and Lint. In lint mode, actionlint's
// findings are errors; otherwise they are warnings.
func translate(path string, data []byte, opts Options, lintMode bool) (*dag.Pipeline, diag.List, error) {
	data, l := substitutePlaceholders(path, data)
	w, prep, parseErrs := parseWorkflow(path, data)
	blocking := relax(parseErrs, lintMode)
	l.Add(parseErrs...)
	if w == nil || blocking {
		return nil, l, nil
	}
	if !opts.NoLint || lintMode {
		found, err := lintWorkflow(path, opts.dir(), w)
		if err != nil {
			return nil, l, err
		}
		relax(found, lintMode)
		if !lintMode {
			for i := range found {
				found[i].Severity = diag.Warning
			}
		}
		l.Add(found...)
	}
	t := &translator{path: path, opts: opts, src: data, prep: prep, shared: &shared{workflows: map[string]bool{}}}
	if opts.MaxMatrix == 0 {
		t.opts.MaxMatrix = 256
	}
	p := t.workflow(w)
	l = dropMisplaced(l, t.diags)
	l.Add(t.diags...)
	l = dedupe(l)
	if l.HasErrors() {
		return nil, l, nil
	}
	l.Add(p.Validate()...)
	return p, l, nil
}

// dropMisplaced removes actionlint's expression syntax errors that gantry
// reported too: actionlint places those inside multi-line strings on the
// wrong line, gantry on the right one.
func dropMisplaced(lint, ours diag.List) diag.List {
	msgs := map[string]bool{}
	for _, d := range ours {
		if d.Code == expr.CodeSyntax {
			msgs[d.Message] = true
		}
	}
	if len(msgs) == 0 {
		return lint
	}
	out := lint[:0]
	for _, d := range lint {
		if d.Code == "expression" && msgs[d.Message] {
			continue
		}
		out = append(out, d)
	}
	return out
}

// translator holds the state of one workflow's translation.
type translator struct {
	path  string
	src   []byte
	opts  Options
	diags diag.List
	// callers are the reusable workflows being inlined, outermost first,
	// to catch a workflow that calls itself.
	callers []string
	// call is set while translating an inlined reusable workflow.
	call *callContext
	// templates caches parsed strings, so that a matrix job's strings are
	// parsed (and their errors reported) once, not once per combination.
	templates map[*actionlint.String]*expr.Template
	// lines are the offsets where the source's lines start.
	lines []int
	// inlined is set once a local reusable workflow was inlined.
	inlined bool
	// yamlRoot is the source as yaml.v3 reads it, parsed when needed.
	yamlRoot *yaml.Node
	// nodes index the YAML nodes actionlint parsed by position (yamlNode).
	nodes map[nodeKey]*yaml.Node
	// warnedNumbers are the matrix scalars warnNumbers saw.
	warnedNumbers map[*yaml.Node]bool
	// prep is what was taken out of the source before actionlint read it
	// (GitHub's 2026 keys); nil for a composite action's steps.
	prep *prepared
	// self is the repository and ref that $/path references in this file
	// name: nil for the repository's own files, whose $/path is ./path.
	self *selfRepo
	// shared is the state of the whole translation, reusable workflows
	// included.
	shared *shared
}

// selfRepo is the repository and ref of a file fetched from elsewhere (a
// remote composite action or reusable workflow).
type selfRepo struct{ repo, ref string }

// shared is what every translator of one workflow's translation shares.
type shared struct {
	// workflows are the distinct reusable workflows called, nested ones
	// included; GitHub allows 50.
	workflows map[string]bool
}

func (t *translator) pos(p *actionlint.Pos) diag.Pos {
	if p == nil {
		return diag.Pos{File: t.path, Line: 1, Col: 1}
	}
	return diag.Pos{File: t.path, Line: p.Line, Col: p.Col}
}

func (t *translator) srcPos(p *actionlint.Pos) dag.SourcePos { return dag.SourcePos{Pos: t.pos(p)} }

func (t *translator) errorf(p *actionlint.Pos, code, format string, args ...any) *diag.Diagnostic {
	return t.diags.Errorf(t.pos(p), code, format, args...)
}

func (t *translator) warnf(p *actionlint.Pos, code, format string, args ...any) *diag.Diagnostic {
	return t.diags.Warnf(t.pos(p), code, format, args...)
}

// unsupported reports a construct gantry cannot translate, as an error.
func (t *translator) unsupported(p *actionlint.Pos, what, why, todo string) {
	t.errorf(p, "unsupported", "%s is not supported: %s", what, why).Hint = todo
}

func str(s *actionlint.String) string {
	if s == nil {
		return ""
	}
	return s.Value
}

func (t *translator) workflow(w *actionlint.Workflow) *dag.Pipeline {
	p := &dag.Pipeline{
		Version: dag.Version,
		Name:    str(w.Name),
		RunName: str(w.RunName),
		Source:  &dag.Source{Provider: "github", Path: filepath.ToSlash(t.path)},
	}
	if p.Name == "" {
		p.Name = filepath.ToSlash(t.path)
	}
	p.Triggers = t.triggers(w.On)
	p.Env = t.env(w.Env, nil)
	p.Permissions = permissions(w.Permissions)
	p.Concurrency = t.concurrency(w.Concurrency, nil)
	t.checkTemplate(w.RunName, nil)
	_, from := t.envFrom(w.Env, nil, stepScope{})
	p.Nodes = t.jobs(w, jobScope{defaults: w.Defaults, envFrom: from})
	if t.inlined && len(p.Env) > 0 {
		// The workflow's env must not reach inlined jobs, so it moves from
		// the pipeline onto the workflow's own nodes.
		for _, n := range p.Nodes {
			if n.Meta["called-from"] == "" {
				if n.EnvFrom != "" {
					t.envOrderCaveat(&actionlint.Pos{Line: n.Pos.Line, Col: n.Pos.Col}, slices.Sorted(maps.Keys(p.Env)))
				}
				n.Env = mergeEnv(p.Env, n.Env)
			}
		}
		p.Env = nil
	}
	return p
}

// jobScope is what jobs inherit from their workflow (and, for inlined
// reusable workflows, from the calling job).
type jobScope struct {
	defaults *actionlint.Defaults
	// prefix is prepended to node ids of an inlined reusable workflow.
	prefix string
	// needs are added to the root jobs of an inlined reusable workflow.
	needs []string
	// env is the called workflow's env, for inlined workflows.
	env map[string]string
	// envFrom is the workflow's env: ${{ }} (GitHub allows one there:
	// workflow-env has contexts), the env-from of each of its nodes.
	envFrom string
}

// jobs translates every job, in the order of the file.
func (t *translator) jobs(w *actionlint.Workflow, scope jobScope) []*dag.Node {
	jobs := make([]*actionlint.Job, 0, len(w.Jobs))
	for _, j := range w.Jobs {
		jobs = append(jobs, j)
	}
	slices.SortFunc(jobs, func(a, b *actionlint.Job) int { return comparePos(a.Pos, b.Pos) })

	// First the node ids of every job, since needs may point forward.
	expanded := map[string]*expandedJob{}
	for _, j := range jobs {
		expanded[strings.ToLower(str(j.ID))] = t.expand(j, scope)
	}
	var nodes []*dag.Node
	for _, j := range jobs {
		e := expanded[strings.ToLower(str(j.ID))]
		var needs []string
		for _, n := range j.Needs {
			if strings.EqualFold(n.Value, str(j.ID)) {
				t.errorf(n.Pos, "job-needs", "job %q needs itself", str(j.ID))
				continue
			}
			if dep, ok := expanded[strings.ToLower(n.Value)]; ok {
				needs = append(needs, dep.exitIDs()...)
			} else {
				t.errorf(n.Pos, "job-needs", "job %q needs %q, which is not a job of this workflow", str(j.ID), n.Value)
			}
		}
		if len(j.Needs) == 0 {
			needs = append(needs, scope.needs...)
		}
		nodes = append(nodes, t.jobNodes(w, j, e, needs, scope)...)
	}
	return nodes
}

func comparePos(a, b *actionlint.Pos) int {
	switch {
	case a == nil || b == nil:
		return 0
	case a.Line != b.Line:
		return a.Line - b.Line
	}
	return a.Col - b.Col
}

// env translates an env: block. Matrix values are resolved when a matrix
// is given.
func (t *translator) env(e *actionlint.Env, m *combo) map[string]string {
	return t.stepEnv(e, m, stepScope{})
}

func permissions(p *actionlint.Permissions) map[string]string {
	if p == nil {
		return nil
	}
	out := map[string]string{}
	if p.All != nil {
		out["all"] = p.All.Value
	}
	for _, s := range p.Scopes {
		out[s.Name.Value] = s.Value.Value
	}
	if len(out) == 0 {
		// permissions: {} means none at all.
		out["all"] = "none"
	}
	return out
}

func (t *translator) concurrency(c *actionlint.Concurrency, m *combo) *dag.Concurrency {
	if c == nil {
		return nil
	}
	out := &dag.Concurrency{Group: t.resolve(c.Group, m)}
	out.CancelInProgress = t.flag(c.CancelInProgress, m, "cancel-in-progress")
	return out
}

// resolve returns a string with matrix values filled in and every other
// expression kept, after checking the expressions' syntax.
func (t *translator) resolve(s *actionlint.String, m *combo) (out string) {
	if s == nil {
		return ""
	}
	if !expr.HasExpr(s.Value) {
		return s.Value
	}
	tpl := t.checkTemplate(s, m)
	if tpl == nil {
		return s.Value
	}
	if t.call != nil {
		defer func() { out = t.applyCall(out) }()
	}
	if m == nil || m.value.IsNull() {
		return s.Value
	}
	env := &expr.Env{Contexts: map[string]expr.Value{"matrix": m.value}}
	out, err := tpl.Partial(env, func(e *expr.Expr) bool {
		ctxs := e.Contexts()
		return len(ctxs) == 1 && ctxs[0] == "matrix"
	})
	if err != nil {
		t.diags.Add(diag.AsList(err)...)
		return s.Value
	}
	return out
}

// checkTemplate parses the ${{ }} expressions of s and reports bad ones.
func (t *translator) checkTemplate(s *actionlint.String, _ *combo) *expr.Template {
	if s == nil || !expr.HasExpr(s.Value) {
		return nil
	}
	if tpl, ok := t.templates[s]; ok {
		return tpl
	}
	tpl, err := expr.ParseTemplateAt(s.Value, t.stringPos(s))
	if err != nil {
		t.diags.Add(diag.AsList(err)...)
		tpl = nil
	}
	if t.templates == nil {
		t.templates = map[*actionlint.String]*expr.Template{}
	}
	t.templates[s] = tpl
	return tpl
}

// stringPos maps offsets in a YAML string value back to the file. A quoted
// scalar's position is its quote; a block scalar's is its indicator, with
// the content on the next line.
func (t *translator) stringPos(s *actionlint.String) expr.PosFunc {
	p := t.pos(s.Pos)
	if s.Quoted {
		p.Col++
	}
	line := t.line(p.Line)
	rest := ""
	if p.Col-1 < len(line) && p.Col >= 1 {
		rest = strings.TrimSpace(line[p.Col-1:])
	}
	if strings.HasPrefix(rest, "|") || strings.HasPrefix(rest, ">") {
		// The block's indentation is that of its first non-blank line;
		// leading blank lines are in the value as newlines.
		first := p.Line + 1
		for strings.TrimSpace(t.line(first)) == "" && first < p.Line+1+strings.Count(s.Value, "\n") {
			first++
		}
		next := t.line(first)
		indent := len(next) - len(strings.TrimLeft(next, " "))
		return expr.BlockPos(s.Value, diag.Pos{File: t.path, Line: p.Line + 1, Col: indent + 1})
	}
	return expr.FlowPos(s.Value, p)
}

// line returns the 1-based line n of the source, or "".
func (t *translator) line(n int) string {
	if t.lines == nil {
		t.lines = []int{0}
		for i, c := range t.src {
			if c == '\n' {
				t.lines = append(t.lines, i+1)
			}
		}
	}
	if n < 1 || n > len(t.lines) {
		return ""
	}
	start, end := t.lines[n-1], len(t.src)
	if n < len(t.lines) {
		end = t.lines[n] - 1
	}
	return string(t.src[start:end])
}

// minutes turns timeout-minutes into a duration.
func (t *translator) minutes(f *actionlint.Float, m *combo) dag.Duration {
	if f == nil {
		return ""
	}
	if f.Expression != nil {
		s := strings.TrimSpace(t.resolve(f.Expression, m))
		if expr.HasExpr(s) {
			// Known only at run time: the runner evaluates it, in minutes,
			// when the job or step starts, as GitHub does.
			return dag.Duration(s + "m")
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.warnf(f.Expression.Pos, "caveat", "timeout-minutes %q is not a number; the node has no timeout", s)
			return ""
		}
		return minutesDuration(v)
	}
	return minutesDuration(f.Value)
}

func minutesDuration(v float64) dag.Duration {
	return dag.DurationOf(time.Duration(v * float64(time.Minute)))
}

// flag reads a Bool that may be an expression: matrix-only expressions
// are resolved now, others kept for the runner to evaluate at run time.
func (t *translator) flag(b *actionlint.Bool, m *combo, what string) dag.Flag {
	if b == nil {
		return dag.Flag{}
	}
	if b.Expression == nil {
		return dag.FlagOf(b.Value)
	}
	s := strings.TrimSpace(t.resolve(b.Expression, m))
	switch strings.ToLower(s) {
	case "true":
		return dag.FlagOf(true)
	case "false", "":
		return dag.Flag{}
	}
	if expr.HasExpr(s) {
		return dag.Flag{Expr: s}
	}
	t.warnf(b.Expression.Pos, "caveat", "%s %q is not a boolean; read as false", what, s)
	return dag.Flag{}
}

// secretRefs finds secrets.NAME references in s.
var secretRef = regexp.MustCompile(`(?i)\bsecrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)|\bsecrets\s*\[\s*'([A-Za-z_][A-Za-z0-9_]*)'\s*\]`)

func secretNames(s string, into map[string]bool) {
	if !strings.Contains(s, "${{") {
		return
	}
	for _, m := range secretRef.FindAllStringSubmatch(s, -1) {
		name := m[1]
		if name == "" {
			name = m[2]
		}
		into[strings.ToUpper(name)] = true
	}
}
