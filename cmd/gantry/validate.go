package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
)

type validateOptions struct {
	Files []string
	Quiet bool
}

func newValidateCmd(io *IO) *cobra.Command {
	opts := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate DAG...",
		Short: "Check gantry DAG files against the format's schema and rules",
		Long: `Validate checks DAG files (YAML or JSON) against the gantry/v1 JSON Schema
and the rules the schema cannot express: unique node ids, needs that exist,
no cycles, artifacts consumed from nodes that produce them, durations that
parse. It reports every finding with its position and exits 1 when there is
any.`,
		Example: `  gantry validate .gantry/ci.dag.yaml
  gantry validate --error-format json pipeline.dag.json`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, files []string) error {
			opts.Files = files
			return runValidate(cmd.Context(), io, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing when the files are valid")
	return cmd
}

func runValidate(ctx context.Context, io *IO, opts *validateOptions) error {
	var all diag.List
	for _, f := range opts.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		p, l := dag.Decode(data, f)
		all.Add(l...)
		if p != nil && !opts.Quiet {
			fmt.Fprintf(io.Out, "%s: ok (%d nodes)\n", f, len(p.Nodes))
		}
	}
	if all.HasErrors() {
		return findingsError{all}
	}
	if len(all) > 0 {
		io.printDiagnostics(all)
	}
	return nil
}
