package buildkit

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	"github.com/tonistiigi/fsutil"

	"github.com/gantry-ci/gantry/runner"
)

// RunImage runs a Docker action: its image built from the Dockerfile of
// its directory on the host (BuildKit's Dockerfile frontend; a FROM name
// mapped with -P NAME=IMAGE to a local image is taken from there), or the
// image it names; then c runs in it with the job's workspace and state
// directory mounted as for any step. The command is the action's
// entrypoint and args, else the image's own.
func (w *workspace) RunImage(ctx context.Context, img runner.ActionImage, c runner.Command) (int, error) {
	var state llb.State
	var config []byte
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
		req := gateway.SolveRequest{
			Frontend:       "dockerfile.v0",
			FrontendOpt:    map[string]string{"filename": file},
			FrontendInputs: map[string]*pb.Definition{"context": def.ToPB(), "dockerfile": def.ToPB()},
		}
		// FROM names mapped to local images (no registry needed).
		for label, ref := range w.e.opts.Images {
			if !localImage(ref) {
				continue
			}
			li, err := w.e.loadImage(ref)
			if err != nil {
				continue
			}
			d, err := li.state.Marshal(ctx)
			if err != nil {
				return 0, err
			}
			req.FrontendInputs[label] = d.ToPB()
			req.FrontendOpt["context:"+label] = "input:" + label
		}
		res, err := w.gw.Solve(ctx, req)
		if err != nil {
			return 0, fmt.Errorf("building the action's image from %s: %w", img.Dockerfile, err)
		}
		ref, err := res.SingleRef()
		if err != nil {
			return 0, err
		}
		if state, err = ref.ToState(); err != nil {
			return 0, err
		}
		config = res.Metadata["containerimage.config"]
	case img.Ref != "":
		li, err := w.e.loadImage(img.Ref)
		if err != nil {
			return 0, err
		}
		if err := li.config(ctx, w.gw, img.Ref); err != nil {
			return 0, err
		}
		state = li.state
		config, _ = json.Marshal(map[string]any{"config": map[string]any{"Env": li.env, "Entrypoint": li.entrypoint, "Cmd": li.cmd}})
	default:
		return 0, fmt.Errorf("a Docker action names no image")
	}
	var cfg struct {
		Config struct {
			Env        []string `json:"Env"`
			Entrypoint []string `json:"Entrypoint"`
			Cmd        []string `json:"Cmd"`
			WorkingDir string   `json:"WorkingDir"`
		} `json:"config"`
	}
	_ = json.Unmarshal(config, &cfg)
	argv := img.Entrypoint
	if len(argv) == 0 {
		argv = cfg.Config.Entrypoint
	}
	args := img.Args
	if len(args) == 0 && len(img.Entrypoint) == 0 {
		args = cfg.Config.Cmd
	}
	argv = append(append([]string{}, argv...), args...)
	if len(argv) == 0 {
		return 0, fmt.Errorf("the action's image has no entrypoint or command")
	}
	c.Argv = argv
	// The image's variables, then the step's (which win), but for PATH,
	// which is the action image's own.
	env := append([]string{}, cfg.Config.Env...)
	for _, kv := range c.Env {
		if !strings.HasPrefix(kv, "PATH=") || !hasVar(env, "PATH") {
			env = append(env, kv)
		}
	}
	c.Env = env
	if c.Dir == "" {
		c.Dir = path.Clean(workDir)
	}
	return w.exec(ctx, c, &state)
}
