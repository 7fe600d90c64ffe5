// Package dag is gantry's portable pipeline format, gantry/v1: a DAG of
// containerized work that any provider's CI configuration translates into
// and any executor runs.
//
// A Pipeline holds triggers and Nodes; a Node holds Steps. Decode reads a
// file (YAML or JSON), checks it against the embedded JSON Schema (Schema)
// and then with Validate, and reports every finding with its position in
// the file. EncodeYAML and EncodeJSON write it back with a stable key order,
// so translating the same input twice gives the same bytes.
//
// Secrets appear by name only. Static things (matrix values, extends,
// anchors) are resolved before a pipeline is written; run-time things stay
// as expressions of package expr.
//
// docs/dag.md is the reference of every field.
package dag
