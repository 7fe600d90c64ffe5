package buildkit

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/dag"
)

func TestParsePort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    servicePort
		wantErr string
	}{
		{in: "80", want: servicePort{container: 80, proto: "tcp"}},
		{in: "8080:80", want: servicePort{host: 8080, container: 80, proto: "tcp"}},
		{in: "127.0.0.1:8080:80", want: servicePort{hostIP: "127.0.0.1", host: 8080, container: 80, proto: "tcp"}},
		{in: "127.0.0.1::80", want: servicePort{hostIP: "127.0.0.1", container: 80, proto: "tcp"}},
		{in: "[::1]:8080:80", want: servicePort{hostIP: "::1", host: 8080, container: 80, proto: "tcp"}},
		{in: "5432/tcp", want: servicePort{container: 5432, proto: "tcp"}},
		{in: "53:53/UDP", want: servicePort{host: 53, container: 53, proto: "udp"}},
		{in: "8000-8010:8000-8010", wantErr: `port "8000-8010:8000-8010": "8000-8010" is not a port number (ranges are not supported)`},
		{in: "http", wantErr: `"http" is not a port number`},
		{in: "70000", wantErr: `"70000" is not a port number`},
		{in: "1:2:3:4", wantErr: "want [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]"},
		{in: "[::1:80", wantErr: "no ] after the IPv6 address"},
	} {
		got, err := parsePort(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parsePort(%q) = %+v, %v; want error %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		tc.want.written = tc.in
		if err != nil || got != tc.want {
			t.Errorf("parsePort(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	cmd := "pg_isready"
	image := &healthConfig{Test: []string{"CMD-SHELL", "curl -f localhost"}, Interval: 5 * time.Second, Retries: 10}
	for _, tc := range []struct {
		name  string
		image *healthConfig
		opts  runOptions
		want  healthCheck
	}{
		{name: "none", want: healthCheck{interval: 30 * time.Second, timeout: 30 * time.Second, retries: 3}},
		{name: "the image's", image: image,
			want: healthCheck{argv: []string{"/bin/sh", "-c", "curl -f localhost"}, written: "curl -f localhost", interval: 5 * time.Second, timeout: 30 * time.Second, retries: 10}},
		{name: "the image's CMD form", image: &healthConfig{Test: []string{"CMD", "/healthcheck", "--quick"}},
			want: healthCheck{argv: []string{"/healthcheck", "--quick"}, written: "/healthcheck --quick", interval: 30 * time.Second, timeout: 30 * time.Second, retries: 3}},
		{name: "HEALTHCHECK NONE", image: &healthConfig{Test: []string{"NONE"}}, want: healthCheck{interval: 30 * time.Second, timeout: 30 * time.Second, retries: 3}},
		{name: "options over the image's, field by field", image: image, opts: runOptions{healthCmd: &cmd, healthTimeout: time.Second, healthStart: time.Minute},
			want: healthCheck{argv: []string{"/bin/sh", "-c", "pg_isready"}, written: "pg_isready", interval: 5 * time.Second, timeout: time.Second, startPeriod: time.Minute, retries: 10}},
		{name: "--no-healthcheck", image: image, opts: runOptions{noHealthcheck: true}, want: healthCheck{interval: 5 * time.Second, timeout: 30 * time.Second, retries: 10}},
	} {
		if got := health(tc.image, tc.opts); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: health = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestServiceCommand(t *testing.T) {
	t.Parallel()
	cfg := imageConfig{Entrypoint: []string{"docker-entrypoint.sh"}, Cmd: []string{"postgres"}}
	sh, empty := "/bin/sh", ""
	for _, tc := range []struct {
		name string
		svc  dag.Service
		opts runOptions
		want []string
	}{
		{name: "the image's", want: []string{"docker-entrypoint.sh", "postgres"}},
		{name: "command replaces CMD", svc: dag.Service{Command: []string{"postgres", "-c", "fsync=off"}}, want: []string{"docker-entrypoint.sh", "postgres", "-c", "fsync=off"}},
		{name: "entrypoint drops CMD", svc: dag.Service{Entrypoint: []string{"/bin/true"}}, want: []string{"/bin/true"}},
		{name: "--entrypoint drops CMD", opts: runOptions{entrypoint: &sh}, want: []string{"/bin/sh"}},
		{name: "--entrypoint with a command", svc: dag.Service{Command: []string{"-c", "exit 0"}}, opts: runOptions{entrypoint: &sh}, want: []string{"/bin/sh", "-c", "exit 0"}},
		{name: "--entrypoint \"\" resets it", svc: dag.Service{Command: []string{"redis-server"}}, opts: runOptions{entrypoint: &empty}, want: []string{"redis-server"}},
		{name: "entrypoint: wins over --entrypoint", svc: dag.Service{Entrypoint: []string{"/x"}}, opts: runOptions{entrypoint: &sh}, want: []string{"/x"}},
	} {
		if got := (&workspace{}).serviceCommand(tc.svc, cfg, tc.opts); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseProcNetTCP(t *testing.T) {
	t.Parallel()
	listing := `sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
2: 0100007F:A3C2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
0: 00000000000000000000000001000000:1538 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0
`
	got, err := parseProcNetTCP(listing)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[int]bool{8080: true, 22: true, 5432: true}; !reflect.DeepEqual(got, want) {
		t.Errorf("listening ports %v, want %v (an established connection's port is not one)", got, want)
	}
	if _, err := parseProcNetTCP("sh: can't open /proc/net/tcp\n"); err == nil {
		t.Error("no listing is an error")
	}
}

func TestLookupOwner(t *testing.T) {
	t.Parallel()
	passwd := []byte("root:x:0:0:root:/root:/bin/sh\n# comment\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nnode:x:1000:1000::/home/node:/bin/bash\n")
	group := []byte("root:x:0:\nstaff:x:50:\nnogroup:x:65534:\n")
	for _, tc := range []struct {
		user    string
		want    owner
		wantErr string
	}{
		{user: "root", want: owner{0, 0}},
		{user: "node", want: owner{1000, 1000}},
		{user: "1000", want: owner{1000, 1000}},
		{user: "4242", want: owner{4242, 0}},
		{user: "node:staff", want: owner{1000, 50}},
		{user: "node:77", want: owner{1000, 77}},
		{user: "4242:4343", want: owner{4242, 4343}},
		{user: "ghost", wantErr: "unable to find user ghost: no matching entries in the image's /etc/passwd"},
		{user: "node:ghosts", wantErr: "unable to find group ghosts: no matching entries in the image's /etc/group"},
	} {
		got, err := lookupOwner(passwd, group, tc.user)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("lookupOwner(%q) = %+v, %v; want error %q", tc.user, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("lookupOwner(%q) = %+v, %v; want %+v", tc.user, got, err, tc.want)
		}
	}
	if got, err := lookupOwner(nil, nil, "1001"); err != nil || got != (owner{1001, 0}) {
		t.Errorf("a numeric user in an image without passwd: %+v, %v", got, err)
	}
}

func TestShellName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"PATH": true, "_x1": true, "INPUT_GITHUB_TOKEN": true, "INPUT_GITHUB-TOKEN": false, "A.B": false, "1X": false, "": false, "Ä": false, "a b": false} {
		if got := shellName(name); got != want {
			t.Errorf("shellName(%q) = %v", name, got)
		}
	}
}

// TestImageMapping: -P maps images by normalised name, wherever they are
// named; labels that are no image name are left to runs-on; the
// Dockerfile frontend gets a named context per mapped name.
func TestImageMapping(t *testing.T) {
	t.Parallel()
	rootfs := t.TempDir()
	e := &Executor{opts: Options{StateDir: t.TempDir(), Images: map[string]string{
		"ubuntu-latest":                  "rootfs://" + rootfs,
		"self-hosted,Linux":              "rootfs://" + rootfs,
		"alpine":                         "rootfs://" + rootfs,
		"docker.io/library/node:20":      "ghcr.io/mirror/node:20",
		"catthehacker/ubuntu:act-latest": "localhost:5000/act:latest",
	}}}
	for ref, want := range map[string]string{
		"alpine": "rootfs://" + rootfs, "alpine:latest": "rootfs://" + rootfs, "docker.io/library/alpine": "rootfs://" + rootfs,
		"node:20": "ghcr.io/mirror/node:20", "docker.io/catthehacker/ubuntu:act-latest": "localhost:5000/act:latest",
		"alpine:3": "", "node": "", "rootfs://x": "", "Not An Image": "",
	} {
		got, ok := e.mapImage(ref)
		if ok != (want != "") || (ok && got != want) || (!ok && got != ref) {
			t.Errorf("mapImage(%q) = %q, %v; want %q", ref, got, ok, want)
		}
	}
	if ref, why := e.imageRef(&dag.Node{Image: "alpine:latest"}); ref != "rootfs://"+rootfs || why != "the job's image alpine:latest, mapped with -P" {
		t.Errorf("imageRef of a mapped job image: %q, %q", ref, why)
	}
	if ref, why := e.imageRef(&dag.Node{Image: "golang:1.22"}); ref != "golang:1.22" || why != "the job's image" {
		t.Errorf("imageRef of an unmapped job image: %q, %q", ref, why)
	}
	opts, inputs, err := e.namedContexts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"context:ubuntu-latest":                  "input:",
		"context:alpine":                         "input:",
		"context:node:20":                        "docker-image://ghcr.io/mirror/node:20",
		"context:catthehacker/ubuntu:act-latest": "docker-image://localhost:5000/act:latest",
	} {
		if got := opts[name]; !strings.HasPrefix(got, want) {
			t.Errorf("named context %s = %q, want %s...", name, got, want)
		} else if input, ok := strings.CutPrefix(got, "input:"); ok && inputs[input] == nil {
			t.Errorf("named context %s names input %q, which is missing", name, input)
		}
	}
	if len(opts) != 4 {
		t.Errorf("named contexts %v: the label with a comma is no image name", opts)
	}
}
