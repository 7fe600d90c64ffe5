package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// copyStats says what copyRepo did.
type copyStats struct {
	files int  // files, symbolic links and directories copied
	git   bool // the git metadata came along
	// reflink: files are cloned (FICLONE) rather than copied.
	reflink bool
}

// copyRepo copies the checkout at src into dst, a directory that does not
// exist yet. When src is a git work tree, it copies what
// `git ls-files --cached --others --exclude-standard` lists, each nested
// repository (submodule) the same way, and, when src is the top of its work
// tree, the git metadata (see copyGitDir). Otherwise it copies everything
// but .git directories. It never copies .gantry at the top, nor the
// directory skip (relative to src; "" for none). With reflink, files are
// clones of the source's (FICLONE). It reads src and never writes to it.
func copyRepo(ctx context.Context, src, dst, skip string, log *slog.Logger, lists *listingCache, reflink bool) (copyStats, error) {
	st := copyStats{reflink: reflink}
	err := copyRepoStats(ctx, src, dst, skip, log, &st, lists)
	return st, err
}

func copyRepoStats(ctx context.Context, src, dst, skip string, log *slog.Logger, st *copyStats, lists *listingCache) error {
	repo, paths, err := lists.list(ctx, src)
	if err != nil {
		return err
	}
	paths = slices.DeleteFunc(slices.Clone(paths), func(rel string) bool {
		return under(rel, ".gantry") || skip != "" && under(rel, skip)
	})
	if err := os.MkdirAll(dst, 0o777); err != nil {
		return err
	}
	c, err := newCopier(ctx, src, dst, log, st)
	if err != nil {
		return err
	}
	c.lists = lists
	defer c.close()
	c.nested = repo != nil
	if err := c.copyAll(paths); err != nil {
		return err
	}
	if repo == nil {
		return nil
	}
	if repo.top != src {
		log.Debug("source is below the top of its git work tree: history not copied",
			"source", src, "top", repo.top)
		return nil
	}
	if err := copyGitDir(ctx, repo, filepath.Join(dst, ".git"), log); err != nil {
		return fmt.Errorf("copy git metadata of %q: %w", src, err)
	}
	st.git = true
	return nil
}

// under reports whether the slash- or separator-separated relative path
// rel is dir or below it.
func under(rel, dir string) bool {
	return rel == dir || strings.HasPrefix(rel, dir+string(filepath.Separator))
}

// listingCache remembers which files a checkout holds, for one executor:
// the nodes of a run all copy the same checkout, listing it costs two git
// processes, and one listing gives every node the same snapshot. A nil
// cache lists every time.
type listingCache struct {
	mu sync.Mutex
	m  map[string]listing
}

type listing struct {
	repo  *gitRepo
	paths []string
}

func (c *listingCache) list(ctx context.Context, src string) (*gitRepo, []string, error) {
	if c != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if l, ok := c.m[src]; ok {
			return l.repo, l.paths, nil
		}
	}
	// Both git processes at once: the listing is on the first job's
	// critical path, and fails harmlessly outside a work tree.
	type listed struct {
		paths []string
		err   error
	}
	gl := make(chan listed, 1)
	go func() {
		var l listed
		if _, err := exec.LookPath("git"); err == nil {
			l.paths, l.err = gitList(ctx, src)
		}
		gl <- l
	}()
	repo, err := findRepo(ctx, src)
	l := <-gl
	if err != nil {
		return nil, nil, err
	}
	var paths []string
	if repo != nil {
		paths, err = l.paths, l.err
	} else {
		paths, err = walkList(src, func(rel string, d fs.DirEntry) bool {
			return filepath.Base(rel) == ".git"
		})
	}
	if err != nil {
		return nil, nil, err
	}
	if c != nil {
		if c.m == nil {
			c.m = map[string]listing{}
		}
		c.m[src] = listing{repo: repo, paths: paths}
	}
	return repo, paths, nil
}

