package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/translate"
	"github.com/spf13/cobra"
)

type migrateOptions struct {
	OutDir        string
	Replace       bool
	DryRun        bool
	JSON          bool
	AllowPartial  bool
	FanOut        bool
	GantryVersion string
	EngineSecret  string
	Source        sourceFlags
}

func newMigrateCmd(io *IO) *cobra.Command {
	opts := &migrateOptions{}
	cmd := &cobra.Command{
		Use:   "migrate [DIR]",
		Short: "Move a repository's CI to gantry: DAGs, thin trigger files, and an audit",
		Long: `Migrate finds the repository's CI files (.github/workflows/*.yml,
.gitlab-ci.yml and what it includes), translates each into a DAG under
--out-dir, and puts a thin trigger file (see gantry emit) where the original
was. The original is kept beside it as FILE.orig, or overwritten with
--replace. It prints an audit: jobs and steps translated, constructs
translated with caveats and constructs gantry does not support, each with
file:line:col, why and what to do, and the provider YAML's line count before
and after.

A file with an unsupported construct is not migrated. Exit codes: 0 all
migrated, 1 something is unsupported (unless --allow-partial), 2 usage.`,
		Example: `  gantry migrate --dry-run
  gantry migrate --json > audit.json
  gantry migrate ./service --replace --engine-secret GANTRY_BUILDKIT_HOST
  gantry migrate --allow-partial --fan-out`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			if len(dirs) == 1 {
				opts.Source.Dir = dirs[0]
			}
			return runMigrate(cmd.Context(), io, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.OutDir, "out-dir", ".gantry/pipelines", "where the DAGs go, relative to DIR")
	f.BoolVar(&opts.Replace, "replace", false, "overwrite the original CI files instead of keeping them as FILE.orig")
	f.BoolVar(&opts.DryRun, "dry-run", false, "write nothing; print what would be done")
	f.BoolVar(&opts.JSON, "json", false, "print the audit as JSON")
	f.BoolVar(&opts.AllowPartial, "allow-partial", false, "exit 0 even when some constructs are unsupported (those files stay as they are)")
	f.BoolVar(&opts.FanOut, "fan-out", false, "trigger files with one provider job per DAG node (see gantry emit --fan-out)")
	f.StringVar(&opts.GantryVersion, "gantry-version", "", "the gantry version the trigger files install (default: this gantry's release, else latest)")
	f.StringVar(&opts.EngineSecret, "engine-secret", "", "the secret (GitLab: CI/CD variable) holding BUILDKIT_HOST")
	opts.Source.register(cmd)
	return cmd
}

func runMigrate(ctx context.Context, io *IO, opts *migrateOptions) error {
	root := opts.Source.Dir
	topts, err := opts.Source.options("")
	if err != nil {
		return err
	}
	files := migratable(root)
	if len(files) == 0 {
		return usagef("no CI file found in %s: gantry migrates .github/workflows/*.yml and .gitlab-ci.yml", root)
	}
	// Each file gets its own DAG: two that would share one are refused
	// before anything is written.
	seen := map[string]string{}
	for _, file := range files {
		dagRel := translate.DAGPath(opts.OutDir, file)
		if other, ok := seen[dagRel]; ok {
			return usagef("%s and %s would both be migrated to %s: rename one of them", other, file, dagRel)
		}
		seen[dagRel] = file
	}
	var audit translate.Audit
	audit.DryRun = opts.DryRun
	for _, file := range files {
		rel, _ := filepath.Rel(root, file)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		pipelines, l, err := translate.Files(ctx, []string{file}, topts)
		if err != nil {
			return err
		}
		var p *dag.Pipeline
		if !l.HasErrors() && len(pipelines) == 1 {
			p = pipelines[0]
		}
		for i := range l {
			if l[i].Pos.File == file {
				l[i].Pos.File = rel
			}
		}
		fa := translate.AuditFile(rel, p, l, bytes.Count(data, []byte("\n")))
		if fa.Provider == "" {
			if prov, err := translate.Detect(translate.File{Path: rel, Data: data}, topts); err == nil {
				fa.Provider = prov.Name
			}
		}
		if p != nil {
			if err := migrateFile(file, rel, p, &fa, opts); err != nil {
				return err
			}
		}
		audit.Files = append(audit.Files, fa)
	}
	if opts.JSON {
		b, _ := json.MarshalIndent(audit, "", "  ")
		fmt.Fprintln(io.Out, string(b))
	} else {
		audit.WriteText(io.Out)
		if opts.DryRun {
			fmt.Fprintln(io.Out, "(dry run: nothing was written)")
		}
	}
	if n := audit.Unsupported(); n > 0 && !opts.AllowPartial {
		return failedError{fmt.Sprintf("%d unsupported construct(s): those files were not migrated (--allow-partial to accept that)", n)}
	}
	return nil
}

// migratable lists the repository's CI files gantry can migrate: those of
// the providers it writes trigger files for.
func migratable(root string) []string {
	var files []string
	for _, f := range translate.Discover(root) {
		if f.Provider.Emit != nil {
			files = append(files, f.Path)
		}
	}
	return files
}

// migrateFile writes the DAG and the trigger file of one CI file, and the
// original aside.
func migrateFile(file, rel string, p *dag.Pipeline, fa *translate.FileAudit, opts *migrateOptions) error {
	if p.Source == nil {
		return nil
	}
	target, err := translate.Target(p.Source.Provider)
	if err != nil {
		return nil // a DAG already, or a provider gantry only reads
	}
	dagRel := translate.DAGPath(opts.OutDir, file)
	var dagBuf bytes.Buffer
	if err := dag.EncodeYAML(&dagBuf, p); err != nil {
		return err
	}
	trigger, err := target.Emit(p, translate.EmitOptions{DAG: dagRel, Source: rel, GantryVersion: installVersion(opts.GantryVersion), EngineSecret: opts.EngineSecret, FanOut: opts.FanOut})
	if err != nil {
		return err
	}
	fa.DAG, fa.Trigger, fa.LinesAfter = dagRel, rel, bytes.Count(trigger, []byte("\n"))
	fa.DAGLines = bytes.Count(dagBuf.Bytes(), []byte("\n"))
	if !opts.Replace {
		fa.Original = rel + ".orig"
	}
	if opts.DryRun {
		return nil
	}
	dagPath := filepath.Join(opts.Source.Dir, filepath.FromSlash(dagRel))
	if err := os.MkdirAll(filepath.Dir(dagPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dagPath, dagBuf.Bytes(), 0o644); err != nil {
		return err
	}
	if !opts.Replace {
		if err := os.Rename(file, file+".orig"); err != nil {
			return err
		}
	}
	return os.WriteFile(file, trigger, 0o644)
}
