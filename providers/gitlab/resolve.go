package gitlab

import (
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/diag"
)

// Top-level keywords; every other key is a job (hidden when it starts with ".").
var globalKeywords = map[string]bool{
	"default": true, "include": true, "stages": true, "variables": true, "workflow": true, "spec": true,
	// Deprecated globals, read as default: values.
	"image": true, "services": true, "cache": true, "before_script": true, "after_script": true, "types": true,
}

// defaultKeywords are what default: may set and jobs inherit.
var defaultKeywords = []string{
	"after_script", "artifacts", "before_script", "cache", "hooks", "id_tokens", "image",
	"interruptible", "retry", "services", "tags", "timeout",
}

// jobKeywords are the keywords a job may use.
var jobKeywords = []string{
	"after_script", "allow_failure", "artifacts", "before_script", "cache", "coverage", "dast_configuration",
	"dependencies", "environment", "except", "extends", "hooks", "id_tokens", "identity", "image", "inherit", "inputs",
	"interruptible", "manual_confirmation", "needs", "only", "pages", "parallel", "publish", "release",
	"resource_group", "retry", "rules", "run", "script", "secrets", "services", "stage", "start_in", "tags",
	"timeout", "trigger", "variables", "when",
}

// resolver applies !reference, extends and default: to the merged file.
type resolver struct {
	root  *node
	diags diag.List
}

// resolveRefs replaces !reference nodes with copies of what they name,
// splicing a referenced list into the list that holds the reference.
func (r *resolver) resolveRefs(n *node, stack []string) *node {
	switch n.kind {
	case refKind:
		key := strings.Join(n.ref, ".")
		if slices.Contains(stack, key) {
			r.diags.Errorf(n.pos, "reference-cycle", "!reference %s refers to itself: %s", refString(n.ref), strings.Join(append(stack, key), " → "))
			return &node{kind: scalarKind, tag: "!!null", pos: n.pos}
		}
		if len(stack) >= 10 {
			r.diags.Errorf(n.pos, "reference-depth", "!reference tags nest deeper than 10 levels")
			return &node{kind: scalarKind, tag: "!!null", pos: n.pos}
		}
		target := r.root
		for _, part := range n.ref {
			target = target.get(part)
			if target == nil {
				r.diags.Errorf(n.pos, "reference", "!reference %s names nothing: no %q there", refString(n.ref), part)
				return &node{kind: scalarKind, tag: "!!null", pos: n.pos}
			}
		}
		return r.resolveRefs(target.clone(), append(stack, key))
	case mapKind:
		for _, k := range n.keys {
			n.fields[k] = r.resolveRefs(n.fields[k], stack)
		}
	case seqKind:
		var items []*node
		for _, it := range n.items {
			wasRef := it.kind == refKind
			v := r.resolveRefs(it, stack)
			if wasRef && v.kind == seqKind {
				items = append(items, v.items...)
				continue
			}
			items = append(items, v)
		}
		n.items = items
	}
	return n
}

func refString(ref []string) string { return "[" + strings.Join(ref, ", ") + "]" }

// extend returns a job with its extends: applied: parents in order, each
// merged (hashes deep, everything else replaced), then the job on top.
func (r *resolver) extend(name string, job *node, stack []string) *node {
	ext := job.get("extends")
	if ext == nil {
		return job
	}
	if slices.Contains(stack, name) {
		r.diags.Errorf(job.keyAt("extends"), "extends-cycle", "extends forms a cycle: %s → %s", strings.Join(stack, " → "), name)
		return job
	}
	if len(stack) > 10 {
		r.diags.Errorf(job.keyAt("extends"), "extends-depth", "extends nests deeper than 11 levels; GitLab stops there")
		return job
	}
	var merged *node
	for _, parent := range ext.strings() {
		p := r.root.get(parent)
		if p == nil || p.kind != mapKind {
			d := r.diags.Errorf(ext.pos, "extends", "job %q extends %q, which is not a job or hidden job of this configuration", name, parent)
			if s := diag.Closest(parent, r.root.keys); s != "" {
				d.Hint = "did you mean \"" + s + "\"?"
			}
			continue
		}
		merged = deepMerge(merged, r.extend(parent, p, append(slices.Clone(stack), name)))
	}
	own := job.clone()
	own.del("extends")
	out := deepMerge(merged, own)
	out.pos = job.pos
	return out
}

// inheritDefaults gives a job what default: sets and it does not, as its
// inherit:default allows.
func inheritDefaults(job, defaults *node) *node {
	if defaults == nil {
		return job
	}
	allowed := func(string) bool { return true }
	if inh := job.get("inherit").get("default"); inh != nil {
		switch {
		case inh.kind == scalarKind && inh.value == "false":
			return job
		case inh.kind == seqKind:
			list := inh.strings()
			allowed = func(k string) bool { return slices.Contains(list, k) }
		}
	}
	out := job
	for _, k := range defaultKeywords {
		if v := defaults.get(k); v != nil && !job.has(k) && allowed(k) {
			if out == job {
				out = job.clone()
			}
			out.set(k, v.clone(), defaults.keyAt(k))
		}
	}
	return out
}
