package runner

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
)

// A step's environment and the env context of its expressions are built
// here and nowhere else, in GitHub's documented order: the pipeline's env,
// the node's, what earlier steps wrote to GITHUB_ENV, the step's own. Each
// layer's ${{ }} is evaluated against the layers before it (where the DAG
// says values hold expressions), and each layer's $VAR expanded from them
// (where the DAG asks for GitLab's expansion). Under all of them lie the
// host's allowlisted variables (or the image's), --env-file's and the
// predefined ones; over them the step protocol's files.

// hostAllowlist are the host variables steps see; nothing else of the
// developer's environment (where credentials live) reaches them.
var hostAllowlist = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "TMPDIR", "TERM", "SHELL", "TZ"}

// hostEnv reads the allowlisted host variables; Run reads them once.
func hostEnv(extra []string) map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if slices.Contains(hostAllowlist, k) || strings.HasPrefix(k, "LC_") || slices.Contains(extra, k) {
			out[k] = v
		}
	}
	return out
}

// volatileVars are the variables whose values change on every run (a
// traced run's TRACEPARENT on every step).
var volatileVars = []string{"GITHUB_RUN_ID", "CI_PIPELINE_ID", "CI_JOB_ID", "TRACEPARENT", "TRACESTATE"}

// contexts are the expression contexts of a node other than env, and the
// directory hashFiles reads.
type contexts struct {
	values map[string]expr.Value
	// github are the github context's fields, which a step's action changes.
	github map[string]expr.Value
	// hashDir is the workspace on the host, or else the source, which a
	// workspace elsewhere (in a container) starts as.
	hashDir string
}

// contexts are a node's expression contexts before its steps run:
// workspace is its workspace as steps see it, hostDir the same on the host
// ("" when it is not on the host).
func (r *run) contexts(n *dag.Node, needs map[string]any, workspace, hostDir string) contexts {
	secrets := map[string]string{}
	for _, name := range n.Secrets {
		if v, ok := r.opts.Secrets[name]; ok {
			secrets[name] = v
		}
	}
	for name, v := range r.opts.Secrets {
		secrets[name] = v
	}
	inputs := r.inputs()
	matrix := map[string]any{}
	for k, v := range n.Matrix {
		matrix[k] = v
	}
	if needs == nil {
		needs = map[string]any{}
	}
	job := n.ID
	if n.Strategy != nil && n.Strategy.Group != "" {
		job = n.Strategy.Group
	}
	github := githubContext(r.opts.Event, r.runID, workspace, job, r.p.Name)
	// github.token is the GITHUB_TOKEN secret when the run has one (an
	// emitted trigger passes GitHub's), as on GitHub.
	if tok, ok := r.opts.Secrets["GITHUB_TOKEN"]; ok {
		github["token"] = expr.String(tok)
	}
	return contexts{
		github: github,
		values: map[string]expr.Value{
			"github":   expr.Object(github),
			"vars":     stringsValue(r.opts.Vars),
			"secrets":  stringsValue(secrets),
			"needs":    expr.FromGo(needs),
			"steps":    expr.FromGo(map[string]any{}),
			"matrix":   expr.FromGo(matrix),
			"inputs":   expr.FromGo(inputs),
			"strategy": expr.FromGo(map[string]any{"fail-fast": true, "job-index": 0, "job-total": 1}),
			"runner":   expr.FromGo(map[string]any{"os": runnerOS(), "arch": runnerArch(), "temp": os.TempDir(), "tool_cache": os.TempDir()}),
			"job":      expr.FromGo(map[string]any{"status": "success"}),
		},
		hashDir: cmp.Or(hostDir, r.opts.Source),
	}
}

// inputs is the inputs context of a manual or called run, as GitHub types
// it: the given inputs, the trigger's defaults for those not given, and
// boolean and number inputs as booleans and numbers, not strings (so
// toJSON(inputs.n) is 1, not "1").
func (r *run) inputs() map[string]any {
	out := map[string]any{}
	var spec map[string]*dag.Input
	for _, t := range r.p.Triggers {
		if len(t.Inputs) > 0 && (t.Event == r.opts.Event.Name || spec == nil) {
			spec = t.Inputs
		}
	}
	for name, in := range spec {
		if in != nil && in.Default != nil {
			out[name] = in.Default
		}
	}
	for k, v := range r.opts.Event.Inputs {
		out[k] = v
	}
	for name, v := range out {
		in := spec[name]
		s, isString := v.(string)
		if in == nil || !isString {
			continue
		}
		switch in.Type {
		case "boolean":
			if b, err := strconv.ParseBool(s); err == nil {
				out[name] = b
			}
		case "number":
			if n, err := strconv.ParseFloat(s, 64); err == nil {
				out[name] = n
			}
		}
	}
	return out
}

