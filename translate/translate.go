package translate

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/providers/gitlab"
)

// File is one source file.
type File struct {
	// Path is as the user named it; positions in diagnostics use it.
	Path string
	Data []byte
}

// Options tune translation. The zero value reads files relative to the
// working directory and logs nothing.
type Options struct {
	// Dir is the repository root that local references (includes, local
	// actions, reusable workflows) resolve against; default ".".
	Dir string
	// Provider forces a provider by name instead of detecting it.
	Provider string
	// TemplateDir holds GitLab's CI templates, for include:template.
	TemplateDir string
	// Projects maps GitLab "group/project" names to local checkouts, for
	// include:project.
	Projects map[string]string
	// Actions makes remote GitHub actions available on this machine (see
	// github.Options.Actions); nil keeps them as references.
	Actions func(uses string) (string, error)
	// GitLab reads GitLab includes from instances through their API (see
	// gitlab.Options.Remote); nil leaves them to TemplateDir and Projects.
	GitLab *gitlab.Remote
	// GitLabHost is the instance the repository's GitLab pipelines run
	// on (gitlab.Options.Host).
	GitLabHost string
	// Vars are the variables GitLab include paths may use
	// (gitlab.Options.Vars).
	Vars map[string]string
	// GitLabContext, when set, gives GitLabHost and Vars the first time a
	// GitLab pipeline needs them (they cost git processes that a GitHub
	// workflow has no use for); its values win over the fields'. It is
	// called at most once at a time.
	GitLabContext func() (host string, vars map[string]string)
	// Pinned gives the commit gantry.lock recorded for a GitLab include
	// (gitlab.Options.Pinned).
	Pinned func(kind, key string) (commit string, ok bool)
	// Included sees every file a GitLab pipeline includes from elsewhere
	// (see gitlab.Options.Included).
	Included func(gitlab.Fetched) error
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Detect returns the provider that owns a file.
func Detect(f File, opts Options) (Provider, error) {
	if opts.Provider != "" {
		for _, p := range registry {
			if p.Name == opts.Provider {
				return p, nil
			}
		}
		return Provider{}, fmt.Errorf("unknown provider %q; known: %s", opts.Provider, strings.Join(names(), ", "))
	}
	for _, p := range registry {
		if p.Detect(f.Path, f.Data) {
			return p, nil
		}
	}
	return Provider{}, diag.Errorf(diag.Pos{File: f.Path, Line: 1, Col: 1}, "unknown-provider",
		"cannot tell which CI system this file is for").
		WithHint("gantry reads %s; name a workflow under .github/workflows/, a .gitlab-ci.yml, or a gantry DAG (version: %s), or pass --provider", strings.Join(names(), ", "), dag.Version)
}

func names() []string {
	var n []string
	for _, p := range registry {
		n = append(n, p.Name)
	}
	return n
}

// Files translates every named file (a directory stands for the provider
// files in it) and returns their pipelines in the order given. Findings of
// all files are collected; a file with errors contributes no pipeline.
func Files(ctx context.Context, paths []string, opts Options) ([]*dag.Pipeline, diag.List, error) {
	files, err := expand(paths)
	if err != nil {
		return nil, nil, err
	}
	// Files are translated side by side, one per CPU; the caller's
	// callbacks are never called concurrently.
	opts = opts.serialized()
	type result struct {
		ps  []*dag.Pipeline
		l   diag.List
		err error
	}
	results := make([]result, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, path := range files {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				results[i].err = err
				return nil
			}
			ps, l, err := One(gctx, File{Path: path, Data: data}, opts)
			results[i] = result{ps, l, err}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var (
		out []*dag.Pipeline
		all diag.List
	)
	for _, r := range results {
		all.Add(r.l...)
		if r.err != nil {
			if dl := diag.AsList(r.err); dl != nil {
				all.Add(dl...)
				continue
			}
			return nil, all, r.err
		}
		out = append(out, r.ps...)
	}
	if err := ctx.Err(); err != nil {
		return nil, all, err
	}
	return out, all, nil
}

// serialized returns o with its callbacks behind one lock, for
// translating files concurrently.
func (o Options) serialized() Options {
	var mu sync.Mutex
	if f := o.Actions; f != nil {
		o.Actions = func(uses string) (string, error) { mu.Lock(); defer mu.Unlock(); return f(uses) }
	}
	if f := o.Pinned; f != nil {
		o.Pinned = func(kind, key string) (string, bool) { mu.Lock(); defer mu.Unlock(); return f(kind, key) }
	}
	if f := o.Included; f != nil {
		o.Included = func(x gitlab.Fetched) error { mu.Lock(); defer mu.Unlock(); return f(x) }
	}
	if f := o.GitLabContext; f != nil {
		o.GitLabContext = sync.OnceValues(f)
	}
	return o
}

// One translates a single file.
func One(ctx context.Context, f File, opts Options) ([]*dag.Pipeline, diag.List, error) {
	p, err := Detect(f, opts)
	if err != nil {
		return nil, nil, err
	}
	opts.logger().Debug("translating", "file", f.Path, "provider", p.Name)
	ps, l, err := p.Translate(ctx, f, opts)
	if err != nil {
		return nil, l, fmt.Errorf("%s: %w", f.Path, err)
	}
	if l.HasErrors() {
		return nil, l, nil
	}
	return ps, l, nil
}

// Lint reports every finding in the named files (directories stand for
// the YAML files in them), each file by the provider that owns it.
func Lint(ctx context.Context, paths []string, opts Options) (diag.List, error) {
	files, err := expand(paths)
	if err != nil {
		return nil, err
	}
	var all diag.List
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return all, err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return all, err
		}
		f := File{Path: path, Data: data}
		p, err := Detect(f, opts)
		if err != nil {
			if dl := diag.AsList(err); dl != nil {
				all.Add(dl...)
				continue
			}
			return all, err
		}
		var l diag.List
		if p.Lint != nil {
			l, err = p.Lint(ctx, f, opts)
		} else {
			_, l, err = p.Translate(ctx, f, opts)
		}
		if err != nil {
			return all, fmt.Errorf("%s: %w", path, err)
		}
		all.Add(l...)
	}
	all.Sort()
	return all, nil
}

