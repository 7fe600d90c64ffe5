package buildkit

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gantry-ci/gantry/runner"
)

// failures remembers the steps that failed, so that the next run runs them
// again instead of replaying the failure from BuildKit's cache. Steps
// record their result instead of failing the solve (see the wrapper), so
// a failing step's result is cached like any other; a step that failed
// last time gets a fresh nonce mounted into it, which changes its cache
// key, and the nonce of its last success is kept so that it is a cache hit
// again afterwards.
//
// The file has one line per step: the exec op's digest, the nonce, and
// "fail" or "ok".
type failures struct {
	path    string
	mu      sync.Mutex
	entries map[string]failure
	dirty   bool
}

type failure struct {
	nonce  string
	failed bool
}

func loadFailures(path string) *failures {
	f := &failures{path: path, entries: map[string]failure{}}
	file, err := os.Open(path)
	if err != nil {
		return f
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 {
			nonce := fields[1]
			if nonce == "-" {
				nonce = ""
			}
			f.entries[fields[0]] = failure{nonce: nonce, failed: fields[2] == "fail"}
		}
	}
	return f
}

// nonce is what to mount into the step with this key: "" for a step that
// never failed.
func (f *failures) nonce(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.entries[key]
	if !ok {
		return ""
	}
	if !e.failed {
		return e.nonce
	}
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// record notes how the step with this key and nonce ended.
func (f *failures) record(key, nonce string, failed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.entries[key]
	if !ok && !failed {
		return
	}
	if ok && e.nonce == nonce && e.failed == failed {
		return
	}
	f.entries[key] = failure{nonce: nonce, failed: failed}
	f.dirty = true
}

// save writes the file when something changed.
func (f *failures) save() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.dirty {
		return nil
	}
	keys := make([]string, 0, len(f.entries))
	for k := range f.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		e := f.entries[k]
		nonce, word := e.nonce, "ok"
		if nonce == "" {
			nonce = "-"
		}
		if e.failed {
			word = "fail"
		}
		fmt.Fprintf(&b, "%s %s %s\n", k, nonce, word)
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return err
	}
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	f.dirty = false
	return os.Rename(tmp, f.path)
}

// lost makes an error that says the daemon went away (the connection
// closed or refused mid-step) a runner.InfraError naming the engine: the
// step did not fail, what ran it did. Other errors pass through.
func (e *Executor) lost(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var infra *runner.InfraError
	if errors.As(err, &infra) {
		return err
	}
	if !engineGone(err) {
		return err
	}
	return &runner.InfraError{What: fmt.Sprintf("the BuildKit engine at %s was lost", e.addr), Err: err}
}

// engineGone reports whether err is gRPC's word for a connection that is
// gone: Unavailable, or the transport's own messages when the status was
// lost on the way.
func engineGone(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s, ok := status.FromError(e); ok && s.Code() == codes.Unavailable {
			return true
		}
	}
	msg := err.Error()
	for _, m := range []string{"error reading from server: EOF", "transport is closing", "connection refused", "connection reset by peer", "code = Unavailable"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}