// jobContext is the job context of a node's steps: its status, and its
// services' ports where the workspace has services.
func jobContext(ws Workspace) expr.Value {
	job := map[string]any{"status": "success"}
	if sp, ok := ws.(ServicePorts); ok {
		services := map[string]any{}
		for name, ports := range sp.ServicePorts() {
			services[name] = map[string]any{"ports": ports}
		}
		if len(services) > 0 {
			job["services"] = services
		}
	}
	return expr.FromGo(job)
}

// with is c with one context replaced.
func (c contexts) with(name string, v expr.Value) contexts {
	c.values = maps.Clone(c.values)
	c.values[name] = v
	return c
}

// exprEnv is an expression environment over c, with env as the env
// context.
func (c contexts) exprEnv(env map[string]string) *expr.Env {
	values := make(map[string]expr.Value, len(c.values)+1)
	maps.Copy(values, c.values)
	values["env"] = stringsValue(env)
	return &expr.Env{Contexts: values, HashFiles: expr.HashFilesIn(c.hashDir)}
}

// nodeExprEnv is the environment of a node's own expressions (if,
// outputs, matrix-from), evaluated before or after its steps.
func (r *run) nodeExprEnv(n *dag.Node, needs map[string]any) (*expr.Env, error) {
	if needs == nil {
		_, needs = r.needsStatus(n)
	}
	c := r.contexts(n, needs, "", "")
	b := r.p.Behavior(n)
	env, err := r.nodeEnv(n, b, c, r.predefined(n, b, ""))
	if err != nil {
		return nil, err
	}
	return c.exprEnv(env), nil
}

// predefined are the variables the DAG's predefined set gives a node's
// steps.
func (r *run) predefined(n *dag.Node, b dag.Behavior, workspace string) map[string]string {
	if b.Predefined == dag.PredefinedGitLab {
		env := gitlabEnv(r.opts.Event, r.runID, workspace)
		env["CI_JOB_NAME"] = n.Label()
		env["CI_JOB_STAGE"] = n.Stage
		return env
	}
	return githubEnv(r.opts.Event, r.runID, workspace, n.ID, r.p.Name)
}

// localRun says whether gantry runs outside a real CI job. Workflows tell
// a local run by GANTRY, and by ACT, the convention of the best-known local
// runner (if: ${{ !env.ACT }} skips deploys); not ACT inside a real CI
// job, where the workflow is not local.
var localRun = sync.OnceValue(func() bool {
	return os.Getenv("GITHUB_ACTIONS") != "true" && os.Getenv("GITLAB_CI") != "true"
})

// protected reports whether a predefined variable is one a workflow cannot
// change: GitHub's GITHUB_* and RUNNER_* ("You can't overwrite the value of
// the default environment variables named GITHUB_* and RUNNER_*"). GitLab's
// predefined variables are variables like any other.
func protected(b dag.Behavior, name string) bool {
	return b.Predefined == dag.PredefinedGitHub && (strings.HasPrefix(name, "GITHUB_") || strings.HasPrefix(name, "RUNNER_"))
}

// nodeEnv is the env context of a node's steps before any step ran: the
// pipeline's and node's env, each layer evaluated against those before it,
// over GANTRY and ACT, GitLab's predefined variables (GitHub's are not in
// the env context, as on GitHub) and the run's variables and secrets where
// the DAG exports them.
func (r *run) nodeEnv(n *dag.Node, b dag.Behavior, c contexts, predefined map[string]string) (map[string]string, error) {
	env := map[string]string{"GANTRY": "true"}
	if localRun() {
		env["ACT"] = "true"
	}
	if b.Predefined == dag.PredefinedGitLab {
		maps.Copy(env, predefined)
	}
	if b.ExportVars {
		maps.Copy(env, r.opts.Vars)
		maps.Copy(env, r.opts.Secrets)
	}
	var err error
	if env, err = addLayer(env, r.inheritedEnv(n), b, c, n.Pos); err != nil {
		return nil, err
	}
	// env: ${{ ... }} as a whole, then the node's own entries.
	from, err := envFrom(n.EnvFrom, n.Pos, c.exprEnv(env))
	if err != nil {
		return nil, fmt.Errorf("env-from: %w", err)
	}
	env = mergeMaps(env, from)
	return addLayer(env, n.Env, b, c, n.Pos)
}

