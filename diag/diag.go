package diag

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Pos is a position in a user's file. Line and Col are 1-based; zero means
// unknown, so a zero Pos is "somewhere in File" (or nowhere at all).
type Pos struct {
	File string `json:"file,omitempty" yaml:"file,omitempty"`
	Line int    `json:"line,omitempty" yaml:"line,omitempty"`
	Col  int    `json:"col,omitempty" yaml:"col,omitempty"`
}

// IsValid reports whether p names at least a line.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String formats p as file:line:col, leaving out the parts that are unknown.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
		if p.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Col))
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// Compare orders positions by file, line, then column.
func (p Pos) Compare(q Pos) int {
	return cmp.Or(cmp.Compare(p.File, q.File), cmp.Compare(p.Line, q.Line), cmp.Compare(p.Col, q.Col))
}

// Severity says how bad a finding is.
type Severity int

const (
	Error Severity = iota
	Warning
	Info
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	case Info:
		return "info"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText makes severities print as words in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the words MarshalText writes.
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = Error
	case "warning":
		*s = Warning
	case "info":
		*s = Info
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}

// Diagnostic is one finding in the user's input.
type Diagnostic struct {
	Pos      Pos      `json:"pos"`
	Severity Severity `json:"severity"`
	// Code is a short stable kebab-case name of the kind of finding,
	// such as "yaml-syntax" or "dag-cycle".
	Code    string `json:"code"`
	Message string `json:"message"`
	// Hint says what to do about it, when gantry knows.
	Hint string `json:"hint,omitempty"`
	// End, when valid, is the position just past the offending text, so that
	// printers can underline the whole of it.
	End Pos `json:"end,omitzero"`
}

// Error formats d on one line: file:line:col: message [code].
func (d Diagnostic) Error() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Severity != Error {
		b.WriteString(d.Severity.String())
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	if d.Code != "" {
		b.WriteString(" [")
		b.WriteString(d.Code)
		b.WriteByte(']')
	}
	return b.String()
}

// Errorf makes an error-severity diagnostic.
func Errorf(pos Pos, code, format string, args ...any) Diagnostic {
	return Diagnostic{Pos: pos, Severity: Error, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithHint returns d with a hint attached.
func (d Diagnostic) WithHint(format string, args ...any) Diagnostic {
	d.Hint = fmt.Sprintf(format, args...)
	return d
}

// List collects diagnostics. Like go/scanner.ErrorList, its Err method is
// nil when nothing of error severity was found.
type List []Diagnostic

// Add appends diagnostics.
func (l *List) Add(d ...Diagnostic) { *l = append(*l, d...) }

// Errorf appends an error-severity diagnostic and returns it for hints.
func (l *List) Errorf(pos Pos, code, format string, args ...any) *Diagnostic {
	*l = append(*l, Errorf(pos, code, format, args...))
	return &(*l)[len(*l)-1]
}

// Warnf appends a warning.
func (l *List) Warnf(pos Pos, code, format string, args ...any) *Diagnostic {
	d := Errorf(pos, code, format, args...)
	d.Severity = Warning
	*l = append(*l, d)
	return &(*l)[len(*l)-1]
}

// HasErrors reports whether any diagnostic has error severity.
func (l List) HasErrors() bool {
	return slices.ContainsFunc(l, func(d Diagnostic) bool { return d.Severity == Error })
}

// Sort orders diagnostics by position, then code and message, so output is
// deterministic whatever order they were found in.
func (l List) Sort() {
	slices.SortStableFunc(l, func(a, b Diagnostic) int {
		return cmp.Or(a.Pos.Compare(b.Pos), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Message, b.Message))
	})
}

// Err returns the list as an error when it holds at least one error-severity
// diagnostic, and nil otherwise. errors.As finds the *ListError.
func (l List) Err() error {
	if !l.HasErrors() {
		return nil
	}
	return &ListError{List: slices.Clone(l)}
}

// ListError is a List that failed. Its message is every diagnostic on its own line.
type ListError struct{ List List }

func (e *ListError) Error() string {
	lines := make([]string, len(e.List))
	for i, d := range e.List {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

// AsList returns the diagnostics carried by err (a *ListError, a Diagnostic,
// or a wrapper of either), or nil when err carries none.
func AsList(err error) List {
	var le *ListError
	if errors.As(err, &le) {
		return le.List
	}
	var d Diagnostic
	if errors.As(err, &d) {
		return List{d}
	}
	var dp *Diagnostic
	if errors.As(err, &dp) {
		return List{*dp}
	}
	return nil
}
