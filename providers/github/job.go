package github

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/expr"
	"github.com/gantry-ci/gantry/internal/cmdline"
)

// expandedJob is a job with its node ids fixed, before needs are wired.
type expandedJob struct {
	job *actionlint.Job
	id  string // the job's node id, or the prefix of its matrix nodes
	// combos are the matrix combinations; one nil entry for a plain job.
	combos  []*combo
	runtime string // a matrix known only at run time
	ids     []string
	// ok is false when the job could not be translated (and was reported).
	ok bool
}

// exitIDs are the nodes that jobs needing this one wait for.
func (e *expandedJob) exitIDs() []string { return e.ids }

func (t *translator) expand(j *actionlint.Job, scope jobScope) *expandedJob {
	e := &expandedJob{job: j, id: scope.prefix + dag.SanitizeID(str(j.ID)), ok: true}
	if j.Strategy != nil && j.Strategy.Matrix != nil {
		res, ok := t.expandMatrix(j.Strategy.Matrix)
		if !ok {
			e.ok = false
			e.ids = []string{e.id}
			return e
		}
		e.combos, e.runtime = res.combos, res.runtime
	}
	if e.runtime != "" || e.combos == nil {
		e.ids = []string{e.id}
		e.combos = []*combo{nil}
		return e
	}
	// Ids from values are readable but may collide ("1 2" and "1-2"); a
	// later duplicate gets the first free -N suffix.
	natural := make([]string, len(e.combos))
	taken := map[string]bool{}
	for i, c := range e.combos {
		natural[i] = e.id + "." + c.idSuffix()
		taken[natural[i]] = true
	}
	used := map[string]bool{}
	for _, id := range natural {
		if used[id] {
			n := 2
			for taken[fmt.Sprintf("%s-%d", id, n)] {
				n++
			}
			id = fmt.Sprintf("%s-%d", id, n)
			taken[id] = true
		}
		used[id] = true
		e.ids = append(e.ids, id)
	}
	return e
}

// jobNodes makes the nodes of one job: one per matrix combination.
func (t *translator) jobNodes(w *actionlint.Workflow, j *actionlint.Job, e *expandedJob, needs []string, scope jobScope) []*dag.Node {
	if !e.ok {
		return nil
	}
	if j.WorkflowCall != nil {
		return t.callNodes(w, j, e, needs, scope)
	}
	var nodes []*dag.Node
	for i, c := range e.combos {
		n := t.jobNode(w, j, c, needs, scope)
		n.ID = e.ids[i]
		if e.runtime != "" {
			n.MatrixFrom = e.runtime
		}
		if c != nil {
			n.Matrix = c.values
			// GitHub adds the values to a name that does not show them itself.
			if label := c.label(); label != "" && (j.Name == nil || !strings.Contains(j.Name.Value, "matrix")) {
				n.Name = fmt.Sprintf("%s (%s)", n.Name, label)
			}
		}
		if e.runtime != "" || c != nil {
			n.Strategy = t.strategy(j, scope)
		}
		nodes = append(nodes, n)
	}
	return nodes
}

func (t *translator) strategy(j *actionlint.Job, scope jobScope) *dag.Strategy {
	s := &dag.Strategy{Group: scope.prefix + dag.SanitizeID(str(j.ID))}
	if j.Strategy == nil {
		return s
	}
	if j.Strategy.FailFast != nil {
		// Run-time expressions (needs, inputs, vars) stay for the runner,
		// which evaluates them when the matrix starts.
		ff := t.flag(j.Strategy.FailFast, nil, "fail-fast")
		s.FailFast = &ff
	}
	if mp := j.Strategy.MaxParallel; mp != nil {
		if mp.Expression == nil {
			s.MaxParallel = dag.CountOf(mp.Value)
			return s
		}
		if v, static, ok := t.staticValue(mp.Expression); ok && static {
			if f, isNum := v.(float64); isNum {
				s.MaxParallel = dag.CountOf(int(f))
				return s
			}
		}
		if e := strings.TrimSpace(t.resolve(mp.Expression, nil)); expr.HasExpr(e) {
			s.MaxParallel = dag.Count{Expr: e}
		}
	}
	return s
}