// addLayer adds one layer of variables to env, evaluating its ${{ }} and
// expanding its $VAR as the DAG says, against env.
func addLayer(env, layer map[string]string, b dag.Behavior, c contexts, pos dag.SourcePos) (map[string]string, error) {
	if len(layer) == 0 {
		return env, nil
	}
	if b.Expressions {
		ee := c.exprEnv(env)
		evaluated := make(map[string]string, len(layer))
		for k, v := range layer {
			iv, err := expr.Interpolate(v, pos.Pos, ee)
			if err != nil {
				return nil, err
			}
			evaluated[k] = iv
		}
		layer = evaluated
	}
	if b.ExpandVariables {
		return expandVars(env, layer), nil
	}
	return mergeMaps(env, layer), nil
}

// inheritedEnv is the pipeline's env a node gets: all of it (with what the
// matching workflow rule sets), or the names its inherit-env lists.
func (r *run) inheritedEnv(n *dag.Node) map[string]string {
	all := r.p.Env
	if r.plan != nil && len(r.plan.Env) > 0 {
		all = mergeMaps(r.p.Env, r.plan.Env)
	}
	if n.InheritEnv == nil {
		return all
	}
	out := map[string]string{}
	for _, k := range *n.InheritEnv {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}

// environ is a step's environment, its expression environment (the env
// context being everything up to and with the step's own env), and its
// protocol directory.
func (j *job) environ(s *dag.Step, index int) (*stepEnv, error) {
	hostDir, seen := j.stepDir(index)
	j.mu.Lock()
	vars := mergeMaps(j.nodeEnv, j.exported)
	paths := slices.Clone(j.paths)
	c := j.contexts
	if len(j.steps) > 0 {
		c = c.with("steps", expr.FromGo(j.steps))
	}
	j.mu.Unlock()
	if j.behavior.Predefined == dag.PredefinedGitHub {
		repo, ref := actionRef(s.Uses)
		c = c.with("github", withAction(c.github, j.actionNames[index], repo, ref))
	}
	from, err := envFrom(s.EnvFrom, s.Pos, c.exprEnv(vars))
	if err != nil {
		return nil, fmt.Errorf("env-from: %w", err)
	}
	vars = mergeMaps(vars, from)
	if vars, err = addLayer(vars, s.Env, dag.Behavior{Expressions: j.behavior.Expressions}, c, s.Pos); err != nil {
		return nil, err
	}
	ee := c.exprEnv(vars)

	host := j.r.host
	if ie, ok := j.ws.(ImageEnv); ok {
		// In a container, the image's variables stand where the host's
		// would.
		host = map[string]string{}
		for _, kv := range ie.ImageEnv() {
			k, v, _ := strings.Cut(kv, "=")
			host[k] = v
		}
	}
	if h, ok := j.ws.(JobHome); ok {
		host = mergeMaps(host, h.SharedCaches())
		host["HOME"] = h.HomeDir()
	}
	all := mergeMaps(host, j.r.opts.ExtraEnv, j.predefined, vars)
	for k, v := range j.predefined {
		if protected(j.behavior, k) {
			all[k] = v
		}
	}
	maps.Copy(all, j.actionVars(s, index))
	for v, f := range protocolFiles {
		all[v] = filepath.Join(seen, f)
	}
	all["RUNNER_TEMP"] = filepath.Join(j.ws.StateDir(), "tmp")
	if tc := j.toolCacheDir(); tc != "" {
		all["RUNNER_TOOL_CACHE"] = tc
	}
	if len(paths) > 0 {
		all["PATH"] = strings.Join(append(paths, all["PATH"]), string(os.PathListSeparator))
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+all[k])
	}
	return &stepEnv{vars: out, env: vars, expr: ee, dir: hostDir}, nil
}

// expandVars adds vars to base with $VAR and ${VAR} in their values
// expanded from base and the vars before them, as GitLab does.
func expandVars(base, vars map[string]string) map[string]string {
	out := mergeMaps(base)
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = expandDollar(vars[k], func(name string) string { return out[name] })
	}
	return out
}

// expandDollar expands $VAR and ${VAR}; $$ stands for a literal $.
func expandDollar(s string, get func(string) string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch c := s[i+1]; {
		case c == '$':
			b.WriteByte('$')
			i++
		case c == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				b.WriteByte('$')
				continue
			}
			b.WriteString(get(s[i+2 : i+end]))
			i += end
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			b.WriteString(get(s[i+1 : j]))
			i = j - 1
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func stringsValue(m map[string]string) expr.Value {
	out := make(map[string]expr.Value, len(m))
	for k, v := range m {
		out[k] = expr.String(v)
	}
	return expr.Object(out)
}

func mergeMaps(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}
