package buildkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
	"golang.org/x/sync/errgroup"
)

// Export copies the workspace's files that match patterns to dst on the
// host: BuildKit selects them (a copy op with include patterns), then they
// are read through the gateway.
func (w *workspace) Export(ctx context.Context, patterns []string, dst string) error {
	if w.released {
		return errors.New("export from a released workspace")
	}
	st := w.selection(patterns)
	ref, err := w.solve(ctx, st)
	if err != nil {
		return err
	}
	return w.e.exportTree(ctx, ref, w.node.ID, "", dst)
}

func (e *Executor) exportTree(ctx context.Context, ref gateway.Reference, nodeID, dir, dst string) error {
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
			if err := e.exportTree(ctx, ref, nodeID, rel, dst); err != nil {
				return err
			}
		case mode&os.ModeSymlink != 0:
			_ = os.Remove(host)
			if err := os.Symlink(st.Linkname, host); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := e.exportFile(ctx, ref, st, nodeID, rel, host); err != nil {
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
	base := w.current()
	w.layersMu.Lock()
	w.imports++
	name := fmt.Sprintf("import-%d", w.imports)
	w.layersMu.Unlock()
	w.dirs.add(name, fs)
	w.commit(base, layers{files: base.files.File(llb.Copy(llb.Local(name, llb.SharedKeyHint("import:"+w.node.ID+":"+dir)), "/", path.Join(w.filesDir, filepath.ToSlash(dir)), w.copyOptions(&llb.CopyInfo{
		CopyDirContentsOnly: true,
		CreateDestPath:      true,
	})...), llb.WithCustomName(fmt.Sprintf("[%s] import %s", w.node.ID, dir)))})
	return nil
}

// exportFile copies one file of a reference to host. Reading through the
// gateway costs about 15 ms per MiB, so the executor keeps the last copy
// of each node's exported file and reuses it while BuildKit reports the
// same size and modification time (a cached step leaves both as they
// were), as rsync would.
func (e *Executor) exportFile(ctx context.Context, ref gateway.Reference, st *fstypes.Stat, nodeID, rel, host string) error {
	mtime := time.Unix(0, st.ModTime)
	kept := filepath.Join(e.opts.StateDir, "exports", shortHash(nodeID+"\x00"+rel))
	perm := os.FileMode(st.Mode).Perm()
	if fi, err := os.Stat(kept); err == nil && fi.Size() == st.Size && fi.ModTime().Equal(mtime) && fi.Mode().Perm() == perm {
		if err := linkFile(kept, host); err == nil {
			return nil
		}
		if err := copyFile(kept, host, perm, mtime); err == nil {
			return nil
		}
	}
	if err := readFileTo(ctx, ref, rel, st.Size, host, perm); err != nil {
		return err
	}
	if err := os.Chtimes(host, mtime, mtime); err != nil {
		return err
	}
	if os.MkdirAll(filepath.Dir(kept), 0o700) == nil {
		if linkFile(host, kept) != nil {
			_ = copyFile(host, kept, perm, mtime)
		}
	}
	return nil
}

// linkFile makes dst a hard link of src, through a temporary name. The
// kept copies and the run records' files they serve are written once and
// replaced, never written in place, so sharing their data is safe.
func linkFile(src, dst string) error {
	tmp := dst + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		return err
	}
	err := os.Rename(tmp, dst)
	// When dst is a link of src already, rename(2) leaves both names.
	_ = os.Remove(tmp)
	return err
}

// copyFile copies src to dst with the given mode and modification time,
// through a temporary file.
func copyFile(src, dst string, perm os.FileMode, mtime time.Time) error {
	tmp := dst + ".tmp"
	_ = os.Remove(tmp)
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// readFileTo copies a file of a reference to the host in chunks of 1 MiB,
// four at a time: one large ReadFile is several times slower.
func readFileTo(ctx context.Context, ref gateway.Reference, name string, size int64, host string, perm os.FileMode) error {
	f, err := os.OpenFile(host, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	const chunk = 1 << 20
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for off := int64(0); off < size; off += chunk {
		g.Go(func() error {
			data, err := ref.ReadFile(gctx, gateway.ReadRequest{Filename: name, Range: &gateway.FileRange{Offset: int(off), Length: chunk}})
			if err != nil {
				return err
			}
			_, err = f.WriteAt(data, off)
			return err
		})
	}
	err = g.Wait()
	return errors.Join(err, f.Close())
}
