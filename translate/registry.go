package translate

import (
	"context"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
)

// Provider is one CI system gantry reads, and maybe writes trigger files
// for.
type Provider struct {
	// Name is the provider's id as in dag.Source.Provider: "github", "gitlab".
	Name string
	// Detect reports whether a file belongs to this provider. It sees the
	// path relative to the repository root and the file's contents.
	Detect func(path string, data []byte) bool
	// Translate turns one file into pipelines. Findings in the user's input
	// go into the list; the error is for gantry's own failures.
	Translate func(ctx context.Context, f File, opts Options) ([]*dag.Pipeline, diag.List, error)
	// Lint reports every finding in a file, including those Translate
	// treats as warnings; nil means the findings of Translate.
	Lint func(ctx context.Context, f File, opts Options) (diag.List, error)
	// Patterns are the repository paths (slash-separated globs, relative
	// to the root) where this provider's files live; Discover reads them
	// when no file is named.
	Patterns []string
	// Emit writes this provider's thin trigger file for a pipeline of any
	// provider (gantry emit --to NAME, and the trigger files gantry migrate
	// puts in place of the originals); nil for a provider gantry only
	// reads.
	Emit func(p *dag.Pipeline, opts EmitOptions) ([]byte, error)
}

// registry lists the providers in detection order: the first whose Detect
// says yes owns the file. One line per provider.
var registry = []Provider{
	gantryProvider,
	githubProvider,
	gitlabProvider,
}

// Providers returns the registered providers in detection order.
func Providers() []Provider { return registry }
