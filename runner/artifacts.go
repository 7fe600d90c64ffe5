package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/gantry-ci/gantry/dag"
)

// artifactDir is where a node's artifact is kept for the nodes after it.
func (r *run) artifactDir(node, name string) string {
	return filepath.Join(r.opts.RunDir, "artifacts", node, name)
}

// uploaded is the directory of an artifact upload-artifact kept under
// name in this run, else in the earlier run whose jobs stand for needs
// not run (--no-needs).
func (r *run) uploaded(name string) (string, bool) {
	dirs := []string{r.opts.RunDir}
	var prior []string
	for _, p := range r.opts.Prior {
		if p.RunDir != "" && !slices.Contains(prior, p.RunDir) {
			prior = append(prior, p.RunDir)
		}
	}
	// Records are named by their start time: the newest first.
	slices.Sort(prior)
	slices.Reverse(prior)
	for _, dir := range append(dirs, prior...) {
		p := filepath.Join(dir, "artifacts", "_named", name)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// produceArtifacts keeps a node's artifacts, as their when: says.
func (j *job) produceArtifacts(ctx context.Context, status dag.Status, res *NodeResult) error {
	r, n := j.r, j.n
	if n.Artifacts == nil {
		return nil
	}
	for _, a := range n.Artifacts.Produces {
		if !whenApplies(a.When, status) {
			continue
		}
		root, err := j.hostRoot(ctx, a.Paths)
		if err != nil {
			return err
		}
		count, err := copyGlobs(root, a.Paths, a.Exclude, r.artifactDir(n.ID, a.Name))
		if err != nil {
			return err
		}
		if count == 0 && a.Report == "" {
			r.opts.Reporter.Line(res.ID, "gantry", fmt.Sprintf("artifact %q: no file matches %s", a.Name, strings.Join(a.Paths, ", ")))
		}
		if a.Report == "dotenv" {
			vars := map[string]string{}
			for _, p := range a.Paths {
				if err := readKeyValues(filepath.Join(root, p), vars); err != nil {
					return err
				}
			}
			res.dotenv = vars
		}
	}
	return nil
}

// consumeArtifacts brings the artifacts a node consumes into its workspace,
// and the dotenv variables of the nodes they come from into its env.
func (j *job) consumeArtifacts(ctx context.Context) error {
	r, n := j.r, j.n
	if n.Artifacts == nil {
		return nil
	}
	for _, c := range n.Artifacts.Consumes {
		src := filepath.Join(r.opts.RunDir, "artifacts", c.From)
		if prior, ok := r.opts.Prior[c.From]; ok && prior.RunDir != "" {
			if _, err := os.Stat(src); err != nil {
				// A need not run (--no-needs): its artifacts of the run
				// whose result stands for it.
				src = filepath.Join(prior.RunDir, "artifacts", c.From)
			}
		}
		if c.Name != "" {
			src = filepath.Join(src, c.Name)
		}
		if _, err := os.Stat(src); err != nil {
			continue // it produced nothing (skipped, or no file matched)
		}
		if c.Name == "" {
			// Every artifact of the node lands at the path, merged.
			entries, _ := os.ReadDir(src)
			for _, e := range entries {
				if err := j.putInto(ctx, filepath.Join(src, e.Name()), c.Path); err != nil {
					return err
				}
			}
		} else if err := j.putInto(ctx, src, c.Path); err != nil {
			return err
		}
		r.mu.Lock()
		from := r.results[c.From]
		r.mu.Unlock()
		if from != nil {
			for k, v := range from.dotenv {
				j.exported[k] = v
			}
		}
	}
	return nil
}

// whenApplies says whether what is kept "when" (GitLab's artifacts:when,
// cache:when; on_success by default) is kept for a node that ended so.
func whenApplies(when dag.When, status dag.Status) bool {
	switch when {
	case dag.WhenAlways:
		return true
	case dag.WhenOnFailure:
		return status == dag.StatusFailure
	default:
		return status == dag.StatusSuccess
	}
}

// hostRoot is a directory on the host that holds the workspace's files
// matching globs, at their paths: the workspace itself when it is on the
// host, or else a copy of those files.
func (j *job) hostRoot(ctx context.Context, globs []string) (string, error) {
	if dir := j.ws.HostDir(); dir != "" {
		return dir, nil
	}
	ft, ok := j.ws.(FileTransfer)
	if !ok {
		return "", fmt.Errorf("the %s executor cannot copy files out of its workspace", j.r.opts.Executor.Name())
	}
	// Exports may be large: they go to the run's directory, not the
	// scratch one (which may be in memory).
	base := filepath.Join(j.r.opts.RunDir, "exports")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(base, j.n.ID+"-")
	if err != nil {
		return "", err
	}
	return dir, ft.Export(ctx, exportPatterns(globs), dir)
}

// putInto copies the host file or directory src to rel in the workspace.
func (j *job) putInto(ctx context.Context, src, rel string) error {
	if dir := j.ws.HostDir(); dir != "" {
		return copyTree(src, filepath.Join(dir, rel))
	}
	ft, ok := j.ws.(FileTransfer)
	if !ok {
		return fmt.Errorf("the %s executor cannot copy files into its workspace", j.r.opts.Executor.Name())
	}
	return ft.Import(ctx, src, rel)
}

// copyGlobs copies the files under root that match the globs (a directory
// means everything in it) and none of the excludes into dst, keeping their
// relative paths. It returns how many files it copied.
func copyGlobs(root string, globs, excludes []string, dst string) (int, error) {
	return copyGlobsUnder(root, "", globs, excludes, dst)
}

// copyGlobsUnder is copyGlobs of root's directory base, with the excludes
// relative to root.
func copyGlobsUnder(root, base string, globs, excludes []string, dst string) (int, error) {
	root = filepath.Join(root, base)
	files, err := matchGlobs(os.DirFS(root), base, globs, excludes)
	for _, p := range files {
		if err := copyFile(filepath.Join(root, p), filepath.Join(dst, p)); err != nil {
			return 0, err
		}
	}
	return len(files), err
}

// matchGlobs lists the files of fsys that match the globs (a directory
// means everything in it) and none of the excludes, as slash paths, in
// the order the globs find them (a file two globs match, twice). fsys is
// the directory base of the tree the excludes are relative to, as
// upload-artifact's are to the workspace.
func matchGlobs(fsys fs.FS, base string, globs, excludes []string) ([]string, error) {
	var files []string
	for _, g := range globs {
		g = strings.TrimPrefix(filepath.ToSlash(g), "./")
		g = strings.TrimSuffix(g, "/")
		matches, err := doublestar.Glob(fsys, g)
		if err != nil {
			return files, fmt.Errorf("bad path pattern %q: %w", g, err)
		}
		for _, m := range matches {
			err := fs.WalkDir(fsys, m, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				for _, ex := range excludes {
					if ok, _ := doublestar.Match(strings.TrimPrefix(filepath.ToSlash(filepath.Clean(ex)), "./"), path.Join(base, p)); ok {
						return nil
					}
				}
				files = append(files, p)
				return nil
			})
			if err != nil {
				return files, err
			}
		}
	}
	return files, nil
}

// copyTree copies a file or directory tree to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if st.Mode()&os.ModeSymlink != 0 {
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		_ = os.Remove(dst)
		return os.Symlink(link, dst)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
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
	// The same modification time: an unchanged artifact is then seen as
	// unchanged by executors that send files incrementally (BuildKit).
	return os.Chtimes(dst, st.ModTime(), st.ModTime())
}

// CopyArtifacts copies the artifacts a run kept in runDir to dst on the
// host: those uploaded by name (actions/upload-artifact) to dst/NAME, a
// node's own (GitLab artifacts:) to dst/NODE. It returns how many it
// copied.
func CopyArtifacts(runDir, dst string) (int, error) {
	root := filepath.Join(runDir, "artifacts")
	nodes, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	count := 0
	for _, n := range nodes {
		if n.Name() != "_named" {
			if err := copyTree(filepath.Join(root, n.Name()), filepath.Join(dst, n.Name())); err != nil {
				return count, err
			}
			count++
			continue
		}
		named, _ := os.ReadDir(filepath.Join(root, n.Name()))
		for _, a := range named {
			if err := copyTree(filepath.Join(root, n.Name(), a.Name()), filepath.Join(dst, a.Name())); err != nil {
				return count, err
			}
			count++
		}
	}
	return count, nil
}
