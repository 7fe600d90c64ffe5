package runner

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
)

// hostAllowlist are the host variables steps see; nothing else of the
// developer's environment (where credentials live) reaches them.
var hostAllowlist = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "TMPDIR", "TERM", "SHELL", "TZ"}

// hostEnv reads the allowlisted host variables; Run reads them once.
func hostEnv(extra []string) map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if contains(hostAllowlist, k) || strings.HasPrefix(k, "LC_") || contains(extra, k) {
			out[k] = v
		}
	}
	return out
}

// execNode runs a node's steps in a fresh workspace.
func (r *run) execNode(ctx context.Context, n *dag.Node, needs map[string]any) NodeResult {
	res := NodeResult{ID: n.ID, Name: n.Label()}
	fail := func(format string, args ...any) NodeResult {
		res.Status, res.Reason = dag.StatusFailure, fmt.Sprintf(format, args...)
		r.opts.Reporter.Line(n.ID, "gantry", res.Reason)
		return res
	}
	if r.opts.Executor.Name() == "host" && (n.Image != "" || len(n.Services) > 0) {
		if !r.opts.PlatformHost || len(n.Services) > 0 {
			return fail("this job runs in a container (%s); run it with --executor buildkit, or with --platform-host to run it on this machine anyway", cmpStr(n.Image, "services"))
		}
		r.opts.Reporter.Line(n.ID, "gantry", fmt.Sprintf("running on this machine, not in %s (--platform-host)", n.Image))
	}
	if d, _ := n.Timeout.Parse(); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	stateDir := filepath.Join(r.opts.RunDir, "nodes", n.ID)
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return fail("%v", err)
	}
	ws, err := r.opts.Executor.Prepare(ctx, n, WorkspaceSpec{Source: r.opts.Source, StateDir: stateDir})
	if err != nil {
		return fail("preparing the workspace: %v", err)
	}
	// Removing a workspace takes a while; the node is done before that, so
	// it happens in the background and Run waits for it at the end.
	r.releases.Add(1)
	defer func() {
		go func() {
			defer r.releases.Done()
			_ = ws.Release(context.WithoutCancel(ctx))
		}()
	}()
	jobEnv := map[string]string{}
	if err := r.consumeArtifacts(ctx, n, ws, jobEnv); err != nil {
		return fail("artifacts: %v", err)
	}
	saveCaches := r.nodeCaches(ctx, n, ws, r.exprEnv(n, needs, nil, ws.Dir()),
		mergeMaps(r.baseEnv(n, ws.Dir()), r.inheritedEnv(n), n.Env))
	steps := map[string]any{}
	status := expr.StatusSuccess
	var paths []string
	var summary strings.Builder
	var posts []func()
	for i := range n.Steps {
		s := &n.Steps[i]
		sr := r.runStep(ctx, n, s, i, ws, stateDir, needs, steps, status, jobEnv, &paths, &summary, &posts)
		res.Steps = append(res.Steps, sr)
		if s.ID != "" {
			outputs := map[string]any{}
			for k, v := range sr.Outputs {
				outputs[k] = v
			}
			steps[s.ID] = map[string]any{"outputs": outputs, "outcome": outcomeWord(sr.Outcome), "conclusion": outcomeWord(sr.Status)}
		}
		switch sr.Status {
		case dag.StatusFailure:
			status = expr.StatusFailure
		case dag.StatusCancelled:
			if status == expr.StatusSuccess {
				status = expr.StatusCancelled
			}
		}
		if ctx.Err() != nil && status == expr.StatusSuccess {
			status = expr.StatusCancelled
		}
	}
	for i := len(posts) - 1; i >= 0; i-- {
		posts[i]()
	}
	switch {
	case status == expr.StatusFailure:
		res.Status = dag.StatusFailure
		if errCtx := ctx.Err(); errCtx == context.DeadlineExceeded {
			res.Reason = fmt.Sprintf("timed out after %s", n.Timeout)
		} else {
			res.Reason = "a step failed"
			for _, st := range res.Steps {
				if st.Status == dag.StatusFailure {
					res.Reason = fmt.Sprintf("step %q failed", st.Name)
					if st.Duration > 0 && st.ExitCode == 0 {
						res.Reason = fmt.Sprintf("step %q timed out or could not run", st.Name)
					}
					break
				}
			}
		}
	case status == expr.StatusCancelled || ctx.Err() != nil:
		res.Status = dag.StatusCancelled
		if ctx.Err() == context.DeadlineExceeded {
			res.Status, res.Reason = dag.StatusFailure, fmt.Sprintf("timed out after %s", n.Timeout)
		}
	default:
		res.Status = dag.StatusSuccess
	}
	saveCaches(res.Status)
	if err := r.produceArtifacts(ctx, n, ws, res.Status, &res); err != nil {
		r.opts.Reporter.Line(n.ID, "gantry", "artifacts: "+err.Error())
		if res.Status == dag.StatusSuccess {
			res.Status, res.Reason = dag.StatusFailure, "artifacts: "+err.Error()
		}
	}
	res.Outputs = r.nodeOutputs(n, needs, steps)
	res.Summary = r.opts.Masker.Mask(summary.String())
	return res
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func outcomeWord(s dag.Status) string {
	switch s {
	case dag.StatusSuccess, dag.StatusAllowed:
		return "success"
	case dag.StatusFailure:
		return "failure"
	case dag.StatusCancelled:
		return "cancelled"
	}
	return "skipped"
}

