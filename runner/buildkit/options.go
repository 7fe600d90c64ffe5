package buildkit

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry/internal/cmdline"
)

// dockerValueFlags are the options of docker run/create that take a
// value, by long name, with their one-letter shorthands (docker 27's
// flags); every other long option is a switch (--rm, --init, ...).
var dockerValueFlags = map[string]string{
	"add-host": "", "annotation": "", "attach": "a", "blkio-weight": "", "blkio-weight-device": "",
	"cap-add": "", "cap-drop": "", "cgroup-parent": "", "cgroupns": "", "cidfile": "",
	"cpu-count": "", "cpu-percent": "", "cpu-period": "", "cpu-quota": "", "cpu-rt-period": "",
	"cpu-rt-runtime": "", "cpu-shares": "c", "cpus": "", "cpuset-cpus": "", "cpuset-mems": "",
	"detach-keys": "", "device": "", "device-cgroup-rule": "", "device-read-bps": "", "device-read-iops": "",
	"device-write-bps": "", "device-write-iops": "", "dns": "", "dns-opt": "", "dns-option": "", "dns-search": "",
	"domainname": "", "entrypoint": "", "env": "e", "env-file": "", "expose": "", "gpus": "", "group-add": "",
	"health-cmd": "", "health-interval": "", "health-retries": "", "health-start-interval": "",
	"health-start-period": "", "health-timeout": "", "hostname": "h", "io-maxbandwidth": "", "io-maxiops": "",
	"ip": "", "ip6": "", "ipc": "", "isolation": "", "kernel-memory": "", "label": "l", "label-file": "",
	"link": "", "link-local-ip": "", "log-driver": "", "log-opt": "", "mac-address": "", "memory": "m",
	"memory-reservation": "", "memory-swap": "", "memory-swappiness": "", "mount": "", "name": "",
	"network": "", "net": "", "network-alias": "", "net-alias": "", "oom-score-adj": "", "pid": "",
	"pids-limit": "", "platform": "", "publish": "p", "pull": "", "restart": "", "runtime": "",
	"security-opt": "", "shm-size": "", "stop-signal": "", "stop-timeout": "", "storage-opt": "",
	"sysctl": "", "tmpfs": "", "ulimit": "", "user": "u", "userns": "", "uts": "", "volume": "v",
	"volume-driver": "", "volumes-from": "", "workdir": "w",
}

// dockerSwitches are docker run's switches by shorthand.
var dockerSwitches = map[byte]string{'d': "detach", 'i': "interactive", 't': "tty", 'P': "publish-all", 'q': "quiet"}

// dockerFlag is one option of a docker run command line: its long name,
// its value (a switch's is "true" unless written), and the words it was
// written as, for messages.
type dockerFlag struct {
	name, value string
	written     string
}

// dockerShorthands are the one-letter forms of dockerValueFlags.
var dockerShorthands = func() map[byte]string {
	short := map[byte]string{}
	for long, s := range dockerValueFlags {
		if s != "" {
			short[s[0]] = long
		}
	}
	return short
}()

// parseDockerFlags reads a docker run command line's options as the
// docker CLI does (pflag): --name value, --name=value, -x value, -xvalue,
// -x=value, and grouped switches (-it). Words that are no option (docker
// would take the first for the image) and unknown options come back in
// stray.
func parseDockerFlags(args []string) (flags []dockerFlag, stray []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		// next takes an option's value from the word after a: false when
		// there is none (and a is stray).
		next := func() (value, written string, ok bool) {
			if i+1 == len(args) {
				stray = append(stray, a+" (no value)")
				return "", "", false
			}
			i++
			return args[i], a + " " + args[i], true
		}
		switch {
		case strings.HasPrefix(a, "--") && len(a) > 2:
			name, value, hasValue := strings.Cut(a[2:], "=")
			if _, ok := dockerValueFlags[name]; ok {
				written := a
				if !hasValue {
					var ok bool
					if value, written, ok = next(); !ok {
						continue
					}
				}
				flags = append(flags, dockerFlag{name: name, value: value, written: written})
				continue
			}
			if !hasValue {
				value = "true"
			}
			flags = append(flags, dockerFlag{name: name, value: value, written: a})
		case strings.HasPrefix(a, "-") && len(a) > 1 && a != "--":
			// A group of shorthands: switches, then at most one that takes
			// a value (the rest of the word, or the next one).
			for j := 1; j < len(a); j++ {
				c := a[j]
				if long, ok := dockerShorthands[c]; ok {
					value, written := a[j+1:], a
					value = strings.TrimPrefix(value, "=")
					if j+1 == len(a) {
						var ok bool
						if value, written, ok = next(); !ok {
							break
						}
					}
					flags = append(flags, dockerFlag{name: long, value: value, written: written})
					break
				}
				if long, ok := dockerSwitches[c]; ok {
					flags = append(flags, dockerFlag{name: long, value: "true", written: "-" + string(c)})
					continue
				}
				stray = append(stray, a)
				break
			}
		default:
			stray = append(stray, a)
		}
	}
	return flags, stray
}

