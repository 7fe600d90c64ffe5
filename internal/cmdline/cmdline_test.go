package cmdline_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gantry-ci/gantry/internal/cmdline"
)

// TestSplit splits as .NET's Process does the command line GitHub's
// runner pastes container options into (docker create ... OPTIONS IMAGE):
// the cases of .NET's own tests of ParseArgumentsIntoList, and the
// options real workflows write.
func TestSplit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{name: "empty", in: "", want: nil},
		{name: "blank", in: " \t ", want: nil},
		{name: "words", in: "--cpus 1 --memory 2g", want: []string{"--cpus", "1", "--memory", "2g"}},
		{name: "double quotes group", in: `--health-cmd "pg_isready -U postgres" --health-interval 10s`, want: []string{"--health-cmd", "pg_isready -U postgres", "--health-interval", "10s"}},
		{name: "a quote in the middle of a word", in: `--health-cmd="redis-cli ping"`, want: []string{"--health-cmd=redis-cli ping"}},
		{name: "quotes open and close anywhere", in: `a"b c"d e`, want: []string{"ab cd", "e"}},
		{name: "single quotes are characters", in: `--health-cmd 'redis-cli ping'`, want: []string{"--health-cmd", "'redis-cli", "ping'"}},
		{name: "single quotes inside double ones", in: `--health-cmd "echo 'hi there'"`, want: []string{"--health-cmd", "echo 'hi there'"}},
		{name: "an empty quoted argument", in: `-e "" x`, want: []string{"-e", "", "x"}},
		{name: "doubled quotes inside quotes", in: `"a""b" c`, want: []string{`a"b`, "c"}},
		{name: "escaped quote", in: `a\"b`, want: []string{`a"b`}},
		{name: "backslashes without a quote are literal", in: `C:\dir\file \\server\share`, want: []string{`C:\dir\file`, `\\server\share`}},
		{name: "two backslashes and a quote", in: `"a\\" b`, want: []string{`a\`, "b"}},
		{name: "three backslashes and a quote", in: `"a\\\" b"`, want: []string{`a\" b`}},
		{name: "four backslashes and a quote", in: `a\\\\"b c"`, want: []string{`a\\b c`}},
		{name: "an unclosed quote runs to the end", in: `--health-cmd "pg_isready -U`, want: []string{"--health-cmd", "pg_isready -U"}},
		{name: "a trailing backslash", in: `a\`, want: []string{`a\`}},
		{name: "newlines of a block scalar separate", in: "--cpus 1\n--memory 2g\n", want: []string{"--cpus", "1", "--memory", "2g"}},
		{name: "a newline inside quotes stays", in: "\"a\nb\"", want: []string{"a\nb"}},
		{name: "tabs separate", in: "a\tb", want: []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := cmdline.Split(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("cmdline.Split(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzSplit (go test -fuzz FuzzSplit ./internal/cmdline/): no panic; no argument is lost or made up: the arguments
// hold the input's characters but for separators, quotes and escaping
// backslashes; a string made of plain words splits into them.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", `--health-cmd "pg_isready -U postgres" --health-interval 10s`, `a"b c"d`, `"a\\\" b"`, `a\\\\"b c"`, `"a""b"`, "-e 'x y'", "\"\n\t\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := cmdline.Split(s)
		total := 0
		for _, a := range args {
			total += len(a)
			if strings.ContainsAny(a, " \t\n\r") && !strings.Contains(s, `"`) {
				t.Errorf("cmdline.Split(%q): %q holds a separator though nothing is quoted", s, a)
			}
		}
		if total > len(s) {
			t.Errorf("cmdline.Split(%q) = %q: more characters than the input", s, args)
		}
		if !strings.ContainsAny(s, `"\`) {
			if want := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }); !slices.Equal(args, want) && !(len(args) == 0 && len(want) == 0) {
				t.Errorf("cmdline.Split(%q) = %q, want %q", s, args, want)
			}
		}
		if utf8.ValidString(s) {
			for _, a := range args {
				if !utf8.ValidString(a) {
					t.Errorf("cmdline.Split(%q): %q is not valid UTF-8", s, a)
				}
			}
		}
	})
}
