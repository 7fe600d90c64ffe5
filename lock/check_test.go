package lock_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/lock"
	"github.com/gantry-ci/gantry/providers/gitlab"
)

// fakeFetcher serves actions from directories it makes: refs maps a uses:
// text (OWNER/REPO@REF) to the commit it names, and each commit has a
// directory whose content is its name.
type fakeFetcher struct {
	t    *testing.T
	root string
	refs map[string]string

	mu    sync.Mutex
	asked []string
}

func newFakeFetcher(t *testing.T, refs map[string]string) *fakeFetcher {
	f := &fakeFetcher{t: t, root: t.TempDir(), refs: refs}
	for _, sha := range refs {
		writeFile(t, filepath.Join(f.root, sha, "action.yml"), "name: "+sha+"\n")
	}
	return f
}

func (f *fakeFetcher) Action(_ context.Context, uses string) (string, string, error) {
	f.mu.Lock()
	f.asked = append(f.asked, uses)
	f.mu.Unlock()
	sha, ok := f.refs[uses]
	if !ok {
		// A commit SHA names itself.
		_, ref, _ := strings.Cut(uses, "@")
		if !slices.Contains(mapValues(f.refs), ref) {
			return "", "", fmt.Errorf("%w %q", errNoRef, uses)
		}
		sha = ref
	}
	return filepath.Join(f.root, sha), sha, nil
}

