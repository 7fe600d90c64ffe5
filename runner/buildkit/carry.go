package buildkit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	"github.com/gantry-ci/gantry/runner"
	"github.com/moby/buildkit/client/llb"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
)

// Artifacts travel between nodes as states: the producer's workspace
// after its upload step, narrowed to the artifact's files, marshalled
// with the producer's session's local sources. A consumer's workspace
// copies from it, and BuildKit, finding the same ops active in the
// producer's build, shares their results instead of running anything
// again: the files never leave the engine. That holds while the
// producer's build is open, so a workspace that carries artifacts keeps
// its session until they are released (the run's end); the host copy is
// made from the producer's session in the meantime.

// selection is the workspace's files that patterns select, at their
// paths.
func (w *workspace) selection(patterns []string) llb.State {
	return w.selectionOf(w.current(), patterns)
}

func (w *workspace) selectionOf(l layers, patterns []string) llb.State {
	return llb.Scratch().File(llb.Copy(l.files, w.filesDir, "/", &llb.CopyInfo{
		CopyDirContentsOnly: true,
		IncludePatterns:     patterns,
		AllowWildcard:       true,
		AllowEmptyWildcard:  true,
		CreateDestPath:      true,
	}), llb.WithCustomName(fmt.Sprintf("[%s] export %v", w.node.ID, patterns)))
}

// ListFiles lists the files that patterns select: BuildKit selects them (a
// copy op with include patterns), then their directories are read through
// the gateway, without the files' contents.
func (w *workspace) ListFiles(ctx context.Context, patterns []string) (fs.FS, error) {
	if w.released {
		return nil, errors.New("listing files of a released workspace")
	}
	cur := w.current()
	sel := w.selectionOf(cur, patterns)
	ref, err := w.solve(ctx, sel)
	if err != nil {
		return nil, w.e.lost(err)
	}
	// Exported with the steps it selects from, an importing engine finds
	// the selection itself and loads its files alone, not every layer of
	// the workspace and a copy of them.
	w.sharing.also(cur.gen, ref)
	fsys := fstest.MapFS{}
	if err := listTree(ctx, ref, "", fsys); err != nil {
		return nil, w.e.lost(err)
	}
	w.listed = &listing{state: sel, fsys: fsys}
	return fsys, nil
}

// listing is what ListFiles last listed.
type listing struct {
	state llb.State
	fsys  fstest.MapFS
}

func listTree(ctx context.Context, ref gateway.Reference, dir string, into fstest.MapFS) error {
	entries, err := ref.ReadDir(ctx, gateway.ReadDirRequest{Path: "/" + dir})
	if err != nil {
		return err
	}
	for _, st := range entries {
		rel := path.Join(dir, st.Path)
		mode := os.FileMode(st.Mode)
		into[rel] = &fstest.MapFile{Mode: mode, ModTime: time.Unix(0, st.ModTime)}
		if mode.IsDir() {
			if err := listTree(ctx, ref, rel, into); err != nil {
				return err
			}
		}
	}
	return nil
}

// CarryArtifact keeps the files as a state of their own, rooted at base.
// It carries nothing (nil) when a file's name cannot be told to BuildKit
// as an include pattern (leading or trailing spaces): the host copy
// serves then.
func (w *workspace) CarryArtifact(ctx context.Context, base string, files []string) (runner.CarriedArtifact, error) {
	if w.released {
		return nil, errors.New("carrying an artifact of a released workspace")
	}
	var st llb.State
	if l := w.listed; l != nil && base == "" && l.onlyFiles(files) {
		// The selection holds just the artifact: no second copy.
		st = l.state
	} else {
		patterns := make([]string, len(files))
		for i, f := range files {
			if strings.TrimSpace(f) != f || strings.Contains(f, "/ ") || strings.Contains(f, " /") {
				return nil, nil
			}
			patterns[i] = escapePattern(f)
		}
		st = llb.Scratch().File(llb.Copy(w.current().files, path.Join(w.filesDir, base), "/", &llb.CopyInfo{
			CopyDirContentsOnly: true,
			IncludePatterns:     patterns,
			CreateDestPath:      true,
		}), llb.WithCustomName(fmt.Sprintf("[%s] artifact of %d file(s) in %s", w.node.ID, len(files), path.Join("/", base))))
	}
	def, err := st.Marshal(ctx, llb.LocalUniqueID(w.unique))
	if err != nil {
		return nil, err
	}
	op, err := llb.NewDefinitionOp(def.ToPB())
	if err != nil {
		return nil, err
	}
	w.holds.Add(1)
	return &carried{w: w, state: llb.NewState(op), key: w.node.ID + "\x00artifact\x00" + base}, nil
}

// onlyFiles says whether the listing's files are exactly files.
func (l *listing) onlyFiles(files []string) bool {
	n := 0
	for _, f := range l.fsys {
		if !f.Mode.IsDir() {
			n++
		}
	}
	if n != len(files) {
		return false
	}
	for _, f := range files {
		if e, ok := l.fsys[f]; !ok || e.Mode.IsDir() {
			return false
		}
	}
	return true
}

// escapePattern makes a file's path an include pattern that matches it
// alone.
func escapePattern(p string) string {
	var b strings.Builder
	for i, c := range p {
		if strings.ContainsRune(`*?[]\`, c) || c == '!' && i == 0 {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// carried is an artifact a workspace's session carries.
type carried struct {
	w     *workspace
	state llb.State
	// key names the artifact's files among the exports kept for reuse.
	key     string
	release sync.Once
}

// Export copies the artifact's files to dst on the host, through the
// producer's session (reusing the last export of a file BuildKit reports
// unchanged).
func (c *carried) Export(ctx context.Context, dst string) error {
	ref, err := c.w.solve(ctx, c.state)
	if err != nil {
		return c.w.e.lost(err)
	}
	return c.w.e.lost(c.w.e.exportTree(ctx, ref, c.key, "", dst))
}

// Release lets the producer's session end.
func (c *carried) Release() {
	c.release.Do(c.w.holds.Done)
}

// TakeArtifact copies a carried artifact of this executor into the
// workspace at dir.
func (w *workspace) TakeArtifact(ctx context.Context, a runner.CarriedArtifact, dir string) (bool, error) {
	c, ok := a.(*carried)
	if !ok || c.w.e != w.e {
		return false, nil
	}
	if w.released {
		return false, errors.New("taking an artifact into a released workspace")
	}
	opts := []llb.CopyOption{&llb.CopyInfo{CopyDirContentsOnly: true, CreateDestPath: true}}
	// The files are the job's user's, as files sent from the host are.
	if o := w.owner; o != nil {
		opts = append(opts, llb.WithUIDGID(o.uid, o.gid))
	} else {
		opts = append(opts, llb.WithUIDGID(0, 0))
	}
	base := w.current()
	w.commit(base, layers{files: base.files.File(llb.Copy(c.state, "/", path.Join(w.filesDir, path.Clean("/"+dir)), opts...),
		llb.WithCustomName(fmt.Sprintf("[%s] artifact from %s into %s", w.node.ID, c.w.node.ID, dir)))})
	return true, nil
}

var _ runner.ArtifactCarrier = (*workspace)(nil)