func (t *translator) jobNode(w *actionlint.Workflow, j *actionlint.Job, c *combo, needs []string, scope jobScope) *dag.Node {
	n := &dag.Node{
		Name:  t.resolve(j.Name, c),
		Needs: slices.Compact(slices.Sorted(slices.Values(needs))),
		If:    t.cond(j.If, stepScope{}),
		Pos:   t.srcPos(j.Pos),
	}
	if n.Name == "" {
		n.Name = str(j.ID)
	}
	n.Env = mergeEnv(scope.env, t.env(j.Env, c))
	env, from := t.envFrom(j.Env, c, stepScope{})
	n.Env = mergeEnv(n.Env, env)
	n.EnvFrom = t.nodeEnvFrom(j, scope, from)
	n.Platform = t.platform(j.RunsOn, c)
	n.Timeout = t.minutes(j.TimeoutMinutes, c)
	n.AllowFailure = t.flag(j.ContinueOnError, c, "continue-on-error")
	n.Permissions = permissions(j.Permissions)
	n.Concurrency = t.concurrency(j.Concurrency, c)
	if j.Environment != nil {
		n.Environment = t.environment(j.Environment, c)
	}
	if j.Container != nil {
		n.Image, n.Container = t.container(j.Container, c, "jobs", str(j.ID), "container")
	}
	n.Services = t.services(j.Services, c, str(j.ID))
	t.serviceExtras(n.Services, j, c)
	if len(j.Outputs) > 0 {
		n.Outputs = map[string]string{}
		for _, o := range j.Outputs {
			n.Outputs[o.Name.Value] = t.resolve(o.Value, c)
		}
	}
	if sn := j.Snapshot; sn != nil && sn.ImageName != nil {
		// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idsnapshot
		n.Snapshot = &dag.Snapshot{ImageName: t.resolve(sn.ImageName, c), Version: t.resolve(sn.Version, c), If: t.cond(sn.If, stepScope{})}
		t.warnf(sn.ImageName.Pos, "caveat", "snapshot %q (a custom runner image made from this job's runner) is recorded in the DAG; a local run makes no image", sn.ImageName.Value).
			Hint = "GitHub makes the image when the job runs there"
	}
	defaults := mergeDefaults(scope.defaults, j.Defaults)
	n.Steps = t.jobSteps(j, c, defaults)
	if len(j.Steps) == 0 {
		t.errorf(j.Pos, "job-steps", "job %q has no steps", str(j.ID))
	}
	n.Secrets = secretsOf(n)
	return n
}

// condition keeps an if: as written; the runner adds GitHub's implicit
// success() when it calls no status function.
func (t *translator) condition(s *actionlint.String) string {
	if s == nil {
		return ""
	}
	v := strings.TrimSpace(s.Value)
	if v == "" {
		return ""
	}
	if strings.HasPrefix(v, "${{") && strings.HasSuffix(v, "}}") && strings.Count(v, "${{") == 1 {
		t.checkTemplate(s, nil)
		return v
	}
	if strings.Contains(v, "${{") {
		// Text around ${{ }}: GitHub reads the whole value as a string
		// template, format('(text {0} ...)', ...), whose value is a
		// non-empty string, so true (actionlint's if-cond finding says so).
		// The status functions in it still count.
		// https://docs.github.com/en/actions/reference/workflows-and-actions/expressions#example-expression-in-an-if-conditional
		if t.checkTemplate(s, nil) == nil {
			return v
		}
		return expr.ArgOf(v).Text
	}
	// if: takes a bare expression (GitHub adds the braces).
	if _, err := expr.ParseAt(s.Value, t.stringPos(s)); err != nil {
		t.diags.Add(diag.AsList(err)...)
	}
	return v
}

// cond is a condition (see condition) with what an inlined composite
// action's or reusable workflow's caller passed put in: inputs.X, its
// secrets, the prefixed ids of the composite's steps. Matrix references
// stay: the runner evaluates conditions with the node's matrix, where a
// missing key is null, as on GitHub. A condition that comes down to a
// caller's literal text is that text as a string (a composite action's
// inputs are strings, so 'false' is true, as on GitHub).
func (t *translator) cond(s *actionlint.String, sc stepScope) string {
	v := t.condition(s)
	if v == "" || t.call == nil && sc.inputs == nil && sc.idPrefix == "" {
		return v
	}
	out := t.text(&actionlint.String{Value: "${{ " + bare(v) + " }}", Pos: s.Pos}, nil, sc)
	if !expr.HasExpr(out) {
		return "'" + strings.ReplaceAll(out, "'", "''") + "'"
	}
	return bare(out)
}

func (t *translator) platform(r *actionlint.Runner, c *combo) string {
	if r == nil {
		return ""
	}
	if r.LabelsExpr != nil {
		return t.resolve(r.LabelsExpr, c)
	}
	var labels []string
	for _, l := range r.Labels {
		labels = append(labels, t.resolve(l, c))
	}
	if r.Group != nil {
		labels = append([]string{"group:" + t.resolve(r.Group, c)}, labels...)
	}
	return strings.Join(labels, ",")
}

