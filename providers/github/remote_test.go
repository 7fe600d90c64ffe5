package github_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-ci/gantry/internal/golden"
	"github.com/gantry-ci/gantry/providers/github"
)

// fakeAPI serves the parts of GitHub's REST API gantry uses: commit SHAs
// of refs, and repository tarballs (a redirect, then the archive), as
// recorded from api.github.com. It records the requests it gets.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
	auth     []string
	shas     map[string]string // "owner/repo@ref" → sha
	archives map[string][]byte // "owner/repo@sha" → tar.gz
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{shas: map[string]string{}, archives: map[string][]byte{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		p := strings.TrimPrefix(r.URL.Path, "/api/v3")
		var owner, repo, rest string
		if n, _ := fmt.Sscanf(strings.ReplaceAll(strings.TrimPrefix(p, "/repos/"), "/", " "), "%s %s", &owner, &repo); n == 2 {
			rest = strings.TrimPrefix(p, "/repos/"+owner+"/"+repo+"/")
		}
		switch {
		case strings.HasPrefix(rest, "commits/"):
			ref := strings.TrimPrefix(rest, "commits/")
			sha, ok := f.shas[owner+"/"+repo+"@"+ref]
			if !ok || r.Header.Get("Accept") != "application/vnd.github.v3.sha" {
				http.Error(w, `{"message":"No commit found for SHA: `+ref+`"}`, http.StatusUnprocessableEntity)
				return
			}
			fmt.Fprint(w, sha)
		case strings.HasPrefix(rest, "tarball/"):
			sha := strings.TrimPrefix(rest, "tarball/")
			http.Redirect(w, r, "/_codeload/"+owner+"/"+repo+"/"+sha, http.StatusFound)
		case strings.HasPrefix(p, "/_codeload/"):
			parts := strings.Split(strings.TrimPrefix(p, "/_codeload/"), "/")
			data, ok := f.archives[parts[0]+"/"+parts[1]+"@"+parts[2]]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Write(data)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// entry is one member of a crafted tarball.
type entry struct {
	name, body, link string
	typ              byte
	size             int64
}

// tarball builds a gzipped tarball as GitHub's: everything under one top
// directory.
func tarball(t *testing.T, top string, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: top + "/", Typeflag: tar.TypeDir, Mode: 0o755})
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.typ, Linkname: e.link, Size: int64(len(e.body))}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if e.size != 0 {
			h.Size = e.size
		}
		if !strings.HasPrefix(e.name, "/") && !strings.HasPrefix(e.name, "..") {
			h.Name = top + "/" + e.name
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

const sha1 = "1111111111111111111111111111111111111111"

func TestRemoteFetch(t *testing.T) {
	api := newFakeAPI(t)
	api.shas["acme/hello@v1"] = sha1
	api.archives["acme/hello@"+sha1] = tarball(t, "acme-hello-1111111", []entry{
		{name: "action.yml", body: "name: hello\nruns:\n  using: composite\n  steps: []\n"},
		{name: "bin/run.sh", body: "#!/bin/sh\necho hi\n"},
		{name: "docs/README", typ: tar.TypeSymlink, link: "../action.yml"},
	})
	cache := t.TempDir()
	r, err := github.NewRemote(github.RemoteOptions{Token: "tok", BaseURL: api.URL + "/", CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	sha, err := r.ResolveRef(t.Context(), "acme", "hello", "v1")
	if err != nil || sha != sha1 {
		t.Fatalf("ResolveRef = %q, %v; want %s", sha, err, sha1)
	}
	dir, err := r.Fetch(t.Context(), "acme", "hello", sha)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "acme", "hello", sha1); dir != want {
		t.Errorf("Fetch put it at %s, want %s (content-addressed)", dir, want)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "action.yml")); err != nil || !strings.HasPrefix(string(b), "name: hello") {
		t.Errorf("action.yml: %q, %v", b, err)
	}
	if link, err := os.Readlink(filepath.Join(dir, "docs", "README")); err != nil || link != "../action.yml" {
		t.Errorf("the link inside the archive: %q, %v", link, err)
	}
	for i, a := range api.auth {
		if a != "Bearer tok" {
			t.Errorf("request %s had Authorization %q, want the token", api.requests[i], a)
		}
	}
	if got := api.count("GET /api/v3/repos/acme/hello/commits/v1"); got != 1 {
		t.Errorf("%d requests for the ref, want 1: %v", got, api.requests)
	}
	// Offline, the cache serves it; what is not cached is a clear error.
	off, _ := github.NewRemote(github.RemoteOptions{BaseURL: api.URL + "/", CacheDir: cache, Offline: true})
	before := len(api.requests)
	if d, err := off.Fetch(t.Context(), "acme", "hello", sha1); err != nil || d != dir {
		t.Errorf("offline Fetch of a cached action = %q, %v", d, err)
	}
	if len(api.requests) != before {
		t.Errorf("offline Fetch asked the API: %v", api.requests[before:])
	}
	_, err = off.Fetch(t.Context(), "acme", "other", sha1)
	if err == nil || !strings.Contains(err.Error(), "acme/other@"+sha1+" is not in the cache") || !strings.Contains(err.Error(), "--action-dir") {
		t.Errorf("offline Fetch of an uncached action: %v", err)
	}
	if _, err := off.ResolveRef(t.Context(), "acme", "hello", "v2"); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("offline ResolveRef: %v", err)
	}
}

func TestRemoteRefusesCraftedArchives(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
		limit   int64
		want    string
	}{
		{name: "dot-dot", entries: []entry{{name: "../evil.sh", body: "x"}}, want: "leaves the archive"},
		{name: "dot-dot inside", entries: []entry{{name: "a/../../../evil.sh", body: "x"}}, want: "leaves the archive"},
		{name: "absolute", entries: []entry{{name: "/etc/evil", body: "x"}}, want: "leaves the archive"},
		{name: "symlink out", entries: []entry{{name: "up", typ: tar.TypeSymlink, link: "../../../etc/passwd"}}, want: "points out of the archive"},
		{name: "absolute symlink", entries: []entry{{name: "abs", typ: tar.TypeSymlink, link: "/etc/passwd"}}, want: "absolute path"},
		{name: "hard link", entries: []entry{{name: "hard", typ: tar.TypeLink, link: "action.yml"}}, want: "hard link"},
		{name: "oversize", entries: []entry{{name: "big", body: strings.Repeat("x", 4096)}}, limit: 1024, want: "more than 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.archives["acme/bad@"+sha1] = tarball(t, "acme-bad-1111111", tc.entries)
			cache := t.TempDir()
			r, _ := github.NewRemote(github.RemoteOptions{BaseURL: api.URL + "/", CacheDir: cache, MaxArchive: tc.limit})
			_, err := r.Fetch(t.Context(), "acme", "bad", sha1)
			if !errors.Is(err, github.ErrUnsafeArchive) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Fetch of a crafted archive: %v; want ErrUnsafeArchive saying %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(cache, "acme", "bad", sha1)); err == nil {
				t.Error("the refused archive is in the cache")
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(cache), "evil.sh")); err == nil {
				t.Error("a file was written out of the cache")
			}
		})
	}
}

