package github

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/gantry-ci/gantry/internal/txtartest"
)

// TestPrepareKeepsPositions checks the text actionlint reads: the 2026 keys
// are gone, every other character is where it was (the lines of parallel:
// groups moved left by the recorded shift), and actionlint parses it
// without findings.
// https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepsbackground
func TestPrepareKeepsPositions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src, want string
		shift           map[int]int
	}{
		{
			name: "background first, last and in flow style",
			src:  "jobs:\n  a:\n    runs-on: x\n    steps:\n      - background: true\n        run: a # é\n      - run: b\n        background: true\n      - {run: c, background: true}\n      - {background: false, run: d}\n",
			want: "jobs:\n  a:\n    runs-on: x\n    steps:\n      -                 \n        run: a # é\n      - run: b\n                        \n      - {run: c                  }\n      - {                   run: d}\n",
		},
		{
			name: "control steps go, a multi-byte name too",
			src:  "jobs:\n  a:\n    runs-on: x\n    steps:\n      - run: a\n        id: a\n        background: true\n      - name: attendre é\n        wait: a\n      - run: b\n      - wait-all:\n",
			want: "jobs:\n  a:\n    runs-on: x\n    steps:\n      - run: a\n        id: a\n                        \n                        \n               \n      - run: b\n                 \n",
		},
		{
			name:  "parallel group moves left",
			src:   "jobs:\n  a:\n    runs-on: x\n    steps:\n      - parallel:\n          - run: |\n              one\n            # comment\n          - run: two\n      - run: three\n",
			want:  "jobs:\n  a:\n    runs-on: x\n    steps:\n                 \n      - run: |\n          one\n        # comment\n      - run: two\n      - run: three\n",
			shift: map[int]int{6: 4, 7: 4, 8: 4, 9: 4},
		},
		{
			name: "service entrypoint and command, $/ uses, a trailing-dot number",
			src:  "jobs:\n  a:\n    runs-on: x\n    services:\n      db:\n        image: pg\n        command: [a, b]\n        entrypoint: sh\n    steps:\n      - uses: $/x\n      - if: x == 3.\n        run: echo\n",
			want: "jobs:\n  a:\n    runs-on: x\n    services:\n      db:\n        image: pg\n                       \n                      \n    steps:\n      - uses: ./x\n      - if: x == 3 \n        run: echo\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := prepare("ci.yml", []byte(tc.src), false)
			if got := string(p.src); got != tc.want {
				t.Errorf("prepared text:\n%q\nwant\n%q", got, tc.want)
			}
			for line, k := range tc.shift {
				if p.shift[line] != k {
					t.Errorf("line %d: shift %d, want %d", line, p.shift[line], k)
				}
			}
			if len(p.shift) != len(tc.shift) {
				t.Errorf("shifts %v, want %v", p.shift, tc.shift)
			}
			if _, errs := actionlint.Parse(append([]byte("on: push\n"), p.src...)); len(errs) > 0 {
				t.Errorf("actionlint does not read the prepared text: %v", errs[0])
			}
		})
	}
}

// FuzzPrepare checks the preparation of any text: no panic, the same
// number of lines as the original, every finding positioned in the file.
func FuzzPrepare(f *testing.F) {
	archives, _ := filepath.Glob("testdata/fixtures/*.txtar")
	for _, a := range archives {
		for _, data := range txtartest.Files(a, ".yml") {
			f.Add(data, false)
		}
	}
	f.Add([]byte("jobs:\n  a:\n    steps:\n      - parallel:\n        - run: a\n        - parallel:\n          - wait: x\n"), false)
	f.Add([]byte("runs:\n  steps:\n    - background: true\n      run: x\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, composite bool) {
		p := prepare("fuzz.yml", data, composite)
		if got, want := bytes.Count(p.src, []byte("\n")), bytes.Count(data, []byte("\n")); got != want {
			t.Fatalf("prepared text has %d lines, the original %d", got, want)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, d := range p.diags {
			if !d.Pos.IsValid() || d.Pos.File != "fuzz.yml" || d.Pos.Line > lines {
				t.Fatalf("finding with a bad position: %#v", d)
			}
		}
	})
}
