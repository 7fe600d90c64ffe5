package lock

import (
	"cmp"
	"context"
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
	// Images are the container images the pipelines name: registry
	// references as written, with the digest their tag named when the
	// lock was written (when the registry could be asked); local images
	// (oci-layout://, rootfs://) with a hash of what they hold.
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
	Ref string `json:"ref"`
	// Digest is what a registry reference named (sha256:...).
	Digest string `json:"digest,omitempty"`
	Hash   string `json:"hash,omitempty"`
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

// Image finds the locked entry of an image reference, as written.
func (f *File) Image(ref string) (Image, bool) {
	if f == nil {
		return Image{}, false
	}
	for _, img := range f.Images {
		if img.Ref == ref {
			return img, true
		}
	}
	return Image{}, false
}

// imageRefs are the images p's nodes name, each with where it is named:
// the node's image, its services', its docker:// steps'. References made
// at run time (with $) are left out.
func imageRefs(p *dag.Pipeline) []namedImage {
	var out []namedImage
	for _, n := range p.Nodes {
		add := func(ref string, pos dag.SourcePos) {
			if ref != "" && !strings.Contains(ref, "$") {
				out = append(out, namedImage{ref: ref, pos: pos})
			}
		}
		add(n.Image, n.Pos)
		for _, s := range n.Services {
			add(s.Image, n.Pos)
		}
		for _, s := range n.Steps {
			if img, ok := strings.CutPrefix(s.Uses, imageref.DockerScheme); ok {
				add(img, s.Pos)
			}
		}
	}
	return out
}

type namedImage struct {
	ref string
	pos dag.SourcePos
}

// AddImages records the images of p's nodes, services and docker://
// steps. References made at run time (with $) are left out; local images
// get a hash of their directory when it can be read. Registry images get
// their digests from ResolveImages.
func (f *File) AddImages(p *dag.Pipeline) {
	for _, ni := range imageRefs(p) {
		img := Image{Ref: ni.ref}
		if r, err := imageref.Parse(ni.ref); err == nil && r.Local() {
			if h, err := TreeHash(r.Dir); err == nil {
				img.Hash = h
			}
		}
		f.Images = append(f.Images, img)
	}
}

// ImageResolver says which digest a registry image's reference names now
// (imageref.Resolve is one).
type ImageResolver func(ctx context.Context, ref string) (digest string, err error)

// ResolveImages records the digest of each registry image that has none
// yet; an image whose registry cannot be asked keeps none, and warn says
// so (gantry run --locked then pulls it by its tag, unchecked).
func (f *File) ResolveImages(ctx context.Context, resolve ImageResolver, warn func(string)) {
	done := map[string]string{}
	for i, img := range f.Images {
		r, err := imageref.Parse(img.Ref)
		if err != nil || r.Local() || img.Digest != "" {
			continue
		}
		d, ok := done[img.Ref]
		if !ok {
			d, err = resolve(ctx, img.Ref)
			if err != nil {
				warn(fmt.Sprintf("image %s: no digest recorded: %v", img.Ref, err))
			}
			done[img.Ref] = d
		}
		f.Images[i].Digest = d
	}
}
