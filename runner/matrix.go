package runner

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/expr"
)

// expandMatrix expands a matrix known only at run time, as GitHub does:
// the cross product of the rows, minus exclude (partial matches), then
// include (extending combinations without overwriting original values,
// else adding one).
func expandMatrix(v expr.Value) ([]map[string]any, error) {
	if v.Kind() != expr.KindObject {
		return nil, fmt.Errorf("the matrix must be an object, got %s", v.Kind())
	}
	combos := []map[string]any{{}}
	var rows []string
	var include, exclude []map[string]any
	for _, k := range v.Keys() {
		val, _ := v.Get(k)
		switch k {
		case "include", "exclude":
			if val.Kind() != expr.KindArray {
				return nil, fmt.Errorf("matrix %s must be an array of objects", k)
			}
			for _, e := range val.Elems() {
				m, ok := e.Go().(map[string]any)
				if !ok {
					return nil, fmt.Errorf("matrix %s entries must be objects", k)
				}
				if k == "include" {
					include = append(include, m)
				} else {
					exclude = append(exclude, m)
				}
			}
			continue
		}
		if val.Kind() != expr.KindArray || val.Len() == 0 {
			return nil, fmt.Errorf("matrix row %q must be a non-empty array", k)
		}
		rows = append(rows, k)
		var next []map[string]any
		for _, c := range combos {
			for _, e := range val.Elems() {
				n := map[string]any{}
				for ck, cv := range c {
					n[ck] = cv
				}
				n[k] = e.Go()
				next = append(next, n)
			}
		}
		combos = next
	}
	if len(rows) == 0 {
		combos = nil
	}
	original := map[string]bool{}
	for _, r := range rows {
		original[r] = true
	}
	dc := make([]*dag.MatrixCombo, len(combos))
	for i, c := range combos {
		dc[i] = &dag.MatrixCombo{Values: c}
	}
	includeKeys := make([][]string, len(include))
	for i, in := range include {
		includeKeys[i] = slices.Sorted(maps.Keys(in))
	}
	var kept []map[string]any
	for _, c := range dag.FilterMatrix(dc, original, include, exclude, includeKeys) {
		kept = append(kept, c.Values)
	}
	if len(kept) > 256 {
		return nil, fmt.Errorf("the matrix has %d combinations; GitHub allows at most 256", len(kept))
	}
	return kept, nil
}

// comboID is a readable id suffix for a combination.
func comboID(c map[string]any) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = expr.FromGo(c[k]).String()
	}
	return dag.SanitizeID(strings.Join(parts, "-"))
}
