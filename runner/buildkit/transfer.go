package buildkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/tonistiigi/fsutil"
)

// Export copies the workspace's files that match patterns to dst on the
// host: BuildKit selects them (a copy op with include patterns), then they
// are read through the gateway.
func (w *workspace) Export(ctx context.Context, patterns []string, dst string) error {
	if w.released {
		return errors.New("export from a released workspace")
	}
	st := llb.Scratch().File(llb.Copy(w.files, "/", "/", &llb.CopyInfo{
		CopyDirContentsOnly: true,
		IncludePatterns:     patterns,
		AllowWildcard:       true,
		AllowEmptyWildcard:  true,
		CreateDestPath:      true,
	}), llb.WithCustomName(fmt.Sprintf("[%s] export %v", w.node.ID, patterns)))
	ref, err := w.solve(ctx, st)
	if err != nil {
		return err
	}
	return exportTree(ctx, ref, "", dst)
}

func exportTree(ctx context.Context, ref gateway.Reference, dir, dst string) error {
	entries, err := ref.ReadDir(ctx, gateway.ReadDirRequest{Path: "/" + dir})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dst, filepath.FromSlash(dir)), 0o755); err != nil {
		return err
	}
	for _, st := range entries {
		rel := path.Join(dir, st.Path)
		host := filepath.Join(dst, filepath.FromSlash(rel))
		mode := os.FileMode(st.Mode)
		switch {
		case mode.IsDir():
			if err := exportTree(ctx, ref, rel, dst); err != nil {
				return err
			}
		case mode&os.ModeSymlink != 0:
			_ = os.Remove(host)
			if err := os.Symlink(st.Linkname, host); err != nil {
				return err
			}
		case mode.IsRegular():
			data, err := ref.ReadFile(ctx, gateway.ReadRequest{Filename: rel})
			if err != nil {
				return err
			}
			if err := os.WriteFile(host, data, mode.Perm()); err != nil {
				return err
			}
		}
	}
	return nil
}

// Import adds the host directory src to the workspace at dir; the next
// command sees it.
func (w *workspace) Import(ctx context.Context, src, dir string) error {
	if w.released {
		return errors.New("import into a released workspace")
	}
	fs, err := fsutil.NewFS(src)
	if err != nil {
		return err
	}
	w.imports++
	name := fmt.Sprintf("import-%d", w.imports)
	w.dirs.add(name, fs)
	w.files = w.files.File(llb.Copy(llb.Local(name, llb.SharedKeyHint("import:"+w.node.ID+":"+dir)), "/", path.Join("/", filepath.ToSlash(dir)), &llb.CopyInfo{
		CopyDirContentsOnly: true,
		CreateDestPath:      true,
	}), llb.WithCustomName(fmt.Sprintf("[%s] import %s", w.node.ID, dir)))
	return nil
}
