package gitlab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry/diag"
)

// Options tune loading and translation. The zero value reads local
// includes relative to the working directory and fetches nothing.
type Options struct {
	// Dir is the project root that include:local paths resolve against.
	Dir string
	// TemplateDir holds GitLab's CI templates for include:template
	// (GitLab's templates are not bundled with gantry).
	TemplateDir string
	// Projects maps "group/project" to a local checkout for include:project.
	Projects map[string]string
	// CacheDir keeps fetched include:remote files; empty disables fetching.
	CacheDir string
	// Offline refuses to fetch include:remote files not in the cache.
	Offline bool
	// Included, when set, sees every remote file included (kind "remote",
	// its URL, its content) and may refuse it (a locked run whose content
	// changed).
	Included func(kind, ref string, data []byte) error
	// HTTPClient fetches include:remote; default one with a 30s timeout.
	HTTPClient *http.Client
}

func (o Options) dir() string {
	if o.Dir == "" {
		return "."
	}
	return o.Dir
}

// Limits GitLab itself enforces on includes.
const (
	maxIncludes     = 150
	maxIncludeDepth = 100
)

// config is a loaded, merged file: every include applied, keys in order.
type config struct {
	root *node
}

// loader reads a configuration and what it includes.
type loader struct {
	ctx   context.Context
	opts  Options
	diags diag.List
	count int
}

// includeSpec is one entry of include:.
type includeSpec struct {
	pos       diag.Pos
	local     string
	project   string
	ref       string
	files     []string
	remote    string
	template  string
	component string
	inputs    *node
	rules     *node
}

// load reads a file and everything it includes, merged: included files
// first, in order, then the file itself on top.
func (l *loader) load(file string, data []byte, inputs *node, stack []string, from source) *node {
	docs, dl := parseYAML(file, data)
	l.diags.Add(dl...)
	if docs == nil {
		return nil
	}
	// A header document with spec: declares inputs for the content after ---.
	var spec *node
	if len(docs) > 1 && docs[0].kind == mapKind && docs[0].has("spec") {
		spec = docs[0].get("spec")
		docs = docs[1:]
	} else if len(docs) > 1 {
		l.diags.Errorf(docs[1].pos, "yaml-documents", "a CI file holds one YAML document, or a spec: header and one document").
			Hint = "remove the extra --- separator"
	}
	switch {
	case inputs != nil && spec == nil:
		l.diags.Errorf(inputs.pos, "include-inputs", "inputs are given, but %s declares none in a spec: header", file).
			Hint = "add spec: inputs: to the included file, or remove the inputs"
		return nil
	case spec != nil:
		values, ok := l.inputValues(file, spec, inputs)
		if !ok {
			return nil
		}
		interp := &interpolator{file: file, values: values}
		docs[0] = interp.node(docs[0])
		l.diags.Add(interp.diags...)
		if interp.diags.HasErrors() {
			return nil
		}
	}
	root := docs[0]
	if root.isNull() {
		return &node{kind: mapKind, pos: root.pos}
	}
	if root.kind != mapKind {
		l.diags.Errorf(root.pos, "config", "a CI file is a mapping of keywords and jobs, found %s", root.describe())
		return nil
	}
	inc := root.get("include")
	if inc == nil {
		return root
	}
	root = root.clone()
	root.del("include")
	merged := &node{kind: mapKind, pos: root.pos}
	for _, spec := range l.includes(inc) {
		for _, f := range l.resolve(spec, from) {
			if slices.Contains(stack, f.name) {
				l.diags.Errorf(spec.pos, "include-cycle", "include cycle: %s → %s", strings.Join(stack, " → "), f.name).
					Hint = "a file must not include itself, directly or not"
				continue
			}
			if len(stack) >= maxIncludeDepth {
				l.diags.Errorf(spec.pos, "include-depth", "includes nest deeper than %d levels", maxIncludeDepth)
				continue
			}
			l.count++
			if l.count > maxIncludes {
				l.diags.Errorf(spec.pos, "include-count", "more than %d files are included; GitLab stops there too", maxIncludes)
				return nil
			}
			sub := l.load(f.name, f.data, spec.inputs, append(slices.Clone(stack), f.name), f.source)
			if sub != nil {
				merged = deepMerge(merged, sub)
			}
		}
	}
	return deepMerge(merged, root)
}

