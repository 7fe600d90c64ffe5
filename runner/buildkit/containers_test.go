package buildkit_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	"github.com/gantry-ci/gantry/internal/ocilayout"
	"github.com/gantry-ci/gantry/runner"
	"github.com/gantry-ci/gantry/runner/buildkit"
	"github.com/gantry-ci/gantry/runner/executortest"
)

// notices collects an executor's messages for the user.
type notices struct {
	mu   sync.Mutex
	list []string
}

func (n *notices) add(nodeID, msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.list = append(n.list, nodeID+": "+msg)
}

func (n *notices) matching(s string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, m := range n.list {
		if strings.Contains(m, s) {
			out = append(out, m)
		}
	}
	return out
}

// prepare prepares a node and releases it at the test's end.
func prepare(t *testing.T, e runner.Executor, n *dag.Node) runner.Workspace {
	t.Helper()
	ws, err := e.Prepare(t.Context(), n, runner.WorkspaceSpec{Source: executortest.Source(t), StateDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Prepare %s: %v", n.ID, err)
	}
	t.Cleanup(func() { ws.Release(context.Background()) })
	return ws
}

// sh runs a script as the runner runs a step: in the image's
// environment (ImageEnv, PATH and all), with STATE and env.
func sh(t *testing.T, ws runner.Workspace, script string, env ...string) executortest.Result {
	t.Helper()
	all := append(slices.Clone(ws.(runner.ImageEnv).ImageEnv()), "STATE="+ws.StateDir())
	all = append(all, env...)
	return executortest.Exec(t.Context(), ws, runner.Command{Argv: []string{"sh", "-c", script}, Env: all})
}

func mustSh(t *testing.T, ws runner.Workspace, script string, env ...string) string {
	t.Helper()
	r := sh(t, ws, script, env...)
	if r.Err != nil || r.Code != 0 {
		t.Fatalf("sh -c %q: exit %d, error %v\nstdout: %s\nstderr: %s", script, r.Code, r.Err, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

func busybox(t *testing.T) string {
	t.Helper()
	return "rootfs://" + testRootfs(t)
}

// testRootfs is the busybox root filesystem scripts/buildkit-up makes;
// without it (and its engine) the test skips, unless GANTRY_REQUIRE_BUILDKIT
// is set, as in CI, where it fails.
func testRootfs(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GANTRY_TEST_ROOTFS")
	if dir == "" || os.Getenv("BUILDKIT_HOST") == "" {
		if os.Getenv("GANTRY_REQUIRE_BUILDKIT") != "" {
			t.Fatal("GANTRY_REQUIRE_BUILDKIT is set but BUILDKIT_HOST or GANTRY_TEST_ROOTFS is not: run eval \"$(scripts/buildkit-up)\"")
		}
		t.Skip("no BuildKit daemon (eval \"$(scripts/buildkit-up)\" starts one)")
	}
	return dir
}

func debian(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GANTRY_TEST_DEBIAN_ROOTFS")
	if dir == "" {
		if os.Getenv("GANTRY_REQUIRE_BUILDKIT") != "" {
			t.Fatal("GANTRY_REQUIRE_BUILDKIT is set but GANTRY_TEST_DEBIAN_ROOTFS is not: run eval \"$(scripts/buildkit-up)\"")
		}
		t.Skip("no Debian root filesystem (scripts/buildkit-up makes one)")
	}
	return "rootfs://" + dir
}

// layout writes an OCI layout of the busybox root filesystem with cfg's
// configuration.
func layout(t *testing.T, img ocilayout.Image) string {
	t.Helper()
	img.Rootfs = testRootfs(t)
	if img.Env == nil {
		img.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if _, err := ocilayout.Write(dir, img); err != nil {
		t.Fatal(err)
	}
	return "oci-layout://" + dir
}

// TestImageNames names images as workflows do, Docker Hub short names
// and all, with -P mapping some to local images: a mapping serves every
// spelling of the name, in a job's image, a service's, a docker:// step's
// and a Dockerfile's FROM; an unmapped name is pulled by its normalised
// name (here, with no registry, that fails on the network, not on the
// name, and says how to map it).
func TestImageNames(t *testing.T) {
	var msgs notices
	e := newExecutor(t, buildkit.Options{Notice: msgs.add, Images: map[string]string{
		"default":                        busybox(t),
		"alpine":                         busybox(t),
		"catthehacker/ubuntu:act-latest": busybox(t),
		"ghcr.io/o/tool:1":               busybox(t),
	}})
	for _, img := range []string{"alpine", "alpine:latest", "docker.io/library/alpine", "index.docker.io/library/alpine:latest",
		"catthehacker/ubuntu:act-latest", "docker.io/catthehacker/ubuntu:act-latest", "ghcr.io/o/tool:1"} {
		t.Run(img, func(t *testing.T) {
			ws := prepare(t, e, &dag.Node{ID: "image " + img, Image: img})
			if got := mustSh(t, ws, "echo ran"); got != "ran\n" {
				t.Errorf("the step printed %q", got)
			}
			if len(msgs.matching("image "+img+": running in "+busybox(t)+" (the job's image "+img+", mapped with -P)")) != 1 {
				t.Errorf("no notice says the job's image was mapped: %q", msgs.matching("image "+img+":"))
			}
		})
	}
	t.Run("unmapped", func(t *testing.T) {
		for img, name := range map[string]string{"node:20": "docker.io/library/node:20", "catthehacker/ubuntu:full-latest": "docker.io/catthehacker/ubuntu:full-latest",
			"localhost:5999/x": "localhost:5999/x:latest"} {
			_, err := e.Prepare(t.Context(), &dag.Node{ID: "unmapped", Image: img}, runner.WorkspaceSpec{Source: executortest.Source(t), StateDir: t.TempDir()})
			if err == nil {
				t.Fatalf("Prepare with %s pulled it: no registry should be reachable here", img)
			}
			for _, bad := range []string{"dummy://", "object required"} {
				if strings.Contains(err.Error(), bad) {
					t.Errorf("%s: the name was not normalised: %v", img, err)
				}
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("image %q (%s)", img, name)) || !strings.Contains(err.Error(), "-P ") {
				t.Errorf("%s: the error does not name %s and how to map it: %v", img, name, err)
			}
		}
		if _, err := e.Prepare(t.Context(), &dag.Node{ID: "bad", Image: "Alpine"}, runner.WorkspaceSpec{Source: executortest.Source(t), StateDir: t.TempDir()}); err == nil ||
			!strings.Contains(err.Error(), `image "Alpine": repository name (library/Alpine) must be lowercase`) {
			t.Errorf("an invalid name: %v", err)
		}
	})
	t.Run("service", func(t *testing.T) {
		ws := prepare(t, e, &dag.Node{ID: "service", Services: []dag.Service{{
			Name: "web", Image: "docker.io/library/alpine:latest", Ports: []string{"18085"},
			Command: []string{"sh", "-c", "mkdir -p /www && echo pong > /www/ping && exec httpd -f -p 18085 -h /www"},
		}}})
		if got := mustSh(t, ws, "wget -qO- http://web:18085/ping"); got != "pong\n" {
			t.Errorf("the service answered %q", got)
		}
	})
	t.Run("docker step", func(t *testing.T) {
		ws := prepare(t, e, &dag.Node{ID: "docker step"})
		var out strings.Builder
		code, err := ws.(runner.ImageRunner).RunImage(t.Context(), runner.ActionImage{Ref: "docker://alpine", Entrypoint: []string{"/bin/sh"}, Args: []string{"-c", "echo from alpine"}},
			runner.Command{Env: executortest.Env(ws), Stdout: &out})
		if err != nil || code != 0 || out.String() != "from alpine\n" {
			t.Errorf("RunImage docker://alpine: exit %d, %v, %q", code, err, out.String())
		}
	})
	t.Run("FROM", func(t *testing.T) {
		ws := prepare(t, e, &dag.Node{ID: "from"})
		action := t.TempDir()
		os.WriteFile(filepath.Join(action, "Dockerfile"), []byte("FROM docker.io/library/alpine:latest\nFROM catthehacker/ubuntu:act-latest\nRUN echo built > /built\nENTRYPOINT [\"cat\", \"/built\"]\n"), 0o644)
		var out strings.Builder
		code, err := ws.(runner.ImageRunner).RunImage(t.Context(), runner.ActionImage{Dockerfile: filepath.Join(action, "Dockerfile")},
			runner.Command{Env: executortest.Env(ws), Stdout: &out})
		if err != nil || code != 0 || out.String() != "built\n" {
			t.Errorf("a Dockerfile whose FROMs are mapped: exit %d, %v, %q", code, err, out.String())
		}
	})
}

// TestEnvNamesWithDash: variables whose names a POSIX shell drops
// (INPUT_GITHUB-TOKEN, as GitHub's runner names the input github-token)
// reach the step, plain or secret, through the step's wrapper (run by
// busybox's sh, or Debian's dash); the wrapper's own carriers do not. The
// step's own command shows them as it is: env itself, or bash (GitHub's
// shell for run:, which passes such names on, where dash and busybox's sh
// drop them as POSIX allows).
func TestEnvNamesWithDash(t *testing.T) {
	for _, tc := range []struct {
		name  string
		image func(*testing.T) string
		argv  []string
	}{
		{name: "busybox, env", image: busybox, argv: []string{"env"}},
		{name: "debian, bash", image: debian, argv: []string{"bash", "-c", "env"}},
		{name: "debian, env", image: debian, argv: []string{"env"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := tc.image(t)
			e := newExecutor(t, buildkit.Options{Images: map[string]string{"default": img}})
			ws := prepare(t, e, &dag.Node{ID: "dash " + tc.name})
			secret := fmt.Sprintf("s3cr3t-%d", time.Now().UnixNano())
			stop := buildkit.RecordDefinitions()
			var out strings.Builder
			code, err := ws.Exec(t.Context(), runner.Command{
				Argv:    tc.argv,
				Env:     executortest.Env(ws, "INPUT_GITHUB-TOKEN="+secret, "INPUT_WHO-TO-GREET=Mona the Octocat", "INPUT_PLAIN=1", "A.B=dotted", "1X=digit", "INPUT_EMPTY-ONE="),
				Stdout:  &out,
				Secrets: []string{secret},
			})
			if err != nil || code != 0 {
				t.Fatalf("exit %d, %v", code, err)
			}
			var got []string
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.HasPrefix(l, "INPUT_") || strings.HasPrefix(l, "A.B") || strings.HasPrefix(l, "1X") || strings.Contains(l, "GANTRY_ENV_") {
					got = append(got, l)
				}
			}
			slices.Sort(got)
			want := []string{"1X=digit", "A.B=dotted", "INPUT_EMPTY-ONE=", "INPUT_GITHUB-TOKEN=" + secret, "INPUT_PLAIN=1", "INPUT_WHO-TO-GREET=Mona the Octocat"}
			if !slices.Equal(got, want) {
				t.Errorf("the step's variables:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, d := range stop() {
				if strings.Contains(string(d), secret) {
					t.Fatalf("the secret in INPUT_GITHUB-TOKEN is in a definition")
				}
			}
		})
	}
}

// TestContainerOptions applies container.options as GitHub's runner does
// (docker create with the options, steps through docker exec): hostname,
// user, env, ulimits and extra hosts change what steps see; --workdir and
// --entrypoint do not (the runner's docker exec --workdir and its own
// entrypoint win on GitHub too); what BuildKit cannot apply is reported
// once, at the node's position, for all the nodes of a matrix.
func TestContainerOptions(t *testing.T) {
	t.Setenv("GANTRY_TEST_FROM_HOST", "passed")
	var msgs notices
	e := newExecutor(t, buildkit.Options{Notice: msgs.add})
	ct := &dag.Container{
		Options: `--hostname box.local -u nobody --env FROM_OPTIONS="two words" -e GANTRY_TEST_FROM_HOST -e PATH=/opt/bin:/usr/bin:/bin ` +
			`--workdir /tmp --entrypoint /bin/false --cpus 1.5 --memory=2g --privileged --cap-add SYS_ADMIN --ulimit nofile=512:1024 --add-host db.example:10.1.2.3 --shm-size 128m --tmpfs /scratch`,
		Env: map[string]string{"FROM_ENV": "1", "FROM_OPTIONS": "overridden by the options"},
	}
	pos := dag.SourcePos{Pos: diag.Pos{File: ".github/workflows/ci.yml", Line: 12, Col: 5}}
	for i := range 2 {
		ws := prepare(t, e, &dag.Node{ID: fmt.Sprintf("options-%d", i), Image: busybox(t), Container: ct, Pos: pos})
		got := mustSh(t, ws, `hostname; id -un; echo "$FROM_OPTIONS|$FROM_ENV|$GANTRY_TEST_FROM_HOST|$PATH|$HOME"; pwd; ulimit -n; grep db.example /etc/hosts; `+
			`df -k /dev/shm | tail -1 | awk '{print $2}'; grep ' /scratch ' /proc/mounts | cut -d' ' -f3; touch made-by-nobody && ls -ln made-by-nobody | awk '{print $3}'`)
		want := "box.local\nnobody\ntwo words|1|passed|/opt/bin:/usr/bin:/bin|/github/home\n/workspace\n512\n10.1.2.3\tdb.example\n131072\ntmpfs\n65534\n"
		if got != want {
			t.Errorf("node %d: the step saw\n%s\nwant\n%s", i, got, want)
		}
	}
	reported := msgs.matching("container options")
	if len(reported) != 1 {
		t.Fatalf("the options were reported %d times, want once: %q", len(reported), reported)
	}
	for _, want := range []string{".github/workflows/ci.yml:12:5: container options: not applied on BuildKit: --privileged, --cap-add SYS_ADMIN, --cpus 1.5 (BuildKit sets no CPU or memory limit",
		"--memory=2g (", "no effect on the steps, as on GitHub", "--workdir /tmp", `--entrypoint "/bin/false"`} {
		if !strings.Contains(reported[0], want) {
			t.Errorf("the report %q does not say %q", reported[0], want)
		}
	}
	for _, applied := range []string{"--hostname", "-u nobody", "--env", "--ulimit", "--add-host", "--shm-size", "--tmpfs"} {
		if strings.Contains(reported[0], applied) {
			t.Errorf("the report names %s, which is applied: %q", applied, reported[0])
		}
	}
}

// TestImageUser: a job container runs its steps as the image's USER, or
// --user's, resolved in the image's passwd; the workspace, the protocol's
// files, a cache and HOME are the user's.
func TestImageUser(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	img := layout(t, ocilayout.Image{User: "nobody"})
	for _, tc := range []struct {
		name, options, want string
	}{
		{name: "the image's USER", want: "65534:65534"},
		{name: "--user by name", options: "--user root", want: "0:0"},
		{name: "--user by number, with no passwd entry", options: "--user 4242", want: "4242:0"},
		{name: "--user with a group", options: "--user nobody:root", want: "65534:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &dag.Node{ID: "user " + tc.name, Image: img}
			if tc.options != "" {
				n.Container = &dag.Container{Options: tc.options}
			}
			ws := prepare(t, e, n)
			if err := ws.(runner.CacheMounter).MountCache(fmt.Sprintf("user-%d", time.Now().UnixNano()), []string{".cache"}); err != nil {
				t.Fatal(err)
			}
			got := mustSh(t, ws, `echo "$(id -u):$(id -g)"; echo out >> "$STATE/output" && echo x > made && echo y > .cache/c && touch "$HOME/h" && echo writable`)
			if got != tc.want+"\nwritable\n" {
				t.Errorf("the step printed %q, want %q and writable", got, tc.want)
			}
		})
	}
	if _, err := e.Prepare(t.Context(), &dag.Node{ID: "no such user", Image: img, Container: &dag.Container{Options: "--user gantry-nobody"}},
		runner.WorkspaceSpec{Source: executortest.Source(t), StateDir: t.TempDir()}); err == nil ||
		!strings.Contains(err.Error(), `the job's user "gantry-nobody": unable to find user gantry-nobody`) {
		t.Errorf("an unknown user: %v", err)
	}
}

// TestDockerStep runs uses: docker://IMAGE as GitHub's runner does: the
// entrypoint and args given, the step's variables over the image's (PATH
// the image's), the workspace mounted and at /github/workspace, the
// working directory; what the step writes stays in the workspace.
func TestDockerStep(t *testing.T) {
	img := layout(t, ocilayout.Image{Env: []string{"PATH=/bin:/usr/bin", "FROM_IMAGE=1", "OVERRIDDEN=image"}, Entrypoint: []string{"/bin/echo"}, Cmd: []string{"image's cmd"}})
	nobody := layout(t, ocilayout.Image{User: "nobody", Entrypoint: []string{"/bin/sh", "-c"}})
	e := newExecutor(t, buildkit.Options{Images: map[string]string{"default": busybox(t), "ghcr.io/o/action:v1": img, "ghcr.io/o/nobody:v1": nobody}})
	ws := prepare(t, e, &dag.Node{ID: "docker step"})
	run := func(ai runner.ActionImage, env ...string) string {
		t.Helper()
		var out, errOut strings.Builder
		code, err := ws.(runner.ImageRunner).RunImage(t.Context(), ai, runner.Command{Env: append(executortest.Env(ws), env...), Stdout: &out, Stderr: &errOut})
		if err != nil || code != 0 {
			t.Fatalf("RunImage %+v: exit %d, %v; %s", ai, code, err, errOut.String())
		}
		return out.String()
	}
	if got := run(runner.ActionImage{Ref: "ghcr.io/o/action:v1"}); got != "image's cmd\n" {
		t.Errorf("the image's own entrypoint and cmd printed %q", got)
	}
	if got := run(runner.ActionImage{Ref: "ghcr.io/o/action:v1", Args: []string{"given", "args"}}); got != "given args\n" {
		t.Errorf("args given replace the cmd: %q", got)
	}
	got := run(runner.ActionImage{Ref: "docker://ghcr.io/o/action:v1", Entrypoint: []string{"/bin/sh"}, Args: []string{"-c",
		`echo "$FROM_IMAGE $OVERRIDDEN $INPUT_WHO-$PATH"; pwd; ls /github/workspace/hello.txt; echo from the step > written; test -e /gantry/state || echo no state`}},
		"OVERRIDDEN=step", "INPUT_WHO=mona", "PATH=/step/bin")
	if want := "1 step mona-/bin:/usr/bin\n/workspace\n/github/workspace/hello.txt\n"; got != want {
		t.Errorf("the step printed %q, want %q", got, want)
	}
	if got := mustSh(t, ws, "cat written; test -e /github || echo no /github in the job root"); got != "from the step\nno /github in the job root\n" {
		t.Errorf("after the docker step the job saw %q", got)
	}
	// An image with another USER runs as it (GitHub asks actions to run
	// as root, and runs them as their image says), its state files its own.
	if got := run(runner.ActionImage{Ref: "ghcr.io/o/nobody:v1", Args: []string{`id -un; echo out=1 >> "$STATE/output" && echo wrote state`}}); got != "nobody\nwrote state\n" {
		t.Errorf("an action image with USER nobody printed %q", got)
	}
}

// TestServicePorts: a ports: mapping HOST:CONTAINER is published on this
// machine's HOST port (a port alone on a free one) while the node runs (a step reaches localhost:HOST,
// as a job on GitHub's runner host does, and so does this process), and a
// step reaches the service by name on its container port, as a job
// container does; ServicePorts says which is which.
func TestServicePorts(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	n := &dag.Node{ID: "ports", Services: []dag.Service{{
		Name: "web", Image: busybox(t), Ports: []string{"18092:18091", "18093"},
		Command: []string{"sh", "-c", "mkdir -p /www && echo pong > /www/ping && (httpd -p 18093 -h /www &) && exec httpd -f -p 18091 -h /www"},
	}}}
	ws, err := e.Prepare(t.Context(), n, runner.WorkspaceSpec{Source: executortest.Source(t), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Release(context.Background())
	for _, url := range []string{"http://localhost:18092/ping", "http://127.0.0.1:18092/ping", "http://web:18091/ping", "http://web:18093/ping"} {
		if got := mustSh(t, ws, "wget -qO- "+url); got != "pong\n" {
			t.Errorf("a step got %q from %s", got, url)
		}
	}
	resp, err := http.Get("http://127.0.0.1:18092/ping")
	if err != nil {
		t.Fatalf("the published port does not answer on this machine: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "pong\n" {
		t.Errorf("this machine got %q from the published port", body)
	}
	ports := ws.(interface {
		ServicePorts() map[string]map[string]string
	}).ServicePorts()
	// A port given alone is published on a free host port, as docker -p
	// gives it on GitHub's runner.
	free := ports["web"]["18093"]
	if ports["web"]["18091"] != "18092" || free == "" || free == "18093" {
		t.Errorf("ServicePorts = %v, want web: 18091 on 18092 and 18093 on a free port", ports)
	}
	if got := mustSh(t, ws, "wget -qO- http://127.0.0.1:"+free+"/ping"); got != "pong\n" {
		t.Errorf("a step got %q from the free port %s of 18093", got, free)
	}
	if err := ws.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:18092", time.Second); err == nil {
		c.Close()
		t.Error("the published port still answers after the node was released")
	}
}

// TestServiceWithoutTools: a service whose image has nothing but its
// program (no sh, no nc: the old probe ran those inside the service and
// marked such a service unhealthy) is waited for until its port is
// listened on, seen from outside it; the first step reaches it.
func TestServiceWithoutTools(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"bin", "www", "tmp", "etc", "proc", "dev", "sys"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	bb, err := os.ReadFile(filepath.Join(testRootfs(t), "bin", "busybox"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "bin", "busybox"), bb, 0o755)
	os.WriteFile(filepath.Join(root, "www", "ping"), []byte("pong\n"), 0o644)
	e := newExecutor(t, buildkit.Options{})
	// Only the busybox binary, none of its applets' links: the command
	// names them. It listens a second after it starts.
	ws := prepare(t, e, &dag.Node{ID: "no tools", Services: []dag.Service{{
		Name: "bare", Image: "rootfs://" + root, Ports: []string{"18094"},
		Command: []string{"/bin/busybox", "sh", "-c", "/bin/busybox sleep 1; exec /bin/busybox httpd -f -p 18094 -h /www"},
	}}})
	if r := sh(t, ws, fmt.Sprintf(": %d; wget -qO- http://bare:18094/ping", time.Now().UnixNano())); r.Code != 0 || r.Stdout != "pong\n" {
		t.Errorf("the first step after Prepare got %q (exit %d, %s): the service was not waited for", r.Stdout, r.Code, r.Stderr)
	}
}

// TestServiceHealth: a service's health check is the image's HEALTHCHECK
// with the --health-* options over it, run in the service as docker does;
// the service must turn healthy (GitHub fails the job otherwise);
// --no-healthcheck drops it.
func TestServiceHealth(t *testing.T) {
	var msgs notices
	e := newExecutor(t, buildkit.Options{Notice: msgs.add})
	img := layout(t, ocilayout.Image{Config: map[string]any{
		"Healthcheck":  map[string]any{"Test": []string{"CMD-SHELL", "test -e /tmp/ready"}, "Interval": int64(100 * time.Millisecond), "Retries": 20},
		"ExposedPorts": map[string]any{"18095/tcp": map[string]any{}},
	}})
	ready := []string{"sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 60"}
	t.Run("healthy", func(t *testing.T) {
		start := time.Now()
		prepare(t, e, &dag.Node{ID: "healthy", Services: []dag.Service{{Name: "db", Image: img, Command: ready}}})
		if d := time.Since(start); d < time.Second {
			t.Errorf("Prepare took %s: it did not wait for the image's health check", d)
		}
	})
	t.Run("the options' check wins", func(t *testing.T) {
		_, err := e.Prepare(t.Context(), &dag.Node{ID: "options check", Services: []dag.Service{{Name: "db", Image: img, Command: ready,
			Options: `--health-cmd "test -e /tmp/never" --health-retries 3`}}}, runner.WorkspaceSpec{Source: executortest.Source(t), StateDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), `service "db" is unhealthy: its health check "test -e /tmp/never" still failed after`) {
			t.Errorf("a check that never passes: %v", err)
		}
	})
	t.Run("--no-healthcheck", func(t *testing.T) {
		old := buildkit.SetPortWait(500 * time.Millisecond)
		defer buildkit.SetPortWait(old)
		start := time.Now()
		prepare(t, e, &dag.Node{ID: "no check", Services: []dag.Service{{Name: "db", Image: img, Command: []string{"sleep", "60"}, Options: "--no-healthcheck"}}})
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("Prepare took %s", d)
		}
		// No health check: its EXPOSEd port was waited for, and the job
		// went on with a notice, as GitHub does not wait at all.
		if len(msgs.matching(`service "db": nothing listens on port 18095`)) != 1 {
			t.Errorf("no notice of the closed port: %q", msgs.list)
		}
	})
	t.Run("service options", func(t *testing.T) {
		ws := prepare(t, e, &dag.Node{ID: "service options", Services: []dag.Service{{Name: "info", Image: busybox(t), Ports: []string{"18096"},
			Env:     map[string]string{"FROM_ENV": "env", "BOTH": "env wins"},
			Options: `--user nobody --workdir /tmp -e FROM_OPTIONS=options -e BOTH=options --entrypoint /bin/sh --hostname info.local --cpus 2`,
			Command: []string{"-c", `mkdir -p www && (id -un; pwd; hostname; echo "$FROM_OPTIONS $FROM_ENV $BOTH") > www/info && exec httpd -f -p 18096 -h www`}}}})
		if got := mustSh(t, ws, "wget -qO- http://info:18096/info"); got != "nobody\n/tmp\ninfo.local\noptions env env wins\n" {
			t.Errorf("the service ran with %q", got)
		}
		if len(msgs.matching(`service "info": not applied on BuildKit: --cpus 2 (BuildKit sets no CPU or memory limit`)) != 1 {
			t.Errorf("--cpus not reported: %q", msgs.list)
		}
	})
}

// TestContainerHome: a job container's HOME is /github/home, as GitHub's
// runner sets it, one directory that later steps and Docker actions share.
func TestContainerHome(t *testing.T) {
	e := newExecutor(t, buildkit.Options{})
	ws := prepare(t, e, &dag.Node{ID: "home", Image: busybox(t)})
	if got := mustSh(t, ws, `echo "$HOME"; echo registry=local > "$HOME/.npmrc"`); got != "/github/home\n" {
		t.Errorf("HOME is %q", got)
	}
	var out strings.Builder
	env := append(slices.Clone(ws.(runner.ImageEnv).ImageEnv()), "STATE="+ws.StateDir())
	code, err := ws.(runner.ImageRunner).RunImage(t.Context(), runner.ActionImage{Ref: busybox(t), Entrypoint: []string{"/bin/sh"}, Args: []string{"-c", `cat "$HOME/.npmrc"; echo action >> "$HOME/.npmrc"`}},
		runner.Command{Env: env, Stdout: &out})
	if err != nil || code != 0 || out.String() != "registry=local\n" {
		t.Errorf("the Docker action read %q from HOME: exit %d, %v", out.String(), code, err)
	}
	if got := mustSh(t, ws, `cat "$HOME/.npmrc"`); got != "registry=local\naction\n" {
		t.Errorf("after the action HOME holds %q", got)
	}
}
