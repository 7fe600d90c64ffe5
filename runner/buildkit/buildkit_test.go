package buildkit_test

import (
	"os"
	"testing"

	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/buildkit"
	"github.com/gantry-ci/gantry/runner/executortest"
)

// newExecutor connects to the daemon of BUILDKIT_HOST with the busybox
// root filesystem of GANTRY_TEST_ROOTFS as the default image (both set by
// scripts/buildkit-up). Without them the test skips, unless
// GANTRY_REQUIRE_BUILDKIT is set, as in CI, where it fails.
func newExecutor(t *testing.T, opts buildkit.Options) *buildkit.Executor {
	t.Helper()
	required := os.Getenv("GANTRY_REQUIRE_BUILDKIT") != ""
	rootfs := os.Getenv("GANTRY_TEST_ROOTFS")
	if rootfs == "" || os.Getenv("BUILDKIT_HOST") == "" {
		if required {
			t.Fatal("GANTRY_REQUIRE_BUILDKIT is set but BUILDKIT_HOST or GANTRY_TEST_ROOTFS is not: run eval \"$(scripts/buildkit-up)\"")
		}
		t.Skip("no BuildKit daemon (eval \"$(scripts/buildkit-up)\" starts one)")
	}
	if opts.Images == nil {
		opts.Images = map[string]string{"default": "rootfs://" + rootfs}
	}
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	e, err := buildkit.New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestConformance(t *testing.T) {
	executortest.Run(t, func(t *testing.T) runner.Executor { return newExecutor(t, buildkit.Options{}) })
}
