package translate

import (
	"context"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/providers/github"
	"github.com/gantry-ci/gantry/providers/gitlab"
)

// The adapters below map Options onto each provider's own options.

var githubProvider = Provider{
	Name:   "github",
	Detect: github.Detect,
	Translate: func(ctx context.Context, f File, opts Options) ([]*dag.Pipeline, diag.List, error) {
		p, l, err := github.Translate(ctx, f.Path, f.Data, github.Options{Dir: opts.Dir, Actions: opts.Actions})
		if p == nil {
			return nil, l, err
		}
		return []*dag.Pipeline{p}, l, err
	},
	Lint: func(_ context.Context, f File, opts Options) (diag.List, error) {
		return github.Lint(f.Path, f.Data, github.Options{Dir: opts.Dir})
	},
	Patterns: []string{".github/workflows/*.yml", ".github/workflows/*.yaml"},
	Emit:     github.Emit,
}

var gitlabProvider = Provider{
	Name:   "gitlab",
	Detect: gitlab.Detect,
	Translate: func(ctx context.Context, f File, opts Options) ([]*dag.Pipeline, diag.List, error) {
		host, vars := opts.GitLabHost, opts.Vars
		if opts.GitLabContext != nil {
			host, vars = opts.GitLabContext()
		}
		p, l, err := gitlab.Translate(ctx, f.Path, f.Data, gitlab.Options{
			Dir: opts.Dir, TemplateDir: opts.TemplateDir, Projects: opts.Projects,
			Remote: opts.GitLab, Host: host, Vars: vars, Pinned: opts.Pinned, Included: opts.Included,
		})
		if p == nil {
			return nil, l, err
		}
		return []*dag.Pipeline{p}, l, err
	},
	Patterns: []string{".gitlab-ci.yml"},
	Emit:     gitlab.Emit,
}
