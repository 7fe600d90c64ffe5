package gitlab

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry/diag"
)

// Job inputs (GitLab 18.10, https://docs.gitlab.com/ci/jobs/job_inputs/):
// a job's inputs: declares typed parameters, each with a default, that
// GitLab's runner fills into the job's script, before_script,
// after_script, artifacts, cache, image and services as
// ${{ job.inputs.NAME }} (a Moa expression) when it receives the job. A
// run uses the defaults unless someone runs the job manually or retries it
// with other values, so gantry fills the defaults in at translation.

// jobInputKeywords are the keywords GitLab's runner expands job inputs in.
var jobInputKeywords = []string{"script", "before_script", "after_script", "artifacts", "cache", "image", "services"}

var (
	// moaTemplate is one ${{ ... }} of a Moa template, or \${{ (a literal
	// ${{, Moa's escape).
	moaTemplate = regexp.MustCompile(`\\\$\{\{|\$\{\{(.*?)\}\}`)
	// jobInputRef is a plain reference to one job input.
	jobInputRef = regexp.MustCompile(`^job\.inputs(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*\])$`)
)

// jobInputs checks a job's inputs: and fills their defaults into the
// keywords GitLab expands them in. It returns the job as the runner would
// see it.
func (t *translator) jobInputs(name string, job *node) *node {
	spec := job.get("inputs")
	if spec == nil || spec.isNull() {
		for _, k := range jobInputKeywords {
			if at, ref := findJobInputRef(job.get(k)); ref != "" {
				t.diags.Warnf(at, "inputs", "job %q uses %s but declares no inputs:; it is left as written", name, ref).
					Hint = "declare the input under the job's inputs: with a default"
				break
			}
		}
		return job
	}
	if spec.kind != mapKind {
		t.diags.Errorf(spec.pos, "inputs", "inputs: of job %q maps input names to {default: ...}, found %s", name, spec.describe())
		return job
	}
	values := jobInputValues{text: map[string]string{}, invalid: map[string]bool{}}
	for _, in := range spec.keys {
		if v, ok := t.jobInput(name, in, spec.fields[in], spec.keyAt(in)); ok {
			values.text[in] = v
		} else {
			values.invalid[in] = true
		}
	}
	t.diags.Warnf(job.keyAt("inputs"), "caveat", "the inputs of job %q take their defaults; gantry does not ask for other values, as GitLab does when the job is run manually or retried", name).
		Hint = "to run with other values, change the defaults (or use spec:inputs and $[[ inputs.NAME ]] for values set per pipeline)"
	out := job.clone()
	for _, k := range jobInputKeywords {
		if v := out.get(k); v != nil {
			out.set(k, t.fillJobInputs(name, k, v, values), out.keyAt(k))
		}
	}
	for _, k := range job.keys {
		if slices.Contains(jobInputKeywords, k) || k == "inputs" {
			continue
		}
		if at, ref := findJobInputRef(job.fields[k]); ref != "" {
			t.diags.Warnf(at, "inputs", "GitLab does not expand job inputs in %s: (only in %s); %s stays as written", k, strings.Join(jobInputKeywords, ", "), ref).
				Hint = "use spec:inputs and $[[ inputs.NAME ]], which GitLab fills in everywhere when it creates the pipeline"
		}
	}
	return out
}

var jobInputTypes = []string{"string", "number", "boolean", "array"}

