package runner

import "testing"

func TestExpandDollar(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"A": "1", "B_2": "two"}
	get := func(k string) string { return vars[k] }
	for _, tc := range []struct{ in, want string }{
		{in: "plain", want: "plain"},
		{in: "$A-${B_2}", want: "1-two"},
		{in: "$$A costs $$5", want: "$A costs $5"},
		{in: "$MISSING|", want: "|"},
		{in: "end$", want: "end$"},
		{in: "${A", want: "${A"},
	} {
		if got := expandDollar(tc.in, get); got != tc.want {
			t.Errorf("expandDollar(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
