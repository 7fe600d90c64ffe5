package dag

import (
	"encoding/json"
	"testing"
)

func TestFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, out string
		want    Flag
		err     bool
	}{
		{in: `true`, out: `true`, want: Flag{Value: true}},
		{in: `false`, out: `false`, want: Flag{}},
		{in: `"true"`, out: `true`, want: Flag{Value: true}},
		{in: `"${{ inputs.optional }}"`, out: `"${{ inputs.optional }}"`, want: Flag{Expr: "${{ inputs.optional }}"}},
		{in: `"yes"`, err: true},
		{in: `1`, err: true},
	} {
		var f Flag
		err := json.Unmarshal([]byte(tc.in), &f)
		if (err != nil) != tc.err {
			t.Errorf("%s: error %v", tc.in, err)
			continue
		}
		if tc.err {
			continue
		}
		if f != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.in, f, tc.want)
		}
		if b, _ := json.Marshal(f); string(b) != tc.out {
			t.Errorf("%s: written %s, want %s", tc.in, b, tc.out)
		}
	}
	// A false flag is left out of a step.
	b, _ := json.Marshal(Step{Run: "x"})
	if string(b) != `{"run":"x"}` {
		t.Errorf("a step with no continue-on-error encodes as %s", b)
	}
}