// container translates a container: map. at is the path to it in the
// file, for the lists read from the YAML directly (see rawStrings).
func (t *translator) container(ct *actionlint.Container, c *combo, at ...string) (string, *dag.Container) {
	out := &dag.Container{
		Options: t.resolve(ct.Options, c),
		Env:     t.env(ct.Env, c),
	}
	if env, from := t.envFrom(ct.Env, c, stepScope{}); from != "" {
		t.unsupported(ct.Env.Expression.Pos, "a container's env: set from one expression ("+from+")",
			"the DAG's containers and services take their variables by name", "list the variables one by one")
	} else if env != nil {
		out.Env = env
	}
	// actionlint v1.7.12 stores volumes: in Ports, so both lists come from
	// the YAML itself.
	for _, v := range t.rawStrings(append(at, "volumes")...) {
		out.Volumes = append(out.Volumes, t.resolve(v, c))
	}
	for _, p := range t.rawStrings(append(at, "ports")...) {
		out.Ports = append(out.Ports, t.resolve(p, c))
	}
	out.Credentials = t.credentials(ct.Credentials, c)
	image := t.resolve(ct.Image, c)
	if out.Options == "" && out.Env == nil && out.Volumes == nil && out.Ports == nil && out.Credentials == nil {
		out = nil
	}
	return image, out
}

// credentials keep the password as a secret's name. A password written
// into the workflow is reported: gantry carries no secret values.
func (t *translator) credentials(cr *actionlint.Credentials, c *combo) *dag.Credentials {
	if cr == nil {
		return nil
	}
	if cr.Expression != nil {
		t.unsupported(cr.Expression.Pos, "credentials from one expression", "gantry needs the password's secret name when it translates", "write username: and password: ${{ secrets.NAME }}")
		return nil
	}
	out := &dag.Credentials{Username: t.resolve(cr.Username, c)}
	if cr.Password != nil {
		names := map[string]bool{}
		secretNames(cr.Password.Value, names)
		if len(names) == 1 && strings.Count(cr.Password.Value, "${{") == 1 {
			for name := range names {
				out.PasswordSecret = name
			}
		} else {
			t.errorf(cr.Password.Pos, "credentials", "the registry password must be one secret, ${{ secrets.NAME }}").
				Hint = "store the password as a secret; gantry never carries secret values"
		}
	}
	return out
}

