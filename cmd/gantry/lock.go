package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/imageref"
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
name: registry images with the digest their tag names now (asked of the
registry as docker pull would, with docker login's credentials; none with
--offline), local images with a hash of what they hold.

gantry run --locked then uses exactly those commits, checks their content
against the hashes, and works offline from the cache; it pulls registry
images by the recorded digests and refuses an image whose tag has moved;
a plain gantry run warns when gantry.lock is stale.`,
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
	if !opts.Source.Offline {
		lf.ResolveImages(ctx, resolveImage, func(msg string) { fmt.Fprintln(io.Err, "gantry: warning: "+msg) })
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

// resolveImage asks an image's registry which digest its tag names.
func resolveImage(ctx context.Context, ref string) (string, error) {
	return imageref.Resolve(ctx, ref, 20*time.Second)
}

// lockedImages are the digests a --locked run pulls the pipelines'
// registry images at (see lock.File.PinImages); nil without --locked.
func lockedImages(ctx context.Context, lf *lock.File, pipelines []*dag.Pipeline, locked, offline bool, warn func(string)) (map[string]string, error) {
	if !locked {
		return nil, nil
	}
	resolve := lock.ImageResolver(resolveImage)
	if offline {
		resolve = nil
	}
	pins, err := lf.PinImages(ctx, pipelines, resolve, warn)
	if err != nil {
		return nil, failedError{msg: "--locked: " + err.Error()}
	}
	return pins, nil
}
