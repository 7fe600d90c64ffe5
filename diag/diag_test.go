package diag_test

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/internal/golden"
)

func sample() diag.List {
	l := diag.List{}
	l.Errorf(diag.Pos{File: "ci.yml", Line: 3, Col: 7}, "unknown-key", "unknown key %q in job %q", "scirpt", "test").
		Hint = `did you mean "script"?`
	l.Warnf(diag.Pos{File: "ci.yml", Line: 1, Col: 1}, "deprecated", "\"only\" is deprecated")
	d := diag.Errorf(diag.Pos{File: "ci.yml", Line: 2, Col: 10}, "expr-syntax", "unexpected end of input")
	d.End = diag.Pos{File: "ci.yml", Line: 2, Col: 14}
	l.Add(d)
	l.Add(diag.Errorf(diag.Pos{File: "a,b:c.yml", Line: 9}, "odd", "50%% done\nsecond line"))
	l.Sort()
	return l
}

const source = "stages: [test]\nvariables: {A: ${{ }}\n  test:\tscirpt: [make]\n"

func TestPrinters(t *testing.T) {
	t.Parallel()
	src := func(file string) ([]byte, bool) { return []byte(source), file == "ci.yml" }
	for _, tc := range []struct {
		name  string
		print func(*bytes.Buffer) error
	}{
		{name: "oneline.out", print: func(b *bytes.Buffer) error { return diag.WriteOneLine(b, sample()) }},
		{name: "pretty.out", print: func(b *bytes.Buffer) error { return diag.WritePretty(b, sample(), src) }},
		{name: "json.out", print: func(b *bytes.Buffer) error { return diag.WriteJSON(b, sample()) }},
		{name: "github.out", print: func(b *bytes.Buffer) error { return diag.WriteGitHub(b, sample()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := tc.print(&b); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tc.name), b.Bytes())
		})
	}
}

func TestListErr(t *testing.T) {
	t.Parallel()
	var l diag.List
	if l.Err() != nil {
		t.Fatal("empty list has an error")
	}
	l.Warnf(diag.Pos{File: "x", Line: 1}, "w", "only a warning")
	if l.Err() != nil {
		t.Fatal("warnings alone are an error")
	}
	l.Errorf(diag.Pos{File: "x", Line: 2, Col: 3}, "e", "bad")
	err := fmt.Errorf("loading: %w", l.Err())
	got := diag.AsList(err)
	if len(got) != 2 || got[1].Code != "e" {
		t.Fatalf("AsList through a wrapper = %v", got)
	}
	var le *diag.ListError
	if !errors.As(err, &le) {
		t.Fatal("errors.As finds no *ListError")
	}
	if want := "x:1: warning: only a warning [w]\nx:2:3: bad [e]"; le.Error() != want {
		t.Errorf("Error() = %q, want %q", le.Error(), want)
	}
	if diag.AsList(errors.New("plain")) != nil {
		t.Error("a plain error carries diagnostics")
	}
}

func TestPos(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pos  diag.Pos
		want string
	}{
		{pos: diag.Pos{File: "a.yml", Line: 1, Col: 2}, want: "a.yml:1:2"},
		{pos: diag.Pos{File: "a.yml", Line: 4}, want: "a.yml:4"},
		{pos: diag.Pos{File: "a.yml"}, want: "a.yml"},
		{pos: diag.Pos{Line: 3, Col: 1}, want: "3:1"},
		{pos: diag.Pos{}, want: "-"},
	} {
		if got := tc.pos.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.pos, got, tc.want)
		}
	}
}
