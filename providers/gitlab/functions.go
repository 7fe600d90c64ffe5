package gitlab

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/dag"
)

// GitLab Functions (formerly CI/CD Steps, an experiment:
// https://docs.gitlab.com/ci/functions/): a job's run: lists steps that
// GitLab's step runner runs one after the other, instead of script:. A
// step has a name and either func: (step: before the rename), a function
// fetched from an OCI registry, a Git repository or the file system and
// run with its own spec of inputs and outputs, or script:, a bash script
// (sh when bash is missing) run in CI_PROJECT_DIR with the step's env:.
// Expressions ${{ }} in script: and env: are Moa, evaluated just before
// the step runs.
//
// gantry translates script: steps, with the Moa references that have a
// meaning in the DAG: vars.NAME (a job variable) and env.NAME (an
// environment variable) become ${{ env.NAME }}, job.NAME (deprecated
// vars) too; func:/step: steps, actions, nested run: sequences and exec:
// are unsupported, as are other expressions.

// functionStepKeys are the keys of a run: step, in all of its forms.
var functionStepKeys = []string{"name", "func", "step", "script", "action", "env", "inputs", "run", "outputs", "delegate", "exec"}

var (
	functionStepName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// moaVarRef is a plain reference to a variable: vars.NAME, env.NAME,
	// job.NAME (or ["NAME"]).
	moaVarRef = regexp.MustCompile(`^(vars|env|job)(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*\])$`)
	shellVar  = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
)

