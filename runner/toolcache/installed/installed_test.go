package installed

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		spec, version string
		want          bool
	}{
		{"3.11", "3.11.7", true},
		{"3.11.x", "3.11.7", true},
		{"3.x", "3.12.1", true},
		{"3.1", "3.11.7", false},
		{"3.11.7", "3.11.7", true},
		{"3.11.6", "3.11.7", false},
		{"3.12", "3.11.7", false},
		{">=3.9", "3.11.7", true},
		{">=3.12", "3.11.7", false},
		{"^3.10", "3.11.7", true},
		{">=1.21 <1.23", "1.22.12", true},
		{">=1.21 <1.23", "1.23.0", false},
		{"~17.0.2", "17.0.9", true},
		{"17 || 21", "21.0.1", true},
		{"v20", "20.11.1", true},
		{"20", "v20.11.1", true},
		{"go1.22", "1.22.12", true},
		{"8.0.1xx", "8.0.104", true},
		{"8.0.1xx", "8.0.204", false},
		{"8.0.x", "8.0.204", true},
		{"8.0", "8.0.204", true},
		{"1.23rc1", "1.23rc1", true},
		{"1.23rc1", "1.23.0", false},
		{"latest", "1.0.0", true},
		{"lts/*", "20.1.0", true},
		{"", "1.0.0", true},
	} {
		got, err := Matches(c.spec, c.version)
		if err != nil {
			t.Errorf("Matches(%q, %q): %v", c.spec, c.version, err)
			continue
		}
		if got != c.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", c.spec, c.version, got, c.want)
		}
	}
	for _, bad := range []string{">=3.9 <<3.12", "3.11/2", "^^3"} {
		if _, err := Matches(bad, "3.11.0"); err == nil {
			t.Errorf("Matches(%q) accepted a malformed spec", bad)
		}
	}
}

func TestPick(t *testing.T) {
	dotnet := Tools["actions/setup-dotnet"]
	found := dotnet.Parse("6.0.428 [/usr/share/dotnet/sdk]\n8.0.100 [/usr/share/dotnet/sdk]\n8.0.404 [/usr/share/dotnet/sdk]\n")
	if len(found) != 3 || found[0].Home != "/usr/share/dotnet" {
		t.Fatalf("dotnet --list-sdks read as %+v", found)
	}
	for spec, want := range map[string]string{"8.0.x": "8.0.404", "8.0.1xx": "8.0.100", "6": "6.0.428", "8.0.100": "8.0.100"} {
		f, ok, err := dotnet.Pick(spec, found)
		if err != nil || !ok || f.Version != want {
			t.Errorf("Pick(%q) = %v %v %v, want %s", spec, f.Version, ok, err, want)
		}
	}
	if _, ok, _ := dotnet.Pick("9.0.x", found); ok {
		t.Error("Pick(9.0.x) found an SDK that is not installed")
	}
	java := Tools["actions/setup-java"]
	jf := java.Parse("Property settings:\n    java.home = /usr/lib/jvm/java-8\n    java.vendor = Temurin\n    java.version = 1.8.0_392\n")
	if len(jf) != 1 || jf[0].Version != "8.0.392" || jf[0].Vendor != "Temurin" {
		t.Fatalf("java read as %+v", jf)
	}
	for _, spec := range []string{"8", "1.8", "8.0.392"} {
		if _, ok, err := java.Pick(spec, jf); !ok || err != nil {
			t.Errorf("java %s did not match 1.8.0_392: %v", spec, err)
		}
	}
}

// TestProbesOnThisMachine runs the probes of the toolchains this machine
// has and checks that their real output reads back as a version.
func TestProbesOnThisMachine(t *testing.T) {
	ran := 0
	for action, tool := range Tools {
		for _, argv := range tool.Probes {
			if _, err := exec.LookPath(argv[0]); err != nil {
				continue
			}
			out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
			if err != nil {
				t.Errorf("%s: %v: %v\n%s", action, argv, err, out)
				continue
			}
			found := tool.Parse(string(out))
			if len(found) == 0 || found[0].Version == "" || !strings.ContainsAny(found[0].Version, "0123456789") {
				t.Errorf("%s: %v printed %q, read as %+v", action, argv, out, found)
				continue
			}
			if ok, err := Matches(found[0].Version, found[0].Version); !ok || err != nil {
				t.Errorf("%s: version %q does not match itself: %v", action, found[0].Version, err)
			}
			ran++
			break
		}
	}
	if ran == 0 {
		t.Skip("none of python3, java, dotnet, go, node on PATH")
	}
}

func TestVersionFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	py, java, dotnet := Tools["actions/setup-python"], Tools["actions/setup-java"], Tools["actions/setup-dotnet"]
	for _, c := range []struct {
		tool Tool
		file string
		body string
		want []string
	}{
		{py, ".python-version", "# pinned\n3.11.7\n3.12\n", []string{"3.11.7", "3.12"}},
		{py, "a/.tool-versions", "nodejs 20.1.0\npython 3.10.4 3.9.1\n", []string{"3.10.4", "3.9.1"}},
		{py, "b/pyproject.toml", "[project]\nname = \"x\"\nrequires-python = \">=3.9\"\n", []string{">=3.9"}},
		{py, "c/pyproject.toml", "[tool.poetry.dependencies]\npython = \"^3.10\"\n", []string{"^3.10"}},
		{java, ".java-version", "17.0.2\n", []string{"17.0.2"}},
		{java, "d/.tool-versions", "java temurin-17.0.2+8\n", []string{"17.0.2+8"}},
		{java, ".sdkmanrc", "java=21.0.1-tem\n", []string{"21.0.1"}},
		{dotnet, "global.json", `{"sdk": {"version": "8.0.100"}}`, []string{"8.0.100"}},
		{dotnet, "e/global.json", `{"sdk": {"version": "8.0.100", "rollForward": "latestFeature"}}`, []string{"8.0"}},
	} {
		got, err := c.tool.VersionFile(write(c.file, c.body))
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s %s = %q, %v; want %q", c.tool.Name, c.file, got, err, c.want)
		}
	}
	if _, err := py.VersionFile(write("f/.python-version", "# nothing\n")); err == nil || !strings.Contains(err.Error(), "names no Python version") {
		t.Errorf("an empty .python-version: %v", err)
	}
	if _, err := dotnet.VersionFile(write("g/global.json", "{")); err == nil || !strings.Contains(err.Error(), "global.json") {
		t.Errorf("a broken global.json: %v", err)
	}
	if _, err := py.VersionFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "python-version-file") {
		t.Errorf("a missing file: %v", err)
	}
}

func FuzzMatches(f *testing.F) {
	for _, s := range []string{"3.11", ">=1.21 <1.23", "8.0.1xx", "^17 || 21", "v20.x", "lts/*", "1.23rc1"} {
		f.Add(s, "3.11.7")
	}
	f.Fuzz(func(t *testing.T, spec, version string) {
		ok, err := Matches(spec, version)
		if err != nil && ok {
			t.Fatalf("Matches(%q, %q) both matched and failed", spec, version)
		}
		for _, tool := range Tools {
			_, _, _ = tool.Pick(spec, tool.Parse(version))
		}
	})
}
