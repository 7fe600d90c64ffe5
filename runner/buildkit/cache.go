package buildkit

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	"github.com/gantry-ci/gantry/dag"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/ociindex"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// CacheOption is one of BuildKit's cache imports or exports, written as
// buildctl's --import-cache/--export-cache and docker buildx's
// --cache-from/--cache-to write them: type=registry,ref=REF,mode=max;
// type=local,src=DIR (import) or dest=DIR (export); type=gha; type=s3,
// bucket=B,region=R; type=azblob,account_url=URL. A bare REF is
// type=registry,ref=REF, as buildx reads it.
type CacheOption struct {
	Type  string
	Attrs map[string]string
}

// cacheTypes are the cache backends BuildKit's daemon has. inline is
// not one gantry can use: it rides in an exported image, and gantry
// exports none.
var cacheTypes = []string{"registry", "local", "gha", "s3", "azblob"}

// ParseCacheOption reads one --cache-from (export false) or --cache-to
// (export true). type=gha takes its url and token from the environment
// when they are not written, as buildctl does: ACTIONS_RESULTS_URL (the
// cache service v2, with ACTIONS_CACHE_SERVICE_V2) or ACTIONS_CACHE_URL,
// and ACTIONS_RUNTIME_TOKEN.
func ParseCacheOption(s string, export bool) (CacheOption, error) {
	flag := "--cache-from"
	if export {
		flag = "--cache-to"
	}
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil || len(fields) == 0 {
		return CacheOption{}, fmt.Errorf("%s %q: want type=TYPE,KEY=VALUE,...", flag, s)
	}
	o := CacheOption{Attrs: map[string]string{}}
	if len(fields) == 1 && !strings.Contains(fields[0], "=") {
		o.Type, o.Attrs["ref"] = "registry", fields[0]
	} else {
		for _, f := range fields {
			k, v, ok := strings.Cut(strings.TrimSpace(f), "=")
			if !ok || k == "" {
				return CacheOption{}, fmt.Errorf("%s %q: %q is no KEY=VALUE", flag, s, f)
			}
			if k == "type" {
				o.Type = v
				continue
			}
			o.Attrs[strings.ToLower(k)] = v
		}
	}
	need := func(keys ...string) error {
		for _, k := range keys {
			if o.Attrs[k] == "" {
				return fmt.Errorf("%s %q: type=%s needs %s=", flag, s, o.Type, k)
			}
		}
		return nil
	}
	switch o.Type {
	case "":
		return CacheOption{}, fmt.Errorf("%s %q: no type= (one of %s)", flag, s, strings.Join(cacheTypes, ", "))
	case "inline":
		return CacheOption{}, fmt.Errorf("%s %q: inline caches travel in an exported image, and gantry exports none; use type=registry,ref=REF", flag, s)
	case "registry":
		if err := need("ref"); err != nil {
			return CacheOption{}, err
		}
		if _, err := reference.ParseNormalizedNamed(o.Attrs["ref"]); err != nil {
			return CacheOption{}, fmt.Errorf("%s %q: ref %q: %v", flag, s, o.Attrs["ref"], err)
		}
	case "local":
		key := "src"
		if export {
			key = "dest"
		}
		if err := need(key); err != nil {
			return CacheOption{}, err
		}
	case "gha":
		if err := o.githubEnv(); err != nil {
			return CacheOption{}, fmt.Errorf("%s %q: %w", flag, s, err)
		}
	case "s3":
		if err := need("bucket", "region"); err != nil {
			return CacheOption{}, err
		}
	case "azblob":
		if err := need("account_url"); err != nil {
			return CacheOption{}, err
		}
	default:
		return CacheOption{}, fmt.Errorf("%s %q: unknown type %q (one of %s)", flag, s, o.Type, strings.Join(cacheTypes, ", "))
	}
	if m, ok := o.Attrs["mode"]; ok {
		if !export {
			return CacheOption{}, fmt.Errorf("%s %q: mode= is an export's (--cache-to)", flag, s)
		}
		if m != "min" && m != "max" {
			return CacheOption{}, fmt.Errorf("%s %q: mode=%s: want min or max", flag, s, m)
		}
	}
	if _, ok := o.Attrs["compression"]; export && !ok && slices.Contains(zstdCaches, o.Type) {
		o.Attrs["compression"] = "zstd"
	}
	return o, nil
}

// zstdCaches are the exporters that take compression=, which gantry
// sets to zstd when the option does not (BuildKit's default is gzip): on
// bench/buildkit-shared.sh's pipeline, exporting took 3.8 s with gzip and
// 2.9 s with zstd, and a fresh engine's import 0.57 s against 0.52 s.
// Every BuildKit since v0.10 reads zstd layers. compression=gzip keeps
// gzip.
var zstdCaches = []string{"registry", "local", "s3"}

