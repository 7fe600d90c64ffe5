package expr

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/diag"
)

func TestSlowCorpus(t *testing.T) {
	dir := os.Getenv("CORPUS")
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	env := testEnv(t)
	type r struct{ d time.Duration; n string; l int }
	var rs []r
	for _, f := range files {
		b, _ := os.ReadFile(f)
		lines := strings.Split(string(b), "\n")
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil { t.Log(f, err); continue }
		start := time.Now()
		pos := diag.Pos{File: "fuzz.yml", Line: 3, Col: 7}
		if e, err := Parse(s, pos); err == nil { e.Check(nil); e.Eval(env) } else { Check(s, pos, nil) }
		if tp, err := ParseTemplate(s, pos); err == nil { tp.Check(nil); tp.Eval(env); tp.Value(env) }
		rs = append(rs, r{time.Since(start), filepath.Base(f), len(s)})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].d > rs[j].d })
	for _, x := range rs[:5] { t.Log(x.d, x.n, x.l) }
}
