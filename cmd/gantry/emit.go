package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantry-ci/gantry/runner/buildkit"
	"github.com/gantry-ci/gantry/translate"
	"github.com/spf13/cobra"
)

type emitOptions struct {
	To            string
	Output        string
	DAG           string
	GantryVersion string
	EngineSecret  string
	FanOut        bool
	Cache         string
	Source        sourceFlags
}

func newEmitCmd(io *IO) *cobra.Command {
	opts := &emitOptions{}
	cmd := &cobra.Command{
		Use:   "emit --to " + strings.Join(translate.Targets(), "|") + " FILE|DAG",
		Short: "Write a thin GitHub or GitLab trigger file that runs a pipeline with gantry",
		Long: `Emit writes the trigger file of a CI provider for a pipeline: the
pipeline's triggers (GitHub on:, or GitLab workflow:rules), and one job that
checks out the code (on GitHub with actions/checkout and actions/setup-go
pinned to commit SHAs), installs gantry with go install at --gantry-version
and runs the pipeline's DAG for the event. By default that version is this
gantry's own when it is a release (vX.Y.Z), so the trigger runs the gantry
that wrote it; a development build writes @latest unless --gantry-version
pins one. Secrets are passed by name from the provider's secret store; --engine-secret names the secret holding a BuildKit address.
Any source works for either target: a GitHub workflow can be triggered from
GitLab and the other way round.

The job runs the DAG at --dag (default: the file itself when it is a DAG,
else .gantry/pipelines/NAME.yaml, NAME being the file's name without its
extension and leading dots, as gantry migrate names it; write that with
gantry translate).`,
		Example: `  gantry emit --to github .gitlab-ci.yml -o .github/workflows/gantry.yml
  gantry emit --to gitlab .github/workflows/ci.yml --engine-secret GANTRY_BUILDKIT_HOST
  gantry emit --to github pipeline.dag.yaml --gantry-version v0.2.0
  gantry emit --to github .gitlab-ci.yml --fan-out --engine-secret GANTRY_BUILDKIT_HOST`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, files []string) error {
			return runEmit(cmd.Context(), io, files[0], opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.To, "to", "", "the provider to write for: "+orList(translate.Targets())+" (required)")
	f.StringVarP(&opts.Output, "output", "o", "", "write to this file instead of stdout")
	f.StringVar(&opts.DAG, "dag", "", "the DAG's path in the repository, which the job runs")
	f.StringVar(&opts.GantryVersion, "gantry-version", "", "the gantry version the job installs (default: this gantry's release, else latest)")
	f.StringVar(&opts.EngineSecret, "engine-secret", "", "the secret (GitLab: CI/CD variable) holding BUILDKIT_HOST")
	f.BoolVar(&opts.FanOut, "fan-out", false, "one provider job per DAG node (needs kept), each running gantry run --job NODE, so the provider shows per-node status; each job starts a BuildKit of its runner's and shares results through --cache, or all share one BuildKit (--engine-secret), so that what a node needs is a cache hit")
	f.StringVar(&opts.Cache, "cache", "", "with --fan-out, where the jobs' engines share results: none, or a BuildKit cache (type=registry,ref=REF; type=s3,bucket=B,region=R) (default: GitHub's cache service, type=gha; on GitLab the project's registry, $CI_REGISTRY_IMAGE/cache)")
	opts.Source.register(cmd)
	return cmd
}

func runEmit(ctx context.Context, io *IO, file string, opts *emitOptions) error {
	if _, err := translate.Target(opts.To); err != nil {
		return usagef("--to %q: use %s", opts.To, orList(translate.Targets()))
	}
	if opts.Cache != "" && opts.Cache != "none" {
		// The cache is checked here as gantry run will read it, but kept
		// as written: type=gha's url and token are the runner's.
		if _, err := buildkit.ParseCacheOption(opts.Cache, false); err != nil && !strings.HasPrefix(opts.Cache, "type=gha") {
			return usagef("--cache: %v", strings.TrimPrefix(err.Error(), "--cache-from "))
		}
		if !strings.HasPrefix(opts.Cache, "type=") {
			return usagef("--cache %q: write the cache in BuildKit's syntax, type=registry,ref=%s", opts.Cache, opts.Cache)
		}
	}
	topts, err := opts.Source.options("")
	if err != nil {
		return err
	}
	pipelines, err := load(ctx, io, []string{file}, topts)
	if err != nil {
		return err
	}
	if len(pipelines) != 1 {
		return usagef("%s holds %d pipelines; emit takes one", file, len(pipelines))
	}
	p := pipelines[0]
	dagPath := opts.DAG
	if dagPath == "" {
		if p.Source == nil || p.Source.Provider == "gantry" {
			dagPath = filepath.ToSlash(file)
		} else {
			dagPath = translate.DAGPath("", file)
		}
	}
	out, err := translate.Emit(opts.To, p, translate.EmitOptions{DAG: dagPath, Source: filepath.ToSlash(file), GantryVersion: installVersion(opts.GantryVersion), EngineSecret: opts.EngineSecret, FanOut: opts.FanOut, Cache: opts.Cache})
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(opts.Source.Dir, dagPath)); err != nil {
		fmt.Fprintf(io.Err, "gantry: the job runs %s, which does not exist yet; write it with: gantry translate %s -o %s\n", dagPath, file, dagPath)
	}
	if opts.Output != "" {
		if err := os.MkdirAll(filepath.Dir(opts.Output), 0o755); err != nil {
			return err
		}
		return os.WriteFile(opts.Output, out, 0o644)
	}
	_, err = io.Out.Write(out)
	return err
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
