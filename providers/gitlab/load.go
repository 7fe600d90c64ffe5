package gitlab

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

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
	// Remote reads include:project, component, template and remote
	// files from GitLab instances; nil leaves those to Projects and
	// TemplateDir (and include:remote to CacheDir).
	Remote *Remote
	// Host is the instance the pipeline runs on, whose projects
	// include:project names and whose templates include:template gets.
	// Default gitlab.com.
	Host string
	// Vars are the variables include paths may use, as GitLab expands
	// them there: predefined ones ($CI_SERVER_FQDN, $CI_PROJECT_PATH,
	// $CI_COMMIT_REF_NAME, ...) and project variables.
	Vars map[string]string
	// Pinned, when set, gives the commit gantry.lock recorded for an
	// include (by kind and key), which is read instead of resolving its
	// ref again.
	Pinned func(kind, key string) (commit string, ok bool)
	// Included, when set, sees every file included from elsewhere and
	// may refuse it (a locked run whose content changed).
	Included func(Fetched) error
}

// Fetched is a file included from elsewhere, as gantry.lock records it.
type Fetched struct {
	// Kind is project, component, template or remote.
	Kind string
	// Key names the include, its variables expanded: HOST/PROJECT:FILE@REF,
	// HOST/PROJECT/NAME@VERSION, HOST:TEMPLATE, or the URL.
	Key string
	// Instance is the GitLab host read from ("" for a plain URL).
	Instance, Project string
	// Commit is what the ref or version resolved to, Path the file read.
	Commit, Path string
	Data         []byte
}

func (o Options) host() string {
	if o.Host == "" {
		return "gitlab.com"
	}
	return strings.ToLower(o.Host)
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
func (l *loader) load(file string, data []byte, inputs *node, stack []string, from source, component map[string]string) *node {
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
		if keys := spec.get("component"); keys != nil {
			// spec:component lists the $[[ component.* ]] keys the file
			// may use (GitLab: name, sha, version, reference).
			interp.component = map[string]string{}
			for _, k := range keys.strings() {
				v, ok := component[k]
				switch {
				case component == nil:
					l.diags.Errorf(keys.pos, "include-inputs", "spec:component in %s: the file is not included as a component", file).
						Hint = "include it with include:component, or remove spec:component"
					return nil
				case !ok:
					l.diags.Errorf(keys.pos, "include-inputs", "spec:component in %s names %q, not one of name, sha, version, reference", file, k)
					return nil
				}
				interp.component[k] = v
			}
		}
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
			before := len(l.diags)
			sub := l.load(f.name, f.data, spec.inputs, append(slices.Clone(stack), f.name), f.source, f.component)
			if sub != nil {
				merged = deepMerge(merged, sub)
			} else if fetched := f.project != "" || strings.Contains(f.name, "://"); fetched {
				// A fetched file is not in the user's tree: its first
				// error is said at the include too.
				for _, d := range l.diags[before:] {
					if d.Severity == diag.Error && d.Pos.File == f.name {
						l.diags.Errorf(spec.pos, "include", "%s, included here, is not a CI file gantry can read: %s", f.name, d.Message).
							Hint = "check what the include names (a HTML page, a file of another format?)"
						break
					}
				}
			}
		}
	}
	return deepMerge(merged, root)
}

type loadedFile struct {
	name string
	data []byte
	source
	// component is the $[[ component.* ]] context of a component's file.
	component map[string]string
}

