package imageref

import (
	"fmt"
	"strings"
)

// Kind is where an image comes from.
type Kind int

const (
	// Registry is a reference pulled from a registry (alpine:3,
	// ghcr.io/o/i@sha256:...), as written.
	Registry Kind = iota
	// RootFS is a root filesystem directory: rootfs://DIR.
	RootFS
	// OCILayout is an OCI image layout directory: oci-layout://DIR[:TAG].
	OCILayout
)

func (k Kind) String() string {
	switch k {
	case Registry:
		return "registry"
	case RootFS:
		return "rootfs"
	case OCILayout:
		return "oci-layout"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// The schemes of local images.
const (
	RootFSScheme    = "rootfs://"
	OCILayoutScheme = "oci-layout://"
)

// Ref is a parsed image reference.
type Ref struct {
	Kind Kind
	// Dir is a local image's directory as written: relative to the
	// working directory unless absolute. Empty for Registry.
	Dir string
	// Tag picks an OCI layout's image by its org.opencontainers.image.ref.name
	// annotation; empty for the layout's only image, or "latest". Only
	// OCILayout has one.
	Tag string
	// Name is a registry reference as written. Empty for local images.
	Name string
}

// Local reports whether the image is read from this machine (RootFS,
// OCILayout) rather than pulled.
func (r Ref) Local() bool { return r.Kind == RootFS || r.Kind == OCILayout }

// String writes the reference back in the form Parse reads.
func (r Ref) String() string {
	switch r.Kind {
	case RootFS:
		return RootFSScheme + r.Dir
	case OCILayout:
		if r.Tag != "" {
			return OCILayoutScheme + r.Dir + ":" + r.Tag
		}
		return OCILayoutScheme + r.Dir
	}
	return r.Name
}

// Parse reads an image reference. rootfs://DIR takes everything after the
// scheme as the directory; in oci-layout://DIR[:TAG] a ':' after the last
// '/' starts the tag. Anything else is a registry reference, left as
// written for the engine to resolve.
func Parse(ref string) (Ref, error) {
	if dir, ok := strings.CutPrefix(ref, RootFSScheme); ok {
		if dir == "" {
			return Ref{}, fmt.Errorf("image %q: no directory after %s", ref, RootFSScheme)
		}
		return Ref{Kind: RootFS, Dir: dir}, nil
	}
	if rest, ok := strings.CutPrefix(ref, OCILayoutScheme); ok {
		dir, tag := rest, ""
		if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
			dir, tag = rest[:i], rest[i+1:]
			if tag == "" {
				return Ref{}, fmt.Errorf("image %q: no tag after ':' (leave the ':' out for the layout's only image)", ref)
			}
		}
		if dir == "" {
			return Ref{}, fmt.Errorf("image %q: no directory after %s", ref, OCILayoutScheme)
		}
		return Ref{Kind: OCILayout, Dir: dir, Tag: tag}, nil
	}
	if strings.TrimSpace(ref) == "" {
		return Ref{}, fmt.Errorf("image %q: empty reference", ref)
	}
	return Ref{Kind: Registry, Name: ref}, nil
}