type loadedFile struct {
	name string
	data []byte
	source
}

// source is where a file came from: the directory its local includes
// resolve in, and the label its files are named with.
type source struct {
	root  string
	label string
}

func (l *loader) includes(inc *node) []includeSpec {
	var items []*node
	switch inc.kind {
	case seqKind:
		items = inc.items
	default:
		items = []*node{inc}
	}
	var out []includeSpec
	for _, it := range items {
		s := includeSpec{pos: it.pos}
		switch it.kind {
		case scalarKind:
			v := it.str()
			if strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://") {
				s.remote = v
			} else {
				s.local = v
			}
		case mapKind:
			for _, k := range it.keys {
				v := it.fields[k]
				switch k {
				case "local":
					s.local = v.str()
				case "project":
					s.project = v.str()
				case "ref":
					s.ref = v.str()
				case "file":
					s.files = v.strings()
				case "remote":
					s.remote = v.str()
				case "template":
					s.template = v.str()
				case "component":
					s.component = v.str()
				case "inputs":
					s.inputs = v
				case "rules":
					s.rules = v
				case "cache", "integrity":
				default:
					l.diags.Errorf(it.keyAt(k), "include", "unknown include keyword %q", k).
						Hint = "use local, project with file, remote, template or component"
				}
			}
		default:
			l.diags.Errorf(it.pos, "include", "an include is a path or a mapping, found %s", it.describe())
			continue
		}
		if s.rules != nil {
			l.diags.Warnf(it.keyAt("rules"), "caveat", "include:rules are not evaluated when translating: the file is included")
		}
		out = append(out, s)
	}
	return out
}

// resolve reads the files of one include entry.
func (l *loader) resolve(s includeSpec, from source) []loadedFile {
	switch {
	case s.component != "":
		l.diags.Errorf(s.pos, "unsupported", "include:component %q is not supported: components are fetched from a GitLab instance's catalog", s.component).
			Hint = "vendor the component's template into the project and include it with include:local"
	case s.project != "":
		dir, ok := l.opts.Projects[s.project]
		if !ok {
			l.diags.Errorf(s.pos, "include-project", "include:project %q is not mapped to a local checkout", s.project).
				Hint = fmt.Sprintf("pass --project-dir %s=PATH", s.project)
			return nil
		}
		var out []loadedFile
		for _, f := range s.files {
			if f, ok := l.readInside(s.pos, dir, f, s.project+":"); ok {
				out = append(out, f...)
			}
		}
		if len(s.files) == 0 {
			l.diags.Errorf(s.pos, "include-project", "include:project needs file:")
		}
		return out
	case s.template != "":
		if l.opts.TemplateDir == "" {
			l.diags.Errorf(s.pos, "include-template", "include:template %q needs GitLab's templates, which gantry does not bundle", s.template).
				Hint = "pass --template-dir with a checkout of GitLab's lib/gitlab/ci/templates"
			return nil
		}
		f, ok := l.readInside(s.pos, l.opts.TemplateDir, s.template, "template:")
		if ok {
			return f
		}
	case s.remote != "":
		if f, ok := l.fetch(s); ok {
			if l.opts.Included != nil {
				if err := l.opts.Included("remote", s.remote, f.data); err != nil {
					l.diags.Errorf(s.pos, "include-remote", "include:remote %q: %v", s.remote, err)
					return nil
				}
			}
			return []loadedFile{f}
		}
	case s.local != "":
		// A local include is local to the including file's own project (or
		// template directory), as GitLab resolves nested includes.
		f, ok := l.readInside(s.pos, from.root, s.local, from.label)
		if ok {
			return f
		}
	default:
		l.diags.Errorf(s.pos, "include", "this include names no file")
	}
	return nil
}

