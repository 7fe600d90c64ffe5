package checkrun_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/checkrun"
	"github.com/gantry-ci/gantry/runner/host"
)

const sha = "1111111111111111111111111111111111111111"

// fakeChecks serves the check-run endpoints and records what was sent.
type fakeChecks struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []string
	bodies []map[string]any
	status int // answer with this status instead (rate limit tests)
}

func newFakeChecks(t *testing.T) *fakeChecks {
	f := &fakeChecks{}
	next := 0
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var body map[string]any
		data, _ := io.ReadAll(r.Body)
		json.Unmarshal(data, &body)
		f.calls = append(f.calls, r.Method+" "+strings.TrimPrefix(r.URL.Path, "/api/v3")+" "+r.Header.Get("Authorization"))
		f.bodies = append(f.bodies, body)
		if f.status != 0 {
			w.Header().Set("X-RateLimit-Remaining", "0")
			http.Error(w, `{"message":"API rate limit exceeded"}`, f.status)
			return
		}
		next++
		fmt.Fprintf(w, `{"id": %d, "name": %q}`, next, body["name"])
	}))
	t.Cleanup(f.Close)
	return f
}

// checksPipeline has a node that fails with an annotation, one that writes
// a step summary, and one skipped because what it needs failed.
const checksPipeline = `version: gantry/v1
name: checks
nodes:
  - id: lint
    steps:
      - run: echo "::error file=main.go,line=3,col=5::unused variable x"
      - run: exit 1
  - id: build
    steps:
      - run: echo "## built" >> "$GITHUB_STEP_SUMMARY"
  - id: deploy
    needs: [lint]
    steps:
      - run: echo never
`

func runWithChecks(t *testing.T, api *fakeChecks) (*runner.Result, string) {
	t.Helper()
	p, l := dag.Decode([]byte(checksPipeline), "checks.yaml")
	if p == nil || l.HasErrors() {
		t.Fatal(l)
	}
	var warnings strings.Builder
	var out bytes.Buffer
	checks, err := checkrun.New(t.Context(), checkrun.Options{Token: "tok", BaseURL: api.URL + "/", Owner: "acme", Repo: "app", SHA: sha,
		Warn: func(s string) { warnings.WriteString(s + "\n") }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(t.Context(), p, runner.Options{
		Executor: host.New(host.Options{}), Source: t.TempDir(), RunDir: t.TempDir(),
		Event:    runner.Event{Name: "push", Ref: "refs/heads/main", SHA: sha, Repository: "acme/app"},
		Reporter: runner.Tee{&runner.TextReporter{Out: &out}, checks}, Masker: &runner.Masker{},
	})
	if err != nil && res == nil {
		t.Fatal(err)
	}
	return res, warnings.String()
}

func TestReporter(t *testing.T) {
	t.Parallel()
	api := newFakeChecks(t)
	res, warnings := runWithChecks(t, api)
	if !res.Failed {
		t.Error("the run did not fail, but lint fails")
	}
	if warnings != "" {
		t.Errorf("warnings: %s", warnings)
	}
	final := map[string]map[string]any{}
	for i, c := range api.calls {
		if !strings.HasPrefix(c, "POST /repos/acme/app/check-runs ") && !strings.HasPrefix(c, "PATCH /repos/acme/app/check-runs/") {
			t.Errorf("unexpected request %s", c)
		}
		if !strings.HasSuffix(c, "Bearer tok") {
			t.Errorf("%s: no token", c)
		}
		b := api.bodies[i]
		if strings.HasPrefix(c, "POST") && b["head_sha"] != sha {
			t.Errorf("%s: head_sha %v", c, b["head_sha"])
		}
		if b["status"] == "completed" {
			final[b["name"].(string)] = b
		}
	}
	for name, want := range map[string]string{"lint": "failure", "build": "success", "deploy": "skipped"} {
		b, ok := final[name]
		if !ok {
			t.Errorf("no completed check run for %s; calls: %v", name, api.calls)
			continue
		}
		if b["conclusion"] != want {
			t.Errorf("%s: conclusion %v, want %s", name, b["conclusion"], want)
		}
		if b["completed_at"] == nil {
			t.Errorf("%s: no completed_at", name)
		}
	}
	out, _ := final["lint"]["output"].(map[string]any)
	anns, _ := out["annotations"].([]any)
	if len(anns) != 1 {
		t.Fatalf("lint's annotations: %v", out["annotations"])
	}
	a := anns[0].(map[string]any)
	if a["path"] != "main.go" || a["start_line"] != float64(3) || a["start_column"] != float64(5) || a["annotation_level"] != "failure" || a["message"] != "unused variable x" {
		t.Errorf("annotation: %v", a)
	}
	if text, _ := final["build"]["output"].(map[string]any)["text"].(string); !strings.Contains(text, "## built") {
		t.Errorf("build's step summary is not in its check run: %q", text)
	}
	// Two requests for a node that ran (created, then completed), one for
	// a skipped node.
	if len(api.calls) != 5 {
		t.Errorf("%d requests, want 5: %v", len(api.calls), api.calls)
	}
}

func TestReporterRateLimited(t *testing.T) {
	t.Parallel()
	api := newFakeChecks(t)
	api.status = http.StatusForbidden
	res, warnings := runWithChecks(t, api)
	if res == nil || len(res.Nodes) != 3 {
		t.Fatalf("the run did not go on: %+v", res)
	}
	if strings.Count(warnings, "\n") != 1 || !strings.Contains(warnings, "check runs are not reported any more") || !strings.Contains(warnings, "rate limit") {
		t.Errorf("want one warning about the rate limit, got %q", warnings)
	}
	if len(api.calls) != 1 {
		t.Errorf("gantry kept calling a failing API: %v", api.calls)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		opts    checkrun.Options
		wantErr string
	}{
		{name: "api.github.com", opts: checkrun.Options{Owner: "acme", Repo: "app", SHA: sha}},
		{name: "enterprise", opts: checkrun.Options{BaseURL: "https://ghe.example/api/v3/", Owner: "acme", Repo: "app", SHA: sha}},
		{name: "no commit", opts: checkrun.Options{Owner: "acme", Repo: "app"}, wantErr: `sha ""`},
		{name: "no repository", opts: checkrun.Options{SHA: sha}, wantErr: `owner ""`},
		{name: "a bad API address", opts: checkrun.Options{BaseURL: "://nope", Owner: "acme", Repo: "app", SHA: sha}, wantErr: `github api "://nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := checkrun.New(t.Context(), tc.opts)
			if tc.wantErr == "" {
				if err != nil || r == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New: error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
