package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/translate"
)

type translateOptions struct {
	Files    []string
	Output   string
	Format   string
	JSON     bool
	Provider string
	Source   sourceFlags
}

func newTranslateCmd(io *IO) *cobra.Command {
	opts := &translateOptions{}
	cmd := &cobra.Command{
		Use:   "translate FILE...",
		Short: "Translate CI configuration into gantry's portable DAG",
		Long: `Translate reads CI files and prints the portable DAG they become, as YAML
(the default) or JSON. A directory stands for the .yml/.yaml files in it.
Every finding in the input is reported with its file, line and column; the
exit code is 1 when there is any.`,
		Example: `  gantry translate .github/workflows/ci.yml
  gantry translate .gitlab-ci.yml --json
  gantry translate .github/workflows -o .gantry/pipelines/`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, files []string) error {
			opts.Files = files
			if err := jsonFormat(cmd, opts.JSON, &opts.Format); err != nil {
				return err
			}
			return runTranslate(cmd.Context(), io, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to this file (or, for several pipelines, this directory) instead of stdout")
	cmd.Flags().StringVar(&opts.Format, "format", "yaml", "output format: yaml or json")
	_ = cmd.RegisterFlagCompletionFunc("format", fixed("yaml", "json"))
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON (--format json), as --json does on every command with machine output")
	cmd.Flags().StringVar(&opts.Provider, "provider", "", "the CI system the files are for, instead of detecting it")
	opts.Source.register(cmd)
	return cmd
}

func runTranslate(ctx context.Context, io *IO, opts *translateOptions) error {
	if opts.Format != "yaml" && opts.Format != "json" {
		return usagef("--format %q: expected yaml or json", opts.Format)
	}
	// Translating is one burst of allocation, most of it garbage the
	// moment a file is done: collect only once the heap reaches 256 MiB
	// (the 172 starter workflows allocate 27 MB; a collection cycle or
	// two cost 5-10% of the process). GOGC and GOMEMLIMIT still decide
	// when set.
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
		debug.SetGCPercent(-1)
	}
	topts, err := opts.Source.options(opts.Provider, opts.Files...)
	if err != nil {
		return err
	}
	pipelines, err := load(ctx, io, opts.Files, topts)
	if err != nil {
		return err
	}
	encode := func(p *dag.Pipeline) ([]byte, error) {
		var b bytes.Buffer
		var err error
		if opts.Format == "json" {
			err = dag.EncodeJSON(&b, p)
		} else {
			err = dag.EncodeYAML(&b, p)
		}
		return b.Bytes(), err
	}
	if opts.Output != "" && (len(pipelines) > 1 || strings.HasSuffix(opts.Output, "/") || isDir(opts.Output)) {
		if err := os.MkdirAll(opts.Output, 0o755); err != nil {
			return err
		}
		for _, p := range pipelines {
			data, err := encode(p)
			if err != nil {
				return err
			}
			path := filepath.Join(opts.Output, outputName(p, opts.Format))
			if err := os.WriteFile(path, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(io.Err, "wrote %s\n", path)
		}
		return nil
	}
	var out bytes.Buffer
	for i, p := range pipelines {
		data, err := encode(p)
		if err != nil {
			return err
		}
		if i > 0 && opts.Format == "yaml" {
			out.WriteString("---\n")
		}
		out.Write(data)
	}
	if opts.Output != "" {
		if err := os.MkdirAll(filepath.Dir(opts.Output), 0o755); err != nil {
			return err
		}
		return os.WriteFile(opts.Output, out.Bytes(), 0o644)
	}
	_, err = io.Out.Write(out.Bytes())
	return err
}

// load translates files. Errors in the input become a findingsError;
// warnings alone are printed and do not fail.
func load(ctx context.Context, io *IO, files []string, opts translate.Options) ([]*dag.Pipeline, error) {
	pipelines, l, err := loadQuiet(ctx, files, opts)
	if len(l) > 0 {
		io.printDiagnostics(l)
	}
	return pipelines, err
}

// loadQuiet is load that returns the warnings instead of printing them.
// A path that is not there, or a directory without CI files, is a mistake
// on the command line, not gantry's.
func loadQuiet(ctx context.Context, files []string, opts translate.Options) ([]*dag.Pipeline, diag.List, error) {
	for _, f := range files {
		if f == "-" {
			continue
		}
		st, err := os.Stat(f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, nil, usagef("%s does not exist", f)
		case err != nil:
			return nil, nil, usagef("%v", err)
		case st.IsDir():
			if yml, _ := filepath.Glob(filepath.Join(f, "*.yml")); len(yml) == 0 {
				if yaml, _ := filepath.Glob(filepath.Join(f, "*.yaml")); len(yaml) == 0 {
					return nil, nil, usagef("%s: no .yml or .yaml files in this directory (name a CI file, or a directory of them such as .github/workflows)", f)
				}
			}
		}
	}
	pipelines, l, err := translate.Files(ctx, files, opts)
	if err != nil {
		return nil, nil, err
	}
	if l.HasErrors() {
		return nil, nil, findingsError{l}
	}
	return pipelines, l, nil
}

// outputName is a pipeline's file name in an -o directory: the DAG naming
// rule gantry run, emit and migrate use (translate.DAGPath), so that
// translate -o .gantry/pipelines/ writes what gantry run finds.
func outputName(p *dag.Pipeline, format string) string {
	source := "pipeline"
	switch {
	case p.Source != nil && p.Source.Path != "":
		source = p.Source.Path
	case p.Name != "":
		source = p.Name + ".yml"
	}
	name := path.Base(translate.DAGPath("", source))
	if format == "json" {
		name = strings.TrimSuffix(name, ".yaml") + ".json"
	}
	return name
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
