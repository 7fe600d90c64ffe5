package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gantry-ci/gantry/translate"
)

// sourceFlags are how commands that read CI files find what those files
// refer to: the repository, GitLab's templates, other projects, caches.
type sourceFlags struct {
	Dir         string
	TemplateDir string
	Projects    []string
	Offline     bool
}

func (f *sourceFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Dir, "dir", ".", "repository root that local actions, reusable workflows and includes resolve against")
	cmd.Flags().StringVar(&f.TemplateDir, "template-dir", os.Getenv("GANTRY_GITLAB_TEMPLATES"), "GitLab's CI templates, for include:template (env GANTRY_GITLAB_TEMPLATES)")
	cmd.Flags().StringArrayVar(&f.Projects, "project-dir", nil, "GROUP/PROJECT=PATH: a local checkout for GitLab include:project (repeatable)")
	cmd.Flags().BoolVar(&f.Offline, "offline", false, "fetch nothing: remote includes and actions come from the cache only")
}

// options builds the translation options; a malformed flag is a usage error.
func (f *sourceFlags) options(provider string) (translate.Options, error) {
	o := translate.Options{Provider: provider, Dir: f.Dir, TemplateDir: f.TemplateDir, Offline: f.Offline}
	o.CacheDir = filepath.Join(f.Dir, ".gantry", "cache")
	for _, p := range f.Projects {
		name, path, ok := strings.Cut(p, "=")
		if !ok || name == "" || path == "" {
			return o, usagef("--project-dir %q: expected GROUP/PROJECT=PATH", p)
		}
		if o.Projects == nil {
			o.Projects = map[string]string{}
		}
		o.Projects[name] = path
	}
	return o, nil
}
