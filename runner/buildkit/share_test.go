package buildkit_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/runner/buildkit"
	"github.com/gantry-ci/gantry/runner/executortest"
)

// What ends a job's shared steps: a failed step, and one whose output
// masks a value, are not exported, nor is anything after them; the steps
// before them are, to the job's own entry of the local cache.
func TestSharedSteps(t *testing.T) {
	dir := t.TempDir()
	export, err := buildkit.ParseCacheOption("type=local,dest="+dir+",mode=max", true)
	if err != nil {
		t.Fatal(err)
	}
	unique := fmt.Sprint(time.Now().UnixNano())
	for _, tc := range []struct {
		name    string
		scripts []string
		want    []string // in the notices
	}{
		{name: "failed", scripts: []string{"echo one " + unique, "echo two; exit 3", "echo three"},
			want: []string{"not exported from [test (TestSharedSteps/failed)] #2 sh -c echo two; exit 3 and what follows it: it failed", "cache: the first step exported to type=local,compression=zstd,dest=" + dir + ",mode=max,tag=test--TestSharedSteps-failed-"}},
		{name: "masked", scripts: []string{"echo one " + unique, "echo two", "echo ::add-mask::hidden-" + unique, "echo four"},
			want: []string{"#3 sh -c echo ::add-mask::hidden-" + unique + " and what follows it: it masked a value (::add-mask::) its output holds", "cache: the first 2 steps exported to"}},
		{name: "all shared", scripts: []string{"echo one " + unique, "echo two"},
			want: []string{"cache: the first 2 steps exported to"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var notices []string
			e := newExecutor(t, buildkit.Options{CacheExports: []buildkit.CacheOption{export}, Notice: func(_, msg string) {
				mu.Lock()
				notices = append(notices, msg)
				mu.Unlock()
			}})
			session(t, e, executortest.Source(t), nil, nil, tc.scripts...)
			got := strings.Join(notices, "\n")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("notices %q\nwant %q", got, w)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		t.Errorf("no local cache written: %v", err)
	}
}
