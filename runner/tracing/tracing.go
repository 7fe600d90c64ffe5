package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gantry-ci/gantry/runner"
)

// Options say where traces go and what the run is.
type Options struct {
	// Endpoint is an OTLP endpoint's base URL (--otel): /v1/traces is
	// added to an http one without a path, as to
	// OTEL_EXPORTER_OTLP_ENDPOINT. Empty: the OTEL_EXPORTER_OTLP_*
	// variables say.
	Endpoint string
	// Masker masks every attribute, event and span name.
	Masker *runner.Masker
	// Version is gantry's, as service.version.
	Version string
	// Attributes describe the run (event, ref, executor), on its span.
	Attributes map[string]string
}

// Enabled reports whether traces are asked for: an endpoint given, or one
// in OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, and
// neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none.
func Enabled(endpoint string) bool {
	getenv := os.Getenv
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return endpoint != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Tracer exports one gantry run: its span is the root of the pipelines'.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	masker   *runner.Masker
	root     trace.Span
}

// Start makes the exporter and starts the run's span, as a child of the
// trace gantry itself runs in (a TRACEPARENT in its environment, as a
// step of a traced CI job has). The context returned carries the span:
// clients made with it (BuildKit's) trace their calls.
func Start(ctx context.Context, opts Options) (*Tracer, context.Context, error) {
	// The exporters read the other OTEL_EXPORTER_OTLP_* variables
	// (headers, timeout, certificates, compression) themselves.
	getenv := os.Getenv
	exp, err := exporter(ctx, opts.Endpoint, getenv)
	if err != nil {
		return nil, ctx, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "gantry"), attribute.String("service.version", opts.Version)),
		// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the
		// defaults above.
		resource.WithFromEnv(),
		resource.WithHost(),
	)
	if err != nil && res == nil {
		return nil, ctx, fmt.Errorf("traces: %w", err)
	}
	m := opts.Masker
	if m == nil {
		m = &runner.Masker{}
	}
	t := &Tracer{masker: m}
	t.provider = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	t.tracer = t.provider.Tracer("github.com/gantry-ci/gantry/runner/tracing")
	if tp := getenv("TRACEPARENT"); tp != "" {
		carrier := propagation.MapCarrier{"traceparent": tp, "tracestate": getenv("TRACESTATE")}
		ctx = propagation.TraceContext{}.Extract(ctx, carrier)
	}
	ctx, t.root = t.tracer.Start(ctx, "gantry run", trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(t.attrs(opts.Attributes)...))
	return t, ctx, nil
}

// exporter is the OTLP exporter the protocol asks for (the OTLP
// variables' http/protobuf by default).
func exporter(ctx context.Context, endpoint string, getenv func(string) string) (sdktrace.SpanExporter, error) {
	proto := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto == "" {
		proto = "http/protobuf"
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("--otel %q: expected an http:// or https:// URL of an OTLP endpoint, such as http://localhost:4318", endpoint)
		}
		if proto != "grpc" && strings.Trim(u.Path, "/") == "" {
			u.Path = "/v1/traces"
		}
		endpoint = u.String()
	}
	switch proto {
	case "grpc":
		var o []otlptracegrpc.Option
		if endpoint != "" {
			o = append(o, otlptracegrpc.WithEndpointURL(endpoint))
		}
		return otlptracegrpc.New(ctx, o...)
	case "http/protobuf", "http/json":
		var o []otlptracehttp.Option
		if endpoint != "" {
			o = append(o, otlptracehttp.WithEndpointURL(endpoint))
		}
		return otlptracehttp.New(ctx, o...)
	}
	return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: use http/protobuf, http/json or grpc", proto)
}

// End ends the run's span and sends what is left, waiting at most
// timeout; the error says the spans could not be sent.
func (t *Tracer) End(failed bool, timeout time.Duration) error {
	if failed {
		t.root.SetStatus(codes.Error, "a job failed")
	} else {
		t.root.SetStatus(codes.Ok, "")
	}
	t.root.End()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := t.provider.ForceFlush(ctx)
	if serr := t.provider.Shutdown(ctx); err == nil {
		err = serr
	}
	return err
}

// TraceID is the run's trace, in hex, for people to look it up.
func (t *Tracer) TraceID() string { return t.root.SpanContext().TraceID().String() }

// attrs are string attributes, masked, in key order.
func (t *Tracer) attrs(m map[string]string) []attribute.KeyValue {
	var kv []attribute.KeyValue
	for k, v := range m {
		if v != "" {
			kv = append(kv, attribute.String(k, t.masker.Mask(v)))
		}
	}
	return kv
}

// errorEvent records why as an exception event on s and sets its status.
func (t *Tracer) errorEvent(s trace.Span, why string, when time.Time) {
	why = t.masker.Mask(why)
	s.RecordError(errors.New(why), trace.WithTimestamp(when))
	s.SetStatus(codes.Error, why)
}

// Set adds attributes to the run's span (what is known once it started:
// the executor).
func (t *Tracer) Set(attrs map[string]string) { t.root.SetAttributes(t.attrs(attrs)...) }
