package toolcache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestInstall(t *testing.T) {
	t.Parallel()
	c := &Cache{Dir: t.TempDir()}
	fill := func(ctx context.Context, dir string) error {
		return os.WriteFile(filepath.Join(dir, "tool"), []byte("v1"), 0o755)
	}
	dir, fresh, err := c.Install(t.Context(), "go", "1.22.12", "x64", fill)
	if err != nil || !fresh {
		t.Fatalf("Install = %q, %v, %v; want a fresh install", dir, fresh, err)
	}
	if want := filepath.Join(c.Dir, "go", "1.22.12", "x64"); dir != want {
		t.Errorf("dir = %q, want %q", dir, want)
	}
	if _, err := os.Stat(dir + ".complete"); err != nil {
		t.Errorf("no complete marker: %v", err)
	}
	again, fresh, err := c.Install(t.Context(), "go", "1.22.12", "x64", func(context.Context, string) error {
		t.Error("fill called for a cached version")
		return nil
	})
	if err != nil || fresh || again != dir {
		t.Errorf("second Install = %q, %v, %v; want %q from the cache", again, fresh, err, dir)
	}
	if got := c.Versions("go", "x64"); len(got) != 1 || got[0] != "1.22.12" {
		t.Errorf("Versions = %q", got)
	}
}

func TestInstallFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	c := &Cache{Dir: t.TempDir()}
	boom := errors.New("cut")
	_, _, err := c.Install(t.Context(), "go", "1.22.12", "x64", func(ctx context.Context, dir string) error {
		if err := os.WriteFile(filepath.Join(dir, "half"), []byte("x"), 0o644); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	entries, _ := os.ReadDir(filepath.Join(c.Dir, "go", "1.22.12"))
	for _, e := range entries {
		if e.Name() != "x64.lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if _, ok := c.Find("go", "1.22.12", "x64"); ok {
		t.Error("Find finds a failed version")
	}
}

func TestInstallInterruptedEarlier(t *testing.T) {
	t.Parallel()
	c := &Cache{Dir: t.TempDir()}
	// A version renamed into place but never marked complete, and a
	// temporary directory of a killed attempt.
	p, _ := c.Path("go", "1.22.12", "x64")
	for _, d := range []string{p, filepath.Join(filepath.Dir(p), ".x64.tmp-123")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := c.Find("go", "1.22.12", "x64"); ok {
		t.Fatal("Find finds an incomplete version")
	}
	_, fresh, err := c.Install(t.Context(), "go", "1.22.12", "x64", func(ctx context.Context, dir string) error { return nil })
	if err != nil || !fresh {
		t.Fatalf("Install = %v, %v", fresh, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(p), ".x64.tmp-123")); !os.IsNotExist(err) {
		t.Errorf("the earlier attempt's directory is still there: %v", err)
	}
}

func TestInstallConcurrent(t *testing.T) {
	t.Parallel()
	c := &Cache{Dir: t.TempDir()}
	var fills atomic.Int32
	var wg sync.WaitGroup
	dirs := make([]string, 8)
	errs := make([]error, 8)
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each its own Cache value, as separate jobs have.
			c := &Cache{Dir: c.Dir}
			dirs[i], _, errs[i] = c.Install(t.Context(), "go", "1.23.12", "x64", func(ctx context.Context, dir string) error {
				fills.Add(1)
				time.Sleep(100 * time.Millisecond)
				return os.WriteFile(filepath.Join(dir, "go"), []byte("x"), 0o755)
			})
		}()
	}
	wg.Wait()
	if n := fills.Load(); n != 1 {
		t.Errorf("filled %d times, want once", n)
	}
	for i := range dirs {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Errorf("job %d: %q, %v", i, dirs[i], errs[i])
		}
	}
}

func TestInstallWaitCancelled(t *testing.T) {
	t.Parallel()
	c := &Cache{Dir: t.TempDir()}
	started, release := make(chan struct{}), make(chan struct{})
	go c.Install(context.Background(), "go", "1.23.12", "x64", func(ctx context.Context, dir string) error {
		close(started)
		<-release
		return nil
	})
	<-started
	defer close(release)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, _, err := c.Install(ctx, "go", "1.23.12", "x64", func(context.Context, string) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the wait to end with its context", err)
	}
}

func TestPathRefusesEscapes(t *testing.T) {
	t.Parallel()
	c := &Cache{Dir: t.TempDir()}
	for _, v := range []string{"..", "1.2/../../x", "", "a\\b"} {
		if _, err := c.Path("go", v, "x64"); err == nil {
			t.Errorf("Path(go, %q) = nil error", v)
		}
	}
}
