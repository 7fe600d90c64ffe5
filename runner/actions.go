package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gantry-ci/gantry/dag"
)

// nodeAction is the part of a JavaScript action's action.yml the runner
// reads.
type nodeAction struct {
	Runs struct {
		Using      string   `yaml:"using"`
		Main       string   `yaml:"main"`
		Pre        string   `yaml:"pre"`
		Post       string   `yaml:"post"`
		Image      string   `yaml:"image"`
		Entrypoint string   `yaml:"entrypoint"`
		Args       []string `yaml:"args"`
	} `yaml:"runs"`
	Inputs map[string]struct {
		Default *string `yaml:"default"`
	} `yaml:"inputs"`
}

// actionDir finds an action's directory on this machine: ./path in the
// repository, or owner/repo[/path]@ref through Options.Actions.
func (r *run) actionDir(ctx context.Context, uses string) (string, error) {
	if strings.HasPrefix(uses, "./") || strings.HasPrefix(uses, "../") {
		return filepath.Join(r.opts.Source, filepath.Clean(uses)), nil
	}
	if r.opts.Actions == nil || strings.HasPrefix(uses, "docker://") {
		return "", fmt.Errorf("action %s is not available: gantry runs actions/checkout, upload-artifact, download-artifact, cache and setup-* itself, and fetches others only with access to GitHub (a token, or the cache with --offline)", uses)
	}
	return r.opts.Actions(ctx, uses)
}

// runAction runs a JavaScript action the way GitHub's runner does: its
// main (and pre) with node, inputs as INPUT_<NAME> variables, the step
// protocol's files as for any step, and its post step when the job ends.
func (j *job) runAction(ctx context.Context, s *dag.Step, with map[string]string, env []string, main *commands) (int, error) {
	r, n, ws := j.r, j.n, j.ws
	dir, err := r.actionDir(ctx, s.Uses)
	if err != nil {
		return 1, err
	}
	var data []byte
	for _, name := range []string{"action.yml", "action.yaml"} {
		if data, err = os.ReadFile(filepath.Join(dir, name)); err == nil {
			break
		}
	}
	if err != nil {
		return 1, fmt.Errorf("action %s: no action.yml in %s", s.Uses, dir)
	}
	var meta nodeAction
	if err := yaml.Unmarshal(data, &meta); err != nil {
		return 1, fmt.Errorf("action %s: action.yml: %w", s.Uses, err)
	}
	using := strings.ToLower(meta.Runs.Using)
	if using == "docker" {
		return j.runDockerAction(ctx, s, dir, &meta, with, env, main)
	}
	if !strings.HasPrefix(using, "node") {
		return 1, fmt.Errorf("action %s runs with %q: gantry runs JavaScript (node) and Docker actions", s.Uses, meta.Runs.Using)
	}
	if err := checkNode(strings.TrimPrefix(using, "node")); err != nil {
		return 1, fmt.Errorf("action %s: %w", s.Uses, err)
	}
	// Where the action is as the step sees it: off the host, a copy of it
	// brought into the workspace.
	seen := dir
	if ws.HostDir() == "" {
		ft, ok := ws.(FileTransfer)
		if !ok {
			return 1, fmt.Errorf("action %s: the %s executor cannot bring the action in", s.Uses, r.opts.Executor.Name())
		}
		h := sha256.Sum256([]byte(dir))
		rel := filepath.Join(".gantry-actions", hex.EncodeToString(h[:6]))
		if err := ft.Import(ctx, dir, rel); err != nil {
			return 1, err
		}
		seen = filepath.ToSlash(filepath.Join(ws.Dir(), rel))
	}
	actionEnv := append([]string{}, env...)
	for name, in := range meta.Inputs {
		if _, ok := lookupFold(with, name); !ok && in.Default != nil {
			with[name] = *in.Default
		}
	}
	for k, v := range with {
		actionEnv = append(actionEnv, "INPUT_"+strings.ToUpper(strings.ReplaceAll(k, " ", "_"))+"="+v)
	}
	actionEnv = append(actionEnv, "GITHUB_ACTION_PATH="+seen, "GITHUB_ACTION_REPOSITORY="+strings.SplitN(s.Uses, "@", 2)[0])
	runJS := func(ctx context.Context, script string, cmds *commands, env []string) (int, error) {
		lw, ew := j.lineWriter("stdout", cmds), j.lineWriter("stderr", cmds)
		defer lw.Close()
		defer ew.Close()
		return ws.Exec(ctx, Command{Argv: []string{"node", filepath.ToSlash(filepath.Join(seen, script))}, Name: s.Label(), Env: env,
			Stdout: lw, Stderr: ew, Secrets: r.opts.Masker.Values(), Volatile: volatileVars})
	}
	if meta.Runs.Pre != "" {
		if code, err := runJS(ctx, meta.Runs.Pre, main, actionEnv); err != nil || code != 0 {
			return max(code, 1), err
		}
	}
	if meta.Runs.Main == "" {
		return 1, fmt.Errorf("action %s: action.yml has no runs.main", s.Uses)
	}
	code, err := runJS(ctx, meta.Runs.Main, main, actionEnv)
	if meta.Runs.Post != "" {
		j.addPost(func() {
			// What the main step saved (save-state, GITHUB_STATE) reaches
			// its post step as STATE_* variables.
			env := slices.Clone(actionEnv)
			for k, v := range main.state {
				env = append(env, "STATE_"+k+"="+v)
			}
			if _, err := runJS(context.WithoutCancel(ctx), meta.Runs.Post, newCommands(nil), env); err != nil {
				r.opts.Reporter.Line(n.ID, "gantry", fmt.Sprintf("post step of %s: %v", s.Uses, err))
			}
		})
	}
	return code, err
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
	actionEnv := append([]string{}, env...)
	for k, v := range with {
		actionEnv = append(actionEnv, "INPUT_"+strings.ToUpper(strings.ReplaceAll(k, " ", "_"))+"="+v)
	}
	lw, ew := j.lineWriter("stdout", cmds), j.lineWriter("stderr", cmds)
	defer lw.Close()
	defer ew.Close()
	return ir.RunImage(ctx, img, Command{Name: s.Label(), Env: actionEnv, Stdout: lw, Stderr: ew,
		Secrets: j.r.opts.Masker.Values(), Volatile: volatileVars})
}

// checkNode checks that node on PATH is at least the major version an
// action asks for.
func checkNode(major string) error {
	want, err := strconv.Atoi(major)
	if err != nil {
		return nil // "node" without a version
	}
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("it runs on node%d and there is no node on PATH", want)
		}
		return err
	}
	got, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".", 2)[0])
	if got < want {
		return fmt.Errorf("it runs on node%d and node on PATH is %s", want, strings.TrimSpace(string(out)))
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