// gitRepo is where a work tree's git metadata lives.
type gitRepo struct {
	top    string // top of the work tree
	gitDir string // its git directory ($GIT_DIR): HEAD, index
	common string // the directory it shares with other work trees: objects, refs, config
}

// findRepo returns the git work tree that dir is in, or nil when it is in
// none.
func findRepo(ctx context.Context, dir string) (*gitRepo, error) {
	if _, err := exec.LookPath("git"); err != nil {
		if _, serr := os.Lstat(filepath.Join(dir, ".git")); serr == nil {
			return nil, fmt.Errorf("%q is a git repository and git is needed to copy it: %w", dir, err)
		}
		return nil, nil
	}
	out, err := runGit(ctx, dir, "rev-parse", "--path-format=absolute",
		"--show-toplevel", "--git-dir", "--git-common-dir")
	if err != nil {
		if strings.Contains(err.Error(), "not a git repository") {
			return nil, nil
		}
		return nil, err
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 3 {
		return nil, fmt.Errorf("git rev-parse in %q: unexpected output %q", dir, out)
	}
	r := &gitRepo{top: lines[0], gitDir: lines[1], common: lines[2]}
	for _, p := range []*string{&r.top, &r.gitDir, &r.common} {
		if real, err := filepath.EvalSymlinks(*p); err == nil {
			*p = real
		}
	}
	return r, nil
}

// gitList lists a work tree's tracked files and its untracked files that
// are not ignored, relative to dir. Submodules and untracked nested
// repositories are listed as directories.
func gitList(ctx context.Context, dir string) ([]string, error) {
	out, err := runGit(ctx, dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return nil, err
	}
	var paths []string
	for p := range bytes.SplitSeq(out, []byte{0}) {
		if len(p) == 0 {
			continue
		}
		paths = append(paths, filepath.FromSlash(strings.TrimSuffix(string(p), "/")))
	}
	// An unmerged path is listed once per stage.
	slices.Sort(paths)
	return slices.Compact(paths), nil
}

// walkList lists everything below dir, directories included, except what
// skip says (and, for a directory, all below it).
func walkList(dir string, skip func(rel string, d fs.DirEntry) bool) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		rel := strings.TrimPrefix(path[len(dir):], string(filepath.Separator))
		if skip(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		paths = append(paths, rel)
		return nil
	})
	return paths, err
}

// localRepoEnv are the variables that tell git where a repository is; a
// gantry started from a git hook has them, and they must not steer the git
// commands that read the source.
var localRepoEnv = []string{
	"GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE",
	"GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
	"GIT_IMPLICIT_WORK_TREE", "GIT_PREFIX", "GIT_SHALLOW_FILE", "GIT_GRAFT_FILE",
	"GIT_NAMESPACE", "GIT_INTERNAL_SUPER_PREFIX",
}

// runGit runs a read-only git command in dir and returns its stdout.
func runGit(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(localRepoEnv, k) || k == "LC_ALL"
	})
	cmd.Env = append(env, "LC_ALL=C", "GIT_OPTIONAL_LOCKS=0", "GIT_TERMINAL_PROMPT=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return nil, fmt.Errorf("git %s in %q: %w", args[0], dir, err)
		}
		return nil, fmt.Errorf("git %s in %q: %w: %s", args[0], dir, err, msg)
	}
	return out, nil
}

