package buildkit

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/tonistiigi/fsutil"

	"github.com/gantry-ci/gantry/runner"
)

// actionWorkDir is where GitHub's runner mounts the workspace for a
// Docker action, and its working directory; actions write it into their
// scripts. There it is a link to the job's workspace.
const actionWorkDir = "/github/workspace"

// RunImage runs a Docker action, or a docker://IMAGE step, as GitHub's
// runner does (docker run with the workspace mounted): its image built
// from the Dockerfile of its directory on the host (BuildKit's Dockerfile
// frontend; a FROM naming an image mapped with -P is taken from there), or
// the image it names (normalised, and mapped with -P like any image); then
// c runs in it as the image's user, with the job's workspace (also at
// /github/workspace, its working directory) and state directory mounted
// as for any step. The command is the action's entrypoint and args, else
// the image's own (an entrypoint given drops the image's CMD, as docker
// run --entrypoint does); the step's variables are added to the image's,
// but for PATH, which stays the image's.
func (w *workspace) RunImage(ctx context.Context, img runner.ActionImage, c runner.Command) (int, error) {
	code, err := w.runImage(ctx, img, c)
	return code, w.e.lost(err)
}

func (w *workspace) runImage(ctx context.Context, img runner.ActionImage, c runner.Command) (int, error) {
	var state llb.State
	var cfg imageConfig
	switch {
	case img.Dockerfile != "":
		dir, file := filepath.Split(img.Dockerfile)
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return 0, err
		}
		w.imports++
		name := fmt.Sprintf("action-%d", w.imports)
		w.dirs.add(name, fs)
		src := llb.Local(name, llb.SharedKeyHint("action:"+dir))
		def, err := src.Marshal(ctx, llb.LocalUniqueID(w.unique))
		if err != nil {
			return 0, err
		}
		contexts, inputs, err := w.e.namedContexts(ctx)
		if err != nil {
			return 0, err
		}
		req := gateway.SolveRequest{
			Frontend:       "dockerfile.v0",
			FrontendOpt:    map[string]string{"filename": file},
			FrontendInputs: map[string]*pb.Definition{"context": def.ToPB(), "dockerfile": def.ToPB()},
		}
		maps.Copy(req.FrontendOpt, contexts)
		maps.Copy(req.FrontendInputs, inputs)
		res, err := w.gw.Solve(ctx, req)
		if err != nil {
			return 0, fmt.Errorf("building the action's image from %s: %w", img.Dockerfile, ctxError(ctx, err))
		}
		ref, err := res.SingleRef()
		if err != nil {
			return 0, err
		}
		if state, err = ref.ToState(); err != nil {
			return 0, err
		}
		var config struct {
			Config imageConfig `json:"config"`
		}
		if dt := res.Metadata["containerimage.config"]; len(dt) > 0 {
			if err := json.Unmarshal(dt, &config); err != nil {
				return 0, fmt.Errorf("the action's image from %s: its configuration: %w", img.Dockerfile, err)
			}
		}
		cfg = config.Config
	case img.Ref != "":
		ref := img.Ref
		if m, ok := w.e.mapImage(ref); ok {
			ref = m
		}
		li, err := w.e.loadImage(ref)
		if err != nil {
			return 0, err
		}
		if err := li.config(ctx, w.gw, img.Ref, w.auth); err != nil {
			return 0, ctxError(ctx, err)
		}
		state, cfg = li.state, li.cfg
	default:
		return 0, fmt.Errorf("a Docker action names no image")
	}
	argv := img.Entrypoint
	if len(argv) == 0 {
		argv = cfg.Entrypoint
	}
	args := img.Args
	if len(args) == 0 && len(img.Entrypoint) == 0 {
		args = cfg.Cmd
	}
	argv = append(append([]string{}, argv...), args...)
	if len(argv) == 0 {
		return 0, fmt.Errorf("the action's image has no entrypoint or command")
	}
	c.Argv = argv
	env := append([]string{}, cfg.Env...)
	for _, kv := range c.Env {
		if !strings.HasPrefix(kv, "PATH=") || !hasVar(env, "PATH") {
			env = setVar(env, kv)
		}
	}
	c.Env = env
	if c.Dir == "" {
		c.Dir = actionWorkDir
	}
	// /github/workspace is the job's workspace, mounted at workDir.
	state = state.File(llb.Mkdir(path.Dir(actionWorkDir), 0o755, llb.WithParents(true)).
		Rm(actionWorkDir, llb.WithAllowNotFound(true)).
		Symlink(workDir, actionWorkDir), llb.WithCustomName("link "+actionWorkDir+" to the workspace"))
	act := &actionRun{state: state, user: cfg.User}
	if cfg.User != "" {
		// GitHub's documentation asks Docker actions to run as root; one
		// that does not still gets its record and state files.
		o, err := w.lookupUserIn(ctx, state, cfg.User)
		if err != nil {
			return 0, fmt.Errorf("the action's user %q: %w", cfg.User, err)
		}
		if o.uid != 0 {
			act.owner = &o
		}
	}
	return w.exec(ctx, c, act)
}
