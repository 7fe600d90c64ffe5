package main

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP collector for the tests: the spans it was
// sent.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (rc *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			rc.spans = append(rc.spans, ss.Spans...)
		}
	}
	rc.mu.Unlock()
	b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(b)
}

// tree indexes spans by id and name.
type tree struct {
	byID   map[string]*tracepb.Span
	byName map[string][]*tracepb.Span
}

func (rc *otlpReceiver) tree() tree {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	t := tree{byID: map[string]*tracepb.Span{}, byName: map[string][]*tracepb.Span{}}
	for _, s := range rc.spans {
		t.byID[hex.EncodeToString(s.SpanId)] = s
		t.byName[s.Name] = append(t.byName[s.Name], s)
	}
	return t
}

// under reports whether s has ancestor a.
func (t tree) under(s, a *tracepb.Span) bool {
	for p := t.byID[hex.EncodeToString(s.ParentSpanId)]; p != nil; p = t.byID[hex.EncodeToString(p.ParentSpanId)] {
		if p == a {
			return true
		}
	}
	return false
}

const traceWorkflow = `name: traced
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: show the trace
        run: echo "run NONCE traceparent=$TRACEPARENT"
`

// traceRun runs traceWorkflow with --otel and the extra arguments; it
// returns the receiver and what gantry printed.
func traceRun(t *testing.T, extra ...string) (*otlpReceiver, string) {
	t.Helper()
	rc := &otlpReceiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	repo := t.TempDir()
	wf := filepath.Join(repo, "ci.yml")
	// The step differs from any run before, so that BuildKit runs it
	// rather than replaying its cache.
	os.WriteFile(wf, []byte(strings.Replace(traceWorkflow, "NONCE", strconv.FormatInt(time.Now().UnixNano(), 36), 1)), 0o644)
	var out, errOut strings.Builder
	args := append([]string{"run", "--otel", srv.URL, "--dir", repo}, extra...)
	if code := run(append(args, wf), strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("gantry run: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "gantry: trace ") || !strings.Contains(errOut.String(), " sent to "+srv.URL) {
		t.Errorf("gantry did not say where the trace went:\n%s", errOut.String())
	}
	return rc, out.String()
}

// checkTrace checks the span tree gantry run sends, and that the step saw
// its span as TRACEPARENT (on BuildKit, a span of the engine's under it:
// any span of the trace).
func checkTrace(t *testing.T, rc *otlpReceiver, out, executor string) tree {
	t.Helper()
	tr := rc.tree()
	one := func(name string) *tracepb.Span {
		t.Helper()
		if len(tr.byName[name]) != 1 {
			t.Fatalf("%d spans named %q; spans: %v", len(tr.byName[name]), name, tr.byName)
		}
		return tr.byName[name][0]
	}
	root, pipeline, node, step := one("gantry run"), one("pipeline traced"), one("build"), one("show the trace")
	if !tr.under(pipeline, root) || !tr.under(node, pipeline) || !tr.under(step, node) {
		t.Error("the spans are not run > pipeline > node > step")
	}
	got := ""
	for _, kv := range root.Attributes {
		if kv.Key == "gantry.executor" {
			got = kv.Value.GetStringValue()
		}
	}
	if got != executor {
		t.Errorf("gantry.executor %q, want %q", got, executor)
	}
	want := "traceparent=00-" + hex.EncodeToString(step.TraceId) + "-" + hex.EncodeToString(step.SpanId) + "-01"
	if executor == "buildkit" {
		want = "traceparent=00-" + hex.EncodeToString(step.TraceId) + "-"
	}
	if !strings.Contains(out, want) {
		t.Errorf("the step did not print %q:\n%s", want, out)
	}
	return tr
}

func TestTraces(t *testing.T) {
	rc, out := traceRun(t, "--executor", "host")
	checkTrace(t, rc, out, "host")
}

// On BuildKit the step in its container is in the trace too (BuildKit
// gives it the span of its own exec, under the step's), and the client's
// calls to the engine are spans under the node's and the step's.
func TestTracesBuildKit(t *testing.T) {
	rootfs := os.Getenv("GANTRY_TEST_ROOTFS")
	if os.Getenv("BUILDKIT_HOST") == "" || rootfs == "" {
		if os.Getenv("GANTRY_REQUIRE_BUILDKIT") != "" {
			t.Fatal("GANTRY_REQUIRE_BUILDKIT is set but BUILDKIT_HOST or GANTRY_TEST_ROOTFS is not")
		}
		t.Skip("no BuildKit daemon (eval \"$(scripts/buildkit-up)\")")
	}
	rc, out := traceRun(t, "--executor", "buildkit", "-P", "ubuntu-latest=rootfs://"+rootfs)
	tr := checkTrace(t, rc, out, "buildkit")
	node, step := tr.byName["build"][0], tr.byName["show the trace"][0]
	var underNode, underStep int
	for name, spans := range tr.byName {
		if !strings.HasPrefix(name, "moby.") {
			continue
		}
		for _, s := range spans {
			if tr.under(s, step) {
				underStep++
			} else if tr.under(s, node) {
				underNode++
			}
		}
	}
	if underNode == 0 || underStep == 0 {
		t.Errorf("BuildKit's client calls: %d under the node, %d under the step; spans: %v", underNode, underStep, tr.byName)
	}
}

// TestTracesPostStep: a JavaScript action's pre and post steps are spans
// of the trace, and their processes get them as TRACEPARENT, as main
// steps do ($/ for the action: GitHub runs no pre of a ./ action).
func TestTracesPostStep(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node on PATH")
	}
	rc := &otlpReceiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	repo := t.TempDir()
	files := map[string]string{
		"ci.yml":         "name: traced\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: $/act\n",
		"act/action.yml": "name: act\nruns:\n  using: node20\n  pre: pre.js\n  main: main.js\n  post: post.js\n",
		"act/pre.js":     "console.log('pre traceparent=' + process.env.TRACEPARENT);\n",
		"act/main.js":    "console.log('main');\n",
		"act/post.js":    "console.log('post traceparent=' + process.env.TRACEPARENT);\n",
	}
	for name, body := range files {
		p := filepath.Join(repo, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut strings.Builder
	if code := run([]string{"run", "--otel", srv.URL, "--dir", repo, "--executor", "host", filepath.Join(repo, "ci.yml")}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("gantry run: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	tr := rc.tree()
	for _, hook := range []string{"Pre", "Post"} {
		var span *tracepb.Span
		for name, spans := range tr.byName {
			if strings.HasPrefix(name, hook+" ") {
				span = spans[0]
			}
		}
		if span == nil {
			t.Fatalf("no %s step span; spans: %v", hook, tr.byName)
		}
		want := strings.ToLower(hook) + " traceparent=00-" + hex.EncodeToString(span.TraceId) + "-" + hex.EncodeToString(span.SpanId) + "-01"
		if !strings.Contains(out.String(), want) {
			t.Errorf("the %s step did not print %q:\n%s", hook, want, out.String())
		}
	}
}
