package buildkit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/internal/ocilayout"
)

// TestLoadImage reads local images as the executor does, without a daemon:
// rootfs:// directories become OCI layouts, oci-layout:// picks its image
// by tag, anything else is a registry reference.
func TestLoadImage(t *testing.T) {
	t.Parallel()
	rootfs := t.TempDir()
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "sh"), []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(t.TempDir(), "layout")
	if _, err := ocilayout.Write(layout, ocilayout.Image{Rootfs: rootfs, Tag: "v1", Env: []string{"TAG=v1"}}); err != nil {
		t.Fatal(err)
	}
	e := &Executor{opts: Options{StateDir: t.TempDir()}}
	for _, tc := range []struct {
		name      string
		ref       string
		wantEnv   string // in the image's environment
		wantStore bool
		wantErr   string
	}{
		{name: "registry", ref: "alpine:3"},
		{name: "rootfs", ref: "rootfs://" + rootfs, wantEnv: "PATH=" + defaultPath, wantStore: true},
		{name: "layout by tag", ref: "oci-layout://" + layout + ":v1", wantEnv: "TAG=v1", wantStore: true},
		{name: "layout, its only image", ref: "oci-layout://" + layout, wantEnv: "TAG=v1", wantStore: true},
		{name: "layout, a tag it does not have", ref: "oci-layout://" + layout + ":v3", wantErr: `no image tagged "v3"`},
		{name: "layout with an empty tag", ref: "oci-layout://" + layout + ":", wantErr: "no tag after"},
		{name: "not a layout", ref: "oci-layout://" + rootfs, wantErr: "not an OCI layout"},
		{name: "rootfs that is not a directory", ref: "rootfs://" + filepath.Join(rootfs, "bin", "sh"), wantErr: "is not a directory"},
		{name: "rootfs without a directory", ref: "rootfs://", wantErr: `image "rootfs://": no directory after rootfs://`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := e.loadImage(tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("loadImage(%q): error %v, want %q", tc.ref, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantEnv != "" && !slices.Contains(img.cfg.Env, tc.wantEnv) {
				t.Errorf("env %q, want %q in it", img.cfg.Env, tc.wantEnv)
			}
			if (len(img.stores) > 0) != tc.wantStore {
				t.Errorf("content stores %v, want some: %v", img.stores, tc.wantStore)
			}
			if localImage(tc.ref) != tc.wantStore {
				t.Errorf("localImage(%q) = %v", tc.ref, !tc.wantStore)
			}
		})
	}
}
