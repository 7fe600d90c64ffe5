package github

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rhysd/actionlint"

	"github.com/gantry-ci/gantry/diag"
)

// Detect reports whether a file is a GitHub Actions workflow: a YAML file
// under .github/workflows/, or one with top-level "on:" and "jobs:" keys.
func Detect(path string, data []byte) bool {
	ext := filepath.Ext(path)
	if ext != ".yml" && ext != ".yaml" {
		return false
	}
	if strings.Contains(filepath.ToSlash(path), ".github/workflows/") {
		return true
	}
	return topKeys(data)
}

// topKeys reports whether data has the lines ^["']?on["']?: and ^jobs:,
// by hand: (?m) regular expressions over every file took a twentieth of
// translating GitHub's starter workflows.
func topKeys(data []byte) bool {
	on, jobs := false, false
	for line := range bytes.Lines(data) {
		if bytes.HasPrefix(line, []byte("jobs:")) {
			jobs = true
		} else if !on {
			l := line
			if len(l) > 0 && (l[0] == '"' || l[0] == '\'') {
				l = l[1:]
			}
			if l, ok := bytes.CutPrefix(l, []byte("on")); ok {
				if len(l) > 0 && (l[0] == '"' || l[0] == '\'') {
					l = l[1:]
				}
				on = len(l) > 0 && l[0] == ':'
			}
		}
		if on && jobs {
			return true
		}
	}
	return false
}

// Placeholders GitHub substitutes when a starter workflow is added to a
// repository. Values are what a repository with default branch main gets
// (GitHub picks a random minute and hour for the cron ones; these are fixed
// so translation is reproducible).
var Placeholders = map[string]string{
	"$default-branch":     "main",
	"$protected-branches": "main",
	"$cron-daily":         "17 3 * * *",
	"$cron-weekly":        "17 3 * * 1",
	// GitHub fills in the languages it detects in the repository.
	"$codeql-languages-matrix":    "{include: [{language: actions, build-mode: none}]}",
	"$supported-codeql-languages": "actions, c-cpp, csharp, go, java-kotlin, javascript-typescript, python, ruby, swift",
	// The registry of the package ecosystem; a repository sets its own.
	"$registry-url(npm)": "${{ vars.NPM_REGISTRY_URL }}",
}

var placeholder = regexp.MustCompile(`\$(default-branch|protected-branches|cron-daily|cron-weekly|codeql-languages-matrix|supported-codeql-languages|registry-url\(npm\))`)

// substitutePlaceholders replaces starter-workflow placeholders and says so.
func substitutePlaceholders(path string, data []byte) ([]byte, diag.List) {
	if !bytes.Contains(data, []byte("$")) {
		return data, nil
	}
	matches := placeholder.FindAllIndex(data, -1)
	if matches == nil {
		return data, nil
	}
	var (
		l    diag.List
		out  bytes.Buffer
		last int
	)
	line, lineStart := 1, 0
	for _, m := range matches {
		for i := last; i < m[0]; i++ {
			if data[i] == '\n' {
				line, lineStart = line+1, i+1
			}
		}
		name := string(data[m[0]:m[1]])
		d := diag.Errorf(diag.Pos{File: path, Line: line, Col: utf8.RuneCount(data[lineStart:m[0]]) + 1}, "template-placeholder",
			"starter-workflow placeholder %s read as %q, as GitHub substitutes it when the template is added", name, Placeholders[name])
		d.Severity = diag.Info
		l.Add(d)
		out.Write(data[last:m[0]])
		out.WriteString(Placeholders[name])
		last = m[1]
	}
	out.Write(data[last:])
	return out.Bytes(), l
}