// copyGitDir makes dst a git directory of its own for the copy of r's work
// tree: everything of r's git directory except the object store, which it
// borrows read-only through objects/info/alternates (as `git clone
// --shared` does), the LFS store (a cache, refetched on demand), lock files,
// other work trees and submodules' git directories (each submodule's copy
// gets its own). A linked work tree's own HEAD and index override the
// shared ones, and core.worktree is dropped so that the copy's git works on
// the copy. Git writes new objects to dst's own store, so nothing the steps
// do with git reaches r.
func copyGitDir(ctx context.Context, r *gitRepo, dst string, log *slog.Logger) error {
	var st copyStats
	top := func(rel string, names ...string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return under(rel, n) })
	}
	lock := func(d fs.DirEntry) bool {
		return !d.IsDir() && strings.HasSuffix(d.Name(), ".lock")
	}
	// hooks/*.sample are git's inert examples (13 files in every repository)
	// that no step runs.
	sample := func(rel string, d fs.DirEntry) bool {
		return !d.IsDir() && strings.HasSuffix(rel, ".sample") && under(rel, "hooks")
	}
	paths, err := walkList(r.common, func(rel string, d fs.DirEntry) bool {
		return lock(d) || sample(rel, d) || top(rel, "objects", "worktrees", "modules", "lfs")
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o777); err != nil {
		return err
	}
	c, err := newCopier(ctx, r.common, dst, log, &st)
	if err != nil {
		return err
	}
	err = c.copyAll(paths)
	c.close()
	if err != nil {
		return err
	}
	if r.gitDir != r.common {
		paths, err := walkList(r.gitDir, func(rel string, d fs.DirEntry) bool {
			return lock(d) || rel == "commondir" || rel == "gitdir"
		})
		if err != nil {
			return err
		}
		c, err := newCopier(ctx, r.gitDir, dst, log, &st)
		if err != nil {
			return err
		}
		c.overwrite = true
		err = c.copyAll(paths)
		c.close()
		if err != nil {
			return err
		}
	}
	info := filepath.Join(dst, "objects", "info")
	if err := os.MkdirAll(info, 0o777); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dst, "objects", "pack"), 0o777); err != nil {
		return err
	}
	alt := filepath.Join(r.common, "objects") + "\n"
	if err := os.WriteFile(filepath.Join(info, "alternates"), []byte(alt), 0o666); err != nil {
		return err
	}
	config := filepath.Join(dst, "config")
	if b, err := os.ReadFile(config); err == nil && bytes.Contains(bytes.ToLower(b), []byte("worktree")) {
		// Run from "/": where git would find the repository, it would
		// trip over the very core.worktree it is asked to remove. Exit
		// status 5: the key is not set.
		_, err := runGit(ctx, "/", "config", "--file", config, "--unset-all", "core.worktree")
		var exit *exec.ExitError
		if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 5) {
			return err
		}
	}
	return nil
}

// copier copies listed paths from one directory tree to another. Both are
// opened as os.Root, and a path is skipped when one of its parents is a
// symbolic link in the source, so a link is never followed, let alone out
// of the tree.
type copier struct {
	ctx              context.Context
	src, dst         *os.Root
	srcPath, dstPath string
	log              *slog.Logger
	st               *copyStats
	lists            *listingCache
	// nested: a listed directory is a nested repository, copied with
	// copyRepo, or else left empty (as an uninitialised submodule).
	nested bool
	// overwrite: replace files that exist in the destination.
	overwrite bool
	parents   map[string]bool // source directory → it is a real directory
	made      map[string]bool // destination directories that exist
	// The directory of the last path copied, open on both sides: paths
	// come sorted, so most paths are in the directory of the one before.
	dir            string
	srcDir, dstDir *os.Root
}

func newCopier(ctx context.Context, src, dst string, log *slog.Logger, st *copyStats) (*copier, error) {
	s, err := os.OpenRoot(src)
	if err != nil {
		return nil, err
	}
	d, err := os.OpenRoot(dst)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &copier{
		ctx: ctx, src: s, dst: d, srcPath: src, dstPath: dst, log: log, st: st,
		parents: map[string]bool{".": true},
		made:    map[string]bool{".": true},
	}, nil
}

func (c *copier) close() {
	c.closeDir()
	c.src.Close()
	c.dst.Close()
}

func (c *copier) closeDir() {
	if c.srcDir != nil && c.srcDir != c.src {
		c.srcDir.Close()
		c.dstDir.Close()
	}
	c.dir, c.srcDir, c.dstDir = "", nil, nil
}

