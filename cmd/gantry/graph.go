package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/dag"
)

type graphOptions struct {
	File   string
	Format string
	JSON   bool
	Output string
	Status string
	Source sourceFlags
}

func newGraphCmd(io *IO) *cobra.Command {
	opts := &graphOptions{}
	cmd := &cobra.Command{
		Use:   "graph FILE",
		Short: "Draw a pipeline's DAG as Mermaid, Graphviz DOT, SVG or JSON",
		Long: `Graph draws the DAG of a pipeline (a gantry DAG, or any CI file gantry
translates), left to right, one box per node with its name, its id and its
platform or image. With --status, nodes are coloured by their outcome in a
run.

The SVG is laid out by dagre (the layout engine Mermaid uses): the legs of
a matrix sit in one box of their job, GitLab's stage barriers are small
stage marks, edges are routed between the boxes, jobs that no edge joins
are packed into rows, and --status adds a legend of the colours.`,
		Example: `  gantry graph testdata/example.dag.yaml
  gantry graph .github/workflows/ci.yml --format svg -o ci.svg
  gantry graph pipeline.dag.yaml --format dot | dot -Tpng > dag.png
  gantry graph pipeline.dag.yaml --status .gantry/runs/last/run.json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			opts.File = a[0]
			if err := jsonFormat(cmd, opts.JSON, &opts.Format); err != nil {
				return err
			}
			return runGraph(cmd.Context(), io, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "mermaid", "mermaid, dot, svg or json")
	_ = cmd.RegisterFlagCompletionFunc("format", fixed("mermaid", "dot", "svg", "json"))
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the graph as JSON (--format json), as --json does on every command with machine output")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this file instead of stdout")
	opts.Source.register(cmd)
	cmd.Flags().StringVar(&opts.Status, "status", "", "a run record (JSON) whose node statuses colour the graph")
	return cmd
}

func runGraph(ctx context.Context, io *IO, opts *graphOptions) error {
	switch opts.Format {
	case "mermaid", "dot", "svg", "json":
	default:
		return usagef("--format %q: expected mermaid, dot, svg or json", opts.Format)
	}
	topts, err := opts.Source.options("")
	if err != nil {
		return err
	}
	pipelines, err := load(ctx, io, []string{opts.File}, topts)
	if err != nil {
		return err
	}
	if len(pipelines) != 1 {
		return usagef("%s holds %d pipelines; graph draws one", opts.File, len(pipelines))
	}
	var gopts dag.GraphOptions
	if opts.Status != "" {
		if gopts.Status, err = readStatus(opts.Status); err != nil {
			return err
		}
	}
	g, err := pipelines[0].BuildGraph(gopts)
	if err != nil {
		return err
	}
	g.Name = displayName(g.Name)
	var out bytes.Buffer
	switch opts.Format {
	case "mermaid":
		err = g.WriteMermaid(&out)
	case "json":
		err = g.WriteJSON(&out)
	case "dot":
		err = g.WriteDOT(&out)
	case "svg":
		err = g.WriteSVGContext(ctx, &out)
	}
	if err != nil {
		return err
	}
	if opts.Output != "" {
		return os.WriteFile(opts.Output, out.Bytes(), 0o644)
	}
	_, err = io.Out.Write(out.Bytes())
	return err
}

// jsonFormat makes --json the same as --format json, so that --json gives
// machine output on every command that has any (run, list, migrate,
// graph, translate); --format chooses among the other formats.
func jsonFormat(cmd *cobra.Command, asJSON bool, format *string) error {
	if !asJSON {
		return nil
	}
	if cmd.Flags().Changed("format") && *format != "json" {
		return usagef("--json and --format %s: choose one", *format)
	}
	*format = "json"
	return nil
}

// displayName is a pipeline named by its file's path as its repository
// names it: the repository's directory and the path inside it
// (app/.github/workflows/ci.yml, app/.gitlab-ci.yml), not a path from
// wherever gantry ran. The repository is the nearest directory holding
// .git, the one above .github, or the one holding .gitlab-ci.yml.
func displayName(name string) string {
	if !strings.ContainsRune(name, filepath.Separator) {
		return name
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return name
	}
	if _, err := os.Stat(abs); err != nil {
		return name // a name, not a path
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		root := ""
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			root = d
		} else if filepath.Base(d) == ".github" {
			root = filepath.Dir(d)
		} else if filepath.Join(d, ".gitlab-ci.yml") == abs {
			root = d
		}
		if root != "" {
			if rel, err := filepath.Rel(root, abs); err == nil {
				return filepath.ToSlash(filepath.Join(filepath.Base(root), rel))
			}
		}
		if filepath.Dir(d) == d {
			return filepath.Base(abs)
		}
	}
}

// readStatus reads node statuses from a run record: either an object of
// node id to status, or {"nodes": [{"id": ..., "status": ...}]}.
func readStatus(path string) (map[string]dag.Status, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var record struct {
		Nodes []struct {
			ID     string     `json:"id"`
			Status dag.Status `json:"status"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(data, &record); err == nil && len(record.Nodes) > 0 {
		out := map[string]dag.Status{}
		for _, n := range record.Nodes {
			out[n.ID] = n.Status
		}
		return out, nil
	}
	var flat map[string]dag.Status
	if err := json.Unmarshal(data, &flat); err != nil {
		return nil, fmt.Errorf("%s: not a run record: expected {\"nodes\": [{\"id\", \"status\"}]} or {\"id\": \"status\"}: %w", path, err)
	}
	return flat, nil
}