// parseWorkflow prepares a workflow's text (see prepare) and parses it
// with actionlint. Syntax errors come back as error-severity diagnostics;
// every position is the original file's.
func parseWorkflow(path string, data []byte) (*actionlint.Workflow, *prepared, diag.List) {
	prep := prepare(path, data, false)
	w, errs := actionlint.Parse(prep.src)
	var l diag.List
	l.Add(prep.diags...)
	merged := map[diag.Pos]bool{}
	for _, d := range prep.diags {
		if d.Code == "yaml-merge-key" {
			merged[d.Pos] = true
		}
	}
	for _, e := range errs {
		if strings.Contains(e.Message, "does not support YAML merge key") {
			continue // prepare reported it, once per key
		}
		d := fromActionlint(path, e, diag.Error)
		if merged[d.Pos] {
			continue // what actionlint makes of a mapping with a merge key
		}
		d.Pos.Col += prep.shift[d.Pos.Line]
		l.Add(d)
	}
	if w != nil {
		for _, j := range w.Jobs {
			if j == nil {
				continue
			}
			for _, s := range j.Steps {
				if s != nil && s.Pos != nil {
					if k := prep.shift[s.Pos.Line]; k > 0 {
						unshift(s, -k, 0)
					}
				}
			}
		}
	}
	return w, prep, dedupe(l)
}

// dedupe drops repeated findings (an alias makes actionlint parse, and
// report on, the same text twice).
func dedupe(l diag.List) diag.List {
	type key struct {
		pos        diag.Pos
		code, text string
	}
	seen := map[key]bool{}
	out := l[:0]
	for _, d := range l {
		k := key{d.Pos, d.Code, d.Message}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}

// lintWorkflow runs actionlint's rules (the ones its linter runs, without
// the external shellcheck and pyflakes) over a parsed workflow.
// The workflow's positions are the original file's (parseWorkflow).
func lintWorkflow(path, dir string, w *actionlint.Workflow) (diag.List, error) {
	proj := project(dir)
	actions := actionlint.NewLocalActionsCache(proj, nil)
	workflows := actionlint.NewLocalReusableWorkflowCache(proj, dir, nil)
	rules := []actionlint.Rule{
		actionlint.NewRuleMatrix(),
		actionlint.NewRuleCredentials(),
		actionlint.NewRuleShellName(),
		actionlint.NewRuleRunnerLabel(),
		actionlint.NewRuleEvents(),
		actionlint.NewRuleJobNeeds(),
		actionlint.NewRuleAction(actions),
		actionlint.NewRuleEnvVar(),
		actionlint.NewRuleID(),
		actionlint.NewRuleGlob(),
		actionlint.NewRulePermissions(),
		actionlint.NewRuleWorkflowCall(path, workflows),
		actionlint.NewRuleExpression(actions, workflows),
		actionlint.NewRuleDeprecatedCommands(),
		actionlint.NewRuleIfCond(),
	}
	v := actionlint.NewVisitor()
	for _, r := range rules {
		v.AddPass(r)
	}
	if err := v.Visit(w); err != nil {
		return nil, fmt.Errorf("actionlint: %w", err)
	}
	var l diag.List
	for _, r := range rules {
		for _, e := range r.Errs() {
			l.Add(fromActionlint(path, e, diag.Error))
		}
	}
	return dedupe(l), nil
}

var projects sync.Map // dir → *actionlint.Project (nil when it has none)

// project returns actionlint's view of the repository at dir (its config
// file), read once per directory.
func project(dir string) *actionlint.Project {
	if dir == "" {
		return nil
	}
	if p, ok := projects.Load(dir); ok {
		return p.(*actionlint.Project)
	}
	p, err := actionlint.NewProject(dir)
	if err != nil {
		p = nil
	}
	projects.Store(dir, p)
	return p
}

func fromActionlint(path string, e *actionlint.Error, sev diag.Severity) diag.Diagnostic {
	line, col := e.Line, e.Column
	if strings.HasPrefix(e.Message, "could not parse as YAML") {
		// The YAML library's marks are 0-based; for parser errors (which
		// carry a context mark) the line is too.
		col++
		if strings.Contains(e.Message, "did not find expected") {
			line++
		}
	}
	d := diag.Errorf(diag.Pos{File: path, Line: max(line, 1), Col: max(col, 1)}, e.Kind, "%s", e.Message)
	d.Severity = sev
	return d
}

// Lint parses and lints a workflow the way `gantry lint` reports it:
// actionlint's findings and gantry's own (constructs it cannot run), all
// of them, sorted.
func Lint(path string, data []byte, opts Options) (diag.List, error) {
	_, l, err := translate(path, data, opts, true)
	l.Sort()
	return l, err
}
