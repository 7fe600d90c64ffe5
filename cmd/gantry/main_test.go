package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/internal/ghcachefake"
	"github.com/gantry-ci/gantry/internal/gitlabfake"
	"github.com/gantry-ci/gantry/internal/mounts"
	"github.com/gantry-ci/gantry/internal/ocilayout"
	"github.com/klauspost/compress/zstd"
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
	// A fake GitHub API for the scripts that pin, fetch actions and report
	// check runs: it knows a few refs, serves testdata/actions/OWNER-REPO
	// as tarballs, and wants the token.
	archives := map[string][]byte{}
	for _, name := range []string{"acme-greet", "acme-answer"} {
		archives[name] = tarGz(t, filepath.Join("testdata", "actions", name), name+"-abc1234")
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		shas := map[string]string{
			"/api/v3/repos/actions/checkout/commits/v4": "11bd71901bbe5b1630ceea73d27597364c9af683",
			"/api/v3/repos/actions/setup-go/commits/v5": "0a12ed9d6a96ab950c8f026ed9f722fe0da7ef32",
			"/api/v3/repos/acme/greet/commits/v1":       "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
			"/api/v3/repos/acme/answer/commits/v2":      "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
		}
		if r.URL.Path == "/files/common.yml" {
			// A file for include:remote.
			fmt.Fprint(w, "variables:\n  COMMON: one\n")
			return
		}
		if r.Header.Get("Authorization") == "Bearer test-token" {
			if rest, ok := strings.CutPrefix(r.URL.Path, "/api/v3/repos/"); ok {
				if parts := strings.Split(rest, "/"); len(parts) == 4 && parts[2] == "tarball" {
					http.Redirect(w, r, "/codeload/"+parts[0]+"-"+parts[1], http.StatusFound)
					return
				}
			}
			if data, ok := archives[strings.TrimPrefix(r.URL.Path, "/codeload/")]; ok {
				w.Write(data)
				return
			}
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
	gl := fakeGitLab(t)
	goproxy, gosumdb := toolchainDist(t)
	nodeMirror := nodeDist(t)
	gha := ghcachefake.New()
	t.Cleanup(gha.Close)
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
			env.Setenv("GANTRY_TEST_DEBIAN_ROOTFS", os.Getenv("GANTRY_TEST_DEBIAN_ROOTFS"))
			// The registries scripts/registry-up starts.
			for _, k := range []string{"GANTRY_TEST_REGISTRY", "GANTRY_TEST_AUTH_REGISTRY", "GANTRY_TEST_REGISTRY_USER", "GANTRY_TEST_REGISTRY_PASSWORD", "GANTRY_TEST_DOCKER_CONFIG", "GANTRY_TEST_REGISTRY_DIR", "GANTRY_BUILDCTL", "GANTRY_BUILDKITD", "GANTRY_AZURITE"} {
				env.Setenv(k, os.Getenv(k))
			}
			env.Setenv("FAKE_GITHUB_API", api.URL+"/")
			// GitHub Actions' cache service, as a job's environment names it.
			env.Setenv("FAKE_ACTIONS_RESULTS_URL", gha.ResultsURL())
			env.Setenv("FAKE_ACTIONS_RUNTIME_TOKEN", gha.Token)
			env.Setenv("FAKE_GITLAB", gl.URL("gitlab.example.org"))
			env.Setenv("FAKE_GITLAB_COM", gl.URL("gitlab.com"))
			// Go toolchains for setup-go, from the module cache.
			env.Setenv("TEST_GOPROXY", goproxy)
			env.Setenv("TEST_GOSUMDB", gosumdb)
			env.Setenv("TEST_NODE_MIRROR", nodeMirror)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "toolchains" {
				return goproxy != "", nil
			}
			if cond == "nodes" {
				return nodeMirror != "", nil
			}
			if cond == "azurite" {
				if os.Getenv("GANTRY_AZURITE") != "" {
					return true, nil
				}
				if os.Getenv("GANTRY_REQUIRE_AZURITE") != "" {
					return false, errors.New("GANTRY_REQUIRE_AZURITE is set but GANTRY_AZURITE is not")
				}
				return false, nil
			}
			if cond == "registry" {
				if os.Getenv("GANTRY_TEST_REGISTRY") != "" && os.Getenv("GANTRY_BUILDCTL") != "" {
					return true, nil
				}
				if os.Getenv("GANTRY_REQUIRE_REGISTRY") != "" {
					return false, errors.New("GANTRY_REQUIRE_REGISTRY is set but GANTRY_TEST_REGISTRY or GANTRY_BUILDCTL is not")
				}
				return false, nil
			}
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
			// gitlab-push PROJECT FILE TEXT: a new commit on the fake
			// GitLab's project (on gitlab.example.org), FILE changed to TEXT.
			"gitlab-push": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 3 {
					ts.Fatalf("usage: gitlab-push PROJECT FILE TEXT")
				}
				pr := gl.Project("gitlab.example.org", args[0])
				files := pr.Files("main")
				files[args[1]] = strings.ReplaceAll(args[2], `\n`, "\n")
				pr.Commit("main", files)
			},
			// envsubst FILE...: ${NAME} in the files replaced by the
			// script's NAME (for addresses known at run time, such as the
			// test registry's); GitHub's ${{ }} is left alone.
			"envsubst": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) == 0 {
					ts.Fatalf("usage: envsubst FILE...")
				}
				for _, f := range args {
					data, err := os.ReadFile(ts.MkAbs(f))
					ts.Check(err)
					out := envVar.ReplaceAllStringFunc(string(data), func(m string) string { return ts.Getenv(m[2 : len(m)-1]) })
					ts.Check(os.WriteFile(ts.MkAbs(f), []byte(out), 0o644))
				}
			},
			// buildkitd VAR: a BuildKit engine of the script's own (another
			// machine's, as far as caches go): buildkitd ($GANTRY_BUILDKITD)
			// with its own state directory and socket, its address in VAR,
			// stopped when the script ends.
			"buildkitd": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: buildkitd VAR")
				}
				ts.Setenv(args[0], startBuildkitd(ts))
			},
			// s3 VAR DIR: an S3 server of the script's own (see startS3),
			// its bucket "gantry" kept under DIR, its URL in VAR.
			"s3": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: s3 VAR DIR")
				}
				ts.Setenv(args[0], startS3(ts, ts.MkAbs(args[1])))
			},
			// azurite VAR DIR: Azure's storage emulator's blob service
			// ($GANTRY_AZURITE, see startAzurite), its data under DIR, the
			// emulator account's URL in VAR.
			"azurite": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: azurite VAR DIR")
				}
				ts.Setenv(args[0], startAzurite(ts, ts.MkAbs(args[1])))
			},
			// grepgha TEXT: some entry of the fake GitHub cache service
			// holds TEXT (read through gzip or zstd); with !, none does.
			"grepgha": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: grepgha TEXT")
				}
				blobs := gha.Blobs()
				n := 0
				for _, b := range blobs {
					if holds(ts, b, args[0]) {
						n++
					}
				}
				switch {
				case len(blobs) == 0:
					ts.Fatalf("the cache service holds no entry")
				case neg && n > 0:
					ts.Fatalf("%d of the %d entries hold %q", n, len(blobs), args[0])
				case !neg && n == 0:
					ts.Fatalf("none of the %d entries holds %q", len(blobs), args[0])
				}
			},
			// grepblobs DIR TEXT: some file under DIR holds TEXT, read
			// through gzip or zstd when it is compressed (cache blobs, registry
			// storage); with !, none does.
			"grepblobs": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: grepblobs DIR TEXT")
				}
				found, n := grepBlobs(ts, ts.MkAbs(args[0]), args[1])
				switch {
				case n == 0:
					ts.Fatalf("no files under %s", args[0])
				case neg && found != "":
					ts.Fatalf("%s holds %q", found, args[1])
				case !neg && found == "":
					ts.Fatalf("none of the %d files under %s holds %q", n, args[0], args[1])
				}
			},
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