// runStep runs one step: its condition, its command or built-in action,
// and the step protocol's files.
func (r *run) runStep(ctx context.Context, n *dag.Node, s *dag.Step, index int, ws Workspace, stateDir string,
	needs, steps map[string]any, status expr.Status, jobEnv map[string]string, paths *[]string, summary *strings.Builder, posts *[]func()) StepResult {
	name := s.Label()
	sr := StepResult{Name: name, Status: dag.StatusSkipped, Outcome: dag.StatusSkipped}
	env := r.exprEnv(n, needs, steps, ws.Dir())
	env.Status = status
	if ctx.Err() != nil {
		env.Status = expr.StatusCancelled
	}
	// The condition, with GitHub's implicit success().
	run := env.Status == expr.StatusSuccess
	if s.If != "" {
		e, err := expr.Parse(s.If, s.Pos.Pos)
		if err != nil {
			r.opts.Reporter.Line(n.ID, "gantry", err.Error())
			sr.Status, sr.Outcome = dag.StatusFailure, dag.StatusFailure
			return sr
		}
		ok, err := e.EvalBool(env)
		if err != nil {
			r.opts.Reporter.Line(n.ID, "gantry", err.Error())
			sr.Status, sr.Outcome = dag.StatusFailure, dag.StatusFailure
			return sr
		}
		run = ok && (expr.UsesStatusFunc(e) || env.Status == expr.StatusSuccess)
	}
	if !run {
		return sr
	}
	sctx := ctx
	if ctx.Err() != nil {
		// always() steps still run after a cancel, with a grace period.
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
	}
	if d, _ := s.Timeout.Parse(); d > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(sctx, d)
		defer cancel()
	}
	r.opts.Reporter.StepStarted(n.ID, name)
	start := time.Now()
	code, outputs, err := r.execStep(sctx, n, s, index, ws, stateDir, env, jobEnv, paths, summary, posts)
	sr.Duration = time.Since(start)
	sr.ExitCode = code
	sr.Outputs = outputs
	switch {
	case ctx.Err() == context.Canceled && sctx == ctx:
		r.opts.Reporter.Line(n.ID, "gantry", name+": cancelled")
		sr.Outcome = dag.StatusCancelled
	case sctx.Err() == context.DeadlineExceeded:
		r.opts.Reporter.Line(n.ID, "gantry", fmt.Sprintf("%s: timed out after %s", name, sr.Duration.Round(time.Millisecond)))
		sr.Outcome = dag.StatusFailure
	case err != nil:
		r.opts.Reporter.Line(n.ID, "gantry", r.opts.Masker.Mask(err.Error()))
		sr.Outcome = dag.StatusFailure
	case code != 0:
		r.opts.Reporter.Line(n.ID, "gantry", fmt.Sprintf("%s: exit code %d", name, code))
		sr.Outcome = dag.StatusFailure
	default:
		sr.Outcome = dag.StatusSuccess
	}
	sr.Status = sr.Outcome
	if sr.Outcome == dag.StatusFailure && s.ContinueOnError {
		sr.Status = dag.StatusSuccess
	}
	r.opts.Reporter.StepFinished(n.ID, name, sr.Status, sr.Duration)
	return sr
}

