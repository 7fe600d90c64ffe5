package imageref_test

import (
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/internal/imageref"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		ref     string
		want    imageref.Ref
		wantErr string
	}{
		{name: "registry short name", ref: "alpine:3", want: imageref.Ref{Kind: imageref.Registry, Name: "alpine:3"}},
		{name: "registry with a port and a digest", ref: "localhost:5000/o/i@sha256:abc", want: imageref.Ref{Kind: imageref.Registry, Name: "localhost:5000/o/i@sha256:abc"}},
		{name: "another scheme is the registry's business", ref: "docker://alpine", want: imageref.Ref{Kind: imageref.Registry, Name: "docker://alpine"}},
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
		{name: "layout with an empty tag", ref: "oci-layout://./layout:", wantErr: `image "oci-layout://./layout:": no tag after ':'`},
		{name: "empty", ref: "", wantErr: `image "": empty reference`},
		{name: "blank", ref: "  ", wantErr: `image "  ": empty reference`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := imageref.Parse(tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
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
			// The reference writes back as it was read.
			if s := got.String(); s != tc.ref {
				t.Errorf("Parse(%q).String() = %q", tc.ref, s)
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
	for _, s := range []string{"alpine:3", "rootfs://./r", "oci-layout://./l:v1", "oci-layout://a:b/c", "oci-layout://:", ""} {
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
		back, err := imageref.Parse(r.String())
		if err != nil || back != r {
			t.Errorf("Parse(%q) = %+v does not round-trip: %+v, %v", ref, r, back, err)
		}
	})
}
