package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"
)

func newRootCmd(io *IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "gantry",
		Short: "Translate CI pipelines into a portable DAG, run them anywhere, emit thin triggers",
		Long: `gantry reads the CI configuration a team already has (GitHub Actions workflows,
GitLab CI files), turns it into one portable, provider-neutral DAG of
containerized work, runs that DAG on this machine or on BuildKit, and writes
back a minimal trigger file for the CI provider.`,
		Example: `  gantry run                          # the repository's pipelines, for a push
  gantry run -j test pull_request     # one job (and its needs) for a pull request
  gantry list                         # every job, and which an event runs
  gantry migrate --dry-run            # what migrating the repository would write
  gantry emit .github/workflows/ci.yml
  gantry translate .github/workflows/ci.yml
  gantry graph .gitlab-ci.yml --format svg -o ci.svg`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			io.command = cmd.CommandPath()
			formats := []string{"auto", "line", "pretty", "json", "github"}
			if !slices.Contains(formats, io.ErrorFormat) {
				return usagef("--error-format %q is not one of %v", io.ErrorFormat, formats)
			}
			return nil
		},
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.PersistentFlags().StringVar(&io.ErrorFormat, "error-format", "auto",
		"how findings print: line (file:line:col: message), pretty (with the source line), json, github (workflow annotations); auto is pretty on a terminal")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		io.command = cmd.CommandPath()
		return usageError{err: err}
	})
	root.AddCommand(
		newRunCmd(io),
		newListCmd(io),
		newTranslateCmd(io),
		newEmitCmd(io),
		newMigrateCmd(io),
		newPinCmd(io),
		newLockCmd(io),
		newLintCmd(io),
		newValidateCmd(io),
		newGraphCmd(io),
		newVersionCmd(io),
		newUICmd(io),
	)
	return root
}

// args wraps a cobra argument check so that its failure is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err: fmt.Errorf("%s: %w", cmd.CommandPath(), err), command: cmd.CommandPath()}
		}
		return nil
	}
}
