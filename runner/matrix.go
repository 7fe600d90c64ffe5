package runner

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

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
	var kept []map[string]any
	for _, c := range combos {
		excluded := false
		for _, ex := range exclude {
			if matchesEntry(c, ex, nil) {
				excluded = true
			}
		}
		if !excluded {
			kept = append(kept, c)
		}
	}
	base := len(kept)
	for _, in := range include {
		added := false
		for _, c := range kept[:base] {
			if matchesEntry(c, in, original) {
				for k, v := range in {
					if !original[k] {
						c[k] = v
					}
				}
				added = true
			}
		}
		if !added {
			n := map[string]any{}
			for k, v := range in {
				n[k] = v
			}
			kept = append(kept, n)
		}
	}
	if len(kept) > 256 {
		return nil, fmt.Errorf("the matrix has %d combinations; GitHub allows at most 256", len(kept))
	}
	return kept, nil
}

func matchesEntry(c, entry map[string]any, only map[string]bool) bool {
	for k, v := range entry {
		if only != nil && !only[k] {
			continue
		}
		cv, ok := c[k]
		if !ok {
			if only != nil {
				continue
			}
			return false
		}
		a, _ := json.Marshal(cv)
		b, _ := json.Marshal(v)
		if string(a) != string(b) {
			return false
		}
	}
	return true
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

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
	return strings.Trim(idUnsafe.ReplaceAllString(strings.Join(parts, "-"), "-"), "-.")
}
