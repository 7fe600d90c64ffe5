package github

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/expr"
)

// maxCompositeDepth is how deeply composite actions may nest; GitHub stops at 10.
const maxCompositeDepth = 10

// actionMeta is the part of action.yml gantry reads.
// https://docs.github.com/en/actions/sharing-automations/creating-actions/metadata-syntax-for-github-actions
type actionMeta struct {
	Name   string `yaml:"name"`
	Inputs map[string]struct {
		Default  *string `yaml:"default"`
		Required bool    `yaml:"required"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string    `yaml:"using"`
		Image string    `yaml:"image"`
		Main  string    `yaml:"main"`
		Steps yaml.Node `yaml:"steps"`
	} `yaml:"runs"`
}

// localAction translates a uses: ./path step: a composite action is
// inlined as steps; a Docker or JavaScript action is kept as a reference
// with its inputs' defaults filled in.
func (t *translator) localAction(s *actionlint.Step, index int, ds dag.Step, uses string, with map[string]string, c *combo, sc stepScope) []dag.Step {
	at := s.Exec.(*actionlint.ExecAction).Uses.Pos
	rel := filepath.Clean(uses)
	dir := filepath.Join(t.opts.dir(), rel)
	file, data, err := readActionFile(dir)
	if errors.Is(err, errNoActionFile) {
		// As on GitHub, a local action is read when its step runs: an
		// earlier step may write it or check it out (actions/checkout with
		// path:). Kept as a reference the runner resolves then.
		t.warnf(at, "local-action", "local action %q: %v: it is read when its step runs (an earlier step must write or check it out)", uses, err).
			Hint = "local actions resolve against the repository root (--dir); check the path"
		ds.Uses = t.keptUses(s, uses)
		if len(with) > 0 {
			ds.With = with
		}
		return []dag.Step{ds}
	}
	if err != nil {
		t.errorf(at, "local-action", "local action %q: %v", uses, err)
		return nil
	}
	// GitHub's action path is absolute: the workspace plus the action's path.
	actionPath := "${{ github.workspace }}/" + filepath.ToSlash(rel)
	return t.action(s, index, ds, uses, filepath.ToSlash(filepath.Join(rel, filepath.Base(file))), actionPath, data, with, c, sc, nil)
}

// remoteAction translates a uses: owner/repo[/path]@ref step whose action
// the Actions resolver fetched: inlined when composite, else kept as a
// reference that the runner resolves the same way.
func (t *translator) remoteAction(s *actionlint.Step, index int, ds dag.Step, uses string, with map[string]string, c *combo, sc stepScope) []dag.Step {
	at := s.Exec.(*actionlint.ExecAction).Uses.Pos
	dir, err := t.opts.Actions(uses)
	if err != nil {
		// Kept as a reference: the runner tries again when (and only if)
		// the step runs, and says then what went wrong.
		hint := "check the name and ref, the token (--github-token or GITHUB_TOKEN), or map the action to a checkout with --action-dir"
		var ne net.Error
		if errors.As(err, &ne) || strings.Contains(err.Error(), "dial tcp") || strings.Contains(err.Error(), "no such host") {
			// Not a refusal: the API could not be reached.
			hint = "GitHub's API cannot be reached from here: run with --offline once the action is in the cache (a run with network access fetches it), or map it to a checkout with --action-dir " + uses + "=PATH"
		}
		t.warnf(at, "remote-action", "action %q is not inlined: %v", uses, err).Hint = hint
		ds.Uses = uses
		if len(with) > 0 {
			ds.With = with
		}
		return []dag.Step{ds}
	}
	file, data, err := readActionFile(dir)
	if err != nil {
		t.errorf(at, "remote-action", "action %q: %v", uses, err)
		return nil
	}
	return t.action(s, index, ds, uses, uses+"/"+filepath.Base(file), filepath.ToSlash(dir), data, with, c, sc, selfRepoOf(uses))
}

// action translates an action whose metadata (action.yml, shown by the
// name shown) has been read.
func (t *translator) action(s *actionlint.Step, index int, ds dag.Step, uses, shown, actionPath string, data []byte, with map[string]string, c *combo, sc stepScope, repo *selfRepo) []dag.Step {
	at := s.Exec.(*actionlint.ExecAction).Uses.Pos
	var meta actionMeta
	if err := yaml.Unmarshal(data, &meta); err != nil {
		yd := dag.YAMLError(shown, err)
		t.diags.Add(yd)
		t.errorf(at, "action", "action %q: its %s is not valid YAML", uses, path.Base(shown))
		return nil
	}
	// Inputs the caller did not pass take the action's defaults.
	for name, in := range meta.Inputs {
		if _, ok := lookupFold(with, name); ok {
			continue
		}
		if in.Default != nil {
			with[name] = *in.Default
		} else if in.Required {
			t.warnf(at, "action-input", "input %q of action %q is required but not given", name, uses)
		}
	}
	using := strings.ToLower(meta.Runs.Using)
	switch {
	case using == "composite":
		return t.composite(s, index, ds, uses, shown, actionPath, data, &meta, with, c, sc, repo)
	case using == "docker", strings.HasPrefix(using, "node"):
		if using == "node12" || using == "node16" {
			t.warnf(at, "caveat", "action %q runs on %s, which GitHub no longer offers; gantry runs it with node20", uses, using)
		}
		ds.Uses = t.keptUses(s, uses)
		if len(with) > 0 {
			ds.With = with
		}
		return []dag.Step{ds}
	case using == "":
		t.errorf(at, "local-action", "local action %q: %s has no runs.using", uses, shown)
	default:
		t.unsupported(at, fmt.Sprintf("action %q with runs.using %q", uses, meta.Runs.Using), "gantry runs composite, docker and node actions", "use one of those kinds")
	}
	return nil
}

func readActionFile(dir string) (string, []byte, error) {
	for _, name := range []string{"action.yml", "action.yaml"} {
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		if err == nil {
			return p, data, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", nil, err
		}
	}
	return "", nil, fmt.Errorf("%w in %s", errNoActionFile, dir)
}

// keptUses is what a local action kept as a reference is called in the
// DAG: written $/path in the repository's own file, it stays $/path (the
// runner resolves it as ./path and, unlike ./path, runs its pre step, as
// GitHub does).
func (t *translator) keptUses(s *actionlint.Step, uses string) string {
	e, ok := s.Exec.(*actionlint.ExecAction)
	if !ok || e.Uses == nil || e.Uses.Pos == nil || t.prep == nil || t.self != nil || !t.prep.self[posKey(e.Uses.Pos.Line, e.Uses.Pos.Col)] {
		return uses
	}
	if rest, ok := strings.CutPrefix(uses, "./"); ok {
		return "$/" + rest
	}
	return uses
}

// errNoActionFile is a directory without action.yml or action.yaml.
var errNoActionFile = errors.New("no action.yml or action.yaml")

func lookupFold(m map[string]string, key string) (string, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

var actionPathExpr = regexp.MustCompile(`\$\{\{\s*github\.action_path\s*\}\}`)

// composite inlines the steps of a composite action: its inputs become
// what the caller passed, its step ids get the calling step's id as a
// prefix, and its outputs are set by a closing gantry/outputs step under
// the calling step's id, so steps.<id>.outputs keeps working.
// repo is the action's repository and ref when it was fetched, for its
// $/path references (nil for a local action).
func (t *translator) composite(s *actionlint.Step, index int, ds dag.Step, uses, shown, actionPath string, data []byte, meta *actionMeta, with map[string]string, c *combo, sc stepScope, repo *selfRepo) []dag.Step {
	at := s.Exec.(*actionlint.ExecAction).Uses.Pos
	key := filepath.ToSlash(filepath.Clean(uses))
	if i := slices.Index(sc.stack, key); i >= 0 {
		chain := append(slices.Clone(sc.stack[i:]), key)
		t.errorf(at, "composite-cycle", "composite action %q uses itself: %s", uses, strings.Join(chain, " → ")).
			Hint = "break the cycle; GitHub would fail this job too"
		return nil
	}
	if len(sc.stack) >= maxCompositeDepth {
		t.errorf(at, "composite-depth", "composite actions nest deeper than %d levels here", maxCompositeDepth)
		return nil
	}
	steps, self, l := parseCompositeSteps(shown, data, &meta.Runs.Steps)
	t.diags.Add(l...)
	if steps == nil {
		if !l.HasErrors() {
			t.errorf(at, "local-action", "composite action %q has no steps", uses)
		}
		return nil
	}
	id := ds.ID
	if id == "" {
		// The step's place among its siblings keeps two calls apart.
		id = fmt.Sprintf("%sstep%d", sc.idPrefix, index+1)
	}
	inputs := map[string]expr.Arg{}
	for name, v := range with {
		inputs[name] = expr.ArgOf(v)
	}
	sub := &translator{path: shown, src: data, opts: t.opts, callers: t.callers, prep: &prepared{self: self}, self: repo, shared: t.shared}
	inner := stepScope{idPrefix: id + "-", inputs: inputs, stack: append(slices.Clone(sc.stack), key)}
	out := sub.steps(steps, c, nil, inner)
	t.diags.Add(sub.diags...)
	for i := range out {
		st := &out[i]
		fix := func(v string) string { return actionPathExpr.ReplaceAllLiteralString(v, actionPath) }
		st.Run = fix(st.Run)
		st.WorkingDirectory = fix(st.WorkingDirectory)
		st.Name = fix(st.Name)
		for k, v := range st.Env {
			st.Env[k] = fix(v)
		}
		for k, v := range st.With {
			st.With[k] = fix(v)
		}
		st.Env = mergeEnv(ds.Env, st.Env)
		switch {
		case ds.EnvFrom == "":
		case st.EnvFrom == "":
			st.EnvFrom = ds.EnvFrom
		default:
			// A step holds one env-from: the inner step's.
			t.warnf(at, "caveat", "step %q of action %q has its own env: ${{ }}: the calling step's env: ${{ }} does not reach it", st.Name, uses).
				Hint = "on GitHub it sees the calling step's variables beside its own"
		}
		if st.Env == nil {
			st.Env = map[string]string{}
		}
		// A nested composite's steps keep their own action's path.
		if _, nested := st.Env["GITHUB_ACTION_PATH"]; !nested {
			st.Env["GITHUB_ACTION_PATH"] = actionPath
		}
		st.If = andConditions(ds.If, st.If)
		if !ds.ContinueOnError.IsZero() {
			st.ContinueOnError = ds.ContinueOnError
		}
		if st.Timeout == "" {
			st.Timeout = ds.Timeout
		}
	}
	if len(meta.Outputs) > 0 && ds.ID != "" {
		// outputs.*.value sees the caller step's env, as the action's own
		// steps do.
		o := dag.Step{ID: ds.ID, Name: cmp.Or(ds.Name, meta.Name) + " (outputs)", Uses: OutputsAction, With: map[string]string{}, Env: ds.Env, EnvFrom: ds.EnvFrom, If: andConditions(ds.If, ""), Pos: ds.Pos}
		for name, v := range meta.Outputs {
			o.With[name] = prefixStepRefs(v.Value, id+"-")
			if expr.HasExpr(v.Value) {
				if tpl, err := expr.ParseTemplate(o.With[name], diag.Pos{Line: 1, Col: 1}); err == nil {
					o.With[name] = tpl.Substitute("inputs", inputs)
				}
			}
		}
		out = append(out, o)
	}
	return out
}

// OutputsAction is the built-in step that sets its with: values as its
// outputs; it carries a composite action's outputs.
const OutputsAction = "gantry/outputs"

// andConditions joins two if: conditions. An empty one is no condition.
func andConditions(a, b string) string {
	a, b = bare(a), bare(b)
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return "(" + a + ") && (" + b + ")"
}

func bare(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "${{") && strings.HasSuffix(s, "}}") && strings.Count(s, "${{") == 1 {
		s = strings.TrimSpace(s[3 : len(s)-2])
	}
	return s
}

// parseCompositeSteps parses the runs.steps of an action.yml with
// actionlint, so that composite steps are read exactly as workflow steps
// are. It puts the steps into a synthetic workflow whose lines are the
// action file's own lines (re-indented by a fixed amount), so positions
// map back with one column shift.
// self marks, by position in the action file, the uses: values written
// $/path.
func parseCompositeSteps(path string, data []byte, steps *yaml.Node) (_ []*actionlint.Step, self map[lineCol]bool, l diag.List) {
	if steps.Kind == 0 {
		return nil, nil, l
	}
	if steps.Kind != yaml.SequenceNode {
		l.Errorf(diag.Pos{File: path, Line: steps.Line, Col: steps.Column}, "composite", "runs.steps must be a list of steps")
		return nil, nil, l
	}
	if len(steps.Content) == 0 {
		return nil, nil, l
	}
	lines := strings.Split(string(data), "\n")
	first, last := steps.Line, lastLine(steps)
	const header = "on: push\njobs:\n  c:\n    runs-on: x\n    steps:\n"
	const headerLines = 5
	const itemCol = 7
	if first > len(lines) {
		l.Errorf(diag.Pos{File: path, Line: steps.Line, Col: steps.Column}, "composite", "runs.steps is past the end of the file")
		return nil, nil, l
	}
	// Lines keep their numbers when the steps start after the header's
	// lines; otherwise they move down by lineShift.
	lineShift := max(0, headerLines+1-first)
	shift := itemCol - steps.Column
	var b strings.Builder
	b.WriteString(header)
	for i := headerLines + 1; i < first+lineShift; i++ {
		b.WriteByte('\n')
	}
	for i := first; i <= last && i <= len(lines); i++ {
		line := lines[i-1]
		if i == first {
			line = strings.Repeat(" ", itemCol-1) + line[min(steps.Column-1, len(line)):]
		} else if shift >= 0 {
			line = strings.Repeat(" ", shift) + line
		} else {
			trim := min(-shift, len(line)-len(strings.TrimLeft(line, " ")))
			line = line[trim:]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	// The same preparation as a workflow's, in composite mode: GitHub's
	// 2026 step keys are errors here, uses: $/path is the action's own
	// repository.
	prep := prepare(path, []byte(b.String()), true)
	back := func(d diag.Diagnostic) diag.Diagnostic {
		d.Pos.File = path
		d.Pos.Col = max(d.Pos.Col-shift, 1)
		d.Pos.Line = max(d.Pos.Line-lineShift, 1)
		return d
	}
	for _, d := range prep.diags {
		l.Add(back(d))
	}
	w, errs := actionlint.Parse(prep.src)
	for _, e := range errs {
		if strings.Contains(e.Message, "does not support YAML merge key") {
			continue
		}
		l.Add(back(fromActionlint(path, e, diag.Error)))
	}
	self = map[lineCol]bool{}
	for k := range prep.self {
		self[posKey(max(k.line-lineShift, 1), max(k.col-shift, 1))] = true
	}
	if w == nil || relax(l, false) {
		return nil, self, l
	}
	job := w.Jobs["c"]
	if job == nil {
		return nil, self, l
	}
	for _, s := range job.Steps {
		unshift(s, shift, lineShift)
	}
	return job.Steps, self, l
}

// lastLine is the last line a YAML node spans.
func lastLine(n *yaml.Node) int {
	last := n.Line
	if n.Kind == yaml.ScalarNode {
		last += strings.Count(strings.TrimRight(n.Value, "\n"), "\n")
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			last++
		}
	}
	for _, c := range n.Content {
		last = max(last, lastLine(c))
	}
	return last
}

// unshift moves the positions of a parsed composite step back to the
// action file's columns.
func unshift(s *actionlint.Step, shift, lineShift int) {
	seen := map[*actionlint.Pos]bool{}
	fix := func(p *actionlint.Pos) {
		if p != nil && !seen[p] {
			seen[p] = true
			p.Col = max(p.Col-shift, 1)
			p.Line = max(p.Line-lineShift, 1)
		}
	}
	str := func(v *actionlint.String) {
		if v != nil {
			fix(v.Pos)
		}
	}
	fix(s.Pos)
	str(s.ID)
	str(s.If)
	str(s.Name)
	if s.Env != nil {
		str(s.Env.Expression)
		for _, v := range s.Env.Vars {
			str(v.Name)
			str(v.Value)
		}
	}
	if s.ContinueOnError != nil {
		fix(s.ContinueOnError.Pos)
		str(s.ContinueOnError.Expression)
	}
	if s.TimeoutMinutes != nil {
		fix(s.TimeoutMinutes.Pos)
		str(s.TimeoutMinutes.Expression)
	}
	switch e := s.Exec.(type) {
	case *actionlint.ExecRun:
		str(e.Run)
		str(e.Shell)
		str(e.WorkingDirectory)
		fix(e.RunPos)
	case *actionlint.ExecAction:
		str(e.Uses)
		str(e.Entrypoint)
		str(e.Args)
		for _, in := range e.Inputs {
			str(in.Name)
			str(in.Value)
		}
	}
}
