package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/translate"
)

type lintOptions struct {
	Files  []string
	Source sourceFlags
}

func newLintCmd(io *IO) *cobra.Command {
	opts := &lintOptions{}
	cmd := &cobra.Command{
		Use:   "lint FILE...",
		Short: "Report every problem in CI files: the provider's rules and what gantry cannot run",
		Long: `Lint checks CI files without translating them for use. For GitHub workflows
it runs actionlint's rules and adds gantry's own findings (constructs gantry
cannot run); for gantry DAGs it checks the schema and the format's rules.
Every finding prints as file:line:col: message [rule]; the exit code is 1
when there is any (informational notes do not count).`,
		Example: `  gantry lint .github/workflows/ci.yml
  gantry lint .github/workflows
  gantry lint --error-format github .github/workflows   # annotations in a GitHub job`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, files []string) error {
			opts.Files = files
			return runLint(cmd.Context(), io, opts)
		},
	}
	opts.Source.register(cmd)
	return cmd
}

func runLint(ctx context.Context, io *IO, opts *lintOptions) error {
	topts, err := opts.Source.options("", opts.Files...)
	if err != nil {
		return err
	}
	l, err := translate.Lint(ctx, opts.Files, topts)
	if err != nil {
		return err
	}
	var findings diag.List
	for _, d := range l {
		if d.Severity != diag.Info {
			findings = append(findings, d)
		}
	}
	if len(findings) > 0 {
		return findingsError{findings}
	}
	if io.ErrTTY {
		fmt.Fprintf(io.Err, "no problems in %d file(s)\n", len(opts.Files))
	}
	return nil
}
