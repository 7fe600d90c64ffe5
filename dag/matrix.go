package dag

import "encoding/json"

// MatrixCombo is one combination of a matrix's values, with the order its
// keys were set in (the matrix's rows, then include's keys), which names
// the combination.
type MatrixCombo struct {
	Keys   []string
	Values map[string]any
	// FromInclude marks a combination an include entry added.
	FromInclude bool
}

// Set sets a key's value, remembering the order keys came in.
func (c *MatrixCombo) Set(k string, v any) {
	if c.Values == nil {
		c.Values = map[string]any{}
	}
	if _, ok := c.Values[k]; !ok {
		c.Keys = append(c.Keys, k)
	}
	c.Values[k] = v
}

// FilterMatrix applies a matrix's exclude and include entries to the cross
// product of its rows (original names the rows' keys), as GitHub
// documents: a combination goes when every key of an exclude entry
// matches it; an include entry extends every original combination whose
// original values it does not contradict (without overwriting them), and
// when it extends none it becomes a combination of its own.
func FilterMatrix(combos []*MatrixCombo, original map[string]bool, include, exclude []map[string]any, includeKeys [][]string) []*MatrixCombo {
	var kept []*MatrixCombo
	for _, c := range combos {
		excluded := false
		for _, ex := range exclude {
			if MatrixMatches(c.Values, ex, nil) {
				excluded = true
				break
			}
		}
		if !excluded {
			kept = append(kept, c)
		}
	}
	for i, in := range include {
		keys := includeKeys[i]
		added := false
		for _, c := range kept {
			if c.FromInclude || !MatrixMatches(c.Values, in, original) {
				continue
			}
			for _, k := range keys {
				if !original[k] {
					c.Set(k, in[k])
				}
			}
			added = true
		}
		if !added {
			n := &MatrixCombo{FromInclude: true}
			for _, k := range keys {
				n.Set(k, in[k])
			}
			kept = append(kept, n)
		}
	}
	return kept
}

// MatrixMatches reports whether every key of entry has the same value in
// c (compared as JSON). With only set, keys outside it are not compared
// and keys c lacks do not count against the match.
func MatrixMatches(c, entry map[string]any, only map[string]bool) bool {
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
