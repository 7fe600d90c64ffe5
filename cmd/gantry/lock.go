package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gantry-ci/gantry/lock"
	"github.com/spf13/cobra"
)

type lockOptions struct {
	GitHub     githubFlags
	ActionDirs []string
	Source     sourceFlags
}

func newLockCmd(io *IO) *cobra.Command {
	opts := &lockOptions{}
	cmd := &cobra.Command{
		Use:   "lock",
		Short: "Write gantry.lock: the commits and hashes of every remote action and reusable workflow",
		Long: `Lock resolves every remote action and reusable workflow the repository's
pipelines use (GitHub workflows and DAGs under .gantry/pipelines) to the
commit its ref names now, fetches it into the cache, and writes gantry.lock
with the commit and a hash of its content, plus the images the pipelines
name (local images with a hash of what they hold).

gantry run --locked then uses exactly those commits, checks their content
against the hashes, and works offline from the cache; a plain gantry run
warns when gantry.lock is stale.`,
		Example: `  gantry lock
  gantry run --locked --offline`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLock(cmd.Context(), io, opts)
		},
	}
	opts.GitHub.register(cmd)
	cmd.Flags().StringArrayVar(&opts.ActionDirs, "action-dir", nil, "OWNER/REPO@REF=PATH: use a local checkout for an action (repeatable)")
	opts.Source.register(cmd)
	return cmd
}

func runLock(ctx context.Context, io *IO, opts *lockOptions) error {
	remote, err := opts.GitHub.remote(opts.Source.Offline, opts.ActionDirs)
	if err != nil {
		return err
	}
	topts, err := opts.Source.options("")
	if err != nil {
		return err
	}
	rec := lock.NewRecorder(remote)
	topts.Actions = func(uses string) (string, error) { return rec.Action(ctx, uses) }
	topts.Included = rec.Include
	files := discover(opts.Source.Dir)
	if len(files) == 0 {
		return usagef("no pipeline found in %s", opts.Source.Dir)
	}
	pipelines, err := load(ctx, io, files, topts)
	if err != nil {
		return err
	}
	for _, p := range pipelines {
		rec.Pipeline(ctx, p)
	}
	lf, err := rec.File()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := lf.Write(&b); err != nil {
		return err
	}
	path := filepath.Join(opts.Source.Dir, lock.FileName)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "%s: %d actions and workflows, %d remote includes, %d images\n", path, len(lf.Actions), len(lf.Includes), len(lf.Images))
	return nil
}
