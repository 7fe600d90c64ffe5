package gitlab

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
)

// instance is one node of a job: the job itself, or one of its parallel
// copies with their variables.
type instance struct {
	id    string
	name  string
	vars  map[string]string
	order []string
}

// instances expands parallel: N and parallel:matrix.
func (t *translator) instances(name string, job *node) []instance {
	base := dag.SanitizeID(name)
	par := job.get("parallel")
	if par == nil || par.isNull() {
		return []instance{{id: base, name: name}}
	}
	if par.kind == scalarKind {
		n, err := strconv.Atoi(par.str())
		if err != nil || n < 1 || n > 200 {
			t.diags.Errorf(par.pos, "parallel", "parallel: must be a number from 1 to 200, found %s", par.describe())
			return []instance{{id: base, name: name}}
		}
		var out []instance
		for i := 1; i <= n; i++ {
			out = append(out, instance{
				id: fmt.Sprintf("%s.%d", base, i), name: fmt.Sprintf("%s %d/%d", name, i, n),
				vars:  map[string]string{"CI_NODE_INDEX": strconv.Itoa(i), "CI_NODE_TOTAL": strconv.Itoa(n)},
				order: []string{"CI_NODE_INDEX", "CI_NODE_TOTAL"},
			})
		}
		return out
	}
	m := par.get("matrix")
	if m == nil || m.kind != seqKind {
		t.diags.Errorf(par.pos, "parallel", "parallel: is a number or matrix: with a list of variable sets")
		return []instance{{id: base, name: name}}
	}
	var combos []instance
	for _, entry := range m.items {
		if entry.kind != mapKind {
			t.diags.Errorf(entry.pos, "parallel", "each parallel:matrix entry maps variables to values")
			continue
		}
		set := []instance{{vars: map[string]string{}}}
		for _, k := range entry.keys {
			vals := entry.fields[k].strings()
			if len(vals) == 0 {
				t.diags.Errorf(entry.keyAt(k), "parallel", "matrix variable %q has no values", k)
				continue
			}
			var next []instance
			for _, c := range set {
				for _, v := range vals {
					nv := maps.Clone(c.vars)
					nv[k] = v
					next = append(next, instance{vars: nv, order: append(slices.Clone(c.order), k)})
				}
			}
			set = next
		}
		combos = append(combos, set...)
	}
	if len(combos) > 200 {
		t.diags.Errorf(m.pos, "parallel", "parallel:matrix makes %d jobs; GitLab allows at most 200", len(combos))
		return nil
	}
	seen := map[string]int{}
	for i := range combos {
		c := &combos[i]
		vals := make([]string, len(c.order))
		for j, k := range c.order {
			vals[j] = c.vars[k]
		}
		c.name = fmt.Sprintf("%s: [%s]", name, strings.Join(vals, ", "))
		c.id = base + "." + dag.SanitizeID(strings.Join(vals, "-"))
		seen[c.id]++
		if n := seen[c.id]; n > 1 {
			c.id = fmt.Sprintf("%s-%d", c.id, n)
		}
	}
	return combos
}

func (t *translator) assignIDs() {
	t.ids = map[string][]string{}
	t.inst = map[string][]instance{}
	t.byName = map[string]instanceRef{}
	used := map[string]string{}
	for _, name := range t.names {
		insts := t.instances(name, t.jobs[name])
		for i := range insts {
			id := insts[i].id
			for n := 2; used[id] != ""; n++ {
				id = fmt.Sprintf("%s-%d", insts[i].id, n)
			}
			used[id] = name
			insts[i].id = id
			t.ids[name] = append(t.ids[name], id)
			if insts[i].name != name {
				// GitLab names each parallel job (build 1/3, build: [a, b]),
				// and needs: and dependencies: may name one.
				t.byName[insts[i].name] = instanceRef{job: name, id: id}
			}
		}
		t.inst[name] = insts
	}
}

func stageIndex(stages []string, s string) int { return slices.Index(stages, s) }

// stageBarrier is the id of the join node that completes a stage.
func stageBarrier(stage string) string { return "stage." + dag.SanitizeID(stage) }

