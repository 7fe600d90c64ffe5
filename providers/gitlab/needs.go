package gitlab

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry/diag"
)

// instanceRef is one parallel job by the name GitLab gives it.
type instanceRef struct {
	job string // the job it is a copy of
	id  string // its node
}

// lookup finds what a name in needs: or dependencies: stands for: a job
// (every node of it), or one parallel job by its name ("build 2/3",
// "build: [linux, amd64]"), as GitLab's normalized jobs are named.
func (t *translator) lookup(name string) (job string, ids []string, ok bool) {
	if ids, ok := t.ids[name]; ok {
		return name, ids, true
	}
	if r, ok := t.byName[name]; ok {
		return r.job, []string{r.id}, true
	}
	return "", nil, false
}

// links are a node's needs and the nodes whose artifacts it downloads.
type links struct {
	needs, consumes []string
}

// jobLinks works out the needs and artifact downloads of a job's nodes:
// one links for all of them, or one per node when its needs use
// $[[ matrix.X ]] (the same-valued leg of another matrix job).
func (t *translator) jobLinks(name string, job *node) []links {
	stage := t.stageOf[name]
	v := job.get("needs")
	perInstance := v != nil && hasMatrixExpr(v) && len(t.inst[name]) > 0 && len(t.inst[name][0].vars) > 0 && job.get("parallel").get("matrix") != nil
	if v != nil && hasMatrixExpr(v) && !perInstance {
		at := matrixExprPos(v)
		t.diags.Errorf(at, "needs", "job %q uses $[[ matrix.* ]] in needs: but has no parallel:matrix", name).
			Hint = "matrix expressions name the values of the job's own parallel:matrix; give the values, or add parallel:matrix to the job"
		return []links{{}}
	}
	insts := []*instance{nil}
	if perInstance {
		insts = insts[:0]
		for i := range t.inst[name] {
			insts = append(insts, &t.inst[name][i])
		}
	}
	mark := len(t.diags)
	var out []links
	for _, inst := range insts {
		var l links
		switch {
		case v != nil:
			nv := v
			if inst != nil {
				before := len(t.diags)
				nv = t.interpolateMatrix(v, name, inst)
				if len(t.diags) > before {
					// GitLab stops at the expression it cannot fill in.
					out = append(out, l)
					continue
				}
			}
			var fromNeeds []string
			l.needs, fromNeeds = t.needs(nv, name)
			// Without dependencies:, a job downloads the artifacts of every
			// need with artifacts (Ci::BuildDependencies#from_needs).
			l.consumes = fromNeeds
			if deps := job.get("dependencies"); deps != nil {
				l.consumes = t.dependencies(name, job, deps, fromNeeds)
			}
		default:
			// Without needs:, a job waits for every job of the stages
			// before it and downloads their artifacts.
			if prev := t.previousStage(stage); prev != "" {
				l.needs = []string{stageBarrier(prev)}
			}
			var earlier []string
			for _, other := range t.names {
				if stageIndex(t.stages, t.stageOf[other]) < stageIndex(t.stages, stage) && t.produces[other] {
					earlier = append(earlier, t.ids[other]...)
				}
			}
			l.consumes = earlier
			if deps := job.get("dependencies"); deps != nil {
				l.consumes = t.dependencies(name, job, deps, earlier)
			}
		}
		out = append(out, l)
	}
	// Every node of a matrix job reads the same needs: report a finding
	// once, as GitLab does.
	seen := map[string]bool{}
	kept := t.diags[:mark]
	for _, d := range t.diags[mark:] {
		key := d.Pos.String() + "\x00" + d.Message
		if !seen[key] {
			seen[key] = true
			kept = append(kept, d)
		}
	}
	t.diags = kept
	return out
}

// needIDs reads a rule's needs: list into node ids.
func (t *translator) needIDs(v *node) []string {
	ids, _ := t.needs(v, "")
	return ids
}