// githubEnv fills a gha cache's url and token from the environment, as
// buildctl does.
func (o *CacheOption) githubEnv() error {
	version := o.Attrs["version"]
	if version == "" {
		if b, err := strconv.ParseBool(os.Getenv("ACTIONS_CACHE_SERVICE_V2")); err == nil && b {
			version = "2"
		}
	}
	if _, ok := o.Attrs["url_v2"]; !ok && version == "2" {
		if v := os.Getenv("ACTIONS_RESULTS_URL"); v != "" {
			o.Attrs["url_v2"] = v
		}
	}
	if _, ok := o.Attrs["url"]; !ok {
		if v := cmp.Or(os.Getenv("ACTIONS_CACHE_URL"), os.Getenv("ACTIONS_RESULTS_URL")); v != "" {
			o.Attrs["url"] = v
		}
	}
	if o.Attrs["url"] == "" && o.Attrs["url_v2"] == "" {
		return fmt.Errorf("type=gha needs url= or $ACTIONS_RESULTS_URL ($ACTIONS_CACHE_URL), which GitHub gives actions, not run: steps (gantry emit --fan-out passes them on)")
	}
	if o.Attrs["token"] == "" {
		v := os.Getenv("ACTIONS_RUNTIME_TOKEN")
		if v == "" {
			return fmt.Errorf("type=gha needs token= or $ACTIONS_RUNTIME_TOKEN, which GitHub gives actions, not run: steps (gantry emit --fan-out passes it on)")
		}
		o.Attrs["token"] = v
	}
	return nil
}

// Secrets are the option's secret credentials, for the run's masker: a
// daemon's error may quote what it was given. Not the access key's id,
// which AWS does not hold secret and errors name (String still hides it).
func (o CacheOption) Secrets() []string {
	var out []string
	for _, k := range maskedAttrs {
		if v := o.Attrs[k]; v != "" {
			out = append(out, v)
		}
	}
	return out
}

// importVertexPrefix starts the name BuildKit gives a cache import's
// vertex; one that ends with an error imported nothing.
const importVertexPrefix = "importing cache manifest from "

// briefError is a daemon's error in one line: the cloud SDKs' errors run
// over many, framed by rules of dashes and followed by the response body.
func briefError(msg string) string {
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "<") {
			break
		}
		if l == "" || strings.Trim(l, "-") == "" {
			continue
		}
		parts = append(parts, l)
	}
	return strings.Join(parts, "; ")
}

// maskedAttrs are the attributes of a cache option that hold secret
// credentials; secretAttrs those String leaves out, the key's id too.
var (
	maskedAttrs = []string{"token", "ghtoken", "secret_access_key", "session_token"}
	secretAttrs = append(slices.Clone(maskedAttrs), "access_key_id")
)