// jobInput checks one input as GitLab does (a default is required and
// must be of the input's type, one of its options, and match its regex)
// and gives its default as the runner writes it into text.
func (t *translator) jobInput(job, name string, in *node, at diag.Pos) (string, bool) {
	if in.kind != mapKind {
		t.diags.Errorf(at, "inputs", "input %q of job %q must be a mapping with default:, found %s", name, job, in.describe())
		return "", false
	}
	t.onlyKeys(in, fmt.Sprintf("input %q of job %q", name, job), []string{"default", "description", "options", "regex", "type"})
	typ := "string"
	if ty := in.get("type"); ty != nil {
		typ = ty.str()
		if !slices.Contains(jobInputTypes, typ) {
			d := t.diags.Errorf(ty.pos, "inputs", "input %q of job %q has type %s; job inputs are string, number, boolean or array", name, job, ty.describe())
			if s := diag.Closest(typ, jobInputTypes); s != "" {
				d.Hint = fmt.Sprintf("did you mean %q?", s)
			}
			return "", false
		}
	}
	def := in.get("default")
	if def == nil || def.isNull() {
		t.diags.Errorf(at, "inputs", "input %q of job %q must have a default value", name, job).
			Hint = "GitLab requires a default for every job input: add default: to it"
		return "", false
	}
	var text string
	switch {
	case typ == "string" && def.kind == scalarKind && def.tag == "!!str":
		text = def.value
	case typ == "number" && def.kind == scalarKind && (def.tag == "!!int" || def.tag == "!!float"):
		f, err := strconv.ParseFloat(strings.ReplaceAll(def.value, "_", ""), 64)
		if err != nil {
			t.diags.Errorf(def.pos, "inputs", "the default of input %q of job %q is not a number GitLab reads, found %s", name, job, def.describe())
			return "", false
		}
		text = strconv.FormatFloat(f, 'f', -1, 64)
	case typ == "boolean" && def.kind == scalarKind && def.tag == "!!bool":
		text = strconv.FormatBool(strings.EqualFold(def.value, "true"))
	case typ == "array" && def.kind == seqKind:
		b, err := json.Marshal(inputJSON(def))
		if err != nil {
			return "", false
		}
		text = string(b)
	default:
		found := def.describe()
		kinds := map[string]string{"!!str": "the string", "!!int": "the number", "!!float": "the number", "!!bool": "the boolean"}
		if def.kind == scalarKind && kinds[def.tag] != "" {
			found = kinds[def.tag] + " " + found
		}
		d := t.diags.Errorf(t.scalarPos(def), "inputs", "the default of input %q of job %q must be a %s, found %s", name, job, typ, found)
		if typ == "string" && def.kind == scalarKind {
			d.Hint = fmt.Sprintf("quote it (default: \"%s\"), or give the input type: %s", def.value, map[string]string{"!!int": "number", "!!float": "number", "!!bool": "boolean"}[def.tag])
		}
		return "", false
	}
	if opts := in.get("options"); opts != nil {
		if opts.kind != seqKind {
			t.diags.Errorf(opts.pos, "inputs", "options: of input %q of job %q must be a list, found %s", name, job, opts.describe())
		} else if def.kind != scalarKind || !slices.ContainsFunc(opts.items, func(o *node) bool { return o.kind == scalarKind && o.value == def.value }) {
			t.diags.Errorf(t.scalarPos(def), "inputs", "the default of input %q of job %q, %s, is not one of its options", name, job, def.describe())
		}
	}
	if re := in.get("regex"); re != nil && typ == "string" {
		if rx, err := regexp.Compile(re.str()); err != nil {
			t.diags.Warnf(re.pos, "inputs", "regex of input %q of job %q is not one gantry can check (%v); its default is not checked", name, job, err)
		} else if !rx.MatchString(text) {
			t.diags.Errorf(t.scalarPos(def), "inputs", "the default of input %q of job %q, %s, does not match its regex %q", name, job, def.describe(), re.str())
		}
	}
	return text, true
}

// inputJSON turns an array input's value into what its JSON is.
func inputJSON(n *node) any {
	switch n.kind {
	case seqKind:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			out[i] = inputJSON(it)
		}
		return out
	case mapKind:
		m := map[string]any{}
		for _, k := range n.keys {
			m[k] = inputJSON(n.fields[k])
		}
		return m
	}
	switch {
	case n.isNull():
		return nil
	case n.tag == "!!bool":
		return strings.EqualFold(n.value, "true")
	case n.tag == "!!int" || n.tag == "!!float":
		if f, err := strconv.ParseFloat(n.value, 64); err == nil {
			return f
		}
	}
	return n.value
}

// jobInputValues are a job's inputs as text, and those found wrong.
type jobInputValues struct {
	text    map[string]string
	invalid map[string]bool
}

