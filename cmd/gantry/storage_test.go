package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/gantry-ci/gantry/internal/s3fake"
	"github.com/rogpeppe/go-internal/testscript"
)

// startS3 serves an S3-compatible API of the script's own (see
// internal/s3fake) with one bucket, "gantry", its objects under dir, and
// returns its URL. It stops when the script ends.
func startS3(ts *testscript.TestScript, dir string) string {
	s, err := s3fake.Start(dir, "gantry")
	ts.Check(err)
	ts.Defer(func() { s.Close() })
	return s.URL
}

// azuriteListens is the line Azurite prints once its blob service listens.
var azuriteListens = regexp.MustCompile(`listens on (http://127\.0\.0\.1:[0-9]+)`)

// startAzurite starts Azurite's blob service ($GANTRY_AZURITE, Microsoft's
// Azure Storage emulator, installed by .ci/run) on a free port of
// 127.0.0.1, its data under dir, and returns the emulator account's URL
// (devstoreaccount1, whose key is the emulator's published one). It stops
// when the script ends.
func startAzurite(ts *testscript.TestScript, dir string) string {
	bin := ts.Getenv("GANTRY_AZURITE")
	ts.Check(os.MkdirAll(dir, 0o755))
	log, err := os.Create(filepath.Join(dir, "azurite.log"))
	ts.Check(err)
	// --skipApiVersionCheck: BuildKit's Azure SDK may ask for a newer
	// storage API version than this Azurite knows; the calls it makes
	// are older than that.
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", "0", "--location", dir, "--skipApiVersionCheck", "--loose")
	addr := make(chan string, 1)
	cmd.Stdout = io.MultiWriter(log, &watchWriter{re: azuriteListens, found: addr})
	cmd.Stderr = log
	exited := startUntilEnd(ts, cmd, 10*time.Second, func() { log.Close() })
	select {
	case a := <-addr:
		return a + "/devstoreaccount1"
	case <-exited:
	case <-time.After(30 * time.Second):
	}
	data, _ := os.ReadFile(filepath.Join(dir, "azurite.log"))
	ts.Fatalf("azurite did not start:\n%s", data)
	return ""
}

// watchWriter sends re's first submatch in what is written to found, once.
type watchWriter struct {
	mu    sync.Mutex
	re    *regexp.Regexp
	seen  []byte
	found chan<- string
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.found == nil {
		return len(p), nil
	}
	w.seen = append(w.seen, p...)
	if m := w.re.FindSubmatch(w.seen); m != nil {
		w.found <- string(m[1])
		w.found, w.seen = nil, nil
	}
	return len(p), nil
}
