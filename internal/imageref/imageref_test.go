package imageref_test

import (
	"testing"

	"github.com/gantry-ci/gantry/internal/imageref"
)

func TestParse(t *testing.T) {
	t.Parallel()
	const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name     string
		ref      string
		want     imageref.Ref
		familiar string // Familiar(); the reference itself when empty
		wantErr  string
	}{
		// Registry references, normalised as Docker normalises them.
		{name: "official image", ref: "alpine", want: imageref.Ref{Kind: imageref.Registry, Name: "docker.io/library/alpine:latest"}},
		{name: "official image with a tag", ref: "alpine:3", want: imageref.Ref{Kind: imageref.Registry, Name: "docker.io/library/alpine:3"}},
		{name: "a Docker Hub user's image: the user is no host", ref: "catthehacker/ubuntu:act-latest", want: imageref.Ref{Kind: imageref.Registry, Name: "docker.io/catthehacker/ubuntu:act-latest"}},
		{name: "docker.io written", ref: "docker.io/alpine", want: imageref.Ref{Kind: imageref.Registry, Name: "docker.io/library/alpine:latest"}, familiar: "alpine"},
		{name: "index.docker.io is docker.io", ref: "index.docker.io/library/node:20", want: imageref.Ref{Kind: imageref.Registry, Name: "docker.io/library/node:20"}, familiar: "node:20"},
		{name: "fully written", ref: "docker.io/library/ubuntu:24.04", want: imageref.Ref{Kind: imageref.Registry, Name: "docker.io/library/ubuntu:24.04"}, familiar: "ubuntu:24.04"},
		{name: "localhost keeps its host", ref: "localhost/x", want: imageref.Ref{Kind: imageref.Registry, Name: "localhost/x:latest"}, familiar: "localhost/x"},
		{name: "a host with a port", ref: "localhost:5000/x", want: imageref.Ref{Kind: imageref.Registry, Name: "localhost:5000/x:latest"}, familiar: "localhost:5000/x"},
		{name: "a host with a dot", ref: "ghcr.io/o/x", want: imageref.Ref{Kind: imageref.Registry, Name: "ghcr.io/o/x:latest"}, familiar: "ghcr.io/o/x"},
		{name: "a deep path", ref: "registry.gitlab.com/group/sub/project/image:v1", want: imageref.Ref{Kind: imageref.Registry, Name: "registry.gitlab.com/group/sub/project/image:v1"}},
		{name: "a digest", ref: "node@" + dgst, want: imageref.Ref{Kind: imageref.Registry, Name: "docker.io/library/node@" + dgst}},
		{name: "a tag and a digest: the digest decides", ref: "node:20@" + dgst, want: imageref.Ref{Kind: imageref.Registry, Name: "docker.io/library/node@" + dgst}, familiar: "node@" + dgst},
		{name: "a host, a port and a digest", ref: "localhost:5000/o/i@" + dgst, want: imageref.Ref{Kind: imageref.Registry, Name: "localhost:5000/o/i@" + dgst}},
		{name: "docker:// (uses:, runs.image)", ref: "docker://alpine:3.19", want: imageref.Ref{Kind: imageref.Registry, Name: "docker.io/library/alpine:3.19"}, familiar: "alpine:3.19"},
		{name: "docker:// with a host", ref: "docker://ghcr.io/o/x:1", want: imageref.Ref{Kind: imageref.Registry, Name: "ghcr.io/o/x:1"}, familiar: "ghcr.io/o/x:1"},
		{name: "an upper-case repository", ref: "Alpine", wantErr: `image "Alpine": repository name (library/Alpine) must be lowercase`},
		{name: "a space", ref: "alpine 3", wantErr: `image "alpine 3": invalid reference format`},
		{name: "a digest that is not one", ref: "alpine@sha256:12", wantErr: `image "alpine@sha256:12": invalid reference format`},
		{name: "an unevaluated expression", ref: "${{ matrix.image }}", wantErr: `image "${{ matrix.image }}": invalid reference format`},
		{name: "docker:// alone", ref: "docker://", wantErr: `image "docker://": empty reference`},
		{name: "empty", ref: "", wantErr: `image "": empty reference`},
		{name: "blank", ref: "  ", wantErr: `image "  ": empty reference`},

		// Local images.
		{name: "rootfs, relative", ref: "rootfs://./rootfs", want: imageref.Ref{Kind: imageref.RootFS, Dir: "./rootfs"}},
		{name: "rootfs, bare relative", ref: "rootfs://images/debian", want: imageref.Ref{Kind: imageref.RootFS, Dir: "images/debian"}},
		{name: "rootfs, absolute", ref: "rootfs:///srv/rootfs", want: imageref.Ref{Kind: imageref.RootFS, Dir: "/srv/rootfs"}},
		{name: "rootfs has no tag: a colon is part of the directory", ref: "rootfs://./root:fs", want: imageref.Ref{Kind: imageref.RootFS, Dir: "./root:fs"}},
		{name: "rootfs without a directory", ref: "rootfs://", wantErr: `image "rootfs://": no directory after rootfs://`},
		{name: "layout", ref: "oci-layout://./images/ubuntu", want: imageref.Ref{Kind: imageref.OCILayout, Dir: "./images/ubuntu"}},
		{name: "layout with a tag", ref: "oci-layout://./images/ubuntu:24.04", want: imageref.Ref{Kind: imageref.OCILayout, Dir: "./images/ubuntu", Tag: "24.04"}},
		{name: "layout, absolute, with a tag", ref: "oci-layout:///srv/layout:latest", want: imageref.Ref{Kind: imageref.OCILayout, Dir: "/srv/layout", Tag: "latest"}},
		{name: "layout, bare name with a tag", ref: "oci-layout://layout:v1", want: imageref.Ref{Kind: imageref.OCILayout, Dir: "layout", Tag: "v1"}},
		{name: "a colon in a directory before the last slash is no tag", ref: "oci-layout://./a:b/layout", want: imageref.Ref{Kind: imageref.OCILayout, Dir: "./a:b/layout"}},
		{name: "the last colon starts the tag", ref: "oci-layout://./a:b/layout:c:d", want: imageref.Ref{Kind: imageref.OCILayout, Dir: "./a:b/layout:c", Tag: "d"}},
		{name: "layout without a directory", ref: "oci-layout://", wantErr: `image "oci-layout://": no directory after oci-layout://`},
		{name: "layout with only a tag", ref: "oci-layout://:v1", wantErr: `image "oci-layout://:v1": no directory after oci-layout://`},
		{name: "layout with an empty tag", ref: "oci-layout://./layout:", wantErr: `image "oci-layout://./layout:": no tag after ':' (leave the ':' out for the layout's only image)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := imageref.Parse(tc.ref)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Parse(%q) = %+v, %v; want error %q", tc.ref, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.ref, err)
			}
			if got != tc.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tc.ref, got, tc.want)
			}
			if got.Local() != (tc.want.Kind != imageref.Registry) {
				t.Errorf("Parse(%q).Local() = %v", tc.ref, got.Local())
			}
			// A local image writes back as it was read; a registry
			// reference as its normalised name.
			want := tc.ref
			if tc.want.Kind == imageref.Registry {
				want = tc.want.Name
			}
			if s := got.String(); s != want {
				t.Errorf("Parse(%q).String() = %q, want %q", tc.ref, s, want)
			}
			wantFamiliar := tc.familiar
			if wantFamiliar == "" {
				wantFamiliar = tc.ref
			}
			if f := got.Familiar(); f != wantFamiliar {
				t.Errorf("Parse(%q).Familiar() = %q, want %q", tc.ref, f, wantFamiliar)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[imageref.Kind]string{imageref.Registry: "registry", imageref.RootFS: "rootfs", imageref.OCILayout: "oci-layout", imageref.Kind(9): "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"alpine:3", "catthehacker/ubuntu:act-latest", "localhost:5000/x", "docker://ghcr.io/o/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"rootfs://./r", "oci-layout://./l:v1", "oci-layout://a:b/c", "oci-layout://:", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		r, err := imageref.Parse(ref)
		if err != nil {
			return
		}
		if r.Local() && r.Dir == "" {
			t.Errorf("Parse(%q): a local image without a directory: %+v", ref, r)
		}
		if !r.Local() && r.Name == "" {
			t.Errorf("Parse(%q): a registry reference without a name: %+v", ref, r)
		}
		back, err := imageref.Parse(r.String())
		if err != nil || back != r {
			t.Errorf("Parse(%q) = %+v does not round-trip: %+v, %v", ref, r, back, err)
		}
		// The familiar form names the same image.
		if !r.Local() {
			fam, err := imageref.Parse(r.Familiar())
			if err != nil || fam != r {
				t.Errorf("Parse(%q).Familiar() = %q reads back as %+v, %v", ref, r.Familiar(), fam, err)
			}
		}
	})
}

func TestParts(t *testing.T) {
	t.Parallel()
	const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		ref                    string
		host, repo, wantDigest string
	}{
		{ref: "alpine", host: "docker.io", repo: "docker.io/library/alpine"},
		{ref: "127.0.0.1:5000/private/busybox:latest", host: "127.0.0.1:5000", repo: "127.0.0.1:5000/private/busybox"},
		{ref: "ghcr.io/o/x@" + dgst, host: "ghcr.io", repo: "ghcr.io/o/x", wantDigest: dgst},
		{ref: "rootfs://./r"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			t.Parallel()
			r, err := imageref.Parse(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if r.Host() != tc.host || r.Repository() != tc.repo || r.Digest() != tc.wantDigest {
				t.Errorf("Host, Repository, Digest = %q, %q, %q; want %q, %q, %q", r.Host(), r.Repository(), r.Digest(), tc.host, tc.repo, tc.wantDigest)
			}
		})
	}
}
