package dag_test

import (
	"testing"

	"github.com/gantry-ci/gantry/dag"
)

func TestSanitizeID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{name: "already an id", in: "build_1.2-x", want: "build_1.2-x"},
		{name: "gitlab job name", in: "test:unit", want: "test-unit"},
		{name: "a run becomes one dash", in: "Build & Test (1.22)", want: "Build-Test-1.22"},
		{name: "ends trimmed", in: "..-job-..", want: "job"},
		{name: "inner dots kept", in: "a..b", want: "a..b"},
		{name: "spaces", in: "  deploy prod  ", want: "deploy-prod"},
		{name: "non-ASCII letters", in: "tést", want: "t-st"},
		{name: "slashes", in: "go/1.22/linux", want: "go-1.22-linux"},
		{name: "empty", in: "", want: "_"},
		{name: "nothing usable", in: "::..--", want: "_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := dag.SanitizeID(tc.in); got != tc.want {
				t.Errorf("SanitizeID(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
