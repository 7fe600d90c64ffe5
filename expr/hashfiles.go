package expr

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// HashFilesIn returns an implementation of hashFiles for the workspace dir,
// for Env.HashFiles. It follows GitHub's semantics:
//
//   - patterns are globs relative to dir (a leading "/" or "./" means dir
//     itself; an absolute path inside dir is made relative to it), with *,
//     ?, [...], {a,b} and ** across directories;
//   - a pattern starting with "!" excludes what it matches, and later
//     patterns win over earlier ones;
//   - a pattern that matches a directory matches every file under it;
//   - one argument may hold several patterns on separate lines; blank lines
//     and lines starting with "#" are ignored;
//   - only regular files are hashed (symbolic links to files are followed,
//     links to directories are not walked), and nothing outside dir;
//   - the result is the hex SHA-256 of the concatenated SHA-256 digests of
//     the matched files, in lexical order of their paths, or "" when
//     nothing matches.
func HashFilesIn(dir string) func(patterns []string) (string, error) {
	return func(patterns []string) (string, error) {
		return hashFiles(dir, patterns)
	}
}

type globPattern struct {
	glob   string
	negate bool
}

func hashFiles(dir string, patterns []string) (string, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	var globs []globPattern
	for _, arg := range patterns {
		for line := range strings.SplitSeq(arg, "\n") {
			g, ok, err := parseGlob(root, line)
			if err != nil {
				return "", err
			}
			if ok {
				globs = append(globs, g)
			}
		}
	}
	if len(globs) == 0 {
		return "", nil
	}
	outer := sha256.New()
	matched := false
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if !matchGlobs(globs, filepath.ToSlash(rel)) {
			return nil
		}
		info, err := os.Stat(path) // follows a symbolic link
		if err != nil || !info.Mode().IsRegular() {
			return nil // a dangling link or a special file is not hashed
		}
		sum, err := hashFile(path)
		if err != nil {
			return err
		}
		outer.Write(sum)
		matched = true
		return nil
	})
	if err != nil {
		return "", err
	}
	if !matched {
		return "", nil
	}
	return hex.EncodeToString(outer.Sum(nil)), nil
}

// parseGlob reads one line of a hashFiles argument.
func parseGlob(root, line string) (globPattern, bool, error) {
	p := strings.TrimSpace(line)
	if p == "" || strings.HasPrefix(p, "#") {
		return globPattern{}, false, nil
	}
	var g globPattern
	if strings.HasPrefix(p, "!") {
		g.negate = true
		p = strings.TrimSpace(p[1:])
	}
	if filepath.IsAbs(p) {
		if rel, err := filepath.Rel(root, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			p = filepath.ToSlash(rel)
		}
	}
	p = strings.TrimLeft(p, "/")
	for strings.HasPrefix(p, "./") {
		p = strings.TrimLeft(p[2:], "/")
	}
	p = strings.TrimRight(p, "/")
	if p == "" || p == "." {
		p = "**"
	}
	if !doublestar.ValidatePattern(p) {
		return globPattern{}, false, fmt.Errorf("invalid pattern %q", line)
	}
	g.glob = p
	return g, true, nil
}

// matchGlobs reports whether the last pattern that matches rel, or one of
// its parent directories, includes it.
func matchGlobs(globs []globPattern, rel string) bool {
	in := false
	for _, g := range globs {
		if in == !g.negate {
			continue // this pattern cannot change the outcome
		}
		if matchPathOrParent(g.glob, rel) {
			in = !g.negate
		}
	}
	return in
}

func matchPathOrParent(glob, rel string) bool {
	for p := rel; ; {
		if ok, _ := doublestar.Match(glob, p); ok {
			return true
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

func hashFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hashing %s: %w", path, err)
	}
	return h.Sum(nil), nil
}
