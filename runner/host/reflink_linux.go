package host

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// clone makes out share in's data (FICLONE): the filesystem copies a
// block only when one of them writes it.
func clone(out, in *os.File) error {
	return unix.IoctlFileClone(int(out.Fd()), int(in.Fd()))
}

// probeReflink checks that files of src can be cloned into tmp: one
// filesystem that clones files (btrfs, XFS).
func probeReflink(src, tmp string) error {
	si, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("%w: %v", errStrategy, err)
	}
	ti, err := os.Stat(tmp)
	if err != nil {
		return fmt.Errorf("%w: %v", errStrategy, err)
	}
	if si.Sys().(*syscall.Stat_t).Dev != ti.Sys().(*syscall.Stat_t).Dev {
		return fmt.Errorf("%w: the source and the temp directory %q are on different filesystems", errStrategy, tmp)
	}
	dir, cleanup, err := probeDir(tmp)
	if err != nil {
		return fmt.Errorf("%w: %v", errStrategy, err)
	}
	defer cleanup()
	in, err := os.Create(filepath.Join(dir, "a"))
	if err != nil {
		return fmt.Errorf("%w: %v", errStrategy, err)
	}
	defer in.Close()
	if _, err := in.WriteString("probe\n"); err != nil {
		return fmt.Errorf("%w: %v", errStrategy, err)
	}
	out, err := os.Create(filepath.Join(dir, "b"))
	if err != nil {
		return fmt.Errorf("%w: %v", errStrategy, err)
	}
	defer out.Close()
	if err := clone(out, in); err != nil {
		var st unix.Statfs_t
		kind := "its filesystem"
		if unix.Statfs(tmp, &st) == nil {
			kind = fsName(st.Type)
		}
		return fmt.Errorf("%w: %s does not clone files (%v)", errStrategy, kind, err)
	}
	return nil
}

// fsName names the common filesystems by their statfs magic number.
func fsName(magic int64) string {
	switch magic {
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	}
	return fmt.Sprintf("the filesystem (type %#x)", magic)
}
