// Package diag holds positions and diagnostics: where in the user's files
// something was found, what it is, and how to print it.
//
// It is the leaf of gantry's package tree: every other package reports
// findings in the user's input as a List of Diagnostic values, collected
// without stopping at the first one, and keeps its own failures as ordinary
// Go errors.
package diag
