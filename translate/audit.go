package translate

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
)

// Audit is what a migration did with a repository's CI files.
type Audit struct {
	Files []FileAudit `json:"files"`
	// DryRun says nothing was written: the files would be.
	DryRun bool `json:"dry_run,omitempty"`
}

// FileAudit is one CI file's migration.
type FileAudit struct {
	Path     string `json:"path"`
	Provider string `json:"provider,omitempty"`
	// DAG and Trigger are the files written (or that would be, on a dry
	// run); empty when the file could not be migrated.
	DAG     string `json:"dag,omitempty"`
	Trigger string `json:"trigger,omitempty"`
	// Original is where the original was kept ("" when replaced or not
	// migrated).
	Original string `json:"original,omitempty"`
	Jobs     int    `json:"jobs"`
	Steps    int    `json:"steps"`
	// LinesBefore and LinesAfter count the provider file's lines before
	// and the trigger file's after.
	LinesBefore int `json:"lines_before"`
	LinesAfter  int `json:"lines_after,omitempty"`
	// DAGLines counts the DAG file's lines, which the migration adds.
	DAGLines int `json:"dag_lines,omitempty"`
	// Caveats are constructs translated with a difference; Unsupported
	// are those gantry cannot translate (the file is then not migrated).
	Caveats     []Finding `json:"caveats,omitempty"`
	Unsupported []Finding `json:"unsupported,omitempty"`
}

// Finding is one construct the audit reports: where, what and why, and
// what to do.
type Finding struct {
	Pos  string `json:"pos"`
	Code string `json:"code"`
	What string `json:"what"`
	Todo string `json:"todo,omitempty"`
}

// AuditFile sums up one file's translation: p is nil when it failed.
func AuditFile(path string, p *dag.Pipeline, l diag.List, linesBefore int) FileAudit {
	fa := FileAudit{Path: path, LinesBefore: linesBefore}
	if p != nil {
		if p.Source != nil {
			fa.Provider = p.Source.Provider
		}
		for _, n := range p.Nodes {
			if len(n.Steps) > 0 || n.Uses != "" {
				fa.Jobs++
				fa.Steps += len(n.Steps)
			}
		}
	}
	if p != nil {
		l = append(l, runCaveats(p)...)
	}
	l.Sort()
	for _, d := range l {
		f := Finding{Pos: d.Pos.String(), Code: d.Code, What: d.Message, Todo: d.Hint}
		switch {
		case d.Severity == diag.Error:
			if f.Todo == "" {
				f.Todo = "fix or remove it in the source, then migrate again"
			}
			fa.Unsupported = append(fa.Unsupported, f)
		case d.Severity == diag.Warning:
			fa.Caveats = append(fa.Caveats, f)
		}
	}
	return fa
}

// Unsupported counts the unsupported constructs of all files.
func (a Audit) Unsupported() int {
	n := 0
	for _, f := range a.Files {
		n += len(f.Unsupported)
	}
	return n
}

// WriteText prints the audit for people.
func (a Audit) WriteText(w io.Writer) {
	sort.Slice(a.Files, func(i, j int) bool { return a.Files[i].Path < a.Files[j].Path })
	var before, after, dagLines, jobs, steps, caveats int
	for _, f := range a.Files {
		status, kept := "migrated", "original kept as"
		if a.DryRun {
			status, kept = "would migrate", "original would be kept as"
		}
		if f.DAG == "" {
			status = "NOT migrated"
			if a.DryRun {
				status = "would NOT migrate"
			}
		}
		fmt.Fprintf(w, "%s (%s): %s — %d jobs, %d steps", f.Path, f.Provider, status, f.Jobs, f.Steps)
		if f.DAG != "" {
			fmt.Fprintf(w, "; DAG %s (%d lines), trigger %s (%d → %d lines)", f.DAG, f.DAGLines, f.Trigger, f.LinesBefore, f.LinesAfter)
			if f.Original != "" {
				fmt.Fprintf(w, "; %s %s", kept, f.Original)
			}
			before += f.LinesBefore
			after += f.LinesAfter
			dagLines += f.DAGLines
		}
		fmt.Fprintln(w)
		for _, c := range f.Caveats {
			fmt.Fprintf(w, "  caveat      %s: %s [%s]\n", c.Pos, c.What, c.Code)
			if c.Todo != "" {
				fmt.Fprintf(w, "              what to do: %s\n", c.Todo)
			}
		}
		for _, u := range f.Unsupported {
			fmt.Fprintf(w, "  unsupported %s: %s [%s]\n", u.Pos, u.What, u.Code)
			fmt.Fprintf(w, "              what to do: %s\n", u.Todo)
		}
		jobs += f.Jobs
		steps += f.Steps
		caveats += len(f.Caveats)
	}
	fmt.Fprintf(w, "\n%d files, %d jobs, %d steps translated; %d with caveats, %d unsupported; provider YAML %d → %d lines, plus %d lines of DAG\n",
		len(a.Files), jobs, steps, caveats, a.Unsupported(), before, after, dagLines)
}

// dockerCommand finds steps that run the docker client.
var dockerCommand = regexp.MustCompile(`(^|[\s;&|(])(docker\s+(run|build|buildx|compose|push|pull|exec|create|login)\b|docker-compose\b)`)

// runCaveats are what the migrated pipeline will do otherwise when gantry
// runs it from the emitted trigger (one Linux job running gantry), though
// the translation itself went through: jobs for another OS, steps that
// need a Docker daemon, shells of another OS.
func runCaveats(p *dag.Pipeline) diag.List {
	var l diag.List
	for _, n := range p.Nodes {
		label := strings.ToLower(n.Platform)
		switch {
		case n.Image != "":
		case strings.HasPrefix(label, "macos") || strings.HasPrefix(label, "windows"):
			l.Warnf(n.Pos.Pos, "platform", "job %s runs on %s; the emitted trigger runs gantry on a Linux runner, where this job is skipped (it asks for another OS)", n.ID, n.Platform).
				Hint = "keep this job in the provider's YAML, or run gantry on a " + n.Platform + " runner for it"
		case strings.Contains(label, "arm64") || strings.Contains(label, "-arm"):
			l.Warnf(n.Pos.Pos, "platform", "job %s runs on %s (arm64); on an amd64 runner gantry skips it", n.ID, n.Platform).
				Hint = "run gantry on an arm64 runner for it, or map the label with -P LABEL=IMAGE"
		}
		for _, s := range n.Steps {
			if dockerCommand.MatchString(s.Run) {
				l.Warnf(s.Pos.Pos, "docker", "a step of job %s runs docker: it needs a Docker daemon where gantry runs it; the host executor on the trigger's runner has one, BuildKit's containers have none", n.ID).
					Hint = "run this job with --executor host, or use a container job, a service or docker:// instead of the docker client"
			}
			switch sh := strings.ToLower(strings.Fields(s.Shell + " x")[0]); sh {
			case "msys2", "cmd", "powershell":
				l.Warnf(s.Pos.Pos, "shell", "a step of job %s runs in shell %q, which the Linux runner gantry runs on does not have", n.ID, s.Shell).
					Hint = "keep this job in the provider's YAML, or write the step for bash"
			}
		}
	}
	return l
}
