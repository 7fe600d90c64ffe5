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
			f = append(f, "cron="+t.Cron+"@"+t.Timezone)
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

// emitActionlintKnown are real workflows whose thin workflow actionlint
// v1.7.12 cannot pass, though GitHub runs it: the emitter keeps what the
// run needs.
var emitActionlintKnown = map[string]string{
	"Homebrew+brew/.github/workflows/tests.yml": `the permission scope "code-quality", which actionlint v1.7.12 does not know`,
}

// TestEmitRealRepos emits the thin workflow of every real repository's
// workflow (see TestRealRepos): clean under actionlint (but for
// emitActionlintKnown), and translating back to the same triggers,
// schedules' time zones included.
// https://docs.github.com/en/actions/reference/workflows-and-actions/events-that-trigger-workflows#schedule
func TestEmitRealRepos(t *testing.T) {
	root := os.Getenv("GANTRY_CORPUS")
	if root == "" {
		t.Skip("GANTRY_CORPUS is not set")
	}
	files, _ := filepath.Glob(filepath.Join(root, "github", "real-repos", "*", ".github", "workflows", "*.y*ml"))
	clean := 0
	for _, f := range files {
		dir := filepath.Dir(filepath.Dir(filepath.Dir(f)))
		rel, _ := filepath.Rel(dir, f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := github.Translate(t.Context(), rel, data, github.Options{Dir: dir})
		if err != nil || p == nil {
			t.Errorf("%s: not translated (see TestRealRepos)", f)
			continue
		}
		out, err := github.Emit(p, github.EmitOptions{DAG: ".gantry/pipelines/x.yaml", Source: rel, GantryVersion: "v0.1.0"})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		repoRel := filepath.Base(dir) + "/" + filepath.ToSlash(rel)
		if problems := actionlintFindings(t, "emitted.yml", out); len(problems) > 0 {
			if why, ok := emitActionlintKnown[repoRel]; ok {
				t.Logf("%s: known actionlint finding: %s", repoRel, why)
			} else {
				t.Errorf("%s: the emitted workflow has actionlint findings:\n%s\n%s", f, strings.Join(problems, "\n"), out)
				continue
			}
		}
		back, l, err := github.Translate(t.Context(), "emitted.yml", out, github.Options{Dir: t.TempDir()})
		if err != nil || back == nil {
			t.Errorf("%s: the emitted workflow does not translate back: %v %v", f, err, l.Err())
			continue
		}
		if got, want := triggerSummary(back.Triggers), triggerSummary(p.Triggers); len(p.Triggers) > 0 && got != want {
			t.Errorf("%s: triggers changed in the round trip:\n got %s\nwant %s\n%s", f, got, want, out)
			continue
		}
		clean++
	}
	t.Logf("emitted %d/%d clean", clean, len(files))
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

// TestEmitScheduleTimezone checks that a schedule's time zone survives the
// thin workflow: emitted beside its cron, clean under actionlint, read back.
// https://docs.github.com/en/actions/reference/workflows-and-actions/events-that-trigger-workflows#schedule
func TestEmitScheduleTimezone(t *testing.T) {
	t.Parallel()
	src := []byte("on:\n  schedule:\n    - cron: \"0 5 * * *\"\n      timezone: Europe/Paris\n    - cron: \"0 6 * * *\"\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n")
	p, l, err := github.Translate(t.Context(), ".github/workflows/ci.yml", src, github.Options{Dir: t.TempDir()})
	if err != nil || p == nil {
		t.Fatalf("translate: %v %v", err, l.Err())
	}
	out, err := github.Emit(p, github.EmitOptions{DAG: ".gantry/pipelines/ci.yaml", Source: ".github/workflows/ci.yml", GantryVersion: "v0.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`schedule: [{cron: "0 5 * * *", timezone: "Europe/Paris"}, {cron: "0 6 * * *"}]`)) {
		t.Errorf("the emitted schedule lost its time zone:\n%s", out)
	}
	if problems := actionlintFindings(t, "emitted.yml", out); len(problems) > 0 {
		t.Errorf("actionlint findings:\n%s\n%s", strings.Join(problems, "\n"), out)
	}
	back, l, err := github.Translate(t.Context(), "emitted.yml", out, github.Options{Dir: t.TempDir()})
	if err != nil || back == nil {
		t.Fatalf("translate back: %v %v", err, l.Err())
	}
	if got, want := triggerSummary(back.Triggers), triggerSummary(p.Triggers); got != want {
		t.Errorf("round trip: got %s, want %s", got, want)
	}
}
