package golang

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// goRelease matches a Go release name less its "go": 1.22.12, 1.20,
// 1.21rc2, 1.18beta1.
var goRelease = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?$`)

// Semver is a Go release name ("go1.21rc2", "1.20") as setup-go writes it
// as a semantic version ("1.21.0-rc.2", "1.20.0").
func Semver(name string) (*semver.Version, bool) {
	m := goRelease.FindStringSubmatch(strings.TrimPrefix(name, "go"))
	if m == nil {
		return nil, false
	}
	s := m[1] + "." + m[2] + "."
	if m[3] != "" {
		s += m[3]
	} else {
		s += "0"
	}
	if m[4] != "" {
		s += "-" + m[4] + "." + m[5]
	}
	v, err := semver.StrictNewVersion(s)
	return v, err == nil
}

// GoName is the Go release name of a version as Semver gives it:
// "go1.22.12", "go1.20" (releases before 1.21 have no ".0"),
// "go1.21rc2".
func GoName(v *semver.Version) string {
	s := fmt.Sprintf("go%d.%d", v.Major(), v.Minor())
	if v.Patch() > 0 || v.Prerelease() == "" && (v.Major() > 1 || v.Minor() >= 21) {
		s += fmt.Sprintf(".%d", v.Patch())
	}
	if pre := v.Prerelease(); pre != "" {
		s += strings.ReplaceAll(pre, ".", "")
	}
	return s
}

// Spec is a parsed go-version.
type Spec struct {
	Raw string
	// Alias is "stable" or "oldstable"; else Constraint holds.
	Alias      string
	Constraint *semver.Constraints
}

// ParseSpec reads go-version as setup-go reads it: "stable",
// "oldstable", an exact version (1.22.12, 1.21rc2), or a semver range
// (1.22, 1.22.x, ^1.22, ~1.22.1, ">=1.21 <1.23").
func ParseSpec(s string) (Spec, error) {
	raw := s
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "stable", "oldstable":
		return Spec{Raw: raw, Alias: strings.ToLower(s)}, nil
	case "":
		return Spec{}, fmt.Errorf("go-version is empty")
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "go"), "v")
	if v, ok := Semver(s); ok && strings.Count(s, ".") == 2 || ok && v.Prerelease() != "" {
		s = "=" + v.String()
	}
	c, err := semver.NewConstraint(s)
	if err != nil {
		return Spec{}, fmt.Errorf("go-version %q is not a version or a range (%v); write 1.22, 1.22.x, 1.22.12, ^1.22, \">=1.21 <1.23\", stable or oldstable", raw, err)
	}
	return Spec{Raw: raw, Constraint: c}, nil
}

// Exact reports whether the spec names one version.
func (s Spec) Exact() bool {
	return s.Constraint != nil && strings.HasPrefix(strings.TrimSpace(s.constraintText()), "=")
}

func (s Spec) constraintText() string { return s.Constraint.String() }

// Pick returns the highest of versions that the spec asks for, or nil.
// stable is the latest release; oldstable the latest of the minor
// before it.
func (s Spec) Pick(versions []*semver.Version) *semver.Version {
	sorted := append([]*semver.Version(nil), versions...)
	sort.Sort(sort.Reverse(semver.Collection(sorted)))
	switch s.Alias {
	case "stable", "oldstable":
		var stable *semver.Version
		for _, v := range sorted {
			if v.Prerelease() != "" {
				continue
			}
			if stable == nil {
				stable = v
				if s.Alias == "stable" {
					return v
				}
				continue
			}
			if v.Major() == stable.Major() && v.Minor() < stable.Minor() || v.Major() < stable.Major() {
				return v
			}
		}
		return nil
	}
	for _, v := range sorted {
		if s.Constraint.Check(v) {
			return v
		}
	}
	return nil
}

// VersionFile reads the version a go-version-file asks for, as setup-go
// does: go.mod and go.work's toolchain line, else their go line; the asdf
// .tool-versions' golang line; else the file's first line (.go-version).
func VersionFile(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("go-version-file: %w", err)
	}
	base := filepath.Base(file)
	var goLine, toolchain, first string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 && (base == "go.mod" || base == "go.work") {
			line = strings.TrimSpace(line[:i])
		}
		if i := strings.IndexByte(line, '#'); i >= 0 && base == ".tool-versions" {
			line = strings.TrimSpace(line[:i])
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			continue
		case base == ".tool-versions":
			if f[0] == "golang" && len(f) > 1 {
				return f[1], nil
			}
		case base == "go.mod" || base == "go.work":
			if f[0] == "go" && len(f) == 2 && goLine == "" {
				goLine = f[1]
			}
			if f[0] == "toolchain" && len(f) == 2 && toolchain == "" {
				toolchain = strings.TrimPrefix(f[1], "go")
			}
		default:
			if first == "" {
				first = line
			}
		}
	}
	switch {
	case toolchain != "" && toolchain != "default" && toolchain != "local":
		return toolchain, nil
	case goLine != "":
		return goLine, nil
	case first != "":
		return strings.TrimPrefix(first, "go"), nil
	}
	return "", fmt.Errorf("go-version-file %s: no Go version in it", file)
}
