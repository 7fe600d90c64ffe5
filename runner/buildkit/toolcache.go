package buildkit

import (
	"fmt"
	"path"

	"github.com/moby/buildkit/client/llb"
	"github.com/tonistiigi/fsutil"
)

// toolCacheDir is RUNNER_TOOL_CACHE in a job's container, where GitHub's
// hosted runners keep it.
const toolCacheDir = "/opt/hostedtoolcache"

// ToolCacheDir is RUNNER_TOOL_CACHE as the steps see it.
func (w *workspace) ToolCacheDir() string { return toolCacheDir }

// MountTool mounts a toolchain of the host's tool cache read-only at rel
// under toolCacheDir for the node's later commands. It is sent to the
// engine and copied into a state of its own, whose cache key is its
// content: the same toolchain is one snapshot for every job and run, and
// steps over it stay cache hits.
func (w *workspace) MountTool(dir, rel string) error {
	fs, err := fsutil.NewFS(dir)
	if err != nil {
		return fmt.Errorf("tool cache %s: %w", dir, err)
	}
	name := "toolcache:" + rel
	w.dirs.add(name, fs)
	src := llb.Local(name, llb.SharedKeyHint("toolcache:"+dir), llb.WithCustomName("tool cache "+rel))
	st := llb.Scratch().File(llb.Copy(src, "/", "/", &llb.CopyInfo{CopyDirContentsOnly: true}), llb.WithCustomName("tool cache "+rel))
	w.layersMu.Lock()
	defer w.layersMu.Unlock()
	w.caches = append(w.caches, llb.AddMount(path.Join(toolCacheDir, rel), st, llb.Readonly))
	return nil
}