// fillJobInputs replaces the Moa templates of one keyword's strings: a
// job input's default for ${{ job.inputs.NAME }}, a literal ${{ for \${{.
// Other expressions are unsupported: GitLab's runner evaluates them.
func (t *translator) fillJobInputs(job, key string, v *node, values jobInputValues) *node {
	switch v.kind {
	case scalarKind:
		if !strings.Contains(v.value, "${{") {
			return v
		}
		c := *v
		c.value = moaTemplate.ReplaceAllStringFunc(v.value, func(m string) string {
			if strings.HasPrefix(m, `\`) {
				return m[1:]
			}
			expr := strings.TrimSpace(moaTemplate.FindStringSubmatch(m)[1])
			ref := jobInputRef.FindStringSubmatch(expr)
			if ref == nil && jobInputRef.MatchString("job."+expr) {
				t.diags.Errorf(t.scalarPos(v), "inputs", "%s in %s: of job %q is not how GitLab's runner reads a job input", m, key, job).
					Hint = fmt.Sprintf("write ${{ job.%s }}", expr)
				return m
			}
			if ref == nil {
				t.unsupported(t.scalarPos(v), fmt.Sprintf("the expression %s in %s: of job %q", m, key, job),
					"gantry fills in only plain references to the job's inputs (${{ job.inputs.NAME }}), and GitLab's runner evaluates every ${{ }} of these keywords as a Moa expression in a job with inputs",
					"compute the value in the script from ${{ job.inputs.NAME }}, or write \\${{ to keep the text as it is")
				return m
			}
			in := ref[1] + ref[2] + ref[3]
			val, ok := values.text[in]
			if values.invalid[in] {
				return m // reported at the input
			}
			if !ok {
				d := t.diags.Errorf(t.scalarPos(v), "inputs", "job %q has no input %q (%s in %s:)", job, in, m, key)
				if s := diag.Closest(in, keysOf(values.text)); s != "" {
					d.Hint = fmt.Sprintf("did you mean %q?", s)
				} else {
					d.Hint = "declare it under the job's inputs: with a default"
				}
				return m
			}
			return val
		})
		if unclosedMoa(v.value) {
			t.diags.Errorf(t.scalarPos(v), "inputs", "%s: of job %q has a ${{ without }}; GitLab's runner reads ${{ as the start of an expression in a job with inputs", key, job).
				Hint = "close the expression, or write \\${{ to keep the text as it is"
		}
		c.tag = "!!str"
		return &c
	case mapKind:
		out := &node{kind: mapKind, pos: v.pos}
		for _, k := range v.keys {
			out.set(k, t.fillJobInputs(job, key, v.fields[k], values), v.keyAt(k))
		}
		return out
	case seqKind:
		out := &node{kind: seqKind, pos: v.pos}
		for _, it := range v.items {
			out.items = append(out.items, t.fillJobInputs(job, key, it, values))
		}
		return out
	}
	return v
}

// unclosedMoa reports a ${{ that no }} closes.
func unclosedMoa(s string) bool {
	return strings.Contains(moaTemplate.ReplaceAllString(s, ""), "${{")
}

// findJobInputRef finds the first ${{ ... job.inputs ... }} in a value.
func findJobInputRef(v *node) (diag.Pos, string) {
	switch {
	case v == nil:
	case v.kind == scalarKind:
		for _, m := range moaTemplate.FindAllStringSubmatch(v.value, -1) {
			if !strings.HasPrefix(m[0], `\`) && strings.Contains(m[1], "job.inputs") {
				return v.pos, m[0]
			}
		}
	case v.kind == mapKind:
		for _, k := range v.keys {
			if p, r := findJobInputRef(v.fields[k]); r != "" {
				return p, r
			}
		}
	case v.kind == seqKind:
		for _, it := range v.items {
			if p, r := findJobInputRef(it); r != "" {
				return p, r
			}
		}
	}
	return diag.Pos{}, ""
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// unsupported reports a construct gantry cannot translate, as an error
// naming what it is, why, and what to do.
func (t *translator) unsupported(at diag.Pos, what, why, todo string) {
	t.diags.Errorf(at, "unsupported", "%s is not supported: %s", what, why).Hint = todo
}
