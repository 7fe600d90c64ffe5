package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/tracing"
)

// startTraces starts the run's trace when --otel or the OTEL_EXPORTER_OTLP_*
// variables ask for one (nil otherwise: nothing of OpenTelemetry is set
// up); the context carries its span.
func (o *runOptions) startTraces(ctx context.Context, e runner.Event, m *runner.Masker) (*tracing.Tracer, context.Context, error) {
	if o.DryRun || !tracing.Enabled(o.OTel) {
		return nil, ctx, nil
	}
	tr, ctx, err := tracing.Start(ctx, tracing.Options{Endpoint: o.OTel, Masker: m, Version: buildInfoVersion(), Attributes: map[string]string{
		"cicd.pipeline.trigger": e.Name, "vcs.ref.head.name": e.Ref, "vcs.ref.head.revision": e.SHA, "vcs.repository.name": e.Repository,
		"gantry.actor": e.Actor,
	}})
	if err != nil {
		// A URL or an OTEL_* variable gantry cannot use.
		return nil, ctx, usagef("%v", err)
	}
	return tr, ctx, nil
}

// endTraces sends the rest of the trace and says where it went; a
// collector that cannot be reached is a warning, not the run's failure.
func endTraces(io *IO, tr *tracing.Tracer, endpoint string, failed bool) {
	if tr == nil {
		return
	}
	if endpoint == "" {
		endpoint = os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	}
	if endpoint == "" {
		endpoint = os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if err := tr.End(failed, 10*time.Second); err != nil {
		fmt.Fprintf(io.Err, "gantry: warning: the trace could not be sent to %s: %v\n", endpoint, err)
		return
	}
	fmt.Fprintf(io.Err, "gantry: trace %s sent to %s\n", tr.TraceID(), endpoint)
}

// buildInfoVersion is the module version gantry was built as, for the
// trace's service.version.
func buildInfoVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return ""
}