// source is where a file came from: the directory its local includes
// resolve in, and the label its files are named with; for a file of
// another project, the instance, project and commit its local includes
// are read at.
type source struct {
	root                  string
	label                 string
	host, project, commit string
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
	s = l.expandSpec(s)
	switch {
	case s.component != "":
		return l.component(s)
	case s.project != "":
		if len(s.files) == 0 {
			l.diags.Errorf(s.pos, "include-project", "include:project needs file:").
				Hint = "name the file (or a list of files) to include from " + s.project
			return nil
		}
		if dir, ok := l.opts.Projects[s.project]; ok {
			var out []loadedFile
			for _, f := range s.files {
				if f, ok := l.readInside(s.pos, dir, f, s.project+":"); ok {
					out = append(out, f...)
				}
			}
			return out
		}
		if l.opts.Remote == nil {
			l.diags.Errorf(s.pos, "include-project", "include:project %q is not mapped to a local checkout", s.project).
				Hint = fmt.Sprintf("pass --project-dir %s=PATH", s.project)
			return nil
		}
		// A project is looked up on the instance of the file that names
		// it: a project's file including another project stays there.
		host := cmp.Or(from.host, l.opts.host())
		var out []loadedFile
		for _, f := range s.files {
			if f, ok := l.projectFile(s.pos, host, s.project, s.ref, f); ok {
				out = append(out, f)
			}
		}
		return out
	case s.template != "":
		if l.opts.TemplateDir != "" {
			if f, ok := l.readInside(s.pos, l.opts.TemplateDir, s.template, "template:"); ok {
				return f
			}
			return nil
		}
		if l.opts.Remote == nil {
			l.diags.Errorf(s.pos, "include-template", "include:template %q needs GitLab's templates, which gantry does not bundle", s.template).
				Hint = "pass --template-dir with a checkout of GitLab's lib/gitlab/ci/templates"
			return nil
		}
		return l.template(s)
	case s.remote != "":
		if l.opts.Remote == nil {
			l.diags.Errorf(s.pos, "include-remote", "include:remote %q is fetched, and this translation fetches nothing", s.remote).
				Hint = "download the file and use include:local"
			return nil
		}
		return l.remoteURL(s)
	case s.local != "":
		if from.project != "" {
			// A local include in another project's file is a file of that
			// project at the same commit, as GitLab reads it.
			if strings.ContainsAny(s.local, "*?[") {
				l.diags.Errorf(s.pos, "include-local", "include:local %q is a glob in a file of project %s: gantry reads other projects' files one by one", s.local, from.project).
					Hint = "name the files, or map the project to a checkout with --project-dir " + from.project + "=PATH"
				return nil
			}
			if f, ok := l.projectFile(s.pos, from.host, from.project, from.commit, s.local); ok {
				return []loadedFile{f}
			}
			return nil
		}
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

// unreached warns, at the include, that its instance could not be reached
// and the cache served what was read before.
func (l *loader) unreached(at diag.Pos, f fetched, what string) {
	if f.unreached != "" {
		l.diags.Warnf(at, "include-cache", "%s cannot be reached: %s is read from the cache, as it was when last fetched", f.unreached, what).
			Hint = "run with --offline to use the cache without trying the instance"
	}
}

// included passes a fetched file to Options.Included; false when it is
// refused (reported at the include).
func (l *loader) included(at diag.Pos, f Fetched) bool {
	if l.opts.Included == nil {
		return true
	}
	if err := l.opts.Included(f); err != nil {
		l.diags.Errorf(at, "include-"+f.Kind, "include:%s %s: %v", f.Kind, f.Key, err)
		return false
	}
	return true
}

// projectFile reads a file of a project on an instance: at the commit
// gantry.lock pinned, else at ref (the default branch when empty).
func (l *loader) projectFile(at diag.Pos, host, project, ref, file string) (loadedFile, bool) {
	file = strings.TrimPrefix(path.Clean("/"+file), "/")
	key := host + "/" + project + ":" + file
	if ref != "" {
		key += "@" + ref
	}
	read := ref
	if l.opts.Pinned != nil {
		if commit, ok := l.opts.Pinned("project", key); ok {
			read = commit
		}
	}
	f, err := l.opts.Remote.projectFile(l.ctx, host, project, read, file)
	if err != nil {
		d := l.diags.Errorf(at, "include-project", "include:project %s, file %s: %v", project, file, err)
		d.Hint = fmt.Sprintf("check the project's path, the file and the ref; or map the project to a checkout with --project-dir %s=PATH", project)
		return loadedFile{}, false
	}
	l.unreached(at, f, "file "+file+" of project "+project)
	if !l.included(at, Fetched{Kind: "project", Key: key, Instance: host, Project: project, Commit: f.commit, Path: file, Data: f.data}) {
		return loadedFile{}, false
	}
	name := host + "/" + project + ":" + file
	return loadedFile{name: name, data: f.data, source: source{root: l.opts.dir(), label: host + "/" + project + ":", host: host, project: project, commit: f.commit}}, true
}

// component reads an include:component: its template, with
// $[[ component.* ]] for it.
func (l *loader) component(s includeSpec) []loadedFile {
	if l.opts.Remote == nil {
		l.diags.Errorf(s.pos, "include-component", "include:component %q is read from a GitLab instance, and this translation has no access to one", s.component).
			Hint = "vendor the component's template into the project and include it with include:local"
		return nil
	}
	c, err := parseComponent(s.component)
	if err != nil {
		l.diags.Errorf(s.pos, "include-component", "%v", err)
		return nil
	}
	key := c.String()
	if l.opts.Pinned != nil {
		if commit, ok := l.opts.Pinned("component", key); ok && !fullSHA.MatchString(c.version) {
			pinned := c
			pinned.version = commit
			f, rv, file, err := l.opts.Remote.component(l.ctx, pinned)
			if err == nil {
				rv.version = c.version
				return l.componentFile(s, c, key, f, rv, file)
			}
		}
	}
	f, rv, file, err := l.opts.Remote.component(l.ctx, c)
	if err != nil {
		l.diags.Errorf(s.pos, "include-component", "%v", err).
			Hint = "check the component's path and version (its project's releases), or vendor its template and include it with include:local"
		return nil
	}
	return l.componentFile(s, c, key, f, rv, file)
}

func (l *loader) componentFile(s includeSpec, c componentRef, key string, f fetched, rv resolvedVersion, file string) []loadedFile {
	l.unreached(s.pos, f, "component "+key)
	if !l.included(s.pos, Fetched{Kind: "component", Key: key, Instance: c.host, Project: c.project, Commit: f.commit, Path: file, Data: f.data}) {
		return nil
	}
	name := c.host + "/" + c.project + ":" + file
	lf := loadedFile{name: name, data: f.data, source: source{root: l.opts.dir(), label: c.host + "/" + c.project + ":", host: c.host, project: c.project, commit: f.commit}}
	// $[[ component.* ]]: its name, the commit, the version released
	// (or the ref given), and the reference as written.
	lf.component = map[string]string{
		"name":      c.name,
		"sha":       f.commit,
		"version":   rv.version,
		"reference": c.version,
	}
	return []loadedFile{lf}
}

// template reads an include:template as the pipeline's instance serves it.
func (l *loader) template(s includeSpec) []loadedFile {
	host := l.opts.host()
	f, err := l.opts.Remote.template(l.ctx, host, s.template)
	if err != nil {
		l.diags.Errorf(s.pos, "include-template", "include:template %s: %v", s.template, err).
			Hint = "check the template's name (as in GitLab's lib/gitlab/ci/templates), or pass --template-dir"
		return nil
	}
	key := host + ":" + s.template
	l.unreached(s.pos, f, "template "+s.template)
	if !l.included(s.pos, Fetched{Kind: "template", Key: key, Instance: host, Commit: f.commit, Path: s.template, Data: f.data}) {
		return nil
	}
	return []loadedFile{{name: "template:" + s.template, data: f.data, source: source{root: l.opts.dir(), label: "template:"}}}
}

// remoteURL reads an include:remote through the Remote (a GitLab host's
// token, the cache, offline).
func (l *loader) remoteURL(s includeSpec) []loadedFile {
	f, err := l.opts.Remote.remoteFile(l.ctx, s.remote)
	if err != nil {
		l.diags.Errorf(s.pos, "include-remote", "include:remote %s: %v", s.remote, err).
			Hint = "check the URL, or download the file and use include:local"
		return nil
	}
	l.unreached(s.pos, f, s.remote)
	if !l.included(s.pos, Fetched{Kind: "remote", Key: s.remote, Data: f.data}) {
		return nil
	}
	return []loadedFile{{name: s.remote, data: f.data, source: source{root: l.opts.dir()}}}
}

// includeVar is a variable in an include's paths.
var includeVar = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// expandSpec expands the variables GitLab allows in an include's paths
// (Options.Vars); unknown ones stay as written.
func (l *loader) expandSpec(s includeSpec) includeSpec {
	if len(l.opts.Vars) == 0 {
		return s
	}
	expand := func(v string) string {
		if !strings.Contains(v, "$") {
			return v
		}
		return includeVar.ReplaceAllStringFunc(v, func(m string) string {
			sub := includeVar.FindStringSubmatch(m)
			if val, ok := l.opts.Vars[sub[1]+sub[2]]; ok {
				return val
			}
			return m
		})
	}
	s.local, s.project, s.ref, s.remote, s.template, s.component = expand(s.local), expand(s.project), expand(s.ref), expand(s.remote), expand(s.template), expand(s.component)
	files := make([]string, len(s.files))
	for i, f := range s.files {
		files[i] = expand(f)
	}
	s.files = files
	return s
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
		v, set := values[name]
		if !set {
			l.diags.Errorf(specInputs.keyAt(name), "include-inputs", "input %q of %s has no default and is not given", name, file)
			ok = false
			continue
		}
		if err := checkInput(specInputs.fields[name], v); err != "" {
			at := v.pos
			if given != nil && given.has(name) {
				at = given.keyAt(name)
			}
			l.diags.Errorf(at, "include-inputs", "input %q of %s: %s", name, file, err)
			ok = false
		}
	}
	return values, ok
}

// checkInput checks a value against its spec:inputs entry as GitLab does:
// its type (string, number, boolean, array), its options and its regex;
// it says what is wrong, or "".
// https://docs.gitlab.com/ci/inputs/#input-configuration
func checkInput(spec, v *node) string {
	typ := "string"
	if t := spec.get("type"); t != nil {
		typ = t.str()
	}
	switch typ {
	case "string":
		if v.kind != scalarKind {
			return fmt.Sprintf("the value is %s, not a string (type: string)", v.describe())
		}
	case "number":
		if v.kind != scalarKind || (v.tag != "!!int" && v.tag != "!!float") {
			return fmt.Sprintf("the value %s is not a number (type: number)", v.describe())
		}
	case "boolean":
		if v.kind != scalarKind || v.tag != "!!bool" {
			return fmt.Sprintf("the value %s is not a boolean (type: boolean)", v.describe())
		}
	case "array":
		if v.kind != seqKind {
			return fmt.Sprintf("the value is %s, not an array (type: array)", v.describe())
		}
	default:
		return fmt.Sprintf("type %q is not one of string, number, boolean, array", typ)
	}
	if opts := spec.get("options"); opts != nil && v.kind == scalarKind {
		allowed := opts.strings()
		if !slices.Contains(allowed, v.str()) {
			return fmt.Sprintf("%q is not one of its options (%s)", v.str(), strings.Join(allowed, ", "))
		}
	}
	if re := spec.get("regex"); re != nil && v.kind == scalarKind {
		// GitLab writes the pattern between slashes, as a Ruby regexp.
		pattern := strings.TrimSuffix(strings.TrimPrefix(re.str(), "/"), "/")
		rx, err := regexp.Compile(pattern)
		if err != nil {
			return fmt.Sprintf("its regex %s does not compile: %v", re.str(), err)
		}
		if !rx.MatchString(v.str()) {
			return fmt.Sprintf("%q does not match its regex %s", v.str(), re.str())
		}
	}
	return ""
}

// interpolator fills $[[ inputs.x ]] into parsed values, so that an input
// stays the value it is (a string with ": " or "#" in it, a list) and cannot
// inject YAML.
type interpolator struct {
	file   string
	values map[string]*node
	// component is the $[[ component.* ]] context (nil: none).
	component map[string]string
	diags     diag.List
}

var componentKeyRef = regexp.MustCompile(`\$\[\[\s*component\.([A-Za-z0-9_-]+)\s*\]\]`)

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
	s = inputRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := inputRef.FindStringSubmatch(m)
		v, ok := in.values[sub[1]]
		if !ok {
			in.diags.Errorf(at, "include-inputs", "unknown interpolation key %q in %s", sub[1], in.file).
				Hint = "declare it under spec:inputs"
			return m
		}
		return in.apply(scalarText(v), sub[2], at)
	})
	return componentKeyRef.ReplaceAllStringFunc(s, func(m string) string {
		key := componentKeyRef.FindStringSubmatch(m)[1]
		v, ok := in.component[key]
		if !ok {
			in.diags.Errorf(at, "include-inputs", "$[[ component.%s ]] in %s is not in its spec:component", key, in.file).
				Hint = "list it under spec:component (name, sha, version, reference)"
			return m
		}
		return v
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
