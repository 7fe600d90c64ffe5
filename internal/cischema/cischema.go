// Package cischema loads GitLab's CI JSON schema from the real-world
// corpus ($GANTRY_CORPUS/gitlab/schema/ci.json), for the tests that check
// emitted .gitlab-ci.yml files against it.
package cischema

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// GitLab compiles GitLab's CI schema, skipping the test when GANTRY_CORPUS
// is unset.
func GitLab(t testing.TB) *jsonschema.Schema {
	t.Helper()
	root := os.Getenv("GANTRY_CORPUS")
	if root == "" {
		t.Skip("GANTRY_CORPUS is not set")
	}
	f, err := os.Open(filepath.Join(root, "gitlab", "schema", "ci.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("https://gitlab.com/ci.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("https://gitlab.com/ci.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}
