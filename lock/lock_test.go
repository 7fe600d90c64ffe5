package lock_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/lock"
)

func TestRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name    string
		data    string // "" for no file
		want    *lock.File
		wantErr string
	}{
		{name: "missing file"},
		{name: "a lock", data: `{"version": 1, "actions": [{"uses": "a/b@v1", "sha": "abc", "hash": "sha256:1"}]}`,
			want: &lock.File{Version: 1, Actions: []lock.Action{{Uses: "a/b@v1", SHA: "abc", Hash: "sha256:1"}}}},
		{name: "not JSON", data: "actions: []\n", wantErr: "write it again with gantry lock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"), lock.FileName)
			if tc.data != "" {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, []byte(tc.data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := lock.Read(path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("Read: error %v, want %q naming the file", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tc.want == nil) || got != nil && got.Actions[0] != tc.want.Actions[0] {
				t.Errorf("Read = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestWrite checks that a lock is written sorted, without duplicates, and
// reads back as written.
func TestWrite(t *testing.T) {
	t.Parallel()
	f := &lock.File{
		Actions:  []lock.Action{{Uses: "z/z@v1", SHA: "2"}, {Uses: "a/a@v1", SHA: "1"}, {Uses: "z/z@v1", SHA: "2"}},
		Images:   []lock.Image{{Ref: "golang:1.26"}, {Ref: "alpine:3"}, {Ref: "golang:1.26"}},
		Includes: []lock.Include{{Kind: "remote", Ref: "https://b"}, {Kind: "remote", Ref: "https://a"}, {Kind: "remote", Ref: "https://b"}},
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := `{
  "version": 1,
  "actions": [
    {
      "uses": "a/a@v1",
      "sha": "1",
      "hash": ""
    },
    {
      "uses": "z/z@v1",
      "sha": "2",
      "hash": ""
    }
  ],
  "images": [
    {
      "ref": "alpine:3"
    },
    {
      "ref": "golang:1.26"
    }
  ],
  "includes": [
    {
      "kind": "remote",
      "ref": "https://a",
      "hash": ""
    },
    {
      "kind": "remote",
      "ref": "https://b",
      "hash": ""
    }
  ]
}
`
	if b.String() != want {
		t.Errorf("Write:\n%s\nwant:\n%s", b.String(), want)
	}
	path := filepath.Join(t.TempDir(), lock.FileName)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := lock.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := back.Write(&again); err != nil {
		t.Fatal(err)
	}
	if again.String() != want {
		t.Errorf("the lock does not read back as written:\n%s", again.String())
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	f := &lock.File{
		Actions:  []lock.Action{{Uses: "a/a@v1", SHA: "1"}},
		Includes: []lock.Include{{Kind: "remote", Ref: "https://a", Hash: "h"}},
	}
	for _, tc := range []struct {
		name string
		f    *lock.File
		uses string
		kind string
		ref  string
		want bool
	}{
		{name: "found", f: f, uses: "a/a@v1", kind: "remote", ref: "https://a", want: true},
		{name: "another ref", f: f, uses: "a/a@v2", kind: "remote", ref: "https://b"},
		{name: "another kind", f: f, uses: "b/b@v1", kind: "project", ref: "https://a"},
		{name: "no lock", uses: "a/a@v1", kind: "remote", ref: "https://a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, ok := tc.f.Action(tc.uses); ok != tc.want {
				t.Errorf("Action(%q) found %v, want %v", tc.uses, ok, tc.want)
			}
			if _, ok := tc.f.Include(tc.kind, tc.ref); ok != tc.want {
				t.Errorf("Include(%q, %q) found %v, want %v", tc.kind, tc.ref, ok, tc.want)
			}
		})
	}
}

func TestAddImages(t *testing.T) {
	t.Parallel()
	rootfs := t.TempDir()
	writeFile(t, filepath.Join(rootfs, "bin", "sh"), "#!/bin/true\n")
	rootfsHash, err := lock.TreeHash(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	// A rootfs:// directory may hold a colon; an oci-layout://'s last one
	// after the last slash starts its tag.
	colon := filepath.Join(t.TempDir(), "root:fs")
	writeFile(t, filepath.Join(colon, "etc", "os-release"), "ID=test\n")
	colonHash, err := lock.TreeHash(colon)
	if err != nil {
		t.Fatal(err)
	}
	p := &dag.Pipeline{Nodes: []*dag.Node{
		{ID: "a", Image: "golang:1.26", Services: []dag.Service{{Name: "db", Image: "postgres:16"}}},
		{ID: "b", Image: "rootfs://" + rootfs},
		{ID: "c", Image: "oci-layout://" + rootfs + ":v1"},
		{ID: "d", Image: "${{ matrix.image }}"},
		{ID: "e", Image: "$CI_REGISTRY_IMAGE:latest"},
		{ID: "f", Image: "rootfs://" + filepath.Join(rootfs, "missing")},
		{ID: "g"},
		{ID: "h", Image: "rootfs://"},
		{ID: "i", Image: "rootfs://" + colon},
		{ID: "j", Image: "oci-layout://" + colon + ":v2"},
	}}
	var f lock.File
	f.AddImages(p)
	want := []lock.Image{
		{Ref: "golang:1.26"}, {Ref: "postgres:16"},
		{Ref: "rootfs://" + rootfs, Hash: rootfsHash},
		{Ref: "oci-layout://" + rootfs + ":v1", Hash: rootfsHash},
		{Ref: "rootfs://" + filepath.Join(rootfs, "missing")},
		{Ref: "rootfs://"},
		{Ref: "rootfs://" + colon, Hash: colonHash},
		{Ref: "oci-layout://" + colon + ":v2", Hash: colonHash},
	}
	if len(f.Images) != len(want) {
		t.Fatalf("AddImages: %+v, want %+v", f.Images, want)
	}
	for i := range want {
		if f.Images[i] != want[i] {
			t.Errorf("image %d: %+v, want %+v", i, f.Images[i], want[i])
		}
	}
}

func TestTreeHash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
		same   bool
	}{
		{name: "unchanged", change: func(*testing.T, string) {}, same: true},
		{name: "the cache's record is left out", change: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, ".gantry-sha"), "abc") }, same: true},
		{name: "content", change: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "action.yml"), "name: b\n") }},
		{name: "a new file", change: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "sub", "x"), "") }},
		{name: "a file renamed", change: func(t *testing.T, dir string) {
			if err := os.Rename(filepath.Join(dir, "index.js"), filepath.Join(dir, "main.js")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "executable bit", change: func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, "index.js"), 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "a link's target", change: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "link"))
			if err := os.Symlink("action.yml", filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "action.yml"), "name: a\n")
			writeFile(t, filepath.Join(dir, "index.js"), "console.log(1)\n")
			if err := os.Symlink("index.js", filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
			before, err := lock.TreeHash(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(before, "sha256:") || len(before) != len("sha256:")+64 {
				t.Fatalf("TreeHash = %q", before)
			}
			tc.change(t, dir)
			after, err := lock.TreeHash(dir)
			if err != nil {
				t.Fatal(err)
			}
			if (before == after) != tc.same {
				t.Errorf("hash before %s, after %s; want the same: %v", before, after, tc.same)
			}
		})
	}
	if _, err := lock.TreeHash(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("TreeHash of a missing directory: no error")
	}
}

func TestContentHash(t *testing.T) {
	t.Parallel()
	if got, want := lock.ContentHash([]byte("")), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("ContentHash(\"\") = %s, want %s", got, want)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
