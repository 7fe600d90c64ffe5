// Package installed matches the toolchains a job already has (on its
// PATH, in its image or on the host) against what a setup action asks for:
// how to ask each tool its version, how to read its answer, how GitHub's
// setup actions read their version inputs and version files. It is how
// gantry serves setup-python, setup-java and setup-dotnet, whose toolchains
// it does not provision itself, and setup-go and setup-node when there is
// no tool cache to provision into.
package installed

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Tool is one toolchain as a setup action sees it.
type Tool struct {
	// Name is the toolchain's name in messages: "Python".
	Name string
	// Input is the action's version input ("python-version"), FileInput
	// its version-file input ("python-version-file"), "" when it has none.
	Input, FileInput string
	// Probes are the commands that print what is installed, tried in
	// order until one runs (python3, then python).
	Probes [][]string
	// parse reads a probe's output (stdout and stderr together).
	parse func(out string) []Found
	// normalize rewrites a requested version into the form matched
	// against Found.Version (Java's 1.8 is 8).
	normalize func(spec string) string
}

// Found is one installed version.
type Found struct {
	Version string
	// Path is the program or the toolchain's home directory.
	Path string
	// Home is where the toolchain lives (sys.prefix, java.home, the
	// dotnet root), for the variables the setup action sets.
	Home string
	// Vendor is Java's java.vendor.
	Vendor string
}

// Tools by setup action (lowercase, without the ref).
var Tools = map[string]Tool{
	"actions/setup-python": {
		Name: "Python", Input: "python-version", FileInput: "python-version-file",
		Probes: [][]string{
			{"python3", "-c", pythonProbe},
			{"python", "-c", pythonProbe},
		},
		parse: parseLines(3, func(f []string) Found { return Found{Version: f[0], Path: f[1], Home: f[2]} }),
		// 3.13t asks for the free-threaded build of 3.13: the version is
		// what is matched here.
		normalize: func(s string) string { return strings.TrimSuffix(s, "t") },
	},
	"actions/setup-java": {
		Name: "Java", Input: "java-version", FileInput: "java-version-file",
		Probes:    [][]string{{"java", "-XshowSettings:properties", "-version"}},
		parse:     parseJava,
		normalize: javaVersion,
	},
	"actions/setup-dotnet": {
		Name: ".NET SDK", Input: "dotnet-version", FileInput: "global-json-file",
		Probes: [][]string{{"dotnet", "--list-sdks"}},
		parse:  parseDotnet,
	},
	"actions/setup-go": {
		Name: "Go", Input: "go-version", FileInput: "go-version-file",
		Probes: [][]string{{"go", "env", "GOVERSION", "GOROOT"}},
		parse: parseLines(2, func(f []string) Found {
			return Found{Version: strings.TrimPrefix(f[0], "go"), Path: f[1] + "/bin/go", Home: f[1]}
		}),
	},
	"actions/setup-node": {
		Name: "Node.js", Input: "node-version", FileInput: "node-version-file",
		Probes: [][]string{{"node", "-p", `process.version.slice(1) + "\n" + process.execPath`}},
		parse:  parseLines(2, func(f []string) Found { return Found{Version: f[0], Path: f[1]} }),
	},
}

const pythonProbe = "import platform, sys; print(platform.python_version()); print(sys.executable); print(sys.prefix)"

// Parse reads a probe's output into what is installed; none when the
// output is not what the probe prints.
func (t Tool) Parse(out string) []Found { return t.parse(out) }