// stepEnv is a step's whole environment.
func (r *run) stepEnv(n *dag.Node, s *dag.Step, ws Workspace, env *expr.Env, jobEnv map[string]string, paths []string, files map[string]string) ([]string, error) {
	gitlab := providerOf(r.p) == "gitlab"
	interp := func(m map[string]string) (map[string]string, error) {
		out := map[string]string{}
		for k, v := range m {
			if gitlab {
				// GitLab has no ${{ }}: its values are shell text.
				out[k] = v
				continue
			}
			iv, err := expr.Interpolate(v, s.Pos.Pos, env)
			if err != nil {
				return nil, err
			}
			out[k] = iv
		}
		return out, nil
	}
	pipelineEnv, err := interp(r.inheritedEnv(n))
	if err != nil {
		return nil, err
	}
	nodeEnv, err := interp(n.Env)
	if err != nil {
		return nil, err
	}
	ownEnv, err := interp(s.Env)
	if err != nil {
		return nil, err
	}
	host := r.host
	if ie, ok := ws.(ImageEnv); ok {
		// In a container, the image's variables stand where the host's
		// would.
		host = map[string]string{}
		for _, kv := range ie.ImageEnv() {
			k, v, _ := strings.Cut(kv, "=")
			host[k] = v
		}
	}
	base := mergeMaps(host, r.opts.ExtraEnv, r.baseEnv(n, ws.Dir()))
	var all map[string]string
	if gitlab {
		// GitLab expands $VAR in variable values, in definition order:
		// predefined, then pipeline, then job variables; $$ is a literal $.
		all = expandVars(base, pipelineEnv)
		all = expandVars(all, nodeEnv)
		all = mergeMaps(all, jobEnv, ownEnv, files)
	} else {
		all = mergeMaps(base, pipelineEnv, nodeEnv, jobEnv, ownEnv, files)
	}
	if len(paths) > 0 {
		all["PATH"] = strings.Join(append(append([]string(nil), paths...), all["PATH"]), string(os.PathListSeparator))
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
	return out, nil
}

// inheritedEnv is the pipeline's variables a node gets: all of them, or
// what its inherit:variables allows.
func (r *run) inheritedEnv(n *dag.Node) map[string]string {
	all := r.p.Env
	if r.plan != nil && len(r.plan.Env) > 0 {
		all = mergeMaps(r.p.Env, r.plan.Env)
	}
	inh, ok := n.Meta["inherit-variables"]
	if !ok {
		return all
	}
	out := map[string]string{}
	if inh == "false" {
		return out
	}
	for _, k := range strings.Split(inh, ",") {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
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

// volatileVars are the variables whose values change on every run.
var volatileVars = []string{"GITHUB_RUN_ID", "CI_PIPELINE_ID", "CI_JOB_ID"}

// protocolFiles names the step protocol's files: environment variable →
// file name in the step's state directory.
var protocolFiles = map[string]string{"GITHUB_OUTPUT": "output", "GITHUB_ENV": "env", "GITHUB_PATH": "path", "GITHUB_STEP_SUMMARY": "summary", "GITHUB_STATE": "state"}

// execStep runs a step's command or built-in action.
func (r *run) execStep(ctx context.Context, n *dag.Node, s *dag.Step, index int, ws Workspace, stateDir string, env *expr.Env,
	jobEnv map[string]string, paths *[]string, summary *strings.Builder, posts *[]func()) (int, map[string]string, error) {
	// The step protocol's files, fresh for each step. They are not created
	// beforehand: steps append to them (">>" creates a file), and most steps
	// write none, so creating five empty files per step was most of the
	// scheduler's own cost on large pipelines.
	dir := filepath.Join(stateDir, fmt.Sprintf("step-%d", index+1))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 1, nil, err
	}
	files := map[string]string{}
	for v, f := range protocolFiles {
		files[v] = filepath.Join(ws.StateDir(), fmt.Sprintf("step-%d", index+1), f)
	}
	files["RUNNER_TEMP"] = filepath.Join(ws.StateDir(), "tmp")
	_ = os.MkdirAll(filepath.Join(stateDir, "tmp"), 0o755)
	stepEnv, err := r.stepEnv(n, s, ws, env, jobEnv, *paths, files)
	if err != nil {
		return 1, nil, err
	}
	var code int
	outputs := map[string]string{}
	if s.Uses != "" {
		with := map[string]string{}
		for k, v := range s.With {
			iv, err := expr.Interpolate(v, s.Pos.Pos, env)
			if err != nil {
				return 1, nil, err
			}
			with[k] = iv
		}
		code, err = r.builtin(ctx, n, s, ws, with, outputs, posts, stepEnv)
		if err != nil {
			return 1, outputs, err
		}
	} else {
		script := s.Run
		if providerOf(r.p) != "gitlab" {
			var err error
			if script, err = expr.Interpolate(s.Run, s.Pos.Pos, env); err != nil {
				return 1, nil, err
			}
		}
		argv, err := r.shellCommand(n, s, script, dir, ws, index)
		if err != nil {
			return 1, nil, err
		}
		lw := r.lineWriter(n, "stdout")
		ew := r.lineWriter(n, "stderr")
		code, err = ws.Exec(ctx, Command{Argv: argv, Name: s.Label(), Env: stepEnv, Dir: s.WorkingDirectory, Stdout: lw, Stderr: ew,
			Secrets: r.opts.Masker.Values(), Volatile: volatileVars})
		lw.Close()
		ew.Close()
		if err != nil {
			return 1, nil, err
		}
	}
	// What the step wrote to the protocol's files.
	if err := readKeyValues(filepath.Join(dir, "output"), outputs); err != nil {
		return 1, outputs, err
	}
	if err := readKeyValues(filepath.Join(dir, "env"), jobEnv); err != nil {
		return 1, outputs, err
	}
	if data, err := os.ReadFile(filepath.Join(dir, "path")); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				*paths = append([]string{line}, *paths...)
			}
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "summary")); err == nil && len(data) > 0 {
		summary.Write(data)
		if !strings.HasSuffix(string(data), "\n") {
			summary.WriteByte('\n')
		}
	}
	return code, outputs, nil
}