// functionSteps translates a job's run:. expressions says whether a step
// holds ${{ }} that the runner must evaluate.
func (t *translator) functionSteps(name string, job, run *node) (steps []dag.Step, expressions bool) {
	// The job as written (after extends, before default:): what default:
	// gives a job with run: is left out quietly.
	own := t.root.get(name)
	for _, k := range []string{"script", "before_script", "after_script"} {
		if !job.has(k) || !own.has(k) {
			continue
		}
		if k == "script" {
			t.diags.Errorf(job.keyAt(k), "run", "job %q has both run: and script:; GitLab rejects that", name).
				Hint = "keep one: the steps under run:, or the commands under script:"
			continue
		}
		t.diags.Warnf(job.keyAt(k), "run", "%s of job %q is not run: a job with run: runs its steps only", k, name).
			Hint = fmt.Sprintf("move the commands into a script: step of run:, or set %s: [] (inherited from default:, it is ignored)", k)
	}
	if run.kind != seqKind || len(run.items) == 0 {
		t.diags.Errorf(run.pos, "run", "run: of job %q must be a list of steps, found %s", name, run.describe())
		return nil, false
	}
	names := map[string]bool{}
	jobVars := map[string]bool{}
	for _, vs := range []*node{t.root.get("variables"), job.get("variables")} {
		if vs != nil && vs.kind == mapKind {
			for _, k := range vs.keys {
				jobVars[k] = true
			}
		}
	}
	var shellVars []string
	for _, s := range run.items {
		if s.kind != mapKind {
			t.diags.Errorf(s.pos, "run", "a step of run: is a mapping with name: and func: or script:, found %s", s.describe())
			continue
		}
		t.onlyKeys(s, fmt.Sprintf("a step of job %q", name), functionStepKeys)
		var kinds []string
		for _, k := range []string{"func", "step", "script", "action", "run", "exec"} {
			if s.has(k) {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) != 1 {
			t.diags.Errorf(s.pos, "run", "a step of job %q has %s; a step has exactly one of func: and script:", name, describeKinds(kinds)).
				Hint = "give it func: (a function) or script: (a bash script)"
			continue
		}
		kind := kinds[0]
		stepName := s.get("name").str()
		if kind != "run" && kind != "exec" {
			switch {
			case !s.has("name"):
				t.diags.Errorf(s.pos, "run", "a step of job %q has no name:", name).
					Hint = "name it: letters, digits and underscores, not starting with a digit"
			case !functionStepName.MatchString(stepName):
				t.diags.Errorf(t.scalarPos(s.get("name")), "run", "step name %q of job %q must be letters, digits and underscores, not starting with a digit", stepName, name)
			case names[stepName]:
				t.diags.Errorf(t.scalarPos(s.get("name")), "run", "job %q has two steps named %q", name, stepName)
			}
			names[stepName] = true
		}
		switch kind {
		case "func", "step":
			ref := s.get(kind)
			what := fmt.Sprintf("the function step %q (%s: %s) of job %q", stepName, kind, describeRef(ref), name)
			todo := "replace it with a script: step running the function's commands (its func.yml shows them), or move the job's work to script:"
			if kind == "step" {
				todo += "; step: is the old name of func:"
			}
			t.unsupported(s.keyAt(kind), what, "GitLab's step runner fetches functions (from an OCI registry, a Git repository or the runner's file system) and runs them with their own spec of inputs and outputs, which gantry does not implement", todo)
		case "action":
			t.unsupported(s.keyAt(kind), fmt.Sprintf("the action step %q (action: %s) of job %q", stepName, describeRef(s.get(kind)), name),
				"GitLab's step runner runs GitHub actions through its own action runner, which gantry does not implement for GitLab jobs",
				"run the action's commands in a script: step, or move the job to a GitHub workflow, where gantry runs actions")
		case "run", "exec":
			t.unsupported(s.keyAt(kind), fmt.Sprintf("a step with %s: in run: of job %q", kind, name),
				"inline sequences and exec: are the forms of a function's definition (func.yml), which gantry does not run",
				"write the commands as script: steps")
		case "script":
			step, uses, ok := t.scriptStep(name, stepName, s)
			if !ok {
				continue
			}
			expressions = expressions || uses
			for _, m := range shellVar.FindAllStringSubmatch(step.Run, -1) {
				if _, own := step.Env[m[1]]; jobVars[m[1]] && !own && !slices.Contains(shellVars, m[1]) {
					shellVars = append(shellVars, m[1])
				}
			}
			steps = append(steps, step)
		}
	}
	if len(shellVars) > 0 {
		t.diags.Warnf(job.keyAt("run"), "caveat", "script: steps of job %q read the job variable %s from the environment, where gantry puts it and GitLab's step runner does not", name, strings.Join(shellVars, ", ")).
			Hint = fmt.Sprintf("read it as ${{ vars.%s }}, which means the same on both", shellVars[0])
	}
	return steps, expressions
}

// scriptStep translates one script: step.
func (t *translator) scriptStep(job, stepName string, s *node) (dag.Step, bool, bool) {
	sc := s.get("script")
	if sc.kind != scalarKind || sc.isNull() || strings.TrimSpace(sc.value) == "" {
		t.diags.Errorf(sc.pos, "run", "script: of step %q of job %q must be a non-empty string, found %s", stepName, job, sc.describe())
		return dag.Step{}, false, false
	}
	if s.has("inputs") {
		t.diags.Errorf(s.keyAt("inputs"), "run", "step %q of job %q is a script: step, which takes no inputs:", stepName, job).
			Hint = "pass values through env:, or write them into the script"
	}
	step := dag.Step{Name: stepName, Shell: "bash", Script: dag.ScriptFile, Pos: dag.SourcePos{Pos: s.keyAt("script")}}
	ok := true
	var uses bool
	step.Run, uses, ok = t.moaText(job, stepName, "script", sc)
	if env := s.get("env"); env != nil && !env.isNull() {
		if env.kind != mapKind {
			t.diags.Errorf(env.pos, "run", "env: of step %q of job %q maps variable names to strings, found %s", stepName, job, env.describe())
			return dag.Step{}, false, false
		}
		step.Env = map[string]string{}
		for _, k := range env.keys {
			v := env.fields[k]
			if v.kind != scalarKind {
				t.diags.Errorf(v.pos, "run", "env: %s of step %q of job %q must be a string, found %s", k, stepName, job, v.describe())
				ok = false
				continue
			}
			text, u, good := t.moaText(job, stepName, "env", v)
			step.Env[k] = text
			uses, ok = uses || u, ok && good
		}
	}
	return step, uses, ok
}

// moaText turns the Moa templates of a step's text into gantry
// expressions: ${{ vars.X }}, ${{ env.X }} and ${{ job.X }} become
// ${{ env.X }}, \${{ a literal ${{. Others are unsupported.
func (t *translator) moaText(job, stepName, key string, v *node) (string, bool, bool) {
	uses, ok := false, true
	text := moaTemplate.ReplaceAllStringFunc(v.value, func(m string) string {
		uses = true
		if strings.HasPrefix(m, `\`) {
			return "${{ '${{' }}"
		}
		expr := strings.TrimSpace(moaTemplate.FindStringSubmatch(m)[1])
		ref := moaVarRef.FindStringSubmatch(expr)
		if ref == nil || ref[2] == "inputs" {
			ok = false
			t.unsupported(t.scalarPos(v), fmt.Sprintf("the expression %s in %s: of step %q of job %q", m, key, stepName, job),
				"gantry translates only plain references to variables in GitLab Functions (${{ vars.NAME }}, ${{ env.NAME }}); step outputs, function inputs, the function's files and Moa's operators and functions have no counterpart",
				"compute the value in the script (job variables are ${{ vars.NAME }}), or write \\${{ to keep the text as it is")
			return m
		}
		return "${{ env." + ref[2] + ref[3] + ref[4] + " }}"
	})
	if unclosedMoa(v.value) {
		t.diags.Errorf(t.scalarPos(v), "run", "%s: of step %q of job %q has a ${{ without }}", key, stepName, job).
			Hint = "close the expression, or write \\${{ to keep the text as it is"
		ok = false
	}
	return text, uses, ok
}

func describeKinds(kinds []string) string {
	if len(kinds) == 0 {
		return "neither func: nor script:"
	}
	quoted := make([]string, len(kinds))
	for i, k := range kinds {
		quoted[i] = k + ":"
	}
	return "both " + strings.Join(quoted, " and ")
}

// describeRef prints a function reference: the string, or the git:/oci:
// mapping's parts.
func describeRef(ref *node) string {
	if ref == nil {
		return "nothing"
	}
	if ref.kind == scalarKind {
		return ref.value
	}
	for _, k := range []string{"git", "oci"} {
		if r := ref.get(k); r != nil && r.kind == mapKind {
			var parts []string
			for _, f := range r.keys {
				parts = append(parts, f+"="+r.fields[f].str())
			}
			slices.Sort(parts)
			return k + ":{" + strings.Join(parts, ", ") + "}"
		}
	}
	return ref.describe()
}
