package tracing_test

import (
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/host"
	"github.com/gantry-ci/gantry/runner/tracing"
)

// The exporters read the OTEL_* variables of the process: these tests
// set them, and so do not run in parallel.

const secret = "hunter2-very-secret"

// pipeline has a node that succeeds and prints the TRACEPARENT its step
// got, one that needs it and fails with an annotation after printing the
// secret (a step named with the secret too), and one skipped because of
// that failure.
const pipeline = `version: gantry/v1
name: traced
nodes:
  - id: build
    pos: ci.yml:3:3
    steps:
      - name: compile
        pos: ci.yml:5:7
        run: echo "tp=$TRACEPARENT"
      - name: check
        run: echo ok
  - id: test
    pos: ci.yml:13:3
    needs: [build]
    env:
      TOKEN: ${{ secrets.TOKEN }}
    steps:
      - name: unit hunter2-very-secret
        pos: ci.yml:18:7
        run: |
          echo "token is $TOKEN"
          echo "::error file=main.go,line=3,col=5::broken $TOKEN"
          exit 3
  - id: deploy
    needs: [test]
    steps:
      - run: echo never
`

// receiver is an OTLP collector for the test: spans by name.
type receiver struct {
	mu       sync.Mutex
	spans    []*tracepb.Span
	resource []*commonpb.KeyValue
	paths    []string
	headers  []string
}

func (rc *receiver) add(req *collectortrace.ExportTraceServiceRequest) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		rc.resource = rs.GetResource().GetAttributes()
		for _, ss := range rs.ScopeSpans {
			rc.spans = append(rc.spans, ss.Spans...)
		}
	}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	rc.mu.Lock()
	rc.paths = append(rc.paths, r.URL.Path)
	rc.headers = append(rc.headers, r.Header.Get("Authorization"))
	rc.mu.Unlock()
	rc.add(&req)
	b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(b)
}

// grpcReceiver is the same collector over gRPC.
type grpcReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	rc *receiver
}