// readInside reads a path (a glob for local includes) under root, refusing
// paths that leave it.
func (l *loader) readInside(at diag.Pos, root, name, label string) ([]loadedFile, bool) {
	// Paths are relative to the project root, with or without a leading /.
	rel := path.Clean(strings.TrimPrefix(name, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		l.diags.Errorf(at, "include-outside", "include %q leaves the project", name).
			Hint = "includes stay inside the project; map other projects with --project-dir"
		return nil, false
	}
	matches := []string{rel}
	if strings.ContainsAny(rel, "*?[") {
		var err error
		matches, err = globFiles(root, rel)
		if err != nil || len(matches) == 0 {
			l.diags.Errorf(at, "include-missing", "include %q matches no file", name)
			return nil, false
		}
	}
	var out []loadedFile
	for _, m := range matches {
		full := filepath.Join(root, filepath.FromSlash(m))
		if real, err := realPath(full); err == nil {
			if rr, err := realPath(root); err == nil && !strings.HasPrefix(real+string(filepath.Separator), rr+string(filepath.Separator)) {
				l.diags.Errorf(at, "include-outside", "include %q is a link that leaves the project", name)
				return nil, false
			}
		}
		data, err := os.ReadFile(full)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				l.diags.Errorf(at, "include-missing", "included file %q does not exist", label+m)
			} else {
				l.diags.Errorf(at, "include-missing", "included file %q: %v", label+m, err)
			}
			return nil, false
		}
		out = append(out, loadedFile{name: label + m, data: data, source: source{root: root, label: label}})
	}
	return out, true
}

// realPath is the absolute path of p with every link followed.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

