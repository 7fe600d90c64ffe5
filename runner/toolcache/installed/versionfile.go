package installed

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// VersionFile reads the versions a setup action's version-file input
// names, as the action reads that file: for Python .python-version (one
// version a line), asdf's .tool-versions and pyproject.toml
// (requires-python, or Poetry's python dependency); for Java
// .java-version, .tool-versions and .sdkmanrc; for .NET global.json
// (sdk.version; rollForward latestFeature takes any SDK of its minor).
func (t Tool) VersionFile(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.FileInput, err)
	}
	base := filepath.Base(file)
	var versions []string
	switch {
	case t.Input == "dotnet-version":
		v, err := globalJSON(data)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", t.FileInput, file, err)
		}
		versions = []string{v}
	case base == ".tool-versions":
		name := map[string]string{"python-version": "python", "java-version": "java"}[t.Input]
		for _, l := range fileLines(data) {
			if f := strings.Fields(l); len(f) > 1 && f[0] == name {
				versions = append(versions, f[1:]...)
			}
		}
	case base == "pyproject.toml":
		versions = pyproject(data)
	case base == ".sdkmanrc":
		for _, l := range fileLines(data) {
			if v, ok := strings.CutPrefix(l, "java="); ok {
				versions = append(versions, strings.TrimSpace(v))
			}
		}
	default:
		versions = fileLines(data)
	}
	if t.Input == "java-version" {
		// Java's files name a distribution too (temurin-17.0.2+8,
		// 17.0.2-tem, openjdk64-17.0.2): the version is the number in it.
		for i, v := range versions {
			if m := javaInFile.FindString(v); m != "" {
				versions[i] = m
			}
		}
	}
	if len(versions) == 0 {
		return nil, fmt.Errorf("%s %s names no %s version", t.FileInput, file, t.Name)
	}
	return versions, nil
}

var javaInFile = regexp.MustCompile(`\d+(\.\d+)*(\+\d+)?`)

// fileLines are a file's lines less blanks and # comments.
func fileLines(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		l := sc.Text()
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

var (
	requiresPython = regexp.MustCompile(`^requires-python\s*=\s*["']([^"']+)["']`)
	poetryPython   = regexp.MustCompile(`^python\s*=\s*["']([^"']+)["']`)
)

// pyproject reads requires-python from [project], else python from
// [tool.poetry.dependencies], as setup-python does.
func pyproject(data []byte) []string {
	section := ""
	var poetry string
	for _, l := range fileLines(data) {
		if strings.HasPrefix(l, "[") {
			section = strings.Trim(l, "[] ")
			continue
		}
		if m := requiresPython.FindStringSubmatch(l); m != nil && section == "project" {
			return []string{m[1]}
		}
		if m := poetryPython.FindStringSubmatch(l); m != nil && section == "tool.poetry.dependencies" {
			poetry = m[1]
		}
	}
	if poetry != "" {
		return []string{poetry}
	}
	return nil
}

// globalJSON reads the SDK version of a global.json as setup-dotnet does:
// sdk.version, where rollForward latestFeature takes the newest SDK of
// that major.minor; any other rollForward, the version itself.
func globalJSON(data []byte) (string, error) {
	var g struct {
		SDK struct {
			Version     string `json:"version"`
			RollForward string `json:"rollForward"`
		} `json:"sdk"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		return "", err
	}
	v := strings.TrimSpace(g.SDK.Version)
	if v == "" {
		return "", fmt.Errorf("no sdk.version")
	}
	if g.SDK.RollForward == "latestFeature" {
		if parts := strings.Split(v, "."); len(parts) >= 2 {
			return parts[0] + "." + parts[1], nil
		}
	}
	return v, nil
}
