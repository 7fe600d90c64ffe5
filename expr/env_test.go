package expr

import (
	"testing"
)

// contextsJSON is the data the evaluation tests run against. It is decoded
// with UnmarshalJSON, so object keys keep this order.
const contextsJSON = `{
  "github": {
    "ref": "refs/heads/main",
    "event_name": "push",
    "sha": "abc123",
    "run_id": "9876543210",
    "event": {
      "issue": {
        "number": 42,
        "labels": [{"name": "bug"}, {"name": "help wanted"}, {"color": "red"}]
      }
    }
  },
  "env": {"TIME": "3", "CONTINUE": "true", "MULTI": "a\nb", "EMPTY": "", "Mixed_Case": "yes"},
  "matrix": {"os": "ubuntu-latest", "nodeVersion": 20},
  "steps": {
    "build": {"outputs": {"x": "1", "y": "2"}, "conclusion": "success"},
    "test": {"outputs": {"x": "3"}, "conclusion": "failure"},
    "lint": {"outputs": {}, "conclusion": "success"}
  },
  "needs": {"setup": {"result": "success", "outputs": {"version": "1.2.3"}}},
  "job": {"status": "success"},
  "fruits": [
    {"name": "apple", "quantity": 1},
    {"name": "orange", "quantity": 2},
    {"name": "pear", "quantity": 1}
  ],
  "vegetables": {
    "scallions": {"colors": ["green", "white", "red"], "ediblePortions": ["roots", "stalks"]},
    "beets": {"colors": ["purple", "red"], "ediblePortions": ["roots", "stems", "leaves"]}
  },
  "nested": [[1, 2], [3], []],
  "numbers": [1, 2, 3]
}`

// testEnv returns a fresh Env over contextsJSON.
func testEnv(t testing.TB) *Env {
	t.Helper()
	var root Value
	if err := root.UnmarshalJSON([]byte(contextsJSON)); err != nil {
		t.Fatalf("decoding test contexts: %v", err)
	}
	ctx := map[string]Value{}
	for _, k := range root.Keys() {
		ctx[k], _ = root.Get(k)
	}
	return &Env{Contexts: ctx}
}
