//go:build linux

package mounts

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDetachUnder mounts two tmpfs under a directory (one in the other,
// one with a space in its name, as mountinfo escapes it) and detaches
// them.
func TestDetachUnder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	outer := filepath.Join(dir, "state dir")
	inner := filepath.Join(outer, "inner")
	if err := os.MkdirAll(outer, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", outer, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(outer, unix.MNT_DETACH) })
	if err := os.Mkdir(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", inner, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	got, err := Under(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{inner, outer}; !slices.Equal(got, want) {
		t.Fatalf("Under = %q, want %q (deepest first)", got, want)
	}
	if other, _ := Under(filepath.Join(dir, "state")); len(other) != 0 {
		t.Errorf("Under a sibling prefix = %q, want none", other)
	}
	if err := DetachUnder(dir); err != nil {
		t.Fatal(err)
	}
	if left, _ := Under(dir); len(left) != 0 {
		t.Errorf("left mounted: %q", left)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Error(err)
	}
}