// shellCommand is the argv that runs a script with a step's shell, as
// GitHub's runner runs them: the script is a file, {0} its path.
func (r *run) shellCommand(n *dag.Node, s *dag.Step, script, dir string, ws Workspace, index int) ([]string, error) {
	shell := s.Shell
	gitlab := providerOf(r.p) == "gitlab"
	if gitlab && shell == "" {
		script = gitlabScript(script)
	}
	ext := ".sh"
	var template []string
	switch shell {
	case "", "bash":
		template = []string{"bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"}
		switch {
		case shell != "":
		case ws.HostDir() == "":
			// In a container, as GitHub does: bash when the image has it.
			template = []string{"sh", "-c", `if command -v bash >/dev/null 2>&1; then exec bash --noprofile --norc -eo pipefail "$0"; else exec sh -e "$0"; fi`, "{0}"}
		case !onPath("bash"):
			template = []string{"sh", "-e", "{0}"}
		}
	case "sh":
		template = []string{"sh", "-e", "{0}"}
	case "python":
		template, ext = []string{"python3", "{0}"}, ".py"
	case "pwsh", "powershell":
		template, ext = []string{"pwsh", "-command", ". '{0}'"}, ".ps1"
	default:
		if !strings.Contains(shell, "{0}") {
			return nil, fmt.Errorf("shell %q: gantry runs bash, sh, python, pwsh, or a command with {0} for the script", shell)
		}
		template = strings.Fields(shell)
	}
	host := filepath.Join(dir, "script"+ext)
	if err := os.WriteFile(host, []byte(script), 0o755); err != nil {
		return nil, err
	}
	inStep := filepath.Join(ws.StateDir(), fmt.Sprintf("step-%d", index+1), "script"+ext)
	argv := make([]string, len(template))
	for i, a := range template {
		argv[i] = strings.ReplaceAll(a, "{0}", inStep)
	}
	return argv, nil
}

// gitlabScript runs script lines as the GitLab runner does: each echoed
// with "$ " before it runs, stopping at the first that fails.
func gitlabScript(script string) string {
	var b strings.Builder
	b.WriteString("set -eo pipefail 2>/dev/null || set -e\n")
	for _, line := range strings.Split(script, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		fmt.Fprintf(&b, "printf '%%s\\n' %s\n%s\n", shellQuote("$ "+line), line)
	}
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func onPath(prog string) bool {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if st, err := os.Stat(filepath.Join(dir, prog)); err == nil && !st.IsDir() {
			return true
		}
	}
	return false
}