// String writes the option as it is read, credentials left out.
func (o CacheOption) String() string {
	parts := []string{"type=" + o.Type}
	keys := make([]string, 0, len(o.Attrs))
	for k := range o.Attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := o.Attrs[k]
		if slices.Contains(secretAttrs, k) {
			v = "***"
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

// nodeCacheKey names a node's own entry in a shared cache: each node is
// solved in a session of its own and exports one cache manifest, which
// would replace another node's under the same name. It is the node's id,
// made a tag's characters, and a hash of the id and the file that
// defined it (two pipelines may each have a job "build"): the same on
// every machine and in every run, so that a run elsewhere finds it.
func nodeCacheKey(n *dag.Node) string {
	id := []byte(n.ID)
	for i, c := range id {
		if !(c == '_' || c == '.' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			id[i] = '-'
		}
	}
	s := strings.Trim(string(id), ".-")
	if len(s) > 60 {
		s = s[:60]
	}
	h := shortHash(n.Pos.File + "\x00" + n.ID)
	if s == "" {
		return "node-" + h
	}
	return s + "-" + h
}

// forNode is the option for one node's entry (see nodeCacheKey): a
// registry ref's tag, a local layout's tag, a gha scope, an s3 or azblob
// manifest name, each suffixed with the node's key.
func (o CacheOption) forNode(key string) CacheOption {
	out := CacheOption{Type: o.Type, Attrs: map[string]string{}}
	for k, v := range o.Attrs {
		out.Attrs[k] = v
	}
	suffix := func(base, def string) string {
		if base == "" {
			base = def
		}
		if base == "" {
			return key
		}
		s := base + "-" + key
		if len(s) > 128 {
			s = s[len(s)-128:]
		}
		return s
	}
	switch o.Type {
	case "registry":
		named, err := reference.ParseNormalizedNamed(o.Attrs["ref"])
		if err != nil {
			break
		}
		tag := ""
		if t, ok := named.(reference.Tagged); ok {
			tag = t.Tag()
		}
		out.Attrs["ref"] = reference.TrimNamed(named).String() + ":" + suffix(tag, "")
	case "local":
		out.Attrs["tag"] = suffix(o.Attrs["tag"], "")
	case "gha":
		out.Attrs["scope"] = suffix(o.Attrs["scope"], "buildkit")
	case "s3", "azblob":
		var names []string
		for _, n := range strings.Split(o.Attrs["name"], ";") {
			names = append(names, suffix(n, "buildkit"))
		}
		out.Attrs["name"] = strings.Join(names, ";")
	}
	return out
}

// nodeCaches are the cache imports and exports of one node's session.
type nodeCaches struct {
	node             string // the node's id, for its notices
	imports, exports []client.CacheOptionsEntry
	// solve are the imports each solve in the session names (the
	// daemon reads a gateway solve's own, not the session's).
	solve []gateway.CacheOptionsEntry
}

// cachesFor are the node's cache imports and exports (nil: none). A local
// import with no entry for the node yet (a first run) is left out, as
// the client would leave it out with a warning, and named in skipped.
func (e *Executor) cachesFor(n *dag.Node) (caches *nodeCaches, skipped []string) {
	if len(e.opts.CacheImports) == 0 && len(e.opts.CacheExports) == 0 {
		return nil, nil
	}
	key := nodeCacheKey(n)
	c := &nodeCaches{node: n.ID}
	for _, o := range e.opts.CacheImports {
		o = o.forNode(key)
		if o.Type == "local" && o.Attrs["digest"] == "" {
			desc, err := ociindex.NewStoreIndex(o.Attrs["src"]).Get(o.Attrs["tag"])
			if err != nil || desc == nil {
				skipped = append(skipped, o.String())
				continue
			}
			o.Attrs["digest"] = desc.Digest.String()
		}
		c.imports = append(c.imports, client.CacheOptionsEntry{Type: o.Type, Attrs: o.Attrs})
		c.solve = append(c.solve, gateway.CacheOptionsEntry{Type: o.Type, Attrs: o.Attrs})
	}
	if !e.exportsOff.Load() {
		for _, o := range e.opts.CacheExports {
			o = o.forNode(key)
			c.exports = append(c.exports, client.CacheOptionsEntry{Type: o.Type, Attrs: o.Attrs})
		}
	}
	if len(c.imports) == 0 && len(c.exports) == 0 {
		return nil, skipped
	}
	// The client writes the manifest of the last exporter's response into
	// a local export's index.json (BuildKit v0.34.2 merges the exporters'
	// responses into one map): the local export goes last, and there is
	// only one (checkCaches).
	slices.SortStableFunc(c.exports, func(a, b client.CacheOptionsEntry) int {
		return cmp.Compare(boolInt(a.Type == "local"), boolInt(b.Type == "local"))
	})
	return c, skipped
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkCaches refuses what BuildKit's client cannot export in one solve:
// two local exports (see cachesFor).
func checkCaches(exports []CacheOption) error {
	n := 0
	for _, o := range exports {
		if o.Type == "local" {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("--cache-to: one type=local export at a time (BuildKit's client updates one local index per solve)")
	}
	return nil
}

// exporting reports whether the session exports a cache.
func (c *nodeCaches) exporting() bool { return c != nil && len(c.exports) > 0 }

// exportsLocal reports whether one of the exports is a type=local
// directory.
func (c *nodeCaches) exportsLocal() bool {
	return c != nil && slices.ContainsFunc(c.exports, func(e client.CacheOptionsEntry) bool { return e.Type == "local" })
}

// describe lists the exports for messages, credentials left out.
// withoutExports is c with its imports alone (nil when it has none).
func (c *nodeCaches) withoutExports() *nodeCaches {
	if c == nil || len(c.imports) == 0 {
		return nil
	}
	out := *c
	out.exports = nil
	return &out
}

func (c *nodeCaches) describe() string {
	var out []string
	for _, e := range c.exports {
		out = append(out, CacheOption{Type: e.Type, Attrs: e.Attrs}.String())
	}
	return strings.Join(out, "; ")
}

// sharedSteps are what a node's cache export takes: its steps from the
// first, as long as each may be shared with other engines, and the
// layers after the last of them. A step given a secret (in its
// environment or a state file), one that failed, one that ran afresh
// with a nonce, one that ran beside a background step, or one whose
// output masked a value ends them: what it left (files, output) may hold
// the secret, a failure must be run again rather than replayed elsewhere,
// and the others have keys no other engine makes. Everything after such a
// step builds on what it left, so it is not shared either.
type sharedSteps struct {
	mu     sync.Mutex
	closed string // why sharing ended, at which step
	refs   []gateway.Reference
	after  layers
	steps  int
}

// add notes step n: shared when why is "", else the end of sharing.
func (s *sharedSteps) add(n int, name, why string, refs []gateway.Reference, after layers) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != "" {
		return
	}
	if why != "" {
		s.closed = fmt.Sprintf("%s and what follows it: %s", name, why)
		return
	}
	s.refs = append(s.refs, refs...)
	s.after = after
	s.steps++
}

// also adds ref, made from the layers after commit gen, to what is
// shared, when the steps that made those layers are all shared (nothing
// was committed since the last of them).
func (s *sharedSteps) also(gen int, ref gateway.Reference) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == "" && s.steps > 0 && s.after.gen == gen {
		s.refs = append(s.refs, ref)
	}
}

// exportCache ends the session's build with the shared steps as its
// result, so that BuildKit exports their cache to the node's entries in
// the --cache-to backends; what goes wrong is reported, and fails
// nothing: the run's results stand, only unshared.
func (w *workspace) exportCache(ctx context.Context) {
	if !w.remote.exporting() || ctx.Err() != nil {
		return
	}
	w.sharing.mu.Lock()
	refs, after, steps, closed := slices.Clone(w.sharing.refs), w.sharing.after, w.sharing.steps, w.sharing.closed
	w.sharing.mu.Unlock()
	if closed != "" {
		w.e.notice(w.node.ID, "cache: not exported from %s", closed)
	}
	if steps == 0 {
		return
	}
	res := gateway.NewResult()
	for i, r := range refs {
		res.AddRef(fmt.Sprintf("step-%d", i), r)
	}
	for name, st := range map[string]llb.State{"root": after.root, "files": after.files, "home": after.home} {
		if st.Output() == nil {
			continue
		}
		r, err := w.solve(ctx, st)
		if err != nil {
			w.e.notice(w.node.ID, "cache: not exported: %v", err)
			return
		}
		res.AddRef(name, r)
	}
	// A result of several refs must say which platform each is; the
	// cache exporter takes them all, whatever they say.
	var ps exptypes.Platforms
	for k := range res.Refs {
		ps.Platforms = append(ps.Platforms, exptypes.Platform{ID: k, Platform: ocispecs.Platform{OS: "linux", Architecture: runtime.GOARCH}})
	}
	dt, err := json.Marshal(ps)
	if err != nil {
		return
	}
	res.AddMeta(exptypes.ExporterPlatformsKey, dt)
	if w.remote.exportsLocal() {
		w.e.localExport.Lock()
		defer w.e.localExport.Unlock()
	}
	start := time.Now()
	w.result <- res
	select {
	case <-w.done:
	case <-ctx.Done():
		return
	}
	if w.buildErr != nil {
		w.e.notice(w.node.ID, "cache: exporting to %s failed: %v", w.remote.describe(), w.buildErr)
		w.buildErr = nil
		return
	}
	what := "the first step"
	if steps > 1 {
		what = fmt.Sprintf("the first %d steps", steps)
	}
	w.e.notice(w.node.ID, "cache: %s exported to %s in %s", what, w.remote.describe(), time.Since(start).Round(time.Millisecond))
}

// maskWatch sees whether a step's output masks a value (::add-mask::),
// across writes.
type maskWatch struct {
	mu   sync.Mutex
	tail []byte
	hit  bool
}

const maskCommand = "::add-mask::"

func (m *maskWatch) watch(w io.Writer) io.Writer {
	if w == nil {
		return nil
	}
	return maskWriter{m: m, w: w}
}

func (m *maskWatch) seen() bool {
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hit
}

type maskWriter struct {
	m *maskWatch
	w io.Writer
}

func (mw maskWriter) Write(p []byte) (int, error) {
	m := mw.m
	m.mu.Lock()
	buf := append(m.tail, p...)
	if bytes.Contains(buf, []byte(maskCommand)) {
		m.hit = true
	}
	if n := len(maskCommand) - 1; len(buf) > n {
		buf = buf[len(buf)-n:]
	}
	m.tail = append([]byte(nil), buf...)
	m.mu.Unlock()
	return mw.w.Write(p)
}
