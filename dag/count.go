package dag

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Count is a whole number known when the DAG is written, or a ${{ }}
// template evaluated when the runner needs it (GitHub's
// strategy.max-parallel may name needs and inputs). JSON: a number, or a
// string holding ${{ }}.
type Count struct {
	Value int
	// Expr, when set, is the template that decides; Value is then unused.
	Expr string
}

// CountOf is a Count known now.
func CountOf(v int) Count { return Count{Value: v} }

// IsZero reports whether the count is 0 and known now (omitted when
// encoding).
func (c Count) IsZero() bool { return c.Value == 0 && c.Expr == "" }

// Static reports the value when it is known without evaluating anything.
func (c Count) Static() (value int, known bool) { return c.Value, c.Expr == "" }

// MarshalJSON writes a number, or the expression.
func (c Count) MarshalJSON() ([]byte, error) {
	if c.Expr != "" {
		return json.Marshal(c.Expr)
	}
	return json.Marshal(c.Value)
}

// UnmarshalJSON reads a whole number, one written as a string, or a string
// holding ${{ }}.
func (c *Count) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		if f != float64(int(f)) {
			return fmt.Errorf("want a whole number, got %s", b)
		}
		*c = Count{Value: int(f)}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a number or an expression, got %s", b)
	}
	t := strings.TrimSpace(s)
	if n, err := strconv.Atoi(t); err == nil {
		*c = Count{Value: n}
		return nil
	}
	if strings.Contains(t, "${{") {
		*c = Count{Expr: t}
		return nil
	}
	return fmt.Errorf("want a number or an expression (${{ }}), got %q", s)
}
