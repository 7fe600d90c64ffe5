package translate

import (
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/gantry-ci/gantry/internal/emit"
)

// PipelinesDir is where a repository keeps its gantry DAGs, relative to
// its root: gantry migrate writes them there, gantry emit's jobs run them
// from there, and Discover finds them there.
const PipelinesDir = ".gantry/pipelines"

// Found is a pipeline file Discover found.
type Found struct {
	// Path is the file's path: the directory given to Discover joined with
	// the path in the repository.
	Path string
	// Provider is the provider whose Patterns matched the path.
	Provider Provider
}

// Discover finds a repository's pipeline files: the files matching each
// provider's Patterns, in registry order (gantry's DAGs under PipelinesDir
// first), each pattern's matches sorted. Trigger files gantry emit wrote
// are left out: they only run gantry, and their DAGs are found instead.
func Discover(dir string) []Found {
	var out []Found
	for _, p := range registry {
		for _, pattern := range p.Patterns {
			// A pattern is ours and well formed: Glob's only error.
			matches, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pattern)))
			for _, m := range matches {
				if generated(m) {
					continue
				}
				out = append(out, Found{Path: m, Provider: p})
			}
		}
	}
	return out
}

// generated reports whether the file at path is a trigger file gantry
// emit wrote. A file that cannot be read is not: reading it again says why.
func generated(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(emit.HeaderPrefix))
	n, _ := io.ReadFull(f, head)
	return emit.Generated(head[:n])
}

// DAGPath is the repository path of the DAG translated from the CI file
// source, in dir (PipelinesDir when empty): the file's name without its
// extension and leading dots, with .yaml, so that
// .github/workflows/ci.yml gives .gantry/pipelines/ci.yaml and
// .gitlab-ci.yml gives .gantry/pipelines/gitlab-ci.yaml. An original that
// gantry migrate kept aside (FILE.orig) names the DAG of FILE. The result
// is slash-separated. Two sources with the same name but another directory
// or extension (ci.yml and ci.yaml) give the same path: callers writing
// several DAGs check for that.
func DAGPath(dir, source string) string {
	if dir == "" {
		dir = PipelinesDir
	}
	base := strings.TrimSuffix(path.Base(filepath.ToSlash(source)), ".orig")
	name := strings.TrimLeft(strings.TrimSuffix(base, path.Ext(base)), ".")
	if name == "" || name == "/" {
		name = "pipeline"
	}
	return path.Join(filepath.ToSlash(dir), name+".yaml")
}