// needs reads a job's needs: node ids, and the nodes whose artifacts come
// along (needs with artifacts: true, the default).
func (t *translator) needs(v *node, job string) (ids []string, artifacts []string) {
	if v == nil || v.isNull() {
		return nil, nil
	}
	items := v.items
	if v.kind != seqKind {
		items = []*node{v}
	}
	for _, it := range items {
		name, optional, withArtifacts := "", false, true
		var filter *node
		switch it.kind {
		case scalarKind:
			name = it.str()
		case mapKind:
			name = it.get("job").str()
			optional = it.get("optional").str() == "true"
			withArtifacts = it.get("artifacts").str() != "false"
			filter = it.get("parallel").get("matrix")
			if it.has("pipeline") || it.has("project") {
				t.diags.Warnf(it.pos, "caveat", "needs from another pipeline or project (%s) are recorded only in the source; gantry runs one pipeline", cmp.Or(it.get("project").str(), it.get("pipeline").str()))
				continue
			}
		default:
			t.diags.Errorf(it.pos, "needs", "a need is a job name or a mapping with job:, found %s", it.describe())
			continue
		}
		target, targets, ok := t.lookup(name)
		if !ok {
			if optional {
				continue
			}
			d := t.diags.Errorf(it.pos, "needs", "job %q needs %q, which is not a job of this pipeline", job, name)
			if s := diag.Closest(name, slices.Concat(t.names, slices.Sorted(maps.Keys(t.byName)))); s != "" {
				d.Hint = fmt.Sprintf("did you mean %q? (or mark the need optional: true)", s)
			}
			continue
		}
		if target == job {
			t.diags.Errorf(it.pos, "needs", "job %q needs itself", job)
			continue
		}
		if job != "" && stageIndex(t.stages, t.stageOf[target]) > stageIndex(t.stages, t.stageOf[job]) {
			t.diags.Errorf(it.pos, "needs", "job %q (stage %s) needs %q of a later stage (%s)", job, t.stageOf[job], name, t.stageOf[target])
		}
		if filter != nil {
			targets = t.filterInstances(job, name, filter)
		}
		ids = append(ids, targets...)
		if withArtifacts && t.produces[target] {
			artifacts = append(artifacts, targets...)
		}
	}
	return ids, artifacts
}

// filterInstances finds the parallel:matrix jobs a needs:parallel:matrix
// names. GitLab expands the filter as it expands a matrix and needs the
// jobs of those names, so it must list each of the job's variables, in
// the job's order.
func (t *translator) filterInstances(job, name string, filter *node) []string {
	insts := t.inst[name]
	if name != "" && (len(insts) == 0 || len(insts[0].vars) == 0 || t.jobs[name].get("parallel").get("matrix") == nil) {
		if _, ok := t.ids[name]; ok {
			t.diags.Warnf(filter.pos, "needs", "job %q needs %q with parallel:matrix, but %q has no parallel:matrix; GitLab ignores the filter and needs the job", job, name, name)
			return t.ids[name]
		}
	}
	if filter.kind != seqKind {
		t.diags.Errorf(filter.pos, "needs", "needs:parallel:matrix is a list of variable sets, found %s", filter.describe())
		return nil
	}
	var out []string
	for _, entry := range filter.items {
		if entry.kind != mapKind {
			t.diags.Errorf(entry.pos, "needs", "each needs:parallel:matrix entry maps variables to values, found %s", entry.describe())
			continue
		}
		for _, want := range matrixNames(name, entry) {
			r, ok := t.byName[want]
			if !ok || r.job != name {
				d := t.diags.Errorf(entry.pos, "needs", "job %q needs %q, which is not a job of this pipeline", job, want)
				d.Hint = fmt.Sprintf("needs:parallel:matrix names %s's jobs by their values, in the order of its parallel:matrix and with every one of its variables: %s", name, strings.Join(instanceNames(insts, 3), ", "))
				continue
			}
			out = append(out, r.id)
		}
	}
	return out
}

// matrixNames names the jobs one matrix entry makes, as GitLab's
// MatrixStrategy does: "JOB: [v1, v2]" for each combination.
func matrixNames(job string, entry *node) []string {
	combos := [][]string{nil}
	for _, k := range entry.keys {
		vals := entry.fields[k].strings()
		var next [][]string
		for _, c := range combos {
			for _, v := range vals {
				next = append(next, append(slices.Clone(c), v))
			}
		}
		combos = next
	}
	out := make([]string, len(combos))
	for i, c := range combos {
		out[i] = fmt.Sprintf("%s: [%s]", job, strings.Join(c, ", "))
	}
	return out
}

func instanceNames(insts []instance, max int) []string {
	var out []string
	for i, in := range insts {
		if i == max {
			out = append(out, "...")
			break
		}
		out = append(out, strconv.Quote(in.name))
	}
	return out
}

// matrixExpr is GitLab's $[[ matrix.IDENTIFIER ]]
// (Interpolation::MatrixInterpolator::MATRIX_EXPRESSION_REGEXP).
var matrixExpr = regexp.MustCompile(`\$\[\[\s*matrix\.([a-zA-Z0-9_-]+)\s*\]\]`)

func hasMatrixExpr(v *node) bool { return matrixExprPos(v).IsValid() }

// matrixExprPos is where the first $[[ matrix.* ]] of a value is.
func matrixExprPos(v *node) diag.Pos {
	switch {
	case v == nil:
	case v.kind == scalarKind:
		if matrixExpr.MatchString(v.value) {
			return v.pos
		}
	case v.kind == mapKind:
		for _, k := range v.keys {
			if p := matrixExprPos(v.fields[k]); p.IsValid() {
				return p
			}
		}
	case v.kind == seqKind:
		for _, it := range v.items {
			if p := matrixExprPos(it); p.IsValid() {
				return p
			}
		}
	}
	return diag.Pos{}
}