// startBuildkitd starts a buildkitd of the script's own and returns its
// address.
func startBuildkitd(ts *testscript.TestScript) string {
	bin := ts.Getenv("GANTRY_BUILDKITD")
	if bin == "" {
		ts.Fatalf("no GANTRY_BUILDKITD (eval \"$(scripts/buildkit-up)\")")
	}
	// Not under $WORK: the engine's mounts must be gone before the
	// directory is removed.
	dir, err := os.MkdirTemp("", "gantry-buildkitd-")
	ts.Check(err)
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	log, err := os.Create(filepath.Join(dir, "buildkitd.log"))
	ts.Check(err)
	cmd := exec.Command(bin, "--root", filepath.Join(dir, "root"), "--addr", addr, "--oci-worker=true", "--containerd-worker=false")
	// TMPDIR: its temporary mounts under its state, where the cleanup
	// finds them.
	cmd.Env = append(os.Environ(), "BUILDKIT_STEP_LOG_MAX_SIZE=-1", "BUILDKIT_STEP_LOG_MAX_SPEED=-1", "TMPDIR="+dir)
	cmd.Stdout, cmd.Stderr = log, log
	startUntilEnd(ts, cmd, 20*time.Second, func() {
		log.Close()
		// A daemon that had to be killed leaves its containers' mounts.
		if err := mounts.DetachUnder(dir); err != nil {
			ts.Logf("%v", err)
		}
		os.RemoveAll(dir)
	})
	for range 100 {
		c, err := net.Dial("unix", filepath.Join(dir, "buildkitd.sock"))
		if err == nil {
			c.Close()
			return addr
		}
		time.Sleep(100 * time.Millisecond)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "buildkitd.log"))
	ts.Fatalf("buildkitd did not start:\n%s", data)
	return ""
}

