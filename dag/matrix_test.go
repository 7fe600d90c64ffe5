package dag_test

import (
	"fmt"
	"testing"

	"github.com/gantry-ci/gantry/dag"
)

// TestFilterMatrix follows the example of GitHub's documentation for
// include and exclude.
func TestFilterMatrix(t *testing.T) {
	var combos []*dag.MatrixCombo
	for _, fruit := range []string{"apple", "pear"} {
		for _, animal := range []string{"cat", "dog"} {
			c := &dag.MatrixCombo{}
			c.Set("fruit", fruit)
			c.Set("animal", animal)
			combos = append(combos, c)
		}
	}
	original := map[string]bool{"fruit": true, "animal": true}
	include := []map[string]any{
		{"color": "green"},                    // every combination
		{"color": "pink", "animal": "cat"},    // cats: color overwritten (not original)
		{"fruit": "apple", "shape": "circle"}, // apples get a shape
		{"fruit": "banana"},                   // no match: a combination of its own
		{"fruit": "banana", "animal": "cat"},  // does not extend the added banana
	}
	keys := [][]string{{"color"}, {"color", "animal"}, {"fruit", "shape"}, {"fruit"}, {"fruit", "animal"}}
	exclude := []map[string]any{{"fruit": "pear", "animal": "dog"}}
	got := dag.FilterMatrix(combos, original, include, exclude, keys)
	var lines []string
	for _, c := range got {
		lines = append(lines, fmt.Sprint(c.Keys, c.Values, c.FromInclude))
	}
	want := []string{
		"[fruit animal color shape] map[animal:cat color:pink fruit:apple shape:circle] false",
		"[fruit animal color shape] map[animal:dog color:green fruit:apple shape:circle] false",
		"[fruit animal color] map[animal:cat color:pink fruit:pear] false",
		"[fruit] map[fruit:banana] true",
		"[fruit animal] map[animal:cat fruit:banana] true",
	}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("got\n%v\nwant\n%v", lines, want)
	}
}
