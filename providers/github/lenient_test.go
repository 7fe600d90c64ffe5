package github

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestNotEnforcedDocumented keeps the one table of docs/github.md ("Never
// stricter than GitHub") and notEnforced alike: the same names, in the same
// order, each row saying what GitHub does in the words of the warning.
func TestNotEnforcedDocumented(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../docs/github.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Never stricter than GitHub\n")
	if !ok {
		t.Fatal(`docs/github.md has no section "## Never stricter than GitHub"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\| (.*) \\| (.*) \\| (.*) \\|$")
	var names []string
	rows := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		names = append(names, m[1])
		rows[m[1]] = m
	}
	var want []string
	for _, r := range notEnforced {
		want = append(want, r.name)
		if m := rows[r.name]; m != nil && strings.TrimSpace(m[3]) != r.github {
			t.Errorf("docs/github.md row %s says\n  %s\nthe warning says\n  %s", r.name, m[3], r.github)
		}
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("docs/github.md lists %v, notEnforced %v", names, want)
	}
}