// jobNodes translates one job into its nodes.
func (t *translator) jobNodes(name string, job *node, globalEnv map[string]string) []*dag.Node {
	t.checkKeywords(name, job)
	stage := t.stageOf[name]
	links := t.jobLinks(name, job)
	base := &dag.Node{
		Stage: stage,
		Pos:   dag.SourcePos{Pos: job.pos},
	}
	base.Pos.Pos = t.root.keyAt(name)
	t.commonFields(name, job, base)
	var nodes []*dag.Node
	for i, inst := range t.inst[name] {
		needs, consumes := links[0].needs, links[0].consumes
		if len(links) > 1 {
			needs, consumes = links[i].needs, links[i].consumes
		}
		n := *base
		n.ID, n.Name = inst.id, inst.name
		n.Needs = slices.Compact(slices.Sorted(slices.Values(needs)))
		n.Env = maps.Clone(base.Env)
		if len(inst.vars) > 0 {
			if n.Env == nil {
				n.Env = map[string]string{}
			}
			maps.Copy(n.Env, inst.vars)
			n.Matrix = map[string]any{}
			for k, v := range inst.vars {
				n.Matrix[k] = v
			}
			n.Strategy = &dag.Strategy{Group: dag.SanitizeID(name)}
		}
		if len(consumes) > 0 {
			if n.Artifacts == nil {
				n.Artifacts = &dag.Artifacts{}
			} else {
				a := *n.Artifacts
				n.Artifacts = &a
			}
			n.Artifacts.Consumes = nil
			for _, c := range slices.Compact(slices.Sorted(slices.Values(consumes))) {
				n.Artifacts.Consumes = append(n.Artifacts.Consumes, dag.ArtifactRef{From: c})
			}
		}
		nodes = append(nodes, &n)
	}
	return nodes
}

func (t *translator) previousStage(stage string) string {
	i := stageIndex(t.stages, stage)
	for j := i - 1; j >= 0; j-- {
		s := t.stages[j]
		for _, name := range t.names {
			if t.stageOf[name] == s {
				return s
			}
		}
	}
	return ""
}

// barriers makes one join node per stage with jobs: it needs the stage's
// jobs and the barrier before it, so that "every job of the stages before"
// is one need.
func (t *translator) barriers(nodes []*dag.Node) []*dag.Node {
	var out []*dag.Node
	prev := ""
	for _, s := range t.stages {
		var ids []string
		for _, n := range nodes {
			if n.Stage == s {
				ids = append(ids, n.ID)
			}
		}
		if len(ids) == 0 {
			continue
		}
		// Only stages some job waits for need a barrier.
		b := &dag.Node{ID: stageBarrier(s), Name: "stage " + s, Stage: s, Needs: ids}
		if prev != "" {
			b.Needs = append(b.Needs, stageBarrier(prev))
		}
		slices.Sort(b.Needs)
		out = append(out, b)
		prev = s
	}
	// Drop barriers no node needs (the last stage's, usually).
	needed := map[string]bool{}
	for _, n := range append(slices.Clone(nodes), out...) {
		for _, need := range n.Needs {
			needed[need] = true
		}
	}
	for changed := true; changed; {
		changed = false
		var keep []*dag.Node
		for _, b := range out {
			if needed[b.ID] {
				keep = append(keep, b)
			} else {
				changed = true
			}
		}
		out = keep
		needed = map[string]bool{}
		for _, n := range append(slices.Clone(nodes), out...) {
			for _, need := range n.Needs {
				needed[need] = true
			}
		}
	}
	return out
}