// openDir makes dir the open directory, creating it in the destination.
func (c *copier) openDir(dir string) error {
	if c.srcDir != nil && c.dir == dir {
		return nil
	}
	c.closeDir()
	if dir == "." {
		c.dir, c.srcDir, c.dstDir = dir, c.src, c.dst
		return nil
	}
	if err := c.mkdirs(dir); err != nil {
		return err
	}
	s, err := c.src.OpenRoot(dir)
	if err != nil {
		return err
	}
	d, err := c.dst.OpenRoot(dir)
	if err != nil {
		s.Close()
		return err
	}
	c.dir, c.srcDir, c.dstDir = dir, s, d
	return nil
}

func (c *copier) copyAll(paths []string) error {
	for i, rel := range paths {
		if i%256 == 0 {
			if err := ctxErr(c.ctx); err != nil {
				return err
			}
		}
		if err := c.copy(rel); err != nil {
			return fmt.Errorf("copy %q: %w", filepath.Join(c.srcPath, rel), err)
		}
	}
	return nil
}

func (c *copier) copy(rel string) error {
	dir, base := filepath.Dir(rel), filepath.Base(rel)
	if !c.realDir(dir) {
		c.log.Debug("not copied: a parent is not a directory", "path", rel)
		return nil
	}
	if err := c.openDir(dir); err != nil {
		return err
	}
	fi, err := c.srcDir.Lstat(base)
	if errors.Is(err, fs.ErrNotExist) {
		// Tracked but deleted from the work tree, or outside a sparse
		// checkout.
		return nil
	}
	if err != nil {
		return err
	}
	switch mode := fi.Mode(); {
	case mode.IsRegular():
		err = c.file(base, mode)
	case mode&fs.ModeSymlink != 0:
		err = c.symlink(base)
	case mode.IsDir():
		if !c.nested {
			err = c.mkdirs(rel)
			break
		}
		if _, gerr := c.src.Lstat(filepath.Join(rel, ".git")); gerr != nil {
			err = c.mkdirs(rel)
			break
		}
		return copyRepoStats(c.ctx, filepath.Join(c.srcPath, rel), filepath.Join(c.dstPath, rel), "", c.log, c.st, c.lists)
	default:
		c.log.Debug("not copied: not a file, directory or symbolic link", "path", rel, "mode", mode)
		return nil
	}
	if err == nil {
		c.st.files++
	}
	return err
}

// realDir reports whether the source directory dir, and each of its
// parents, is a directory and not a symbolic link.
func (c *copier) realDir(dir string) bool {
	if ok, seen := c.parents[dir]; seen {
		return ok
	}
	ok := c.realDir(filepath.Dir(dir))
	if ok {
		fi, err := c.src.Lstat(dir)
		ok = err == nil && fi.IsDir()
	}
	c.parents[dir] = ok
	return ok
}

func (c *copier) mkdirs(dir string) error {
	if c.made[dir] {
		return nil
	}
	if err := c.dst.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	c.made[dir] = true
	return nil
}

// file copies a regular file and its permission bits; the contents are
// copied by the kernel (copy_file_range) where it can.
// name is in the open directory.
func (c *copier) file(name string, mode fs.FileMode) error {
	in, err := c.srcDir.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if c.overwrite {
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if err := c.dstDir.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	out, err := c.dstDir.OpenFile(name, flag, 0o600)
	if err != nil {
		return err
	}
	if c.st.reflink {
		err = clone(out, in)
	} else {
		_, err = io.Copy(out, in)
	}
	if err == nil {
		// Explicitly, as the umask applies to OpenFile's mode.
		err = out.Chmod(mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky))
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// symlink copies a symbolic link as a link, its target unchanged; name is
// in the open directory.
func (c *copier) symlink(name string) error {
	target, err := c.srcDir.Readlink(name)
	if err != nil {
		return err
	}
	if c.overwrite {
		if err := c.dstDir.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return c.dstDir.Symlink(target, name)
}
