package translate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gantry-ci/gantry/dag"
)

// LockFile is the lock file's name at the repository root.
const LockFile = "gantry.lock"

// Lock pins what a repository's pipelines use from elsewhere, so that a
// locked run is reproducible and can work offline from the caches.
type Lock struct {
	Version int `json:"version"`
	// Actions are remote actions and reusable workflows by their uses:
	// text, with the commit the ref named and a hash of the fetched tree.
	Actions []LockedAction `json:"actions,omitempty"`
	// Images are the container images the pipelines name. Registry
	// references are recorded as written (no registry is asked for
	// digests); local images (oci-layout://, rootfs://) get a hash of what
	// they hold.
	Images []LockedImage `json:"images,omitempty"`
	// Includes are the remote files GitLab pipelines include, with a
	// hash of their content.
	Includes []LockedInclude `json:"includes,omitempty"`
}

// LockedInclude is one included remote file.
type LockedInclude struct {
	Kind string `json:"kind"`
	Ref  string `json:"ref"`
	Hash string `json:"hash"`
}

// Include finds the locked entry of a remote file.
func (l *Lock) Include(kind, ref string) (LockedInclude, bool) {
	if l == nil {
		return LockedInclude{}, false
	}
	for _, in := range l.Includes {
		if in.Kind == kind && in.Ref == ref {
			return in, true
		}
	}
	return LockedInclude{}, false
}

// ContentHash is the hash the lock records for a file's content.
func ContentHash(data []byte) string {
	h := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(h[:])
}

// LockedAction is one pinned action or reusable workflow.
type LockedAction struct {
	Uses string `json:"uses"`
	SHA  string `json:"sha"`
	Hash string `json:"hash"`
}

// LockedImage is one image reference.
type LockedImage struct {
	Ref  string `json:"ref"`
	Hash string `json:"hash,omitempty"`
}

// ReadLock reads a lock file; a missing file gives nil and no error.
func ReadLock(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var l Lock
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("%s: %w (write it again with gantry lock)", path, err)
	}
	return &l, nil
}

// Write writes the lock, sorted, as indented JSON.
func (l *Lock) Write(w io.Writer) error {
	l.Version = 1
	sort.Slice(l.Actions, func(i, j int) bool { return l.Actions[i].Uses < l.Actions[j].Uses })
	sort.Slice(l.Images, func(i, j int) bool { return l.Images[i].Ref < l.Images[j].Ref })
	l.Actions = slices.CompactFunc(l.Actions, func(a, b LockedAction) bool { return a.Uses == b.Uses })
	l.Images = slices.CompactFunc(l.Images, func(a, b LockedImage) bool { return a.Ref == b.Ref })
	sort.Slice(l.Includes, func(i, j int) bool { return l.Includes[i].Ref < l.Includes[j].Ref })
	l.Includes = slices.CompactFunc(l.Includes, func(a, b LockedInclude) bool { return a.Kind == b.Kind && a.Ref == b.Ref })
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Action finds the locked entry of uses.
func (l *Lock) Action(uses string) (LockedAction, bool) {
	if l == nil {
		return LockedAction{}, false
	}
	for _, a := range l.Actions {
		if a.Uses == uses {
			return a, true
		}
	}
	return LockedAction{}, false
}

// AddImages records the images of p's nodes and services.
func (l *Lock) AddImages(p *dag.Pipeline) {
	for _, n := range p.Nodes {
		refs := []string{n.Image}
		for _, s := range n.Services {
			refs = append(refs, s.Image)
		}
		for _, ref := range refs {
			if ref == "" || strings.Contains(ref, "${") || strings.Contains(ref, "$") {
				continue
			}
			img := LockedImage{Ref: ref}
			for _, scheme := range []string{"oci-layout://", "rootfs://"} {
				if dir, ok := strings.CutPrefix(ref, scheme); ok {
					dir, _, _ = strings.Cut(dir, ":")
					if h, err := TreeHash(dir); err == nil {
						img.Hash = h
					}
				}
			}
			l.Images = append(l.Images, img)
		}
	}
}

// TreeHash is a digest of a directory's files: their paths, modes,
// contents and link targets, in a fixed order.
func TreeHash(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".gantry-sha" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", filepath.ToSlash(rel), info.Mode()&(fs.ModeType|0o111))
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			link, _ := os.Readlink(p)
			io.WriteString(h, link)
		case info.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		h.Write([]byte{0})
		return nil
	})
	if err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
