// Package github turns GitHub Actions workflows into gantry pipelines.
//
// Workflows are parsed and linted with actionlint, whose syntax tree keeps
// the line and column of everything the user wrote; this package never
// parses workflow YAML itself. Translation resolves what is static (matrix
// expansion, matrix values in strings, local composite actions, local
// reusable workflows, defaults) and keeps what is known only at run time
// (step outputs, job results, event data) as expressions of package expr.
//
// Constructs gantry cannot run are reported as diagnostics with the code
// "unsupported", naming the construct, where it is, and what to do.
package github
