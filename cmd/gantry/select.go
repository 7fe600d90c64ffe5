package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/runner"
)

// Choosing what runs, the way users of act and gitlab-ci-local ask for
// it: a job by its id, by its key (all its matrix legs), or by its display
// name, in whichever pipeline has it; an event or a job named as a bare
// word (gantry run pull_request, gantry run lint).

// selection is what --job names in one pipeline.
type selection struct {
	p   *dag.Pipeline
	ids []string
}

// matchJob gives the nodes of p that name selects: the node with that id;
// else the legs of the matrix job with that key (their strategy group, or
// ids KEY.LEG); else the nodes with that display name.
func matchJob(p *dag.Pipeline, name string) []string {
	if p.Node(name) != nil {
		return []string{name}
	}
	var legs, named []string
	for _, n := range p.Nodes {
		if n.Strategy != nil && n.Strategy.Group == name || strings.HasPrefix(n.ID, name+".") {
			legs = append(legs, n.ID)
		}
		if n.Name == name {
			named = append(named, n.ID)
		}
	}
	if len(legs) > 0 {
		return legs
	}
	return named
}

// selectJobs resolves --job names across the pipelines: the pipelines
// having any of them, with the nodes each selects. A name no pipeline has
// is a usage error listing the close ones.
func selectJobs(pipelines []*dag.Pipeline, names []string) ([]selection, error) {
	var out []selection
	found := map[string]bool{}
	for _, p := range pipelines {
		var ids []string
		for _, name := range names {
			if m := matchJob(p, name); len(m) > 0 {
				found[name] = true
				ids = append(ids, m...)
			}
		}
		if len(ids) > 0 {
			out = append(out, selection{p: p, ids: slices.Compact(ids)})
		}
	}
	for _, name := range names {
		if found[name] {
			continue
		}
		var known []string
		for _, p := range pipelines {
			for _, n := range p.Nodes {
				if !internalNode(n) {
					known = append(known, n.ID)
					if n.Strategy != nil && n.Strategy.Group != "" {
						known = append(known, n.Strategy.Group)
					}
				}
			}
		}
		slices.Sort(known)
		known = slices.Compact(known)
		msg := fmt.Sprintf("--job %s: no pipeline has a job of that id, key or name", name)
		if close := closeMatches(name, known); len(close) > 0 {
			msg += "; did you mean " + strings.Join(close, ", ") + "?"
		} else if len(known) > 0 {
			msg += " (gantry list shows them)"
		}
		return nil, usagef("%s", msg)
	}
	return out, nil
}

// internalNode reports whether a node is gantry's own plumbing, not a job
// a user wrote: GitLab's stage barriers.
func internalNode(n *dag.Node) bool {
	return n != nil && strings.HasPrefix(n.ID, "stage.") && len(n.Steps) == 0 && n.Uses == "" && n.MatrixFrom == ""
}

// closeMatches are up to three names near name: the closest by edit
// distance, then those that contain it.
func closeMatches(name string, known []string) []string {
	var out []string
	if c := diag.Closest(name, known); c != "" {
		out = append(out, c)
	}
	for _, k := range known {
		if len(out) == 3 {
			break
		}
		if k != name && strings.Contains(k, name) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	for i := range out {
		out[i] = fmt.Sprintf("%q", out[i])
	}
	return out
}

// knownEvents are the events GitHub workflows and GitLab pipelines run
// for, which a bare word on gantry run's command line may name.
var knownEvents = []string{
	// GitHub
	"branch_protection_rule", "check_run", "check_suite", "create", "delete", "deployment", "deployment_status",
	"discussion", "discussion_comment", "fork", "gollum", "issue_comment", "issues", "label", "merge_group",
	"milestone", "page_build", "public", "pull_request", "pull_request_review", "pull_request_review_comment",
	"pull_request_target", "push", "registry_package", "release", "repository_dispatch", "schedule", "status",
	"watch", "workflow_call", "workflow_dispatch", "workflow_run",
	// GitLab (CI_PIPELINE_SOURCE) and gantry's names
	"api", "chat", "external", "external_pull_request_event", "merge_request", "merge_request_event",
	"parent_pipeline", "pipeline", "trigger", "web", "webide", "manual", "tag",
}

// splitArgs sorts run's words into files (what exists) and the rest,
// which name an event or jobs.
func splitArgs(args []string) (files, words []string) {
	for _, a := range args {
		if _, err := os.Stat(a); err == nil || strings.ContainsAny(a, `/\`) || strings.HasSuffix(a, ".yml") || strings.HasSuffix(a, ".yaml") {
			files = append(files, a)
			continue
		}
		words = append(words, a)
	}
	return files, words
}

// pipelineEvents are the events the pipelines' triggers name.
func pipelineEvents(pipelines []*dag.Pipeline) []string {
	var out []string
	for _, p := range pipelines {
		for _, t := range p.Triggers {
			out = append(out, t.Event)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// withoutInternal is a reporter that leaves out the nodes that are
// gantry's plumbing (internalNode): GitLab's stage barriers would say
// again, as "stage test: failure", what their jobs said.
type withoutInternal struct {
	runner.Reporter
	hidden map[string]bool
}

func hideInternal(rep runner.Reporter, pipelines []*dag.Pipeline) runner.Reporter {
	hidden := map[string]bool{}
	for _, p := range pipelines {
		for _, n := range p.Nodes {
			if internalNode(n) {
				hidden[n.ID] = true
			}
		}
	}
	if len(hidden) == 0 {
		return rep
	}
	return withoutInternal{Reporter: rep, hidden: hidden}
}

func (w withoutInternal) NodeStarted(id, name string) {
	if !w.hidden[id] {
		w.Reporter.NodeStarted(id, name)
	}
}

func (w withoutInternal) NodeFinished(r runner.NodeResult) {
	if !w.hidden[r.ID] {
		w.Reporter.NodeFinished(r)
	}
}

func (w withoutInternal) Line(node, stream, text string) {
	if !w.hidden[node] {
		w.Reporter.Line(node, stream, text)
	}
}

// Annotation passes annotations on to a reporter that takes them (check
// runs).
func (w withoutInternal) Annotation(node string, a runner.Annotation) {
	if an, ok := w.Reporter.(runner.Annotator); ok && !w.hidden[node] {
		an.Annotation(node, a)
	}
}
