package lock

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/imageref"
)

// FileName is the lock file's name at the repository root.
const FileName = "gantry.lock"

// File pins what a repository's pipelines use from elsewhere, so that a
// locked run is reproducible and can work offline from the caches. The
// methods that look entries up take a nil *File as an empty lock.
type File struct {
	Version int `json:"version"`
	// Actions are remote actions and reusable workflows by their uses:
	// text, with the commit the ref named and a hash of the fetched tree.
	Actions []Action `json:"actions,omitempty"`
	// Images are the container images the pipelines name. Registry
	// references are recorded as written (no registry is asked for
	// digests); local images (oci-layout://, rootfs://) get a hash of what
	// they hold.
	Images []Image `json:"images,omitempty"`
	// Includes are the remote files GitLab pipelines include, with a
	// hash of their content.
	Includes []Include `json:"includes,omitempty"`
}

// Action is one pinned action or reusable workflow.
type Action struct {
	Uses string `json:"uses"`
	SHA  string `json:"sha"`
	Hash string `json:"hash"`
}

// Image is one image reference.
type Image struct {
	Ref  string `json:"ref"`
	Hash string `json:"hash,omitempty"`
}

// Include is one file a GitLab pipeline includes from elsewhere: its
// kind (project, component, template, remote) and key (the include as
// written, variables expanded), the instance, project, commit and path it
// was read from (for the API's kinds), and a hash of its content.
type Include struct {
	Kind     string `json:"kind"`
	Ref      string `json:"ref"`
	Instance string `json:"instance,omitempty"`
	Project  string `json:"project,omitempty"`
	Commit   string `json:"commit,omitempty"`
	Path     string `json:"path,omitempty"`
	Hash     string `json:"hash"`
}

// Read reads a lock file; a missing file gives nil and no error.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w (write it again with gantry lock)", path, err)
	}
	return &f, nil
}

// Write writes the lock, sorted and without duplicates, as indented JSON.
func (f *File) Write(w io.Writer) error {
	f.Version = 1
	slices.SortStableFunc(f.Actions, func(a, b Action) int { return cmp.Compare(a.Uses, b.Uses) })
	f.Actions = slices.CompactFunc(f.Actions, func(a, b Action) bool { return a.Uses == b.Uses })
	slices.SortStableFunc(f.Images, func(a, b Image) int { return cmp.Compare(a.Ref, b.Ref) })
	f.Images = slices.CompactFunc(f.Images, func(a, b Image) bool { return a.Ref == b.Ref })
	slices.SortStableFunc(f.Includes, func(a, b Include) int { return cmp.Compare(a.Ref, b.Ref) })
	f.Includes = slices.CompactFunc(f.Includes, func(a, b Include) bool { return a.Kind == b.Kind && a.Ref == b.Ref })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Action finds the locked entry of uses.
func (f *File) Action(uses string) (Action, bool) {
	if f == nil {
		return Action{}, false
	}
	for _, a := range f.Actions {
		if a.Uses == uses {
			return a, true
		}
	}
	return Action{}, false
}

// Pinned is the commit the lock recorded for an include, for reading it
// there again (gitlab.Options.Pinned).
func (f *File) Pinned(kind, key string) (string, bool) {
	in, ok := f.Include(kind, key)
	return in.Commit, ok && in.Commit != ""
}

// Include finds the locked entry of a remote file.
func (f *File) Include(kind, ref string) (Include, bool) {
	if f == nil {
		return Include{}, false
	}
	for _, in := range f.Includes {
		if in.Kind == kind && in.Ref == ref {
			return in, true
		}
	}
	return Include{}, false
}

// AddImages records the images of p's nodes and services. References
// made at run time (with $) are left out; local images get a hash of
// their directory when it can be read.
func (f *File) AddImages(p *dag.Pipeline) {
	for _, n := range p.Nodes {
		refs := []string{n.Image}
		for _, s := range n.Services {
			refs = append(refs, s.Image)
		}
		for _, ref := range refs {
			if ref == "" || strings.Contains(ref, "$") {
				continue
			}
			img := Image{Ref: ref}
			if r, err := imageref.Parse(ref); err == nil && r.Local() {
				if h, err := TreeHash(r.Dir); err == nil {
					img.Hash = h
				}
			}
			f.Images = append(f.Images, img)
		}
	}
}
