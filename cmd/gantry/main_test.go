package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/internal/ocilayout"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"gantry": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the end-to-end stories under testdata/script, one user
// story per file.
func TestScripts(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	// A fake GitHub API for the scripts that pin: it knows a few refs and
	// wants the token.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		shas := map[string]string{
			"/api/v3/repos/actions/checkout/commits/v4": "11bd71901bbe5b1630ceea73d27597364c9af683",
			"/api/v3/repos/actions/setup-go/commits/v5": "0a12ed9d6a96ab950c8f026ed9f722fe0da7ef32",
		}
		if strings.HasPrefix(r.URL.Path, "/api/v3/repos/acme/app/check-runs") && r.Header.Get("Authorization") == "Bearer test-token" {
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"id": 7}`)
			return
		}
		sha, ok := shas[r.URL.Path]
		if !ok || r.Header.Get("Authorization") != "Bearer test-token" {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		fmt.Fprint(w, sha)
	}))
	t.Cleanup(api.Close)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("GANTRY_REPO", root)
			env.Setenv("NO_COLOR", "1")
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache"))
			// Scripts that want the engine say so (env BUILDKIT_HOST=...);
			// the others run with --executor auto on the host.
			env.Setenv("TEST_BUILDKIT_HOST", os.Getenv("BUILDKIT_HOST"))
			env.Setenv("GANTRY_TEST_ROOTFS", os.Getenv("GANTRY_TEST_ROOTFS"))
			env.Setenv("FAKE_GITHUB_API", api.URL+"/")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond != "buildkit" {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			if os.Getenv("BUILDKIT_HOST") != "" && os.Getenv("GANTRY_TEST_ROOTFS") != "" {
				return true, nil
			}
			if os.Getenv("GANTRY_REQUIRE_BUILDKIT") != "" {
				return false, errors.New("GANTRY_REQUIRE_BUILDKIT is set but BUILDKIT_HOST or GANTRY_TEST_ROOTFS is not")
			}
			return false, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// mkoci DIR ROOTFS [CMD...]: an OCI image layout of a root
			// filesystem, with CMD as the image's command.
			"mkoci": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: mkoci DIR ROOTFS [CMD...]")
				}
				img := ocilayout.Image{Rootfs: args[1], Cmd: args[2:], Env: []string{"PATH=/bin:/usr/bin", "FROM_IMAGE=yes"}}
				_, err := ocilayout.Write(ts.MkAbs(args[0]), img)
				ts.Check(err)
			},
		},
	})
}