func parseLines(n int, f func([]string) Found) func(string) []Found {
	return func(out string) []Found {
		var lines []string
		for _, l := range strings.Split(out, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		if len(lines) < n {
			return nil
		}
		return []Found{f(lines[len(lines)-n:])}
	}
}

var javaProperty = regexp.MustCompile(`(?m)^\s*(java\.version|java\.home|java\.vendor)\s*=\s*(.*?)\s*$`)

func parseJava(out string) []Found {
	var f Found
	for _, m := range javaProperty.FindAllStringSubmatch(out, -1) {
		switch m[1] {
		case "java.version":
			f.Version = javaVersion(m[2])
		case "java.home":
			f.Home, f.Path = m[2], m[2]
		case "java.vendor":
			f.Vendor = m[2]
		}
	}
	if f.Version == "" {
		return nil
	}
	return []Found{f}
}

// javaVersion writes Java's versions as setup-java compares them: 1.8 and
// 1.8.0_392 are 8 and 8.0.392; 17.0.2+8 is 17.0.2.
func javaVersion(v string) string {
	v, _, _ = strings.Cut(v, "+")
	if rest, ok := strings.CutPrefix(v, "1."); ok {
		v = rest
	}
	return strings.ReplaceAll(v, "_", ".")
}

var dotnetSDK = regexp.MustCompile(`(?m)^\s*(\d+\.\d+\.\d+\S*)\s+\[(.*)\]\s*$`)

func parseDotnet(out string) []Found {
	var found []Found
	for _, m := range dotnetSDK.FindAllStringSubmatch(out, -1) {
		root := strings.TrimSuffix(strings.TrimSuffix(m[2], "/"), "/sdk")
		found = append(found, Found{Version: m[1], Path: m[2], Home: root})
	}
	return found
}

// Pick returns the newest of found that spec accepts, and whether there
// is one. A spec that names a channel rather than versions (latest,
// stable, lts/*) accepts any version. An error says spec is malformed.
func (t Tool) Pick(spec string, found []Found) (Found, bool, error) {
	spec = strings.TrimSpace(spec)
	if t.normalize != nil {
		spec = t.normalize(spec)
	}
	var best *Found
	var bestV *semver.Version
	for i := range found {
		ok, err := Matches(spec, found[i].Version)
		if err != nil {
			return Found{}, false, err
		}
		if !ok {
			continue
		}
		// A version semver cannot read ranks below every one it can.
		v, verr := semver.NewVersion(found[i].Version)
		if verr != nil {
			v = nil
		}
		if best == nil || v != nil && (bestV == nil || v.GreaterThan(bestV)) {
			best, bestV = &found[i], v
		}
	}
	if best == nil {
		return Found{}, false, nil
	}
	return *best, true, nil
}

// Channel reports whether spec names a release channel, not versions:
// it cannot be checked against one installed version.
func Channel(spec string) bool {
	switch strings.ToLower(strings.TrimSpace(spec)) {
	case "", "latest", "stable", "oldstable", "current", "node", "lts", "*", "x":
		return true
	}
	return strings.HasPrefix(strings.ToLower(spec), "lts/")
}

var (
	operators = regexp.MustCompile(`[<>=^~|\s,]`)
	component = regexp.MustCompile(`^(\d+)(x*)$`)
	word      = regexp.MustCompile(`^[0-9A-Za-z]+$`)
)

// Matches reports whether version satisfies spec as GitHub's setup
// actions read one: a dotted prefix (3.11 and 3.11.x both accept every
// 3.11 release; 8.0.1xx is .NET's feature band 8.0.100-8.0.199), or a
// semver range (>=3.9, ^17, ~1.22.1, >=1.21 <1.23, || between ranges).
// A leading v (or go) is ignored on both.
func Matches(spec, version string) (bool, error) {
	spec = trimV(strings.TrimSpace(spec))
	version = trimV(strings.TrimSpace(version))
	if Channel(spec) {
		return true, nil
	}
	if operators.MatchString(spec) {
		c, err := semver.NewConstraint(spec)
		if err != nil {
			return false, fmt.Errorf("%q is not a version or a range: %w", spec, err)
		}
		v, err := semver.NewVersion(version)
		if err != nil {
			return false, nil
		}
		return c.Check(v), nil
	}
	want := strings.Split(spec, ".")
	have := strings.FieldsFunc(version, func(r rune) bool { return r == '.' || r == '-' || r == '+' })
	for i, w := range want {
		if w == "x" || w == "X" || w == "*" {
			return true, nil
		}
		if i >= len(have) {
			return false, nil
		}
		m := component.FindStringSubmatch(w)
		if m == nil {
			// Pre-release parts (3.13.0rc1, 1.23rc1) compare as text.
			if !word.MatchString(w) {
				return false, fmt.Errorf("%q is not a version or a range", spec)
			}
			if w != have[i] {
				return false, nil
			}
			continue
		}
		if m[2] == "" {
			a, _ := strconv.Atoi(w)
			b, err := strconv.Atoi(have[i])
			if err != nil || a != b {
				return false, nil
			}
			continue
		}
		// A feature band: as many digits as the component has, starting
		// with its digits.
		if len(have[i]) != len(w) || !strings.HasPrefix(have[i], m[1]) {
			return false, nil
		}
	}
	return true, nil
}

func trimV(s string) string {
	if rest, ok := strings.CutPrefix(s, "go"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return rest
	}
	if rest, ok := strings.CutPrefix(s, "v"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return rest
	}
	return s
}
