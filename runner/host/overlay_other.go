//go:build !linux

package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// unprivileged: overlays are Linux's.
const unprivileged = false

type overlayMount struct{}

func (*overlayMount) do(f func()) error                        { f(); return nil }
func (*overlayMount) hostDir() string                          { return "" }
func (*overlayMount) enters() bool                             { return false }
func (*overlayMount) seen(p string) string                     { return p }
func (*overlayMount) enter(dir string, argv []string) []string { return argv }

func mountOverlay(dir, upper, work string, lower ...string) (*overlayMount, error) {
	return nil, errors.ErrUnsupported
}

func (*overlayMount) unmount() error { return nil }

func probeOverlay(src, tmp string) error {
	return fmt.Errorf("%w: overlay mounts are Linux's", errStrategy)
}

func buildLayer(ctx context.Context, src, layer, skip string, log *slog.Logger, lists *listingCache) error {
	return errors.ErrUnsupported
}

func clone(out, in *os.File) error { return errors.ErrUnsupported }

func probeReflink(src, tmp string) error {
	return fmt.Errorf("%w: gantry clones files on Linux only", errStrategy)
}