// interpolateMatrix fills one matrix job's values into its needs:, as
// GitLab does before it expands them: every string value (not the keys)
// gets $[[ matrix.X ]] replaced by the job's value of X.
func (t *translator) interpolateMatrix(v *node, job string, inst *instance) *node {
	switch v.kind {
	case scalarKind:
		if !strings.Contains(v.value, "$[[") {
			return v
		}
		c := *v
		c.value = matrixExpr.ReplaceAllStringFunc(v.value, func(m string) string {
			name := matrixExpr.FindStringSubmatch(m)[1]
			val, ok := inst.vars[name]
			if !ok {
				d := t.diags.Errorf(t.scalarPos(v), "needs", "job %q: $[[ matrix.%s ]] is not a variable of its parallel:matrix (%s)", job, name, strings.Join(inst.order, ", "))
				if s := diag.Closest(name, inst.order); s != "" {
					d.Hint = fmt.Sprintf("did you mean $[[ matrix.%s ]]?", s)
				}
				return m
			}
			return val
		})
		// A value that was only an expression is a plain string now.
		c.tag = "!!str"
		return &c
	case mapKind:
		out := &node{kind: mapKind, pos: v.pos}
		for _, k := range v.keys {
			out.set(k, t.interpolateMatrix(v.fields[k], job, inst), v.keyAt(k))
		}
		return out
	case seqKind:
		out := &node{kind: seqKind, pos: v.pos}
		for _, it := range v.items {
			out.items = append(out.items, t.interpolateMatrix(it, job, inst))
		}
		return out
	}
	return v
}

// dependencies narrows the artifacts a job downloads to the jobs its
// dependencies: names, checked as GitLab checks them:
//
//   - each must be a job (or one parallel job by its name) of this pipeline;
//   - with a non-empty needs:, each must be one of the needs (as written);
//     needs: [] says nothing (Entry::Needs gives no value) and no artifacts
//     come (Ci::BuildDependencies#from_needs);
//   - each must be of the job's stage or an earlier one (YamlProcessor
//     validate_job_dependency!); artifacts come only from earlier stages
//     when the job has no needs: (#from_previous_stages).
//
// available is what the job would download without dependencies:.
func (t *translator) dependencies(name string, job, deps *node, available []string) []string {
	if deps.isNull() {
		return available
	}
	if deps.kind != seqKind {
		t.diags.Errorf(deps.pos, "dependencies", "dependencies: must be a list of job names, found %s", deps.describe())
		return available
	}
	needed := map[string]bool{}
	localNeeds, crossNeeds := 0, 0
	for _, it := range job.get("needs").itemsOrSelf() {
		switch {
		case it.kind == mapKind && (it.has("pipeline") || it.has("project")):
			crossNeeds++
		case it.kind == mapKind:
			needed[it.get("job").str()] = true
			localNeeds++
		default:
			needed[it.str()] = true
			localNeeds++
		}
	}
	if localNeeds == 0 && crossNeeds > 0 {
		t.diags.Errorf(deps.pos, "dependencies", "job %q has dependencies: but its needs: are all from other pipelines; GitLab wants the needs corresponding to dependencies from the same pipeline", name)
		return nil
	}
	allowed := map[string]bool{}
	for _, id := range available {
		allowed[id] = true
	}
	var out []string
	for _, it := range deps.items {
		d := it.str()
		if it.kind != scalarKind || it.isNull() {
			t.diags.Errorf(it.pos, "dependencies", "a dependency is a job name, found %s", it.describe())
			continue
		}
		target, ids, ok := t.lookup(d)
		if !ok {
			e := t.diags.Errorf(t.scalarPos(it), "dependencies", "job %q depends on %q, which is not a job of this pipeline", name, d)
			if s := diag.Closest(d, slices.Concat(t.names, slices.Sorted(maps.Keys(t.byName)))); s != "" {
				e.Hint = fmt.Sprintf("did you mean %q?", s)
			} else if strings.HasPrefix(d, ".") {
				e.Hint = "a hidden job (its name starts with '.') does not run and has no artifacts; name the job that extends it"
			}
			continue
		}
		if localNeeds > 0 && !needed[d] {
			t.diags.Errorf(t.scalarPos(it), "dependencies", "job %q: dependency %q should be part of needs", name, d).
				Hint = fmt.Sprintf("add %q to needs, or remove it from dependencies", d)
			continue
		}
		if ti, ji := stageIndex(t.stages, t.stageOf[target]), stageIndex(t.stages, t.stageOf[name]); ti >= 0 && ji >= 0 && ti > ji {
			t.diags.Errorf(t.scalarPos(it), "dependencies", "job %q: dependency %q is not defined in current or prior stages", name, d).
				Hint = fmt.Sprintf("%q is in stage %s, after %s; move one of the jobs, or remove the dependency", d, t.stageOf[target], t.stageOf[name])
			continue
		}
		for _, id := range ids {
			if allowed[id] {
				out = append(out, id)
			}
		}
	}
	return out
}
