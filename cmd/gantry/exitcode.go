package main

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/gantry-ci/gantry/diag"
)

// Exit codes. They are part of gantry's interface: scripts and CI read them.
const (
	exitOK          = 0   // everything succeeded
	exitFindings    = 1   // findings in the input, or a failed pipeline
	exitUsage       = 2   // bad command line
	exitInternal    = 3   // gantry itself failed
	exitInterrupted = 130 // stopped by Ctrl-C or SIGTERM
)

// usageError marks a bad command line; command, when set, is the
// command whose --help the message points at.
type usageError struct {
	err     error
	command string
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{err: fmt.Errorf(format, args...)} }

// findingsError carries diagnostics in the user's input up to main, which
// prints them in the chosen format and exits with exitFindings.
type findingsError struct{ list diag.List }

func (e findingsError) Error() string { return fmt.Sprintf("%d finding(s)", len(e.list)) }

// failedError says the work ran and failed; what failed was already printed.
type failedError struct{ msg string }

func (e failedError) Error() string { return e.msg }

// infraError says the work could not run to its end because of what ran
// it (the engine went away), while no step failed: exit 3, but not
// gantry's own failure.
type infraError struct{ msg string }

func (e infraError) Error() string { return e.msg }

// report prints err and returns the exit code for it.
func report(io *IO, err error, interrupted bool) int {
	if interrupted {
		fmt.Fprintln(io.Err, "gantry: interrupted")
		return exitInterrupted
	}
	if err == nil {
		return exitOK
	}
	var fe findingsError
	if errors.As(err, &fe) {
		io.printDiagnostics(fe.list)
		return exitFindings
	}
	if l := diag.AsList(err); l != nil {
		io.printDiagnostics(l)
		return exitFindings
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintf(io.Err, "gantry: error: %v\nRun '%s --help' for usage.\n", err, cmp.Or(ue.command, io.command, "gantry"))
		return exitUsage
	}
	var failed failedError
	if errors.As(err, &failed) {
		fmt.Fprintf(io.Err, "gantry: %v\n", err)
		return exitFindings
	}
	var infra infraError
	if errors.As(err, &infra) {
		fmt.Fprintf(io.Err, "gantry: %v\n", err)
		return exitInternal
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		fmt.Fprintf(io.Err, "gantry: error: %v\n", err)
		return exitFindings
	}
	fmt.Fprintf(io.Err, "gantry: internal error: %v\n", err)
	return exitInternal
}

// isCobraUsage recognises the errors cobra makes itself for bad command lines.
func isCobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag") || strings.Contains(msg, "flag needs an argument") ||
		strings.HasPrefix(msg, "invalid argument")
}