func (g grpcReceiver) Export(ctx context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	g.rc.add(req)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// lines records the stdout lines of the run.
type lines struct {
	runner.TextReporter
	mu  sync.Mutex
	out []string
}

func (l *lines) Line(node, stream, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out = append(l.out, node+": "+text)
}

// run runs the pipeline on the host with traces sent as env says.
func run(t *testing.T, endpoint string, env map[string]string) []string {
	t.Helper()
	p, l := dag.Decode([]byte(pipeline), "traced.yaml")
	if l.HasErrors() {
		t.Fatal(l.Err())
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	if !tracing.Enabled(endpoint) {
		t.Fatal("traces are not enabled")
	}
	masker := &runner.Masker{}
	masker.Add(secret)
	tr, ctx, err := tracing.Start(t.Context(), tracing.Options{Endpoint: endpoint, Masker: masker, Version: "test",
		Attributes: map[string]string{"gantry.executor": "host", "gantry.note": "run by " + secret}})
	if err != nil {
		t.Fatal(err)
	}
	pl := tr.Pipeline(ctx, p, "run-1")
	rec := &lines{TextReporter: runner.TextReporter{Out: io.Discard}}
	res, err := runner.Run(ctx, p, runner.Options{
		Executor: host.New(host.Options{TempDir: t.TempDir()}), Source: t.TempDir(), RunDir: t.TempDir(),
		Event: runner.Event{Name: "push"}, Secrets: map[string]string{"TOKEN": secret},
		Reporter: runner.Tee{rec, pl}, Observer: pl, Masker: masker,
	})
	if err != nil {
		t.Fatal(err)
	}
	pl.End(res)
	if err := tr.End(res.Failed, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return rec.out
}

func attr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

func (rc *receiver) check(t *testing.T, out []string) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	byName := map[string]*tracepb.Span{}
	byID := map[string]*tracepb.Span{}
	for _, s := range rc.spans {
		if byName[s.Name] != nil {
			t.Errorf("two spans named %q", s.Name)
		}
		byName[s.Name] = s
		byID[hex.EncodeToString(s.SpanId)] = s
	}
	var names []string
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{"build", "check", "compile", "deploy", "echo never", "gantry run", "pipeline traced", "test", "unit ***"}
	// deploy never started: its step has no span.
	want = slices.DeleteFunc(want, func(s string) bool { return s == "echo never" })
	if !slices.Equal(names, want) {
		t.Fatalf("spans %q, want %q", names, want)
	}
	parent := func(child, want string) {
		t.Helper()
		c := byName[child]
		p := byID[hex.EncodeToString(c.ParentSpanId)]
		if want == "" {
			if len(c.ParentSpanId) != 0 {
				t.Errorf("%s has a parent", child)
			}
			return
		}
		if p == nil || p.Name != want {
			t.Errorf("the parent of %q is %v, want %q", child, p, want)
		}
		if string(c.TraceId) != string(byName["gantry run"].TraceId) {
			t.Errorf("%q is in another trace", child)
		}
	}
	parent("gantry run", "")
	parent("pipeline traced", "gantry run")
	for _, n := range []string{"build", "test", "deploy"} {
		parent(n, "pipeline traced")
	}
	parent("compile", "build")
	parent("check", "build")
	parent("unit ***", "test")

	// Statuses, exit codes, results, positions.
	if c := byName["build"].Status.GetCode(); c != tracepb.Status_STATUS_CODE_OK {
		t.Errorf("build: status %v", c)
	}
	unit := byName["unit ***"]
	if unit.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || attr(unit, "process.exit.code").GetIntValue() != 3 {
		t.Errorf("unit: status %v, exit code %v", unit.Status, attr(unit, "process.exit.code"))
	}
	if got := attr(unit, "code.line.number").GetIntValue(); got != 18 {
		t.Errorf("unit: line %d, want 18", got)
	}
	if got := attr(byName["test"], "code.line.number").GetIntValue(); got != 13 {
		t.Errorf("test: line %d, want 13", got)
	}
	if got := attr(byName["test"], "code.file.path").GetStringValue(); got != "ci.yml" {
		t.Errorf("test: file %q", got)
	}
	if got := attr(byName["deploy"], "cicd.pipeline.task.run.result").GetStringValue(); got != "skip" {
		t.Errorf("deploy: result %q", got)
	}
	if got := attr(byName["deploy"], "gantry.reason").GetStringValue(); !strings.Contains(got, "did not succeed") {
		t.Errorf("deploy: reason %q", got)
	}
	events := map[string]bool{}
	for _, e := range unit.Events {
		events[e.Name] = true
	}
	if !events["exception"] || !events["annotation"] {
		t.Errorf("unit: events %v, want exception and annotation", events)
	}
	if !slices.ContainsFunc(byName["test"].Events, func(e *tracepb.Span_Event) bool { return e.Name == "exception" }) {
		t.Error("test: no exception event")
	}
	if got := attr(byName["gantry run"], "gantry.executor").GetStringValue(); got != "host" {
		t.Errorf("run: executor %q", got)
	}
	service := ""
	for _, kv := range rc.resource {
		if kv.Key == "service.name" {
			service = kv.Value.GetStringValue()
		}
	}
	if service != "gantry-test" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", service)
	}

	// The step saw its own span as TRACEPARENT.
	compile := byName["compile"]
	tp := "tp=00-" + hex.EncodeToString(compile.TraceId) + "-" + hex.EncodeToString(compile.SpanId) + "-01"
	if !slices.Contains(out, "build: "+tp) {
		t.Errorf("the step printed %q, want %q", out, tp)
	}

	// No secret anywhere: names, attributes, events, resource.
	b, _ := proto.Marshal(&tracepb.ResourceSpans{ScopeSpans: []*tracepb.ScopeSpans{{Spans: rc.spans}}})
	if strings.Contains(string(b), secret) {
		t.Error("a span holds the secret")
	}
	if !strings.Contains(string(b), "***") {
		t.Error("nothing was masked: the test does not test masking")
	}
}

func TestHTTP(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	out := run(t, "", map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL,
		"OTEL_EXPORTER_OTLP_HEADERS":  "Authorization=Bearer abc",
		"OTEL_SERVICE_NAME":           "gantry-test",
	})
	rc.check(t, out)
	for i, p := range rc.paths {
		if p != "/v1/traces" || rc.headers[i] != "Bearer abc" {
			t.Errorf("request %d: %s with %q", i, p, rc.headers[i])
		}
	}
}

