package github_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/providers/github"
)

// triggerSummary is what a round trip must keep of a pipeline's triggers:
// the GitHub event and its filters, order aside.
func triggerSummary(ts []dag.Trigger) string {
	neutral := map[string]string{"manual": "workflow_dispatch", "call": "workflow_call"}
	byEvent := map[string][]string{}
	for _, t := range ts {
		ev := t.Event
		if g, ok := neutral[ev]; ok {
			ev = g
		}
		f := byEvent[ev]
		add := func(k string, v []string) {
			for _, x := range v {
				f = append(f, k+"="+x)
			}
		}
		add("types", t.Types)
		add("branches", t.Branches)
		add("branches-ignore", t.BranchesIgnore)
		add("tags", t.Tags)
		add("tags-ignore", t.TagsIgnore)
		add("paths", t.Paths)
		add("paths-ignore", t.PathsIgnore)
		add("workflows", t.Workflows)
		if t.Cron != "" {
			f = append(f, "cron="+t.Cron)
		}
		names := make([]string, 0, len(t.Inputs))
		for n := range t.Inputs {
			names = append(names, n)
		}
		add("input", names)
		byEvent[ev] = f
	}
	var out []string
	for ev, f := range byEvent {
		sort.Strings(f)
		out = append(out, ev+"{"+strings.Join(slices.Compact(f), " ")+"}")
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestEmitCorpus emits a thin workflow for every starter workflow that
// translates: every one must be clean under actionlint, at most 25 lines
// long, and translate back to the same triggers.
func TestEmitCorpus(t *testing.T) {
	files := corpusFiles(t)
	clean, total := 0, 0
	for _, f := range files {
		if invalidYAML[filepath.Base(f)] {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(f, filepath.Dir(filepath.Dir(f))+"/")
		p, _, err := github.Translate(t.Context(), rel, data, github.Options{Dir: t.TempDir()})
		if err != nil || p == nil {
			continue
		}
		total++
		name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		out, err := github.Emit(p, github.EmitOptions{DAG: ".gantry/pipelines/" + name + ".yaml", Source: rel, GantryVersion: "v0.1.0", EngineSecret: "GANTRY_BUILDKIT_HOST"})
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if problems := actionlintFindings(t, "emitted.yml", out); len(problems) > 0 {
			t.Errorf("%s: the emitted workflow has actionlint findings:\n%s\n%s", rel, strings.Join(problems, "\n"), out)
			continue
		}
		if n := bytes.Count(out, []byte("\n")); n > 25 {
			t.Errorf("%s: the emitted workflow has %d lines, want at most 25:\n%s", rel, n, out)
			continue
		}
		back, l, err := github.Translate(t.Context(), "emitted.yml", out, github.Options{Dir: t.TempDir()})
		if err != nil || back == nil {
			t.Errorf("%s: the emitted workflow does not translate back: %v %v", rel, err, l.Err())
			continue
		}
		if len(p.Triggers) > 0 {
			if got, want := triggerSummary(back.Triggers), triggerSummary(p.Triggers); got != want {
				t.Errorf("%s: triggers changed in the round trip:\n got %s\nwant %s\n%s", rel, got, want, out)
				continue
			}
		}
		if strings.Contains(string(out), "github.event.") {
			t.Errorf("%s: the emitted workflow interpolates event data:\n%s", rel, out)
			continue
		}
		// Fan-out: one job per working node, needs kept.
		fan, err := github.Emit(p, github.EmitOptions{DAG: ".gantry/pipelines/" + name + ".yaml", Source: rel, FanOut: true})
		if err != nil {
			t.Errorf("%s: fan-out: %v", rel, err)
			continue
		}
		if problems := actionlintFindings(t, "fan-out.yml", fan); len(problems) > 0 {
			t.Errorf("%s: the fan-out workflow has actionlint findings:\n%s\n%s", rel, strings.Join(problems, "\n"), fan)
			continue
		}
		backFan, l, err := github.Translate(t.Context(), "fan-out.yml", fan, github.Options{Dir: t.TempDir()})
		if err != nil || backFan == nil {
			t.Errorf("%s: the fan-out workflow does not translate back: %v %v", rel, err, l.Err())
			continue
		}
		if got, want := workingNodes(backFan), workingNodes(p); got != want {
			t.Errorf("%s: fan-out has %d jobs, want one per working node (%d):\n%s", rel, got, want, fan)
			continue
		}
		clean++
	}
	t.Logf("emitted %d/%d clean", clean, total)
	if clean != total || total == 0 {
		t.Errorf("emitted %d/%d clean", clean, total)
	}
}

// workingNodes counts the nodes with steps or a reusable workflow.
func workingNodes(p *dag.Pipeline) int {
	n := 0
	for _, node := range p.Nodes {
		if len(node.Steps) > 0 || node.Uses != "" {
			n++
		}
	}
	return n
}

// actionlintFindings runs actionlint's own linter (all its rules) on a
// workflow.
func actionlintFindings(t *testing.T, path string, data []byte) []string {
	t.Helper()
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.Lint(path, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range errs {
		out = append(out, fmt.Sprintf("%d:%d: %s [%s]", e.Line, e.Column, e.Message, e.Kind))
	}
	return out
}