// startUntilEnd starts a server of the script's, which it stops when the
// script ends (SIGTERM, then after grace SIGKILL) before calling
// cleanup. The returned channel is closed when the server exits.
func startUntilEnd(ts *testscript.TestScript, cmd *exec.Cmd, grace time.Duration, cleanup func()) <-chan struct{} {
	ts.Check(cmd.Start())
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	ts.Defer(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(grace):
			cmd.Process.Kill()
			<-exited
		}
		cleanup()
	})
	return exited
}

// grepBlobs is the first file under dir that holds text (gzip-compressed
// files read decompressed), and how many files it read.
func grepBlobs(ts *testscript.TestScript, dir, text string) (found string, n int) {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || found != "" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		if holds(ts, data, text) {
			found = p
		}
		return nil
	})
	ts.Check(err)
	return found, n
}

// holds says whether data holds text, read through gzip or zstd when it
// is compressed.
func holds(ts *testscript.TestScript, data []byte, text string) bool {
	if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
		if plain, err := io.ReadAll(zr); err == nil {
			data = plain
		}
	} else if bytes.HasPrefix(data, zstdMagic) {
		zr, err := zstd.NewReader(nil)
		ts.Check(err)
		plain, err := zr.DecodeAll(data, nil)
		zr.Close()
		if err == nil {
			data = plain
		}
	}
	return bytes.Contains(data, []byte(text))
}

// zstdMagic starts a zstd frame (the cache's layers gantry exports).
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// envVar is a ${NAME} that envsubst replaces.
var envVar = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)

// tarGz packs dir as GitHub serves repository archives: under one top
// directory.
func tarGz(t *testing.T, dir, top string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Name: top + "/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// fakeGitLab is the GitLab instance the scripts include from (see
// gitlab-includes.txtar): gitlab.example.org with a private project of
// shared CI files (token glpat-fake), a component with releases, and
// gitlab.com with GitLab's own templates.
func fakeGitLab(t *testing.T) *gitlabfake.Server {
	srv := gitlabfake.New(t)
	srv.Token = "glpat-fake"
	shared := srv.Project("gitlab.example.org", "platform/ci")
	shared.Private = true
	shared.Commit("main", map[string]string{
		"templates/build.yml":  "include:\n  - local: templates/common.yml\nbuild:\n  extends: .common\n  stage: build\n  script: [\"echo built by $BUILDER\"]\n",
		"templates/common.yml": ".common:\n  variables:\n    BUILDER: platform\n",
		"remote.yml":           "remote-job:\n  stage: test\n  script: [\"echo from a remote include\"]\n",
	})
	greet := srv.Project("gitlab.example.org", "components/greet")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		greet.Commit(v, map[string]string{"templates/greet.yml": "spec:\n  component: [version]\n  inputs:\n    who: {type: string, default: world}\n---\ngreet:\n  stage: test\n  script: [\"echo hello $[[ inputs.who ]] from greet $[[ component.version ]]\"]\n"})
		greet.Release(v)
	}
	srv.Templates["Hello"] = "hello-template:\n  stage: test\n  script: [\"echo from the templates API\"]\n"
	// GitLab's source: at the revision the instance runs (what a token
	// learns from /version), and on its default branch (what serves
	// without one).
	src := srv.Project("gitlab.com", "gitlab-org/gitlab")
	src.DefaultBranch = "master"
	for _, ref := range []string{srv.Revision, "master"} {
		src.Commit(ref, map[string]string{
			"lib/gitlab/ci/templates/Jobs/Lint.gitlab-ci.yml": "lint-template:\n  stage: test\n  script: [\"echo from Jobs/Lint\"]\n",
		})
	}
	return srv
}