func (t *translator) checkKeywords(name string, job *node) {
	t.checkShapes(name, job)
	for _, k := range job.keys {
		if slices.Contains(jobKeywords, k) {
			continue
		}
		d := t.diags.Errorf(job.keyAt(k), "unknown-keyword", "unknown keyword %q in job %q", k, name)
		if s := diag.Closest(k, jobKeywords); s != "" {
			d.Hint = fmt.Sprintf("did you mean %q?", s)
		}
	}
	if !job.has("script") && !job.has("trigger") && !job.has("run") {
		t.diags.Errorf(t.root.keyAt(name), "job-script", "job %q has no script:; GitLab rejects such a job", name).
			Hint = "give it script:, or start its name with '.' to make it a hidden template"
	}
	if job.has("trigger") && job.has("script") {
		t.diags.Errorf(job.keyAt("script"), "trigger", "job %q has both trigger: and script:; a trigger job runs no script (GitLab rejects it)", name)
	}
	when := job.get("when").str()
	if when == "delayed" && !job.has("start_in") {
		t.diags.Errorf(job.keyAt("when"), "when", "job %q is delayed but has no start_in:", name).Hint = "add start_in: such as 30 minutes"
	}
	if when != "delayed" && job.has("start_in") {
		t.diags.Errorf(job.keyAt("start_in"), "when", "job %q has start_in: but is not when: delayed", name)
	} else if job.has("rules") && job.has("start_in") {
		t.diags.Errorf(job.keyAt("start_in"), "when", "job %q has rules: and start_in:; GitLab rejects that", name).
			Hint = "give the delay in the rule: rules: [{when: delayed, start_in: ...}]"
	}
	if job.has("rules") && (job.has("only") || job.has("except")) {
		t.diags.Errorf(job.keyAt("rules"), "rules-only", "job %q uses rules: together with only:/except:; GitLab rejects that", name)
	}
}

// commonFields translates what every instance of a job shares.
func (t *translator) commonFields(name string, job *node, n *dag.Node) {
	n.Env = t.variables(job.get("variables"))
	if inh := job.get("inherit").get("variables"); inh != nil {
		t.inheritVariables(n, inh)
	}
	n.Image, n.Container = t.image(job.get("image"))
	n.Services = t.services(job.get("services"))
	if run := job.get("run"); run != nil {
		steps, expressions := t.functionSteps(name, job, run)
		n.Steps = steps
		if expressions {
			// The step runner evaluates ${{ }} in script: and env: just
			// before each step.
			yes := true
			n.Defaults = &dag.Defaults{Expressions: &yes}
		}
	} else {
		n.Steps = t.scripts(job)
	}
	if w := job.get("when"); w != nil {
		n.When = t.when(w)
		if n.When == dag.WhenDelayed {
			n.StartIn = t.duration(job.get("start_in"), startInDuration)
		}
	}
	t.allowFailure(job, n)
	n.Rules = t.rules(job.get("rules"), "job "+strconv.Quote(name))
	if job.has("only") || job.has("except") {
		n.Rules = t.onlyExcept(job, n.When)
	}
	if r := job.get("retry"); r != nil {
		n.Retry = t.retry(r)
	}
	if to := job.get("timeout"); to != nil {
		n.Timeout = t.duration(to, timeoutDuration)
	}
	if tags := job.get("tags").strings(); len(tags) > 0 {
		n.Tags = tags
		n.Platform = strings.Join(tags, ",")
	}
	if e := job.get("environment"); e != nil {
		switch e.kind {
		case scalarKind:
			n.Environment = &dag.Environment{Name: e.str()}
		case mapKind:
			n.Environment = &dag.Environment{Name: e.get("name").str(), URL: e.get("url").str()}
			if a := e.get("action").str(); a == "stop" {
				n.Meta = setMeta(n.Meta, "environment-action", a)
			}
			if s := e.get("auto_stop_in"); s != nil && !s.isNull() {
				// Recorded: gantry stops no environment.
				stop := t.duration(s, autoStopDuration)
				if strings.EqualFold(s.str(), "never") {
					stop = "never"
				}
				if stop != "" {
					n.Meta = setMeta(n.Meta, "environment-auto-stop-in", string(stop))
				}
			}
		}
	}
	if rg := job.get("resource_group").str(); rg != "" {
		n.Concurrency = &dag.Concurrency{Group: rg}
	}
	if job.get("interruptible").str() == "true" {
		n.Meta = setMeta(n.Meta, "interruptible", "true")
	}
	if c := job.get("coverage").str(); c != "" {
		n.Meta = setMeta(n.Meta, "coverage", c)
	}
	if job.has("release") {
		n.Meta = setMeta(n.Meta, "release", "recorded")
		t.diags.Warnf(job.keyAt("release"), "caveat", "release: is recorded only in the source; gantry makes no GitLab release")
	}
	if job.has("pages") || name == "pages" {
		n.Meta = setMeta(n.Meta, "pages", "true")
		if p := job.get("pages"); p != nil && p.kind == mapKind {
			t.duration(p.get("expire_in"), pagesExpireIn)
		}
	}
	if tr := job.get("trigger"); tr != nil {
		t.trigger(name, job, tr, n)
	}
	if sec := job.get("secrets"); sec != nil && sec.kind == mapKind {
		n.Secrets = slices.Sorted(slices.Values(sec.keys))
	}
	n.Artifacts = t.artifacts(job.get("artifacts"))
	n.Caches = t.caches(job.get("cache"))
}

