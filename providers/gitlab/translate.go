package gitlab

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
)

// Detect reports whether a file is GitLab CI configuration: named
// .gitlab-ci.yml (or *.gitlab-ci.yml), or YAML with GitLab's top-level
// stages:/include: or a job with script:.
func Detect(path string, data []byte) bool {
	base := filepath.Base(path)
	if base == ".gitlab-ci.yml" || base == ".gitlab-ci.yaml" || strings.HasSuffix(base, ".gitlab-ci.yml") {
		return true
	}
	ext := filepath.Ext(path)
	if ext != ".yml" && ext != ".yaml" {
		return false
	}
	return topGitLab.Match(data) && !topJobs.Match(data)
}

var (
	topGitLab = regexp.MustCompile(`(?m)^(stages|include|workflow|default):|^  script:`)
	topJobs   = regexp.MustCompile(`(?m)^jobs:`)
)

// DefaultStages are GitLab's stages when a file declares none.
var DefaultStages = []string{".pre", "build", "test", "deploy", ".post"}

// Translate turns a GitLab CI file (and what it includes) into a pipeline.
// Findings in the input come back in the list; the pipeline is nil when
// any is an error.
func Translate(ctx context.Context, path string, data []byte, opts Options) (*dag.Pipeline, diag.List, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	l := &loader{ctx: ctx, opts: opts}
	root := l.load(path, data, nil, []string{path}, source{root: opts.dir()}, nil)
	diags := l.diags
	if root == nil || diags.HasErrors() {
		diags.Sort()
		return nil, diags, nil
	}
	t := &translator{opts: opts, path: path}
	p := t.pipeline(root)
	diags.Add(t.diags...)
	if diags.HasErrors() {
		diags.Sort()
		return nil, diags, nil
	}
	diags.Add(p.Validate()...)
	diags.Sort()
	if diags.HasErrors() {
		return nil, diags, nil
	}
	return p, diags, nil
}

type translator struct {
	opts  Options
	path  string
	diags diag.List
	root  *node
	// jobs in file order, after extends and default:
	names []string
	jobs  map[string]*node
	// ids maps job names to node ids (several for parallel jobs).
	ids  map[string][]string
	inst map[string][]instance
	// byName maps the names GitLab gives parallel jobs to their nodes.
	byName map[string]instanceRef
	// stages in order, and the stage of each job.
	stages   []string
	stageOf  map[string]string
	produces map[string]bool // jobs with artifacts
}

func (t *translator) pipeline(root *node) *dag.Pipeline {
	// As GitLab does: extends first, over every job and hidden job, then
	// !reference tags, which may name what extends brought in.
	r := &resolver{root: root}
	extended := root.clone()
	for _, name := range root.keys {
		if v := root.fields[name]; v.kind == mapKind && !globalKeywords[name] {
			extended.fields[name] = r.extend(name, v, nil)
		}
	}
	r.root = extended
	root = r.resolveRefs(extended, nil)
	r.root = root
	t.root = root
	p := &dag.Pipeline{
		Version: dag.Version,
		Name:    filepath.ToSlash(t.path),
		Source:  &dag.Source{Provider: "gitlab", Path: filepath.ToSlash(t.path)},
		// How GitLab's runner runs jobs, said in the DAG: the runner reads
		// these fields, not the provider's name.
		Defaults: dag.GitLabDefaults(),
	}
	t.stages = DefaultStages
	if s := root.get("stages"); s != nil {
		t.stages = t.stageList(s)
	} else if s := root.get("types"); s != nil {
		t.stages = t.stageList(s)
	}
	p.Env = t.variables(root.get("variables"))
	defaults := root.get("default")
	// Deprecated top-level image, services, cache, before_script and
	// after_script act as defaults.
	for _, k := range []string{"image", "services", "cache", "before_script", "after_script"} {
		if v := root.get(k); v != nil && defaults.has(k) {
			t.diags.Errorf(root.keyAt(k), "default", "%s is set both at the top level and in default:; GitLab rejects that", k).
				Hint = "keep the one in default:"
		} else if v != nil {
			if defaults == nil {
				defaults = &node{kind: mapKind, pos: v.pos}
			} else {
				defaults = defaults.clone()
			}
			defaults.set(k, v, root.keyAt(k))
		}
	}
	if defaults != nil && defaults.kind != mapKind {
		t.diags.Errorf(defaults.pos, "default", "default: must be a mapping, found %s", defaults.describe())
		defaults = nil
	}
	if defaults != nil {
		for _, k := range defaults.keys {
			if !slices.Contains(defaultKeywords, k) {
				d := t.diags.Errorf(defaults.keyAt(k), "unknown-keyword", "unknown keyword %q in default:", k)
				if s := diag.Closest(k, defaultKeywords); s != "" {
					d.Hint = fmt.Sprintf("did you mean %q?", s)
				}
			}
		}
	}
	if w := root.get("workflow"); w != nil {
		t.workflow(p, w)
	}
	t.jobs = map[string]*node{}
	t.stageOf = map[string]string{}
	t.produces = map[string]bool{}
	for _, name := range root.keys {
		v := root.fields[name]
		if globalKeywords[name] {
			continue
		}
		if strings.HasPrefix(name, ".") {
			continue // hidden job: a template for extends and !reference
		}
		if v.kind != mapKind {
			d := t.diags.Errorf(root.keyAt(name), "unknown-keyword", "%q is neither a keyword nor a job (a job is a mapping with script:)", name)
			if s := diag.Closest(name, slices.Sorted(maps.Keys(globalKeywords))); s != "" {
				d.Hint = fmt.Sprintf("did you mean %q?", s)
			}
			continue
		}
		job := t.jobInputs(name, inheritDefaults(v, defaults))
		t.names = append(t.names, name)
		t.jobs[name] = job
		stage := job.get("stage").str()
		if stage == "" {
			stage = "test"
		}
		if !slices.Contains(t.stages, stage) {
			t.diags.Errorf(job.keyAt("stage"), "stage", "job %q uses stage %q, which is not in stages: %s", name, stage, strings.Join(t.stages, ", "))
		}
		t.stageOf[name] = stage
		if job.has("artifacts") {
			t.produces[name] = true
		}
	}
	t.diags.Add(r.diags...)
	t.assignIDs()
	var nodes []*dag.Node
	for _, name := range t.names {
		nodes = append(nodes, t.jobNodes(name, t.jobs[name], p.Env)...)
	}
	nodes = append(nodes, t.barriers(nodes)...)
	p.Nodes = nodes
	p.Triggers = t.triggers(p)
	t.implicitOnly(p)
	if len(t.names) == 0 {
		t.diags.Errorf(diag.Pos{File: t.path, Line: 1, Col: 1}, "no-jobs", "the configuration has no jobs").
			Hint = "a job is a top-level key whose value has script: (hidden jobs, starting with '.', do not run)"
	}
	return p
}