func TestPin(t *testing.T) {
	api := newFakeAPI(t)
	for ref, sha := range map[string]string{
		"actions/checkout@v4":   "11bd71901bbe5b1630ceea73d27597364c9af683",
		"actions/setup-go@v5":   "0a12ed9d6a96ab950c8f026ed9f722fe0da7ef32",
		"actions/cache@main":    "2222222222222222222222222222222222222222",
		"owner/repo@v1.2.3":     "3333333333333333333333333333333333333333",
		"org/workflows@release": "4444444444444444444444444444444444444444",
	} {
		api.shas[ref] = sha
	}
	r, _ := github.NewRemote(github.RemoteOptions{BaseURL: api.URL + "/", CacheDir: t.TempDir()})
	in, err := os.ReadFile("testdata/pin/ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	out, changes, err := github.Pin(t.Context(), in, r.ResolveRef)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/pin/ci.yml.golden", out)
	if len(changes) != 5 {
		t.Errorf("%d changes, want 5: %+v", len(changes), changes)
	}
	// Every line but the pinned ones is untouched, byte for byte.
	inLines, outLines := strings.Split(string(in), "\n"), strings.Split(string(out), "\n")
	pinned := map[int]bool{}
	for _, c := range changes {
		pinned[c.Line] = true
	}
	for i := range inLines {
		if !pinned[i+1] && inLines[i] != outLines[i] {
			t.Errorf("line %d changed: %q → %q", i+1, inLines[i], outLines[i])
		}
	}
	// Pinned is pinned: a second pass changes nothing.
	again, changes2, err := github.Pin(context.Background(), out, r.ResolveRef)
	if err != nil || len(changes2) != 0 || !bytes.Equal(again, out) {
		t.Errorf("pinning a pinned file: %d changes, %v", len(changes2), err)
	}
	// A ref the API does not know is an error naming it.
	_, _, err = github.Pin(t.Context(), []byte("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: acme/gone@v9\n"), r.ResolveRef)
	if err == nil || !strings.Contains(err.Error(), "acme/gone@v9") || !strings.Contains(err.Error(), "line 6") {
		t.Errorf("unknown ref: %v", err)
	}
}