func setMeta(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func (t *translator) inheritVariables(n *dag.Node, inh *node) {
	// Global variables live on the pipeline; a job that inherits none or
	// some says which, and the runner leaves the others out.
	switch inh.kind {
	case scalarKind:
		if inh.str() == "false" {
			n.InheritEnv = &[]string{}
		}
	case seqKind:
		// variables: [] inherits none, as false does.
		names := append([]string{}, inh.strings()...)
		n.InheritEnv = &names
	}
}

func (t *translator) image(v *node) (string, *dag.Container) {
	if v == nil || v.isNull() {
		return "", nil
	}
	if v.kind == scalarKind {
		return v.str(), nil
	}
	if v.kind != mapKind {
		t.diags.Errorf(v.pos, "image", "image: is a name or a mapping with name:, found %s", v.describe())
		return "", nil
	}
	var c dag.Container
	c.Entrypoint = v.get("entrypoint").strings()
	c.User = v.get("docker").get("user").str()
	if c.Entrypoint == nil && c.User == "" {
		return v.get("name").str(), nil
	}
	return v.get("name").str(), &c
}

func (t *translator) services(v *node) []dag.Service {
	if v == nil || v.isNull() {
		return nil
	}
	items := v.items
	if v.kind != seqKind {
		items = []*node{v}
	}
	var out []dag.Service
	for _, s := range items {
		var svc dag.Service
		switch s.kind {
		case scalarKind:
			svc.Image = s.str()
		case mapKind:
			svc.Image = s.get("name").str()
			if a := s.get("alias"); a != nil {
				// alias may list several names separated by commas.
				for _, al := range strings.Split(a.str(), ",") {
					if al = strings.TrimSpace(al); al != "" {
						svc.Aliases = append(svc.Aliases, al)
					}
				}
			}
			svc.Command = s.get("command").strings()
			svc.Entrypoint = s.get("entrypoint").strings()
			svc.Env = t.variables(s.get("variables"))
		default:
			t.diags.Errorf(s.pos, "services", "a service is an image name or a mapping with name:")
			continue
		}
		if svc.Image == "" {
			// GitLab: "service name can't be blank".
			t.diags.Errorf(s.pos, "services", "this service names no image").
				Hint = "write the image (services: [postgres:16]) or name: IMAGE in a mapping"
			continue
		}
		svc.Name = serviceName(svc.Image)
		if len(svc.Aliases) > 0 {
			svc.Name = svc.Aliases[0]
		}
		if svc.Name == "" {
			// ":0" or "@sha256:...": a tag or digest with no image before it.
			t.diags.Errorf(s.pos, "services", "service image %q names no image before its tag or digest", svc.Image).
				Hint = "write the image's name: postgres:16, registry.example.com/db:1"
			continue
		}
		out = append(out, svc)
	}
	return out
}

// serviceName is the host name GitLab gives a service without alias:
// the image name without tag, "/" becoming "__" (GitLab also offers "-").
func serviceName(image string) string {
	name := image
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	return strings.ReplaceAll(name, "/", "__")
}

// scripts makes the steps: before_script and script run in one shell, as
// GitLab runs them; after_script runs in its own shell, whatever happened.
func (t *translator) scripts(job *node) []dag.Step {
	var steps []dag.Step
	lines := append(t.scriptLines(job.get("before_script")), t.scriptLines(job.get("script"))...)
	if len(lines) > 0 {
		at := job.keyAt("script")
		if job.has("before_script") {
			at = job.keyAt("before_script")
		}
		steps = append(steps, dag.Step{Name: "script", Run: strings.Join(lines, "\n"), Pos: dag.SourcePos{Pos: at}})
	}
	if after := t.scriptLines(job.get("after_script")); len(after) > 0 {
		steps = append(steps, dag.Step{Name: "after_script", Run: strings.Join(after, "\n"), If: "always()", ContinueOnError: dag.FlagOf(true), Pos: dag.SourcePos{Pos: job.keyAt("after_script")}})
	}
	return steps
}

// scriptLines flattens a script: a string, or lists nested up to ten deep.
func (t *translator) scriptLines(v *node) []string {
	if v == nil || v.isNull() {
		return nil
	}
	var out []string
	var walk func(*node, int)
	walk = func(n *node, depth int) {
		if depth > 10 {
			t.diags.Errorf(n.pos, "script", "script lists nest deeper than 10 levels")
			return
		}
		switch n.kind {
		case scalarKind:
			if line := strings.TrimSuffix(n.value, "\n"); !n.isNull() && strings.TrimSpace(line) != "" {
				out = append(out, line)
			}
		case seqKind:
			for _, it := range n.items {
				walk(it, depth+1)
			}
		default:
			t.diags.Errorf(n.pos, "script", "a script line must be a string, found %s", n.describe())
		}
	}
	walk(v, 0)
	return out
}

func (t *translator) allowFailure(job *node, n *dag.Node) {
	af := job.get("allow_failure")
	switch {
	case af == nil:
		// Manual jobs may fail by default, as on GitLab.
		n.AllowFailure = dag.FlagOf(n.When == dag.WhenManual)
	case af.kind == scalarKind:
		n.AllowFailure = dag.FlagOf(af.str() == "true")
	case af.kind == mapKind:
		n.AllowFailure = dag.FlagOf(true)
		for _, c := range af.get("exit_codes").strings() {
			if code, err := strconv.Atoi(c); err == nil {
				n.AllowFailureExitCodes = append(n.AllowFailureExitCodes, code)
			}
		}
	}
}

func (t *translator) retry(v *node) *dag.Retry {
	switch v.kind {
	case scalarKind:
		n, err := strconv.Atoi(v.str())
		if err != nil || n < 0 || n > 2 {
			t.diags.Errorf(v.pos, "retry", "retry: is 0, 1 or 2, found %s", v.describe())
			return nil
		}
		if n == 0 {
			return nil
		}
		return &dag.Retry{Max: n}
	case mapKind:
		r := &dag.Retry{When: v.get("when").strings()}
		if m := v.get("max"); m != nil {
			n, err := strconv.Atoi(m.str())
			if err != nil || n < 0 || n > 2 {
				t.diags.Errorf(m.pos, "retry", "retry:max is 0, 1 or 2, found %s", m.describe())
				return nil
			}
			r.Max = n
		}
		if v.has("exit_codes") {
			t.diags.Warnf(v.keyAt("exit_codes"), "caveat", "retry:exit_codes is recorded only in the source; gantry retries on any failure")
		}
		return r
	}
	return nil
}

func (t *translator) artifacts(v *node) *dag.Artifacts {
	if v == nil || v.isNull() || v.kind != mapKind {
		return nil
	}
	var a dag.Artifacts
	main := dag.Artifact{
		Name:      "artifacts",
		Paths:     v.get("paths").strings(),
		Exclude:   v.get("exclude").strings(),
		Untracked: v.get("untracked").str() == "true",
	}
	if w := v.get("when"); w != nil {
		main.When = t.when(w)
	}
	if e := v.get("expire_in"); e != nil {
		main.ExpireIn = t.duration(e, expireInDuration)
	}
	if len(main.Paths) > 0 || main.Untracked {
		a.Produces = append(a.Produces, main)
	}
	if r := v.get("reports"); r != nil && r.kind == mapKind {
		for _, k := range r.keys {
			paths := r.fields[k].strings()
			if r.fields[k].kind == mapKind {
				paths = r.fields[k].get("path").strings()
			}
			a.Produces = append(a.Produces, dag.Artifact{Name: "report-" + dag.SanitizeID(k), Paths: paths, Report: k, When: main.When})
		}
	}
	for _, k := range v.keys {
		switch k {
		case "paths", "exclude", "untracked", "when", "expire_in", "reports", "name", "expose_as", "public", "access":
		default:
			t.diags.Errorf(v.keyAt(k), "unknown-keyword", "unknown keyword %q in artifacts:", k)
		}
	}
	if len(a.Produces) == 0 {
		return nil
	}
	return &a
}

func (t *translator) caches(v *node) []dag.Cache {
	if v == nil || v.isNull() {
		return nil
	}
	items := v.items
	if v.kind != seqKind {
		items = []*node{v}
	}
	var out []dag.Cache
	for _, c := range items {
		if c.kind != mapKind {
			t.diags.Errorf(c.pos, "cache", "a cache is a mapping with key: and paths:")
			continue
		}
		dc := dag.Cache{Key: "default", Paths: c.get("paths").strings(), Policy: c.get("policy").str(), RestoreKeys: c.get("fallback_keys").strings()}
		if k := c.get("key"); k != nil {
			switch k.kind {
			case scalarKind:
				// key: with no value is GitLab's default key.
				dc.Key = cmp.Or(k.str(), dc.Key)
			case mapKind:
				files := k.get("files").strings()
				quoted := make([]string, len(files))
				for i, f := range files {
					quoted[i] = quote(f)
				}
				dc.Key = fmt.Sprintf("${{ hashFiles(%s) }}", strings.Join(quoted, ", "))
				if p := k.get("prefix").str(); p != "" {
					dc.Key = p + "-" + dc.Key
				}
			}
		}
		if dc.Policy != "" && dc.Policy != "pull" && dc.Policy != "push" && dc.Policy != "pull-push" {
			t.diags.Errorf(c.get("policy").pos, "cache", "cache policy %q is not pull, push or pull-push", dc.Policy)
			dc.Policy = ""
		}
		if w := c.get("when"); w != nil {
			dc.When = t.when(w)
		}
		if len(dc.Paths) == 0 {
			if !c.has("untracked") {
				t.diags.Warnf(c.pos, "cache", "cache without paths: caches nothing")
			}
			continue
		}
		out = append(out, dc)
	}
	return out
}

// trigger records a downstream pipeline. Its jobs are not run by gantry.
func (t *translator) trigger(name string, job, tr *node, n *dag.Node) {
	what := tr.str()
	if tr.kind == mapKind {
		what = cmp.Or(tr.get("project").str(), "child pipeline")
	}
	n.Uses = "gitlab-trigger:" + what
	t.diags.Warnf(job.keyAt("trigger"), "caveat", "job %q triggers a downstream pipeline (%s); gantry records it as a reference and does not run it", name, what)
}

// onlyExcept turns only:/except: into rules: except's conditions first,
// as never; then only's, as the job's when.
func (t *translator) onlyExcept(job *node, when dag.When) []dag.Rule {
	var rules []dag.Rule
	if ex := job.get("except"); ex != nil {
		for _, c := range t.refConditions(ex) {
			rules = append(rules, dag.Rule{If: c.cond, Changes: c.changes, When: dag.WhenNever, Pos: dag.SourcePos{Pos: ex.pos}})
		}
	}
	only := job.get("only")
	if only == nil {
		rules = append(rules, dag.Rule{When: when})
		return rules
	}
	conds := t.refConditions(only)
	for _, c := range conds {
		rules = append(rules, dag.Rule{If: c.cond, Changes: c.changes, When: when, Pos: dag.SourcePos{Pos: only.pos}})
	}
	return rules
}

type refCond struct {
	cond    string
	changes *dag.Changes
}

// refKeywords are only:/except: ref keywords, by the pipeline source they mean.
var refKeywords = map[string]string{
	"api": "api", "chat": "chat", "external_pull_requests": "external_pull_request_event",
	"merge_requests": "merge_request_event", "pipelines": "pipeline", "pushes": "push",
	"schedules": "schedule", "triggers": "trigger", "web": "web",
}

// refConditions reads only:/except: (a list of refs, or refs/variables/
// changes/kubernetes) into alternative conditions: any of them matches.
func (t *translator) refConditions(v *node) []refCond {
	var refs []string
	var vars []string
	var changes *dag.Changes
	switch v.kind {
	case scalarKind, seqKind:
		refs = v.strings()
	case mapKind:
		refs = v.get("refs").strings()
		for _, s := range v.get("variables").strings() {
			c, err := condition(s, v.get("variables").pos)
			if err != nil {
				t.diags.Add(diag.AsList(err)...)
				continue
			}
			vars = append(vars, c)
		}
		if ch := v.get("changes"); ch != nil {
			changes = t.changes(ch)
		}
		if v.has("kubernetes") {
			t.diags.Warnf(v.keyAt("kubernetes"), "caveat", "only/except:kubernetes is recorded only in the source")
		}
	}
	var refConds []string
	for _, r := range refs {
		refConds = append(refConds, refCondition(r))
	}
	// Within one only:, refs, variables and changes must all match; refs and
	// variables are each a list of alternatives.
	var parts []string
	if len(refConds) > 0 {
		parts = append(parts, group(refConds))
	}
	if len(vars) > 0 {
		parts = append(parts, group(vars))
	}
	if len(parts) == 0 && changes == nil {
		return nil
	}
	return []refCond{{cond: strings.Join(parts, " && "), changes: changes}}
}

func group(alts []string) string {
	if len(alts) == 1 {
		return alts[0]
	}
	return "(" + strings.Join(alts, " || ") + ")"
}

func refCondition(r string) string {
	switch {
	case r == "branches":
		return "env.CI_COMMIT_BRANCH != null"
	case r == "tags":
		return "env.CI_COMMIT_TAG != null"
	case refKeywords[r] != "":
		return fmt.Sprintf("env.CI_PIPELINE_SOURCE == %s", quote(refKeywords[r]))
	case strings.HasPrefix(r, "/") && len(r) > 1:
		return fmt.Sprintf("matches(env.CI_COMMIT_REF_NAME, %s)", quote(r))
	}
	return fmt.Sprintf("matches(env.CI_COMMIT_REF_NAME, %s)", quote("^"+regexp.QuoteMeta(r)+"$"))
}

// triggers lists the events a GitLab pipeline runs for: pushes, and every
// pipeline source the rules compare CI_PIPELINE_SOURCE with.
func (t *translator) triggers(p *dag.Pipeline) []dag.Trigger {
	events := []string{"push"}
	seen := map[string]bool{"push": true}
	add := func(cond string) {
		for _, m := range sourceRef.FindAllStringSubmatch(cond, -1) {
			ev := sourceEvents[m[1]]
			if ev == "" {
				ev = m[1]
			}
			if !seen[ev] {
				seen[ev] = true
				events = append(events, ev)
			}
		}
	}
	for _, r := range p.Rules {
		add(r.If)
	}
	for _, n := range p.Nodes {
		for _, r := range n.Rules {
			add(r.If)
		}
	}
	out := make([]dag.Trigger, len(events))
	for i, e := range events {
		out[i] = dag.Trigger{Event: e}
	}
	return out
}

var sourceRef = regexp.MustCompile(`CI_PIPELINE_SOURCE(?: == |, )'\^?([a-z_]+)\$?'`)

// sourceEvents maps CI_PIPELINE_SOURCE values to gantry's event names.
var sourceEvents = map[string]string{
	"merge_request_event": "merge_request", "schedule": "schedule", "web": "manual",
	"push": "push", "api": "api", "trigger": "trigger", "pipeline": "pipeline",
	"parent_pipeline": "parent_pipeline", "external_pull_request_event": "pull_request",
	"chat": "chat", "webide": "webide", "security_orchestration_policy": "policy",
}
