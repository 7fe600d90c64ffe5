package github

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzUnpack feeds arbitrary bytes and crafted tarballs to the archive
// unpacker: it must never panic, and never write outside its directory.
func FuzzUnpack(f *testing.F) {
	mk := func(entries ...tar.Header) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		for _, h := range entries {
			body := strings.Repeat("x", int(h.Size))
			tw.WriteHeader(&h)
			tw.Write([]byte(body))
		}
		tw.Close()
		zw.Close()
		return buf.Bytes()
	}
	f.Add(mk(tar.Header{Name: "top/", Typeflag: tar.TypeDir, Mode: 0o755}, tar.Header{Name: "top/a.txt", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644}))
	f.Add(mk(tar.Header{Name: "top/../../x", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}))
	f.Add(mk(tar.Header{Name: "top/l", Typeflag: tar.TypeSymlink, Linkname: "../../etc"}, tar.Header{Name: "top/l/passwd", Typeflag: tar.TypeReg, Size: 1}))
	f.Add(mk(tar.Header{Name: "/abs", Typeflag: tar.TypeReg, Size: 1}))
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		dir := filepath.Join(root, "in")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = unpack(bytes.NewReader(data), dir, 1<<20)
		entries, _ := os.ReadDir(root)
		if len(entries) != 1 || entries[0].Name() != "in" {
			t.Fatalf("unpack wrote outside its directory: %v", entries)
		}
		// No link in the tree points out of it.
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type()&os.ModeSymlink != 0 {
				target, _ := os.Readlink(p)
				resolved := filepath.Clean(filepath.Join(filepath.Dir(p), target))
				if filepath.IsAbs(target) || !strings.HasPrefix(resolved, dir) {
					t.Fatalf("link %s → %s points out of the directory", p, target)
				}
			}
			return nil
		})
	})
}