// readKeyValues reads a GITHUB_OUTPUT/GITHUB_ENV file: KEY=VALUE lines and
// KEY<<DELIMITER blocks.
func readKeyValues(path string, into map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return nil
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if k, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(k, "=") {
			var val []string
			j := i + 1
			for ; j < len(lines) && lines[j] != delim; j++ {
				val = append(val, lines[j])
			}
			if j >= len(lines) {
				return fmt.Errorf("%s: %q has no closing delimiter %q", filepath.Base(path), k, delim)
			}
			into[k] = strings.Join(val, "\n")
			i = j
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("%s: line %d is neither KEY=VALUE nor KEY<<DELIMITER: %q", filepath.Base(path), i+1, line)
		}
		into[k] = v
	}
	return nil
}

// lineWriter turns a step's output into masked lines for the reporter,
// interpreting GitHub's workflow commands.
func (r *run) lineWriter(n *dag.Node, stream string) io.WriteCloser {
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	stop := ""
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if stop != "" {
				if line == "::"+stop+"::" {
					stop = ""
				} else {
					r.opts.Reporter.Line(n.ID, stream, r.opts.Masker.Mask(line))
				}
				continue
			}
			if providerOf(r.p) != "gitlab" && strings.HasPrefix(line, "::") {
				if r.workflowCommand(n, line, &stop) {
					continue
				}
			}
			r.opts.Reporter.Line(n.ID, stream, r.opts.Masker.Mask(line))
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return &pipeCloser{pw: pw, wg: &wg}
}

type pipeCloser struct {
	pw *io.PipeWriter
	wg *sync.WaitGroup
}

func (p *pipeCloser) Write(b []byte) (int, error) { return p.pw.Write(b) }
func (p *pipeCloser) Close() error {
	err := p.pw.Close()
	p.wg.Wait()
	return err
}

// workflowCommand handles one ::command:: line; it reports whether the
// line was a command (and so is not printed as it is).
func (r *run) workflowCommand(n *dag.Node, line string, stop *string) bool {
	rest := strings.TrimPrefix(line, "::")
	head, msg, ok := strings.Cut(rest, "::")
	if !ok {
		return false
	}
	cmd, props, _ := strings.Cut(head, " ")
	msg = unescapeData(msg)
	out := func(s string) { r.opts.Reporter.Line(n.ID, "gantry", r.opts.Masker.Mask(s)) }
	switch cmd {
	case "add-mask":
		r.opts.Masker.Add(msg)
	case "group":
		r.opts.Reporter.Group(n.ID, r.opts.Masker.Mask(msg))
	case "endgroup":
		r.opts.Reporter.EndGroup(n.ID)
	case "error", "warning", "notice":
		where := ""
		a := Annotation{Level: cmd, Message: r.opts.Masker.Mask(msg)}
		for _, p := range strings.Split(props, ",") {
			if k, v, ok := strings.Cut(p, "="); ok && (k == "file" || k == "line" || k == "col") {
				if where != "" {
					where += ":"
				}
				v = unescapeData(v)
				where += v
				switch k {
				case "file":
					a.File = r.opts.Masker.Mask(v)
				case "line":
					a.Line, _ = strconv.Atoi(v)
				case "col":
					a.Col, _ = strconv.Atoi(v)
				}
			}
		}
		if an, ok := r.opts.Reporter.(Annotator); ok {
			an.Annotation(n.ID, a)
		}
		if where != "" {
			where = " (" + where + ")"
		}
		out(cmd + ": " + msg + where)
	case "debug":
	case "set-output", "set-env", "add-path":
		out(fmt.Sprintf("::%s is disabled, as on GitHub; write to $%s instead", cmd, map[string]string{"set-output": "GITHUB_OUTPUT", "set-env": "GITHUB_ENV", "add-path": "GITHUB_PATH"}[cmd]))
	case "stop-commands":
		*stop = msg
	case "save-state", "echo":
	default:
		return false
	}
	return true
}

func unescapeData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%").Replace(s)
}