func globFiles(root, pattern string) ([]string, error) {
	re, err := globRegexp(pattern)
	if err != nil {
		return nil, err
	}
	var out []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		if !d.IsDir() && re.MatchString(filepath.ToSlash(rel)) {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// globRegexp turns a GitLab include glob (*, **, ?) into a regexp.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			if i+1 < len(glob) && glob[i+1] == '*' {
				b.WriteString(".*")
				i++
				if i+1 < len(glob) && glob[i+1] == '/' {
					i++
					b.WriteString("/?")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// fetch reads an include:remote file, from the cache when it is there.
func (l *loader) fetch(s includeSpec) (loadedFile, bool) {
	sum := sha256.Sum256([]byte(s.remote))
	var cached string
	if l.opts.CacheDir != "" {
		cached = filepath.Join(l.opts.CacheDir, "include-"+hex.EncodeToString(sum[:8])+".yml")
		if data, err := os.ReadFile(cached); err == nil {
			return loadedFile{name: s.remote, data: data, source: source{root: l.opts.dir()}}, true
		}
	}
	if l.opts.Offline || l.opts.CacheDir == "" {
		l.diags.Errorf(s.pos, "include-remote", "include:remote %q is not in the cache and gantry is offline", s.remote).
			Hint = "run once with network access (the file is cached), or download it and use include:local"
		return loadedFile{}, false
	}
	client := l.opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(l.ctx, http.MethodGet, s.remote, nil)
	if err != nil {
		l.diags.Errorf(s.pos, "include-remote", "include:remote %q: %v", s.remote, err)
		return loadedFile{}, false
	}
	resp, err := client.Do(req)
	if err != nil {
		l.diags.Errorf(s.pos, "include-remote", "include:remote %q could not be fetched: %v", s.remote, err).
			Hint = "check the network, or download the file and use include:local"
		return loadedFile{}, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		l.diags.Errorf(s.pos, "include-remote", "include:remote %q: the server answered %s", s.remote, resp.Status)
		return loadedFile{}, false
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		l.diags.Errorf(s.pos, "include-remote", "include:remote %q: %v", s.remote, err)
		return loadedFile{}, false
	}
	if err := os.MkdirAll(l.opts.CacheDir, 0o755); err == nil {
		_ = os.WriteFile(cached, data, 0o644)
	}
	return loadedFile{name: s.remote, data: data, source: source{root: l.opts.dir()}}, true
}

var inputRef = regexp.MustCompile(`\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*((?:\|[^\]]*)?)\]\]`)

// inputValues reads the inputs of an included file: what the include
// gives, else the spec's defaults; undeclared and missing ones are errors.
func (l *loader) inputValues(file string, spec, given *node) (map[string]*node, bool) {
	values := map[string]*node{}
	specInputs := spec.get("inputs")
	ok := true
	var declared []string
	if specInputs != nil {
		declared = specInputs.keys
		for _, name := range specInputs.keys {
			if def := specInputs.fields[name].get("default"); def != nil {
				values[name] = def
			}
		}
	}
	if given != nil {
		for _, name := range given.keys {
			if !slices.Contains(declared, name) {
				d := l.diags.Errorf(given.keyAt(name), "include-inputs", "input %q is not declared in %s's spec:inputs", name, file)
				if s := diag.Closest(name, declared); s != "" {
					d.Hint = fmt.Sprintf("did you mean %q?", s)
				}
				ok = false
				continue
			}
			values[name] = given.fields[name]
		}
	}
	for _, name := range declared {
		if _, set := values[name]; !set {
			l.diags.Errorf(specInputs.keyAt(name), "include-inputs", "input %q of %s has no default and is not given", name, file)
			ok = false
		}
	}
	return values, ok
}

// interpolator fills $[[ inputs.x ]] into parsed values, so that an input
// stays the value it is (a string with ": " or "#" in it, a list) and cannot
// inject YAML.
type interpolator struct {
	file   string
	values map[string]*node
	diags  diag.List
}

func (in *interpolator) node(n *node) *node {
	switch n.kind {
	case mapKind:
		out := &node{kind: mapKind, pos: n.pos}
		for _, k := range n.keys {
			key := in.text(k, n.keyAt(k))
			out.set(key, in.node(n.fields[k]), n.keyAt(k))
		}
		return out
	case seqKind:
		out := &node{kind: seqKind, pos: n.pos}
		for _, it := range n.items {
			out.items = append(out.items, in.node(it))
		}
		return out
	case scalarKind:
		if !strings.Contains(n.value, "$[[") {
			return n
		}
		// A scalar that is one interpolation takes the input's own value.
		if m := inputRef.FindStringSubmatchIndex(n.value); m != nil && m[0] == 0 && m[1] == len(n.value) {
			name := n.value[m[2]:m[3]]
			funcs := n.value[m[4]:m[5]]
			if v, ok := in.values[name]; ok && funcs == "" && v.kind != scalarKind {
				c := v.clone()
				c.pos = n.pos
				return c
			}
		}
		c := *n
		c.value = in.text(n.value, n.pos)
		return &c
	}
	return n
}

// text interpolates inputs into a string.
func (in *interpolator) text(s string, at diag.Pos) string {
	if !strings.Contains(s, "$[[") {
		return s
	}
	return inputRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := inputRef.FindStringSubmatch(m)
		v, ok := in.values[sub[1]]
		if !ok {
			in.diags.Errorf(at, "include-inputs", "unknown interpolation key %q in %s", sub[1], in.file).
				Hint = "declare it under spec:inputs"
			return m
		}
		return in.apply(scalarText(v), sub[2], at)
	})
}

var truncateFunc = regexp.MustCompile(`^truncate\(\s*(\d+)\s*,\s*(\d+)\s*\)$`)

// apply runs GitLab's interpolation functions (| expand_vars | truncate(a,b)
// | posix_escape).
func (in *interpolator) apply(v, funcs string, at diag.Pos) string {
	for _, f := range strings.Split(funcs, "|") {
		f = strings.TrimSpace(f)
		switch {
		case f == "":
		case f == "expand_vars":
			// Variables expand in the job's shell, where they are known.
		case f == "posix_escape":
			v = posixEscape(v)
		case truncateFunc.MatchString(f):
			m := truncateFunc.FindStringSubmatch(f)
			off, _ := strconv.Atoi(m[1])
			n, _ := strconv.Atoi(m[2])
			r := []rune(v)
			off = min(off, len(r))
			v = string(r[off:min(off+n, len(r))])
		default:
			in.diags.Errorf(at, "include-inputs", "unknown interpolation function %q", f).
				Hint = "GitLab has expand_vars, truncate(offset, length) and posix_escape"
		}
	}
	return v
}

func posixEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./,:@%+=", r)) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// scalarText is the text an input value is interpolated as: scalars as
// written, lists and mappings as JSON (which YAML reads back).
func scalarText(n *node) string {
	if n.kind == scalarKind {
		return n.value
	}
	b, _ := json.Marshal(toGo(n))
	return string(b)
}

// toGo turns a node into plain Go values.
func toGo(n *node) any {
	switch {
	case n == nil || n.isNull():
		return nil
	case n.kind == mapKind:
		m := map[string]any{}
		for _, k := range n.keys {
			m[k] = toGo(n.fields[k])
		}
		return m
	case n.kind == seqKind:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			out[i] = toGo(it)
		}
		return out
	case n.kind == refKind:
		return nil
	}
	switch n.tag {
	case "!!bool":
		return n.value == "true"
	case "!!int", "!!float":
		var f float64
		if _, err := fmt.Sscan(n.value, &f); err == nil {
			return f
		}
	}
	return n.value
}
