package dag

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Flag is a boolean that may be known only at run time: false, true, or an
// expression (a ${{ }} template) the runner evaluates when it needs it
// (GitHub's continue-on-error: ${{ inputs.optional }}). Encoded as a JSON
// boolean, or as the expression's string.
type Flag struct {
	Value bool
	// Expr, when set, is the template that decides; Value is then unused.
	Expr string
}

// FlagOf is a Flag known now.
func FlagOf(v bool) Flag { return Flag{Value: v} }

// IsZero reports whether the flag is false and known now (omitted when
// encoding).
func (f Flag) IsZero() bool { return !f.Value && f.Expr == "" }

// Static reports the value when it is known without evaluating anything.
func (f Flag) Static() (value, known bool) { return f.Value, f.Expr == "" }

// MarshalJSON writes a boolean, or the expression.
func (f Flag) MarshalJSON() ([]byte, error) {
	if f.Expr != "" {
		return json.Marshal(f.Expr)
	}
	return json.Marshal(f.Value)
}

// UnmarshalJSON reads a boolean, "true"/"false", or a string holding ${{ }}.
func (f *Flag) UnmarshalJSON(b []byte) error {
	var v bool
	if err := json.Unmarshal(b, &v); err == nil {
		*f = Flag{Value: v}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a boolean or an expression, got %s", b)
	}
	switch t := strings.TrimSpace(s); {
	case t == "true" || t == "false":
		*f = Flag{Value: t == "true"}
	case strings.Contains(t, "${{"):
		*f = Flag{Expr: t}
	default:
		return fmt.Errorf("want a boolean or an expression (${{ }}), got %q", s)
	}
	return nil
}