// --otel URL: a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is.
func TestFlag(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	out := run(t, srv.URL, map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=gantry-test,team=ci"})
	rc.check(t, out)
	if len(rc.paths) == 0 || rc.paths[0] != "/v1/traces" {
		t.Errorf("paths %q", rc.paths)
	}
}

func TestGRPC(t *testing.T) {
	rc := &receiver{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(s, grpcReceiver{rc: rc})
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	out := run(t, "", map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + lis.Addr().String(),
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_SERVICE_NAME":           "gantry-test",
	})
	rc.check(t, out)
}

func TestEnabled(t *testing.T) {
	for _, tc := range []struct {
		name     string
		endpoint string
		env      map[string]string
		want     bool
	}{
		{name: "nothing", env: map[string]string{}},
		{name: "flag", endpoint: "http://localhost:4318", want: true},
		{name: "endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318"}, want: true},
		{name: "traces endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x:4318/v1/traces"}, want: true},
		{name: "sdk disabled", endpoint: "http://x", env: map[string]string{"OTEL_SDK_DISABLED": "true"}},
		{name: "exporter none", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_TRACES_EXPORTER": "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER"} {
				t.Setenv(k, tc.env[k])
			}
			if got := tracing.Enabled(tc.endpoint); got != tc.want {
				t.Errorf("Enabled = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name, endpoint, proto, want string
	}{
		{name: "not a URL", endpoint: "localhost:4318", want: `--otel "localhost:4318": expected an http:// or https:// URL`},
		{name: "protocol", endpoint: "http://localhost:4318", proto: "thrift", want: `OTEL_EXPORTER_OTLP_PROTOCOL "thrift": use http/protobuf, http/json or grpc`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tc.proto)
			_, _, err := tracing.Start(t.Context(), tracing.Options{Endpoint: tc.endpoint})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// A matrix known only at run time: its combinations (ids with dots of
// their own, m.1.22) are spans under the matrix's node.
func TestRuntimeMatrix(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	p, l := dag.Decode([]byte(`version: gantry/v1
name: m
nodes:
  - id: m
    pos: ci.yml:3:3
    matrix-from: ${{ fromJSON('{"go":["1.22","1.23"]}') }}
    steps:
      - name: test
        run: echo go ${{ matrix.go }}
`), "m.yaml")
	if l.HasErrors() {
		t.Fatal(l.Err())
	}
	tr, ctx, err := tracing.Start(t.Context(), tracing.Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	pl := tr.Pipeline(ctx, p, "run-m")
	res, err := runner.Run(ctx, p, runner.Options{
		Executor: host.New(host.Options{TempDir: t.TempDir()}), Source: t.TempDir(), RunDir: t.TempDir(),
		Event: runner.Event{Name: "push"}, Reporter: pl, Observer: pl,
	})
	if err != nil {
		t.Fatal(err)
	}
	pl.End(res)
	if err := tr.End(res.Failed, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	byID := map[string]*tracepb.Span{}
	var legs []*tracepb.Span
	for _, s := range rc.spans {
		byID[hex.EncodeToString(s.SpanId)] = s
		if strings.HasPrefix(s.Name, "m (") {
			legs = append(legs, s)
		}
	}
	if len(legs) != 2 {
		t.Fatalf("%d combination spans", len(legs))
	}
	for _, s := range legs {
		if p := byID[hex.EncodeToString(s.ParentSpanId)]; p == nil || p.Name != "m" {
			t.Errorf("%s: parent %v, want m", s.Name, p)
		}
		if got := attr(s, "code.line.number").GetIntValue(); got != 3 {
			t.Errorf("%s: line %d, want the matrix node's 3", s.Name, got)
		}
	}
}