func (t *translator) services(s *actionlint.Services, c *combo, jobID string) []dag.Service {
	if s == nil {
		return nil
	}
	if s.Expression != nil {
		t.unsupported(s.Expression.Pos, "services: set from one expression ("+s.Expression.Value+")",
			"the services are known only at run time, and the DAG lists a node's services when it is translated",
			"list the services one by one; each one's image may be an expression, and one that comes out empty is left out")
		return nil
	}
	var out []dag.Service
	for _, svc := range s.Value {
		image, ct := t.container(svc.Container, c, "jobs", jobID, "services", svc.Name.Value)
		ds := dag.Service{Name: svc.Name.Value, Image: image}
		if ct != nil {
			ds.Env, ds.Ports, ds.Options, ds.Credentials = ct.Env, ct.Ports, ct.Options, ct.Credentials
			if len(ct.Volumes) > 0 {
				t.warnf(svc.Container.Pos, "caveat", "volumes of service %q are not mounted by gantry", svc.Name.Value)
			}
		}
		if image == "" {
			// An empty image (from a matrix value) means no service on GitHub.
			continue
		}
		out = append(out, ds)
	}
	slices.SortFunc(out, func(a, b dag.Service) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// nodeEnvFrom is a job's env-from: its own env: ${{ }} (from), or its
// workflow's. The node holds one expression, so a job's env: ${{ }} under
// a workflow's env: ${{ }} is reported. The workflow's literal entries of
// an inlined workflow (scope.env) are node entries, which the runner
// applies after env-from: they would win over the job's expression, where
// on GitHub the job's values win; that is reported as a caveat.
func (t *translator) nodeEnvFrom(j *actionlint.Job, scope jobScope, from string) string {
	if from == "" {
		return scope.envFrom
	}
	if scope.envFrom != "" {
		t.unsupported(j.Env.Expression.Pos, "env: ${{ }} on a job whose workflow's env is ${{ }} too",
			"a node has one env-from expression, and GitHub's expressions cannot merge two objects", "list the job's or the workflow's variables one by one")
		return from
	}
	if len(scope.env) > 0 {
		t.envOrderCaveat(j.Env.Expression.Pos, slices.Sorted(maps.Keys(scope.env)))
	}
	return from
}

// envOrderCaveat reports workflow variables that come after a job's
// env: ${{ }} in gantry but before it on GitHub.
func (t *translator) envOrderCaveat(p *actionlint.Pos, names []string) {
	t.warnf(p, "caveat", "the workflow's variables %s override this job's env: ${{ }} for the same names; on GitHub the job's values win", strings.Join(names, ", ")).
		Hint = "do not set the same names in both"
}

func mergeEnv(base, over map[string]string) map[string]string {
	if len(base) == 0 {
		return over
	}
	out := maps.Clone(base)
	maps.Copy(out, over)
	return out
}

func mergeDefaults(wf, job *actionlint.Defaults) *actionlint.DefaultsRun {
	out := &actionlint.DefaultsRun{}
	for _, d := range []*actionlint.Defaults{wf, job} {
		if d == nil || d.Run == nil {
			continue
		}
		if d.Run.Shell != nil {
			out.Shell = d.Run.Shell
		}
		if d.Run.WorkingDirectory != nil {
			out.WorkingDirectory = d.Run.WorkingDirectory
		}
	}
	return out
}

// secretsOf lists, sorted, the secrets a node's strings refer to.
func secretsOf(n *dag.Node) []string {
	names := map[string]bool{}
	add := func(m map[string]string) {
		for _, v := range m {
			secretNames(v, names)
		}
	}
	add(n.Env)
	add(n.Outputs)
	secretNames(n.If, names)
	secretNames(n.EnvFrom, names)
	if n.Container != nil {
		add(n.Container.Env)
		if n.Container.Credentials != nil && n.Container.Credentials.PasswordSecret != "" {
			names[n.Container.Credentials.PasswordSecret] = true
		}
	}
	for _, s := range n.Services {
		add(s.Env)
		if s.Credentials != nil && s.Credentials.PasswordSecret != "" {
			names[s.Credentials.PasswordSecret] = true
		}
	}
	for _, s := range n.Steps {
		add(s.Env)
		add(s.With)
		secretNames(s.EnvFrom, names)
		secretNames(s.Run, names)
		secretNames(s.If, names)
	}
	for _, v := range n.With {
		if s, ok := v.(string); ok {
			secretNames(s, names)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(names))
}

// rawNode returns the node at a path of mapping keys in the workflow's
// YAML (aliases followed), or nil.
func (t *translator) rawNode(path ...string) *yaml.Node {
	if t.yamlRoot == nil {
		var doc yaml.Node
		if err := yaml.Unmarshal(t.src, &doc); err != nil || len(doc.Content) == 0 {
			return nil
		}
		t.yamlRoot = doc.Content[0]
	}
	n := t.yamlRoot
	for _, key := range path {
		n = resolve(n)
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return resolve(n)
}

// rawStrings returns the scalars of the sequence at a path of mapping keys
// in the workflow's YAML, with their positions, or nil.
func (t *translator) rawStrings(path ...string) []*actionlint.String {
	n := t.rawNode(path...)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []*actionlint.String
	for _, item := range n.Content {
		if item.Kind == yaml.ScalarNode {
			out = append(out, &actionlint.String{
				Value:  item.Value,
				Quoted: item.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0,
				Pos:    &actionlint.Pos{Line: item.Line, Col: item.Column},
			})
		}
	}
	return out
}

// environment translates jobs.<id>.environment. deployment: false (or an
// expression) keeps the environment's secrets and variables without a
// deployment record.
// https://docs.github.com/en/actions/how-tos/write-workflows/choose-what-workflows-do/deploy-to-environment
func (t *translator) environment(e *actionlint.Environment, c *combo) *dag.Environment {
	out := &dag.Environment{Name: t.resolve(e.Name, c), URL: t.resolve(e.URL, c)}
	if d := e.Deployment; d != nil {
		switch {
		case d.Expression != nil:
			v := strings.TrimSpace(t.resolve(d.Expression, c))
			switch strings.ToLower(v) {
			case "true":
			case "false":
				out.Deployment = "false"
			default:
				out.Deployment = v
			}
		case !d.Value:
			out.Deployment = "false"
		}
	}
	return out
}

// serviceExtras puts services' entrypoint and command (GitHub, 2026-04),
// which prepare took out of the text, on the translated services. As for a
// Docker action, entrypoint names one executable and a command string is
// split as GitHub's runner splits the docker command line it pastes it
// into (cmdline.Split); a list is used as it is.
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepswithentrypoint
func (t *translator) serviceExtras(svcs []dag.Service, j *actionlint.Job, c *combo) {
	if t.prep == nil || j.ID == nil {
		return
	}
	extras := t.prep.services[strings.ToLower(j.ID.Value)]
	for i := range svcs {
		x := extras[svcs[i].Name]
		if x == nil {
			continue
		}
		svcs[i].Entrypoint = t.words(x.entrypoint, c, false)
		svcs[i].Command = t.words(x.command, c, true)
	}
}

// words are the items of a list, or its one string, split when split.
func (t *translator) words(w *wordList, c *combo, split bool) []string {
	if w == nil {
		return nil
	}
	var out []string
	for _, n := range w.words {
		s := &actionlint.String{Value: n.Value, Quoted: n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0, Pos: &actionlint.Pos{Line: n.Line, Col: n.Column}}
		v := t.resolve(s, c)
		if w.split && split {
			out = append(out, cmdline.Split(v)...)
			continue
		}
		out = append(out, v)
	}
	return out
}
