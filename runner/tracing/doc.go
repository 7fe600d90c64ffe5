// Package tracing exports a run as OpenTelemetry traces over OTLP (gantry
// run --otel URL, or the standard OTEL_EXPORTER_OTLP_* variables): a span
// for gantry's run, one under it for each pipeline, one for each node
// and one for each step, with their status, exit codes, cache hits,
// executor, image and source positions; failures are span events.
//
// It follows the run from outside: a Pipeline is a runner.Reporter (the
// events --json prints) and a runner.Observer (which hands each node's
// and step's span on in its context, so BuildKit's client calls carry it,
// and as TRACEPARENT to the step's processes). The runner knows nothing of
// traces. Every attribute value goes through the run's Masker.
package tracing