// expand replaces directories by the YAML files in them, sorted.
func expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		var found []string
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if !e.IsDir() && (ext == ".yml" || ext == ".yaml") {
				found = append(found, filepath.Join(p, e.Name()))
			}
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no .yml or .yaml files in this directory", p)
		}
		slices.Sort(found)
		out = append(out, found...)
	}
	return out, nil
}

// gantryProvider reads gantry's own DAG files, so that every command that
// takes a source file also takes a translated pipeline.
var gantryProvider = Provider{
	Name:   "gantry",
	Detect: IsDAG,
	Translate: func(_ context.Context, f File, _ Options) ([]*dag.Pipeline, diag.List, error) {
		p, l := dag.Decode(f.Data, f.Path)
		if p == nil {
			return nil, l, nil
		}
		return []*dag.Pipeline{p}, l, nil
	},
	Patterns: []string{PipelinesDir + "/*.yaml"},
}

// IsDAG reports whether data looks like a gantry DAG: an unindented
// version: gantry/... line (YAML), or "version": "gantry/..." (JSON).
func IsDAG(path string, data []byte) bool {
	// By hand rather than with (?m) regular expressions, which took a
	// tenth of translating GitHub's starter workflows: every file is
	// asked this first.
	const space = " \t\n\f\r"
	if rest, ok := bytes.CutPrefix(bytes.TrimLeft(data, space), []byte("{")); ok {
		if rest, ok = bytes.CutPrefix(bytes.TrimLeft(rest, space), []byte(`"version"`)); ok {
			if rest, ok = bytes.CutPrefix(bytes.TrimLeft(rest, space), []byte(":")); ok &&
				bytes.HasPrefix(bytes.TrimLeft(rest, space), []byte(`"gantry/`)) {
				return true
			}
		}
	}
	for line := range bytes.Lines(data) {
		rest, ok := bytes.CutPrefix(line, []byte("version:"))
		if !ok {
			continue
		}
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) > 0 && (rest[0] == '"' || rest[0] == '\'') {
			rest = rest[1:]
		}
		if bytes.HasPrefix(rest, []byte("gantry/")) {
			return true
		}
	}
	return false
}
