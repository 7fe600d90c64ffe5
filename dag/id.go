package dag

import (
	"regexp"
	"strings"
)

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// SanitizeID makes a node id out of any text a translator has (a job's
// name, matrix values): each run of characters other than ASCII letters,
// digits, '_', '.' and '-' becomes one '-', the '-' and '.' at either end
// go, and what is left empty becomes "_" ("test:unit" → "test-unit",
// "Build & Test (1.22)" → "Build-Test-1.22").
func SanitizeID(s string) string {
	s = strings.Trim(idUnsafe.ReplaceAllString(s, "-"), "-.")
	if s == "" {
		return "_"
	}
	return s
}