func (t *translator) stageList(s *node) []string {
	var out []string
	var names []string
	for _, it := range flatten([]*node{s}) {
		names = append(names, it.strings()...)
	}
	for _, st := range names {
		if !slices.Contains(out, st) {
			out = append(out, st)
		}
	}
	// .pre and .post are always first and last.
	out = slices.DeleteFunc(out, func(s string) bool { return s == ".pre" || s == ".post" })
	return append(append([]string{".pre"}, out...), ".post")
}

// variables reads a variables: mapping: plain values, or value: with
// description/options/expand.
func (t *translator) variables(v *node) map[string]string {
	if v == nil || v.isNull() {
		return nil
	}
	if v.kind != mapKind {
		t.diags.Errorf(v.pos, "variables", "variables: must be a mapping, found %s", v.describe())
		return nil
	}
	out := map[string]string{}
	for _, k := range v.keys {
		val := v.fields[k]
		switch val.kind {
		case scalarKind:
			// GitLab takes booleans too (gitlab-org/gitlab#21587), as
			// real pipelines write them (MACOS_AMD64: true).
			if val.tag != "!!str" && val.tag != "!!int" && val.tag != "!!bool" {
				t.diags.Errorf(val.pos, "variables", "variable %q is %s; GitLab takes strings, integers and booleans only", k, val.tag[2:]).
					Hint = fmt.Sprintf("quote it: %s: \"%s\"", k, val.value)
				continue
			}
			out[k] = val.str()
		case mapKind:
			out[k] = val.get("value").str()
			for _, sub := range val.keys {
				switch sub {
				case "value", "description", "options", "expand":
				default:
					t.diags.Errorf(val.keyAt(sub), "unknown-keyword", "unknown keyword %q in variable %q", sub, k).
						Hint = "a variable takes value, description, options and expand"
				}
			}
			if val.get("expand").str() == "false" {
				// Written so that the shell does not expand it either.
				out[k] = strings.ReplaceAll(out[k], "$", "$$")
			}
		default:
			t.diags.Errorf(val.pos, "variables", "variable %q must be a string or a mapping with value:, found %s", k, val.describe())
		}
	}
	return out
}

func (t *translator) workflow(p *dag.Pipeline, w *node) {
	if name := w.get("name").str(); name != "" {
		p.Name = name
	}
	for _, k := range w.keys {
		switch k {
		case "name", "rules":
		case "auto_cancel":
			t.diags.Warnf(w.keyAt(k), "caveat", "workflow:auto_cancel is recorded only in the source; gantry does not cancel earlier runs")
		default:
			t.diags.Errorf(w.keyAt(k), "unknown-keyword", "unknown keyword %q in workflow:", k).Hint = "workflow: takes name, rules and auto_cancel"
		}
	}
	p.Rules = t.rules(w.get("rules"), "workflow")
}

