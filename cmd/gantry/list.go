package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
)

type listOptions struct {
	Files  []string
	Event  string
	JSON   bool
	Source sourceFlags
}

func newListCmd(io *IO) *cobra.Command {
	opts := &listOptions{}
	cmd := &cobra.Command{
		Use:   "list [FILE|DIR]...",
		Short: "List the jobs of the repository's pipelines, and which an event runs",
		Long: `List prints every job of the pipelines (all the repository's when no
file is named): its id (what --job takes), name, stage, needs, where it runs
(runs-on label or image), the events its pipeline runs for, and whether the
--event (default push) would run it and, if not, why. act's -l and
gitlab-ci-local's --list; --json gives one object per job, as
gitlab-ci-local's --list-json.`,
		Example: `  gantry list
  gantry list --event pull_request
  gantry list .gitlab-ci.yml --json`,
		RunE: func(cmd *cobra.Command, files []string) error {
			opts.Files = files
			return runList(cmd.Context(), io, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Event, "event", "push", "the event whose plan the RUNS column shows")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "one JSON object per job")
	opts.Source.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("event", fixed(knownEvents...))
	return cmd
}

// listedJob is one row of gantry list.
type listedJob struct {
	Pipeline string   `json:"pipeline"`
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Stage    string   `json:"stage,omitempty"`
	Needs    []string `json:"needs,omitempty"`
	RunsOn   string   `json:"runs-on,omitempty"`
	Events   []string `json:"events,omitempty"`
	Runs     bool     `json:"runs"`
	Why      string   `json:"why,omitempty"`
	// If is the job's condition, which decides when it runs.
	If string `json:"if,omitempty"`
}

func runList(ctx context.Context, io *IO, opts *listOptions) error {
	topts, err := opts.Source.options("", opts.Files...)
	if err != nil {
		return err
	}
	files := opts.Files
	if len(files) == 0 {
		if files = discover(opts.Source.Dir); len(files) == 0 {
			return usagef("no pipeline found: name a file, or run in a repository with .github/workflows/*.yml or .gitlab-ci.yml")
		}
	}
	pipelines, err := load(ctx, io, files, topts)
	if err != nil {
		return err
	}
	name := opts.Event
	if n, ok := eventAliases[name]; ok {
		name = n
	}
	event := runner.GitEvent(ctx, opts.Source.Dir, runner.Event{Name: name}, "")
	var rows []listedJob
	for _, p := range pipelines {
		plan, err := runner.MakePlan(p, runner.Options{Event: event})
		if err != nil {
			return err
		}
		events := pipelineEvents([]*dag.Pipeline{p})
		for _, pn := range plan.Nodes {
			n := pn.Node
			if internalNode(n) {
				continue
			}
			row := listedJob{Pipeline: p.Name, ID: n.ID, Name: n.Label(), Stage: n.Stage, Needs: visibleNeeds(p, n), RunsOn: cmp.Or(n.Image, n.Platform), Events: events, Runs: plan.Triggered && pn.Run, If: n.If}
			switch {
			case !plan.Triggered:
				row.Why = plan.Why
			case !pn.Run:
				row.Why = pn.Why
			}
			rows = append(rows, row)
		}
	}
	if opts.JSON {
		enc := json.NewEncoder(io.Out)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(io.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PIPELINE\tJOB\tNAME\tSTAGE\tNEEDS\tRUNS-ON\tEVENTS\tRUNS ON "+strings.ToUpper(opts.Event))
	for _, r := range rows {
		runs := "yes"
		switch {
		case !r.Runs:
			runs = "no: " + r.Why
		case r.If != "":
			runs = "if " + r.If
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Pipeline, r.ID, r.Name, cmp.Or(r.Stage, "-"), cmp.Or(strings.Join(r.Needs, ","), "-"), cmp.Or(r.RunsOn, "-"), strings.Join(r.Events, ","), runs)
	}
	return tw.Flush()
}

// visibleNeeds are a node's needs with GitLab's stage barriers replaced by
// the jobs they stand for.
func visibleNeeds(p *dag.Pipeline, n *dag.Node) []string {
	var out []string
	seen := map[string]bool{}
	var add func(id string)
	add = func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		if m := p.Node(id); m != nil && internalNode(m) {
			for _, up := range m.Needs {
				add(up)
			}
			return
		}
		out = append(out, id)
	}
	for _, id := range n.Needs {
		add(id)
	}
	return out
}
