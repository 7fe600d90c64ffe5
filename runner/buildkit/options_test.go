package buildkit

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDockerFlags(t *testing.T) {
	t.Parallel()
	type f = dockerFlag
	for _, tc := range []struct {
		name      string
		args      []string
		want      []dockerFlag
		wantStray []string
	}{
		{name: "long with a separate value", args: []string{"--user", "1000:1000"}, want: []f{{"user", "1000:1000", "--user 1000:1000"}}},
		{name: "long with =", args: []string{"--user=nobody"}, want: []f{{"user", "nobody", "--user=nobody"}}},
		{name: "long with = and an empty value", args: []string{"--entrypoint="}, want: []f{{"entrypoint", "", "--entrypoint="}}},
		{name: "short with a separate value", args: []string{"-e", "A=1"}, want: []f{{"env", "A=1", "-e A=1"}}},
		{name: "short glued", args: []string{"-eA=1"}, want: []f{{"env", "A=1", "-eA=1"}}},
		{name: "short with =", args: []string{"-u=root"}, want: []f{{"user", "root", "-u=root"}}},
		{name: "switches", args: []string{"--rm", "--init", "--privileged=false"}, want: []f{{"rm", "true", "--rm"}, {"init", "true", "--init"}, {"privileged", "false", "--privileged=false"}}},
		{name: "grouped switches and a value", args: []string{"-itu", "root"}, want: []f{{"interactive", "true", "-i"}, {"tty", "true", "-t"}, {"user", "root", "-itu root"}}},
		{name: "a value that looks like an option", args: []string{"--entrypoint", "--help"}, want: []f{{"entrypoint", "--help", "--entrypoint --help"}}},
		{name: "a word that is no option", args: []string{"--cpus", "1", "ubuntu"}, want: []f{{"cpus", "1", "--cpus 1"}}, wantStray: []string{"ubuntu"}},
		{name: "an option without its value", args: []string{"--memory"}, wantStray: []string{"--memory (no value)"}},
		{name: "a short option without its value", args: []string{"-m"}, wantStray: []string{"-m (no value)"}},
		{name: "an unknown shorthand", args: []string{"-Z"}, wantStray: []string{"-Z"}},
		{name: "unknown long options are switches", args: []string{"--gantry-future"}, want: []f{{"gantry-future", "true", "--gantry-future"}}},
		{name: "a dash alone", args: []string{"-", "--"}, wantStray: []string{"-", "--"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, stray := parseDockerFlags(tc.args)
			if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(stray, tc.wantStray) {
				t.Errorf("parseDockerFlags(%q) = %+v, %q; want %+v, %q", tc.args, got, stray, tc.want, tc.wantStray)
			}
		})
	}
}

func TestParseRunOptions(t *testing.T) {
	t.Setenv("GANTRY_TEST_PASSED", "from the host")
	empty := ""
	shell := "redis-cli ping"
	for _, tc := range []struct {
		name string
		in   string
		want runOptions
	}{
		{name: "none", in: ""},
		{name: "what gantry applies", in: `--hostname box -u 1000:1000 -e A=1 --env "B=two words" -e GANTRY_TEST_PASSED -e GANTRY_TEST_UNSET -w /src --entrypoint ""`,
			want: runOptions{hostname: "box", user: "1000:1000", env: []string{"A=1", "B=two words", "GANTRY_TEST_PASSED=from the host"}, workdir: "/src", entrypoint: &empty}},
		{name: "health", in: `--health-cmd "redis-cli ping" --health-interval 10s --health-timeout=5s --health-retries 5 --health-start-period 1m`,
			want: runOptions{healthCmd: &shell, healthInterval: 10 * time.Second, healthTimeout: 5 * time.Second, healthRetries: 5, healthStart: time.Minute}},
		{name: "no health check", in: "--no-healthcheck", want: runOptions{noHealthcheck: true}},
		{name: "limits and mounts", in: "--cpus 2 --memory=4g --shm-size 2g --ulimit nofile=1024:2048 --tmpfs /run:rw,size=64m --add-host db.local:10.0.0.2 --add-host=v6:[::1]",
			want: runOptions{cpus: "--cpus 2", memory: "--memory=4g", shmSize: 2 << 30, ulimits: []ulimit{{"nofile", 1024, 2048}}, tmpfs: []string{"/run"},
				addHosts: [][2]string{{"db.local", "10.0.0.2"}, {"v6", "::1"}}}},
		{name: "what gantry does not apply", in: "--privileged --cap-add SYS_ADMIN -v /data:/data --network host ubuntu",
			want: runOptions{notApplied: []string{"ubuntu", "--privileged", "--cap-add SYS_ADMIN", "-v /data:/data", "--network host"}}},
		{name: "values gantry cannot read", in: "--health-interval soon --health-retries many --ulimit nofile=x --ulimit bogus=1 --shm-size lots --add-host nohost",
			want: runOptions{notApplied: []string{"--health-interval soon (want a duration such as 10s)", "--health-retries many (want a count)",
				`--ulimit nofile=x (limit "x" is not a number)`, "--ulimit bogus=1 (want NAME=SOFT[:HARD], NAME one of " + strings.Join(ulimitNames, ", ") + ")",
				"--shm-size lots (want a size such as 2g)", "--add-host nohost (want HOST:IP)"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRunOptions(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseRunOptions(%q) =\n%+v\nwant\n%+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestRAMInBytes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"512": 512, "512b": 512, "64k": 64 << 10, "512m": 512 << 20, "512MB": 512 << 20, "2g": 2 << 30, "1.5G": 3 << 29, "1t": 1 << 40} {
		if got, err := ramInBytes(in); err != nil || got != want {
			t.Errorf("ramInBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "-1g", "lots", "nan", "1e30p", "2x"} {
		if got, err := ramInBytes(in); err == nil {
			t.Errorf("ramInBytes(%q) = %d, want an error", in, got)
		}
	}
}

// FuzzRunOptions (go test -fuzz FuzzRunOptions ./runner/buildkit/): the
// readers of what users and images write never panic, and every option
// reported as not applied is shown as something.
func FuzzRunOptions(f *testing.F) {
	for _, s := range []string{"", `--health-cmd "pg_isready -U postgres" --health-interval 10s`, "-itu root --cpus=1 -m 2g", `-e "" ""`,
		"--ulimit nofile=1:2 --shm-size 1.5g --add-host a:1.2.3.4", "127.0.0.1:8080:80/tcp", "node:x:1000:1000::/home/node:/bin/sh",
		"0: 0100007F:1F90 00000000:0000 0A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o := parseRunOptions(s)
		for _, n := range o.notApplied {
			if n == "" {
				t.Errorf("parseRunOptions(%q): an empty entry among those not applied", s)
			}
		}
		parsePort(s)
		lookupOwner([]byte(s), []byte(s), s)
		parseProcNetTCP(s)
		ramInBytes(s)
		parseUlimit(s)
	})
}