// rules translates a rules: list.
func (t *translator) rules(v *node, owner string) []dag.Rule {
	if v == nil || v.isNull() {
		return nil
	}
	if v.kind != seqKind {
		t.diags.Errorf(v.pos, "rules", "rules: must be a list, found %s", v.describe())
		return nil
	}
	var out []dag.Rule
	for _, r := range flatten(v.items) {
		if r.kind != mapKind {
			t.diags.Errorf(r.pos, "rules", "a rule is a mapping (if:, changes:, exists:, when:...), found %s", r.describe())
			continue
		}
		dr := dag.Rule{Pos: dag.SourcePos{Pos: r.pos}}
		for _, k := range r.keys {
			val := r.fields[k]
			switch k {
			case "if":
				cond, err := condition(val.str(), t.scalarPos(val))
				if err != nil {
					t.diags.Add(diag.AsList(err)...)
					continue
				}
				dr.If = cond
			case "changes":
				dr.Changes = t.changes(val)
			case "exists":
				if val.kind == mapKind {
					dr.Exists = val.get("paths").strings()
				} else {
					dr.Exists = val.strings()
				}
			case "when":
				dr.When = t.when(val)
			case "allow_failure":
				b := val.str() == "true"
				if val.kind == mapKind {
					b = true
				}
				dr.AllowFailure = &b
			case "start_in":
				dr.StartIn = t.duration(val, startInDuration)
			case "variables":
				dr.Env = t.variables(val)
			case "needs":
				dr.Needs = t.needIDs(val)
			case "interruptible", "auto_cancel":
			default:
				d := t.diags.Errorf(r.keyAt(k), "unknown-keyword", "unknown keyword %q in a rule of %s", k, owner)
				if s := diag.Closest(k, []string{"if", "changes", "exists", "when", "allow_failure", "start_in", "variables", "needs"}); s != "" {
					d.Hint = fmt.Sprintf("did you mean %q?", s)
				}
			}
		}
		if dr.When == dag.WhenDelayed && !r.has("start_in") {
			t.diags.Errorf(r.keyAt("when"), "when", "a rule of %s is when: delayed but has no start_in:", owner).Hint = "add start_in: such as 30 minutes"
		}
		if r.has("start_in") && dr.When != dag.WhenDelayed {
			t.diags.Errorf(r.keyAt("start_in"), "when", "a rule of %s has start_in: but is not when: delayed; GitLab rejects that", owner)
			dr.StartIn = ""
		}
		out = append(out, dr)
	}
	return out
}

// flatten splices nested lists (from anchors and !reference) into one
// list, as GitLab reads rules.
func flatten(items []*node) []*node {
	var out []*node
	for _, it := range items {
		if it.kind == seqKind {
			out = append(out, flatten(it.items)...)
			continue
		}
		out = append(out, it)
	}
	return out
}

func (t *translator) changes(v *node) *dag.Changes {
	paths := v
	if v.kind == mapKind {
		paths = v.get("paths")
	}
	// GitLab refuses a changes: without paths ("changes config should be
	// an array of strings"); gantry must not read it as "any change".
	if paths == nil || paths.isNull() {
		at := v.pos
		if v.kind == mapKind {
			at = v.keyAt("paths")
		}
		t.diags.Errorf(at, "changes", "changes: names no paths").
			Hint = "give a list of paths or globs (changes: [src/**/*]), or changes: {paths: [...], compare_to: REF}"
		return nil
	}
	c := &dag.Changes{Paths: paths.strings(), CompareTo: v.get("compare_to").str()}
	if c.Paths == nil {
		c.Paths = []string{}
	}
	return c
}

// scalarPos is where a scalar's text starts (after its quote).
func (t *translator) scalarPos(v *node) diag.Pos {
	p := v.pos
	if v.quoted {
		p.Col++
	}
	return p
}

func (t *translator) when(v *node) dag.When {
	w := dag.When(v.str())
	if !slices.Contains(dag.Whens, w) {
		t.diags.Errorf(v.pos, "when", "when: %q is not one of on_success, on_failure, always, manual, delayed, never", v.str())
		return ""
	}
	if w == dag.WhenOnSuccess {
		return ""
	}
	return w
}

// implicitOnly gives jobs without rules GitLab's implicit only: [branches,
// tags] when the pipeline can run for merge requests, where such jobs are
// not created.
func (t *translator) implicitOnly(p *dag.Pipeline) {
	mr := false
	for _, tr := range p.Triggers {
		mr = mr || tr.Event == "merge_request"
	}
	if !mr {
		return
	}
	for _, n := range p.Nodes {
		if len(n.Rules) > 0 || len(n.Steps) == 0 {
			continue
		}
		n.Rules = []dag.Rule{{If: "env.CI_COMMIT_BRANCH != null || env.CI_COMMIT_TAG != null", When: n.When}}
	}
}