// runOptions are the docker run options of a container (GitHub's
// container.options and services.<id>.options) that gantry applies.
type runOptions struct {
	hostname   string
	user       string
	env        []string // KEY=VALUE, in order
	workdir    string
	entrypoint *string // --entrypoint "" resets the image's
	// health is the --health-* options: they override the image's
	// HEALTHCHECK field by field, as docker's do.
	healthCmd                                  *string
	healthInterval, healthTimeout, healthStart time.Duration
	healthRetries                              int
	noHealthcheck                              bool
	addHosts                                   [][2]string // host, IP
	ulimits                                    []ulimit
	cpus, memory                               string
	shmSize                                    int64
	tmpfs                                      []string // container paths
	notApplied                                 []string // as written
}

type ulimit struct {
	name       string
	soft, hard int64
}

// parseRunOptions reads a container's options. What gantry does not apply
// (or could not read) is listed in notApplied, as written; it never fails.
func parseRunOptions(s string) runOptions {
	var o runOptions
	flags, stray := parseDockerFlags(cmdline.Split(s))
	for _, a := range stray {
		if a == "" {
			a = `""`
		}
		o.notApplied = append(o.notApplied, a)
	}
	bad := func(f dockerFlag, err error) {
		o.notApplied = append(o.notApplied, fmt.Sprintf("%s (%v)", f.written, err))
	}
	for _, f := range flags {
		switch f.name {
		case "hostname":
			o.hostname = f.value
		case "user":
			o.user = f.value
		case "env":
			if strings.Contains(f.value, "=") {
				o.env = append(o.env, f.value)
			} else if v, ok := os.LookupEnv(f.value); ok {
				// -e NAME passes this machine's NAME, as docker does; an unset
				// NAME is left out.
				o.env = append(o.env, f.value+"="+v)
			}
		case "workdir":
			o.workdir = f.value
		case "entrypoint":
			v := f.value
			o.entrypoint = &v
		case "health-cmd":
			v := f.value
			o.healthCmd = &v
		case "health-interval", "health-timeout", "health-start-period":
			d, err := time.ParseDuration(f.value)
			if err != nil || d < 0 {
				bad(f, fmt.Errorf("want a duration such as 10s"))
				continue
			}
			switch f.name {
			case "health-interval":
				o.healthInterval = d
			case "health-timeout":
				o.healthTimeout = d
			default:
				o.healthStart = d
			}
		case "health-retries":
			n, err := strconv.Atoi(f.value)
			if err != nil || n < 0 {
				bad(f, fmt.Errorf("want a count"))
				continue
			}
			o.healthRetries = n
		case "no-healthcheck":
			o.noHealthcheck = f.value == "true"
		case "add-host":
			host, ip, ok := strings.Cut(f.value, ":")
			if !ok {
				host, ip, ok = strings.Cut(f.value, "=")
			}
			if !ok || host == "" || ip == "" {
				bad(f, fmt.Errorf("want HOST:IP"))
				continue
			}
			o.addHosts = append(o.addHosts, [2]string{host, strings.Trim(ip, "[]")})
		case "ulimit":
			u, err := parseUlimit(f.value)
			if err != nil {
				bad(f, err)
				continue
			}
			o.ulimits = append(o.ulimits, u)
		case "cpus":
			o.cpus = f.written
		case "memory":
			o.memory = f.written
		case "shm-size":
			n, err := ramInBytes(f.value)
			if err != nil || n <= 0 {
				bad(f, fmt.Errorf("want a size such as 2g"))
				continue
			}
			o.shmSize = n
		case "tmpfs":
			p, _, _ := strings.Cut(f.value, ":")
			o.tmpfs = append(o.tmpfs, p)
		default:
			o.notApplied = append(o.notApplied, f.written)
		}
	}
	return o
}

// ulimitNames are the limits docker's --ulimit takes.
var ulimitNames = []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}

// parseUlimit reads docker's --ulimit NAME=SOFT[:HARD] (-1 for no limit).
func parseUlimit(s string) (ulimit, error) {
	name, limits, ok := strings.Cut(s, "=")
	if !ok || !slices.Contains(ulimitNames, name) {
		return ulimit{}, fmt.Errorf("want NAME=SOFT[:HARD], NAME one of %s", strings.Join(ulimitNames, ", "))
	}
	softText, hardText, hasHard := strings.Cut(limits, ":")
	soft, err := strconv.ParseInt(softText, 10, 64)
	if err != nil || soft < -1 {
		return ulimit{}, fmt.Errorf("limit %q is not a number", softText)
	}
	hard := soft
	if hasHard {
		if hard, err = strconv.ParseInt(hardText, 10, 64); err != nil || hard < -1 {
			return ulimit{}, fmt.Errorf("limit %q is not a number", hardText)
		}
		if hard != -1 && (soft == -1 || soft > hard) {
			return ulimit{}, fmt.Errorf("soft limit %d is above the hard limit %d", soft, hard)
		}
	}
	return ulimit{name: name, soft: soft, hard: hard}, nil
}

// ramInBytes reads a size as docker does: a number and an optional unit,
// b, k, m, g, t or p (powers of 1024), with an optional trailing b (512m,
// 2GB, 1.5g).
func ramInBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	if strings.HasSuffix(t, "b") && len(t) > 1 && strings.ContainsRune("kmgtp", rune(t[len(t)-2])) {
		t = t[:len(t)-1]
	}
	if t != "" {
		if i := strings.IndexByte("bkmgtp", t[len(t)-1]); i >= 0 {
			for range i {
				mult *= 1024
			}
			t = t[:len(t)-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f*float64(mult) > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q: want a number and a unit (b, k, m, g)", s)
	}
	return int64(f * float64(mult)), nil
}
