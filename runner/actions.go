package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
	"github.com/gantry-ci/gantry/internal/cmdline"
)

// nodeAction is the part of an action's action.yml the runner reads.
type nodeAction struct {
	Runs struct {
		Using      string   `yaml:"using"`
		Main       string   `yaml:"main"`
		Pre        string   `yaml:"pre"`
		PreIf      string   `yaml:"pre-if"`
		Post       string   `yaml:"post"`
		PostIf     string   `yaml:"post-if"`
		Image      string   `yaml:"image"`
		Entrypoint string   `yaml:"entrypoint"`
		Args       []string `yaml:"args"`
		// Steps are a composite action's, run by runComposite when the
		// action was not there to be inlined at translation.
		Steps []compositeStep `yaml:"steps"`
	} `yaml:"runs"`
	Inputs map[string]struct {
		Default *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
}

// action is an action found on this machine.
type action struct {
	uses string
	dir  string
	meta nodeAction
}

// localAction reports whether uses names an action of the repository by
// path: ./path, or $/path ("this repository at this commit", GitHub 2026).
func localAction(uses string) bool {
	return strings.HasPrefix(uses, "./") || strings.HasPrefix(uses, "../") || strings.HasPrefix(uses, "$/")
}

// repoPath is a local action's path in the repository.
func repoPath(uses string) string {
	if rest, ok := strings.CutPrefix(uses, "$/"); ok {
		return filepath.Clean(rest)
	}
	return filepath.Clean(uses)
}

// actionDir finds an action's directory on this machine: ./path in the
// workspace (where an earlier step may have written or checked it out),
// or owner/repo[/path]@ref through Options.Actions.
func (j *job) actionDir(ctx context.Context, uses string) (string, error) {
	if localAction(uses) {
		if dir := j.ws.HostDir(); dir != "" {
			return filepath.Join(dir, repoPath(uses)), nil
		}
		return filepath.Join(j.r.opts.Source, repoPath(uses)), nil
	}
	if j.r.opts.Actions == nil || strings.HasPrefix(uses, "docker://") {
		return "", fmt.Errorf("action %s is not available: gantry runs actions/checkout, upload-artifact, download-artifact, cache and setup-* itself, and fetches others only with access to GitHub (a token, or the cache with --offline)", uses)
	}
	return j.r.opts.Actions(ctx, uses)
}

// loadAction finds an action and reads its action.yml.
func (j *job) loadAction(ctx context.Context, uses string) (*action, error) {
	dir, err := j.actionDir(ctx, uses)
	if err != nil {
		return nil, err
	}
	var data []byte
	for _, name := range []string{"action.yml", "action.yaml"} {
		if data, err = os.ReadFile(filepath.Join(dir, name)); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("action %s: no action.yml in %s", uses, dir)
	}
	a := &action{uses: uses, dir: dir}
	if err := yaml.Unmarshal(data, &a.meta); err != nil {
		return nil, fmt.Errorf("action %s: action.yml: %w", uses, err)
	}
	return a, nil
}

// node reports whether the action runs with node, and checks that the
// workspace's node is the major version it asks for or newer.
func (a *action) node() bool {
	return strings.HasPrefix(strings.ToLower(a.meta.Runs.Using), "node")
}

// bringIn makes the action's directory reachable by the workspace's
// commands and returns where they see it: off the host, a copy of it is
// brought into the workspace.
func (j *job) bringIn(ctx context.Context, a *action) (string, error) {
	if j.ws.HostDir() != "" {
		return a.dir, nil
	}
	ft, ok := j.ws.(FileTransfer)
	if !ok {
		return "", fmt.Errorf("action %s: the %s executor cannot bring the action in", a.uses, j.r.opts.Executor.Name())
	}
	h := sha256.Sum256([]byte(a.dir))
	rel := filepath.Join(".gantry-actions", hex.EncodeToString(h[:6]))
	if err := ft.Import(ctx, a.dir, rel); err != nil {
		return "", err
	}
	return filepath.ToSlash(filepath.Join(j.ws.Dir(), rel)), nil
}

// inputEnv is a step's environment with the action's inputs (INPUT_NAME,
// defaults filled in) and GITHUB_ACTION_PATH.
func inputEnv(env []string, with map[string]string, a *action, seen string) []string {
	out := slices.Clone(env)
	for name, in := range a.meta.Inputs {
		if _, ok := lookupFold(with, name); !ok && in.Default != nil {
			with[name] = *in.Default
		}
	}
	for k, v := range with {
		out = append(out, "INPUT_"+strings.ToUpper(strings.ReplaceAll(k, " ", "_"))+"="+v)
	}
	return append(out, "GITHUB_ACTION_PATH="+seen)
}

// runJS runs one of a JavaScript action's scripts with nodeBin (see
// actionNode).
func (j *job) runJS(ctx context.Context, s *dag.Step, nodeBin, seen, script string, env []string, cmds *commands) (int, error) {
	lw, ew := j.lineWriter("stdout", cmds), j.lineWriter("stderr", cmds)
	defer lw.Close()
	defer ew.Close()
	return j.ws.Exec(ctx, Command{Argv: []string{nodeBin, filepath.ToSlash(filepath.Join(seen, script))}, Name: s.Label(), Env: env,
		Stdout: lw, Stderr: ew, Secrets: j.r.opts.Masker.Values(), Volatile: volatileVars})
}

// runAction runs an action the way GitHub's runner does: a JavaScript
// action's main with node, inputs as INPUT_<NAME> variables, the step
// protocol's files as for any step, and its post step when the job ends
// (its pre ran at the job's start, see runPres); a Docker action in its
// image.
func (j *job) runAction(ctx context.Context, s *dag.Step, index int, with map[string]string, se *stepEnv, outputs map[string]string, main *commands) (int, error) {
	env := se.vars
	if ref, ok := strings.CutPrefix(s.Uses, "docker://"); ok {
		return j.runDockerStep(ctx, s, ref, with, env, main)
	}
	a, err := j.loadAction(ctx, s.Uses)
	if err != nil {
		return 1, err
	}
	return j.runLoaded(ctx, s, index, a, with, se, outputs, main)
}

// runLoaded runs an action whose action.yml has been read.
func (j *job) runLoaded(ctx context.Context, s *dag.Step, index int, a *action, with map[string]string, se *stepEnv, outputs map[string]string, main *commands) (int, error) {
	env := se.vars
	if strings.EqualFold(a.meta.Runs.Using, "composite") {
		return j.runComposite(ctx, s, index, a, with, se, outputs, 0)
	}
	if strings.EqualFold(a.meta.Runs.Using, "docker") {
		return j.runDockerAction(ctx, s, a.dir, &a.meta, with, env, main)
	}
	if !a.node() {
		return 1, fmt.Errorf("action %s runs with %q: gantry runs JavaScript (node) and Docker actions", s.Uses, a.meta.Runs.Using)
	}
	nodeBin, err := j.actionNode(ctx, a, env)
	if err != nil {
		return 1, fmt.Errorf("action %s: %w", s.Uses, err)
	}
	seen, err := j.bringIn(ctx, a)
	if err != nil {
		return 1, err
	}
	if a.meta.Runs.Main == "" {
		return 1, fmt.Errorf("action %s: action.yml has no runs.main", s.Uses)
	}
	code, err := j.runJS(ctx, s, nodeBin, seen, a.meta.Runs.Main, inputEnv(env, with, a, seen), main)
	if a.meta.Runs.Post != "" {
		j.addPost(post{
			label: "Post " + s.Label(), cond: a.meta.Runs.PostIf, step: true, env: j.exprEnvOf(s, index),
			run: func(ctx context.Context) (int, error) {
				// The post step sees the job's environment as it is at the
				// end, and what the main step saved (save-state,
				// GITHUB_STATE) as STATE_* variables.
				se, err := j.environ(s, index)
				if err != nil {
					return 1, err
				}
				env := inputEnv(se.vars, maps.Clone(with), a, seen)
				for k, v := range main.state {
					env = append(env, "STATE_"+k+"="+v)
				}
				env = append(env, observed(ctx)...)
				return j.runHookJS(ctx, s, se, nodeBin, seen, a.meta.Runs.Post, env)
			},
		})
	}
	return code, err
}

// runPres runs, at the job's start, the pre scripts of the JavaScript
// actions its steps use, in step order, each when its pre-if (always()
// when it has none) holds, as GitHub's runner does. A local action's pre
// is not run, as on GitHub. It returns their results.
func (j *job) runPres(ctx context.Context) []StepResult {
	var results []StepResult
	for i := range j.n.Steps {
		s := &j.n.Steps[i]
		if !dag.RemoteAction(s.Uses) && !localAction(s.Uses) {
			continue
		}
		// GitHub runs no pre for ./path actions; $/path ones get theirs.
		if localAction(s.Uses) && !strings.HasPrefix(s.Uses, "$/") {
			if a, err := j.loadAction(ctx, s.Uses); err == nil && a.meta.Runs.Pre != "" {
				j.say("`pre` execution is not supported for local action from '%s'", s.Uses)
			}
			continue
		}
		a, err := j.loadAction(ctx, s.Uses)
		if err != nil || !a.node() || a.meta.Runs.Pre == "" {
			continue // the step itself says what is wrong
		}
		sr, _ := j.runHook(ctx, ctx, post{
			label: "Pre " + s.Label(), cond: a.meta.Runs.PreIf, step: true, env: j.exprEnvOf(s, i),
			run: func(ctx context.Context) (int, error) {
				se, err := j.environ(s, i)
				if err != nil {
					return 1, err
				}
				return j.runPre(ctx, s, a, se)
			},
		})
		results = append(results, sr)
	}
	return results
}

// runPre runs one action's pre script with the step's inputs.
func (j *job) runPre(ctx context.Context, s *dag.Step, a *action, se *stepEnv) (int, error) {
	seen, err := j.bringIn(ctx, a)
	if err != nil {
		return 1, err
	}
	with := map[string]string{}
	for k, v := range s.With {
		if with[k], err = j.interpolate(v, s, se.expr); err != nil {
			return 1, err
		}
	}
	nodeBin, err := j.actionNode(ctx, a, se.vars)
	if err != nil {
		return 1, fmt.Errorf("action %s: %w", s.Uses, err)
	}
	return j.runHookJS(ctx, s, se, nodeBin, seen, a.meta.Runs.Pre, append(inputEnv(se.vars, with, a, seen), observed(ctx)...))
}

// runHookJS runs a JavaScript action's pre or post script with the step
// protocol's files of its own, as for any step.
func (j *job) runHookJS(ctx context.Context, s *dag.Step, se *stepEnv, nodeBin, seen, script string, env []string) (int, error) {
	if err := createProtocolFiles(se.dir); err != nil {
		return 1, err
	}
	cmds := newCommands(se.env)
	code, err := j.runJS(ctx, s, nodeBin, seen, script, env, cmds)
	if err != nil {
		return code, err
	}
	return code, j.readProtocolFiles(se.dir, cmds, map[string]string{})
}

// exprEnvOf makes a step's expression environment as it is when called
// (for pre-if and post-if).
func (j *job) exprEnvOf(s *dag.Step, index int) func() (*expr.Env, error) {
	return func() (*expr.Env, error) {
		se, err := j.environ(s, index)
		if err != nil {
			return nil, err
		}
		return se.expr, nil
	}
}

// inputExpr is ${{ inputs.NAME }} in a Docker action's args.
var inputExpr = regexp.MustCompile(`\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}`)

// runDockerAction runs a Docker action in its image (built from its
// Dockerfile, or the docker:// image it names) on an executor that runs
// images: inputs as INPUT_* variables, args with ${{ inputs.X }} filled in.
func (j *job) runDockerAction(ctx context.Context, s *dag.Step, dir string, meta *nodeAction, with map[string]string, env []string, cmds *commands) (int, error) {
	ir, ok := j.ws.(ImageRunner)
	if !ok {
		return 1, fmt.Errorf("action %s is a Docker action: run it with --executor buildkit", s.Uses)
	}
	for name, in := range meta.Inputs {
		if _, ok := lookupFold(with, name); !ok && in.Default != nil {
			with[name] = *in.Default
		}
	}
	img := ActionImage{}
	switch ref, ok := strings.CutPrefix(meta.Runs.Image, "docker://"); {
	case ok:
		img.Ref = ref
	case meta.Runs.Image != "":
		img.Dockerfile = filepath.Join(dir, filepath.FromSlash(meta.Runs.Image))
	default:
		return 1, fmt.Errorf("action %s: a Docker action needs runs.image", s.Uses)
	}
	if meta.Runs.Entrypoint != "" {
		img.Entrypoint = []string{meta.Runs.Entrypoint}
	}
	for _, a := range meta.Runs.Args {
		img.Args = append(img.Args, inputExpr.ReplaceAllStringFunc(a, func(m string) string {
			v, _ := lookupFold(with, inputExpr.FindStringSubmatch(m)[1])
			return v
		}))
	}
	return j.runImage(ctx, ir, s, img, with, env, cmds)
}

// runImage runs an image's command with the step's env and its inputs as
// INPUT_<NAME>.
func (j *job) runImage(ctx context.Context, ir ImageRunner, s *dag.Step, img ActionImage, with map[string]string, env []string, cmds *commands) (int, error) {
	env = slices.Clone(env)
	for k, v := range with {
		env = append(env, "INPUT_"+strings.ToUpper(strings.ReplaceAll(k, " ", "_"))+"="+v)
	}
	lw, ew := j.lineWriter("stdout", cmds), j.lineWriter("stderr", cmds)
	defer lw.Close()
	defer ew.Close()
	return ir.RunImage(ctx, img, Command{Name: s.Label(), Env: env, Stdout: lw, Stderr: ew,
		Secrets: j.r.opts.Masker.Values(), Volatile: volatileVars})
}

// runDockerStep runs a uses: docker://IMAGE step as GitHub's runner does:
// in that image, with the workspace, every input as INPUT_<NAME> (args and
// entrypoint too), args split as the runner splits the docker command
// line it pastes them into, and entrypoint replacing the image's.
func (j *job) runDockerStep(ctx context.Context, s *dag.Step, ref string, with map[string]string, env []string, cmds *commands) (int, error) {
	ir, ok := j.ws.(ImageRunner)
	if !ok {
		return 1, fmt.Errorf("step uses docker://%s, which runs in a container image: the %s executor runs no images; run it with --executor buildkit", ref, j.r.opts.Executor.Name())
	}
	img := ActionImage{Ref: ref}
	if ep, ok := lookupFold(with, "entrypoint"); ok && ep != "" {
		img.Entrypoint = []string{ep}
	}
	if args, ok := lookupFold(with, "args"); ok {
		img.Args = cmdline.Split(args)
	}
	return j.runImage(ctx, ir, s, img, with, env, cmds)
}

// checkNode checks that the workspace's node (in the job's image, or on
// this machine) is at least the major version an action asks for.
func (j *job) checkNode(ctx context.Context, major string, env []string) error {
	want, err := strconv.Atoi(major)
	if err != nil {
		return nil // "node" without a version
	}
	var out strings.Builder
	code, err := j.ws.Exec(ctx, Command{Argv: []string{"node", "--version"}, Name: "node --version", Env: env, Stdout: &out, Stderr: io.Discard,
		Secrets: j.r.opts.Masker.Values(), Volatile: volatileVars})
	if err != nil || code != 0 {
		if err != nil && ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("it runs on node%d and there is no node on the job's PATH", want)
	}
	version := strings.TrimSpace(out.String())
	got, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(version, "v"), ".", 2)[0])
	if got < want {
		return fmt.Errorf("it runs on node%d and the job's node is %s", want, version)
	}
	return nil
}

func lookupFold(m map[string]string, key string) (string, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}