var errNoRef = errors.New("no ref")

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func (f *fakeFetcher) hash(sha string) string {
	f.t.Helper()
	h, err := lock.TreeHash(filepath.Join(f.root, sha))
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func TestResolveActions(t *testing.T) {
	t.Parallel()
	const now, before = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
	for _, tc := range []struct {
		name      string
		locked    bool
		lock      func(f *fakeFetcher) *lock.File
		uses      string
		wantSHA   string // the directory served
		wantAsked string
		wantErr   string
		wantWarn  string
	}{
		{name: "no lock", lock: func(*fakeFetcher) *lock.File { return nil }, uses: "acme/answer@v2", wantSHA: now, wantAsked: "acme/answer@v2"},
		{name: "up to date", lock: func(f *fakeFetcher) *lock.File {
			return &lock.File{Actions: []lock.Action{{Uses: "acme/answer@v2", SHA: now, Hash: f.hash(now)}}}
		}, uses: "acme/answer@v2", wantSHA: now, wantAsked: "acme/answer@v2"},
		{name: "stale: a warning", lock: func(f *fakeFetcher) *lock.File {
			return &lock.File{Actions: []lock.Action{{Uses: "acme/answer@v2", SHA: before, Hash: f.hash(before)}}}
		}, uses: "acme/answer@v2", wantSHA: now, wantAsked: "acme/answer@v2",
			wantWarn: "gantry.lock is stale: acme/answer@v2 now names " + now + ", the lock says " + before},
		{name: "locked: the lock's commit", locked: true, lock: func(f *fakeFetcher) *lock.File {
			return &lock.File{Actions: []lock.Action{{Uses: "acme/answer@v2", SHA: before, Hash: f.hash(before)}}}
		}, uses: "acme/answer@v2", wantSHA: before, wantAsked: "acme/answer@" + before},
		{name: "locked: not in the lock", locked: true, lock: func(*fakeFetcher) *lock.File { return &lock.File{} },
			uses: "acme/answer@v2", wantErr: "acme/answer@v2 is not in gantry.lock: run gantry lock"},
		{name: "locked: no lock at all", locked: true, lock: func(*fakeFetcher) *lock.File { return nil },
			uses: "acme/answer@v2", wantErr: "is not in gantry.lock"},
		{name: "locked: changed content", locked: true, lock: func(*fakeFetcher) *lock.File {
			return &lock.File{Actions: []lock.Action{{Uses: "acme/answer@v2", SHA: before, Hash: "sha256:0000"}}}
		}, uses: "acme/answer@v2", wantAsked: "acme/answer@" + before,
			wantErr: "acme/answer@v2 at " + before + " does not match gantry.lock's hash (sha256:0000, found sha256:"},
		{name: "a fetch error", lock: func(*fakeFetcher) *lock.File { return nil }, uses: "acme/gone@v1", wantAsked: "acme/gone@v1", wantErr: `no ref "acme/gone@v1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fetch := newFakeFetcher(t, map[string]string{"acme/answer@v2": now, "acme/answer@v1": before})
			var warnings []string
			resolve := tc.lock(fetch).ResolveActions(fetch, tc.locked, func(s string) { warnings = append(warnings, s) })
			dir, err := resolve(t.Context(), tc.uses)
			// Twice: a stale action warns once.
			resolve(t.Context(), tc.uses)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if dir != filepath.Join(fetch.root, tc.wantSHA) {
				t.Errorf("dir %s, want the one of %s", dir, tc.wantSHA)
			}
			if tc.wantAsked != "" && (len(fetch.asked) == 0 || fetch.asked[0] != tc.wantAsked) {
				t.Errorf("fetched %q, want %q", fetch.asked, tc.wantAsked)
			}
			switch {
			case tc.wantWarn == "" && len(warnings) > 0:
				t.Errorf("warnings %q, want none", warnings)
			case tc.wantWarn != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tc.wantWarn)):
				t.Errorf("warnings %q, want one with %q", warnings, tc.wantWarn)
			}
		})
	}
}

func TestCheckIncludes(t *testing.T) {
	t.Parallel()
	data := []byte("variables: {COMMON: one}\n")
	f := &lock.File{Includes: []lock.Include{
		{Kind: "remote", Ref: "https://example.com/common.yml", Hash: lock.ContentHash(data)},
		{Kind: "remote", Ref: "https://example.com/old.yml", Hash: "sha256:0000"},
	}}
	for _, tc := range []struct {
		name     string
		f        *lock.File
		locked   bool
		ref      string
		wantErr  string
		wantWarn string
	}{
		{name: "same content", f: f, ref: "https://example.com/common.yml"},
		{name: "same content, locked", f: f, locked: true, ref: "https://example.com/common.yml"},
		{name: "not in the lock", f: f, ref: "https://example.com/new.yml"},
		{name: "no lock", ref: "https://example.com/new.yml"},
		{name: "not in the lock, locked", f: f, locked: true, ref: "https://example.com/new.yml", wantErr: "not in gantry.lock: run gantry lock"},
		{name: "changed", f: f, ref: "https://example.com/old.yml", wantWarn: "gantry.lock is stale: include:remote https://example.com/old.yml changed"},
		{name: "changed, locked", f: f, locked: true, ref: "https://example.com/old.yml", wantErr: "is not what gantry.lock says (sha256:0000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var warnings []string
			err := tc.f.CheckIncludes(tc.locked, func(s string) { warnings = append(warnings, s) })(gitlab.Fetched{Kind: "remote", Key: tc.ref, Data: data})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(warnings, "\n"); (tc.wantWarn == "") != (got == "") || !strings.Contains(got, tc.wantWarn) {
				t.Errorf("warnings %q, want %q", got, tc.wantWarn)
			}
		})
	}
}

func TestRecorder(t *testing.T) {
	t.Parallel()
	const sha1, sha2 = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	fetch := newFakeFetcher(t, map[string]string{"acme/greet@v1": sha1, "acme/answer@v2": sha2})
	rec := lock.NewRecorder(fetch)
	// What the translation fetches...
	if dir, err := rec.Action(t.Context(), "acme/greet@v1"); err != nil || dir != filepath.Join(fetch.root, sha1) {
		t.Fatalf("Action: %q, %v", dir, err)
	}
	if err := rec.Include(gitlab.Fetched{Kind: "remote", Key: "https://example.com/common.yml", Data: []byte("a: b\n")}); err != nil {
		t.Fatal(err)
	}
	// ...and what the pipeline keeps as references.
	rec.Pipeline(t.Context(), &dag.Pipeline{Nodes: []*dag.Node{{
		ID: "a", Image: "golang:1.26",
		Steps: []dag.Step{
			{Uses: "acme/answer@v2"},
			{Uses: "acme/answer@v2"},      // named again (a matrix): fetched once
			{Uses: "acme/greet@v1"},       // already fetched by the translation
			{Uses: "actions/checkout@v4"}, // built in
			{Uses: "./local"},
			{Uses: "docker://alpine:3"},
			{Uses: "acme/${{ matrix.x }}@v1"},
			{Run: "echo"},
		},
	}}})
	f, err := rec.File()
	if err != nil {
		t.Fatal(err)
	}
	want := []lock.Action{{Uses: "acme/greet@v1", SHA: sha1, Hash: fetch.hash(sha1)}, {Uses: "acme/answer@v2", SHA: sha2, Hash: fetch.hash(sha2)}}
	if !slices.Equal(f.Actions, want) {
		t.Errorf("actions %+v, want %+v", f.Actions, want)
	}
	if len(f.Includes) != 1 || f.Includes[0].Hash != lock.ContentHash([]byte("a: b\n")) {
		t.Errorf("includes %+v", f.Includes)
	}
	// The job's image and the docker:// step's.
	if len(f.Images) != 2 || f.Images[0].Ref != "golang:1.26" || f.Images[1].Ref != "alpine:3" {
		t.Errorf("images %+v", f.Images)
	}
	if !slices.Equal(fetch.asked, []string{"acme/greet@v1", "acme/answer@v2"}) {
		t.Errorf("fetched %q", fetch.asked)
	}

	// The first fetch error is the recorder's.
	rec.Action(t.Context(), "acme/gone@v1")
	rec.Action(t.Context(), "acme/gone@v2")
	if _, err := rec.File(); !errors.Is(err, errNoRef) || !strings.HasPrefix(err.Error(), `acme/gone@v1: no ref "acme/gone@v1"`) {
		t.Errorf("File after a failed fetch: %v", err)
	}
}

func TestPinImages(t *testing.T) {
	t.Parallel()
	const old, moved = "sha256:1111111111111111111111111111111111111111111111111111111111111111", "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	p := &dag.Pipeline{Nodes: []*dag.Node{
		{ID: "a", Image: "reg.example/app:v1", Services: []dag.Service{{Name: "db", Image: "reg.example/db:16"}}},
		{ID: "b", Image: "rootfs://./r", Steps: []dag.Step{{Uses: "docker://reg.example/tool:1"}}},
		{ID: "c", Image: "${{ matrix.image }}"},
	}}
	now := map[string]string{"reg.example/app:v1": old, "reg.example/db:16": old, "reg.example/tool:1": old}
	var asked []string
	resolve := func(_ context.Context, ref string) (string, error) {
		asked = append(asked, ref)
		if d, ok := now[ref]; ok {
			return d, nil
		}
		return "", errors.New("unreachable")
	}
	var f lock.File
	f.AddImages(p)
	var warnings []string
	warn := func(s string) { warnings = append(warnings, s) }
	f.ResolveImages(t.Context(), resolve, warn)
	for _, img := range f.Images {
		if want := map[bool]string{true: old}[!strings.HasPrefix(img.Ref, "rootfs://")]; img.Digest != want {
			t.Errorf("%s: digest %q, want %q", img.Ref, img.Digest, want)
		}
	}
	if len(warnings) != 0 || len(asked) != 3 {
		t.Fatalf("warnings %q, asked %q", warnings, asked)
	}

	pins, err := f.PinImages(t.Context(), []*dag.Pipeline{p}, resolve, warn)
	if err != nil {
		t.Fatal(err)
	}
	if pins["reg.example/app:v1"] != "reg.example/app@"+old || pins["reg.example/db:16"] != "reg.example/db@"+old || len(pins) != 3 {
		t.Errorf("pins %q", pins)
	}

	// A moved tag is refused; offline (no resolver) the lock's digest
	// is pulled unchecked; an unreachable registry warns.
	now["reg.example/app:v1"] = moved
	if _, err := f.PinImages(t.Context(), []*dag.Pipeline{p}, resolve, warn); err == nil || !strings.Contains(err.Error(), "image reg.example/app:v1 has moved: its tag names "+moved+" now, gantry.lock has "+old) {
		t.Errorf("moved: %v", err)
	}
	if pins, err := f.PinImages(t.Context(), []*dag.Pipeline{p}, nil, warn); err != nil || pins["reg.example/app:v1"] != "reg.example/app@"+old {
		t.Errorf("offline: %q, %v", pins, err)
	}
	delete(now, "reg.example/db:16")
	now["reg.example/app:v1"] = old
	if _, err := f.PinImages(t.Context(), []*dag.Pipeline{p}, resolve, warn); err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], "reg.example/db:16: the registry could not be asked") {
		t.Errorf("unreachable: %v, warnings %q", err, warnings)
	}

	// An image the lock does not have is refused.
	p.Nodes = append(p.Nodes, &dag.Node{ID: "d", Image: "reg.example/new:1"})
	if _, err := f.PinImages(t.Context(), []*dag.Pipeline{p}, nil, warn); err == nil || !strings.Contains(err.Error(), "image reg.example/new:1 is not in gantry.lock: run gantry lock") {
		t.Errorf("missing: %v", err)
	}
}
