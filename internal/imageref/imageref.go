package imageref

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// Kind is where an image comes from.
type Kind int

const (
	// Registry is a reference pulled from a registry (alpine:3,
	// ghcr.io/o/i@sha256:...).
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

// The schemes of image references.
const (
	RootFSScheme    = "rootfs://"
	OCILayoutScheme = "oci-layout://"
	// DockerScheme marks a registry image in GitHub's uses: docker://IMAGE
	// and an action's runs.image; Parse takes it off.
	DockerScheme = "docker://"
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
	// Name is a registry reference, normalised: registry host, repository
	// path, and a tag (latest when none was written) or a digest (a tag
	// written beside a digest is dropped, as Docker does: the digest
	// decides). Empty for local images.
	Name string
}

// Local reports whether the image is read from this machine (RootFS,
// OCILayout) rather than pulled.
func (r Ref) Local() bool { return r.Kind == RootFS || r.Kind == OCILayout }

// String writes the reference in the form Parse reads: a local image as
// it was written, a registry reference normalised.
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

// Familiar is the reference as people write it: a registry reference
// without docker.io/, library/ and :latest (alpine,
// catthehacker/ubuntu:act-latest, ghcr.io/o/x), which is also the name
// BuildKit's Dockerfile frontend looks a FROM up by among named contexts
// (context:NAME); a local image as String writes it.
func (r Ref) Familiar() string {
	if r.Kind != Registry {
		return r.String()
	}
	named, err := reference.ParseNormalizedNamed(r.Name)
	if err != nil {
		return r.Name
	}
	return strings.TrimSuffix(reference.FamiliarString(named), ":latest")
}

// Parse reads an image reference. rootfs://DIR takes everything after the
// scheme as the directory; in oci-layout://DIR[:TAG] a ':' after the last
// '/' starts the tag. Anything else, with or without docker://, is a
// registry reference, normalised (see Ref.Name); one that is not a valid
// reference (an upper-case repository, a stray space) is an error.
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
	name := strings.TrimPrefix(ref, DockerScheme)
	if strings.TrimSpace(name) == "" {
		return Ref{}, fmt.Errorf("image %q: empty reference", ref)
	}
	named, err := reference.ParseDockerRef(name)
	if err != nil {
		return Ref{}, fmt.Errorf("image %q: %s", ref, strings.TrimPrefix(err.Error(), "invalid reference format: "))
	}
	return Ref{Kind: Registry, Name: named.String()}, nil
}

// Host is a registry reference's registry host (docker.io for Docker
// Hub's images, 127.0.0.1:5000, ghcr.io); "" for local images.
func (r Ref) Host() string {
	if r.Kind != Registry {
		return ""
	}
	named, err := reference.ParseNormalizedNamed(r.Name)
	if err != nil {
		return ""
	}
	return reference.Domain(named)
}

// Repository is a registry reference without its tag or digest
// (docker.io/library/alpine); "" for local images.
func (r Ref) Repository() string {
	if r.Kind != Registry {
		return ""
	}
	named, err := reference.ParseNormalizedNamed(r.Name)
	if err != nil {
		return ""
	}
	return named.Name()
}

// Digest is the digest a registry reference names (sha256:...), "" when
// it names a tag.
func (r Ref) Digest() string {
	if r.Kind != Registry {
		return ""
	}
	named, err := reference.ParseNormalizedNamed(r.Name)
	if err != nil {
		return ""
	}
	if d, ok := named.(reference.Digested); ok {
		return d.Digest().String()
	}
	return ""
}
