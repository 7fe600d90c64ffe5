// Package webui is gantry's local web view of runs (gantry run --ui,
// gantry ui): a page that draws the pipeline's DAG (dag.Graph.WriteSVG),
// colours its nodes as they run, and shows each node's steps with their
// logs, a timeline, step summaries rendered from Markdown, artifacts and
// annotations.
//
// A Recorder is a runner.Reporter that writes a run's events (those of
// --json, and a few more) to events.jsonl in its record, with the DAG as
// dag.json, so that a record can be viewed again later; with --ui it keeps
// them in memory too, for the page's live stream. The Server answers on
// loopback only, refuses other Host headers (DNS rebinding), serves
// nothing outside the records' directory and streams events as
// server-sent events that resume after Last-Event-ID. Everything it sends
// has gone through the run's Masker.
package webui
