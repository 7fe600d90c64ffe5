package buildkit

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/moby/buildkit/client/llb"
)

// jobContainer is how a node's steps run, beside its image: what GitHub's
// runner makes of the job container's options (container.options, the
// image's USER), applied to every step's exec.
type jobContainer struct {
	// env is the container's environment: the image's, then the
	// container's env: and --env options. Steps get it where on the host
	// they get the host's variables, and their own env wins over it, as
	// docker exec -e wins over the container's.
	env []string
	// user runs the steps (--user, else GitLab's image:docker:user, else
	// the image's USER); empty is the image's default, root.
	user     string
	hostname string
	run      []llb.RunOption
}

// jobContainer reads the node's container settings over its image's.
// What gantry cannot apply is reported once (see reportOnce), at the
// node's position.
func (e *Executor) jobContainer(n *dag.Node, cfg imageConfig) jobContainer {
	jc := jobContainer{env: slices.Clone(cfg.Env), user: cfg.User}
	c := n.Container
	if c == nil {
		return jc
	}
	jc.user = cmp.Or(c.User, jc.user)
	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		jc.env = setVar(jc.env, k+"="+c.Env[k])
	}
	o := parseRunOptions(c.Options)
	for _, kv := range o.env {
		jc.env = setVar(jc.env, kv)
	}
	jc.user = cmp.Or(o.user, jc.user)
	jc.hostname = o.hostname
	jc.run = o.runOptions()
	var notApplied, noEffect []string
	notApplied = append(notApplied, o.notApplied...)
	notApplied = append(notApplied, o.limits()...)
	// The runner runs steps with docker exec --workdir (the step's
	// working directory) in a container started with its own entrypoint
	// (tail -f /dev/null), and checks no health but services': on GitHub
	// these change nothing a step sees either.
	if o.workdir != "" {
		noEffect = append(noEffect, "--workdir "+o.workdir)
	}
	if o.entrypoint != nil {
		noEffect = append(noEffect, fmt.Sprintf("--entrypoint %q", *o.entrypoint))
	}
	if o.healthCmd != nil || o.noHealthcheck {
		noEffect = append(noEffect, "--health-*")
	}
	if len(c.Volumes) > 0 {
		notApplied = append(notApplied, "volumes "+strings.Join(c.Volumes, ", ")+" (gantry mounts the workspace, caches and secrets, no host directory)")
	}
	if len(c.Ports) > 0 {
		notApplied = append(notApplied, "ports "+strings.Join(c.Ports, ", ")+" (the job container publishes no port)")
	}
	var parts []string
	if len(notApplied) > 0 {
		parts = append(parts, "not applied on BuildKit: "+strings.Join(notApplied, ", "))
	}
	if len(noEffect) > 0 {
		parts = append(parts, "no effect on the steps, as on GitHub, whose runner starts each step with docker exec in the workspace: "+strings.Join(noEffect, ", "))
	}
	if len(parts) > 0 {
		e.reportOnce(n, "container options: "+strings.Join(parts, "; "))
	}
	return jc
}

// runOptions are the exec options of the container options gantry
// applies to every process the way docker would: extra hosts, ulimits,
// tmpfs mounts and /dev/shm's size.
func (o runOptions) runOptions() []llb.RunOption {
	var run []llb.RunOption
	for _, h := range o.addHosts {
		if ip := net.ParseIP(h[1]); ip != nil {
			run = append(run, llb.AddExtraHost(h[0], ip))
		}
	}
	for _, u := range o.ulimits {
		run = append(run, llb.AddUlimit(llb.UlimitName(u.name), u.soft, u.hard))
	}
	for _, p := range o.tmpfs {
		run = append(run, llb.AddMount(p, llb.Scratch(), llb.Tmpfs()))
	}
	if o.shmSize > 0 {
		run = append(run, llb.AddMount("/dev/shm", llb.Scratch(), llb.Tmpfs(llb.TmpfsSize(o.shmSize))))
	}
	return run
}

// limits are the resource limits asked for, which BuildKit cannot set.
func (o runOptions) limits() []string {
	var out []string
	for _, l := range []string{o.cpus, o.memory} {
		if l != "" {
			out = append(out, l+" (BuildKit sets no CPU or memory limit on a process)")
		}
	}
	return out
}

// reportOnce gives the user a message about a node once per run: the
// nodes of one matrix share their source, and say it once.
func (e *Executor) reportOnce(n *dag.Node, msg string) {
	if pos := n.Pos.String(); pos != "" {
		msg = pos + ": " + msg
	}
	if _, seen := e.reported.LoadOrStore(msg, true); !seen {
		e.notice(n.ID, "%s", msg)
	}
}

// setVar sets KEY=VALUE in env, in place of an earlier KEY.
func setVar(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	out := slices.DeleteFunc(slices.Clone(env), func(e string) bool { return strings.HasPrefix(e, k+"=") || e == k })
	return append(out, kv)
}

// owner is the numeric user and group the steps run as, when not root:
// the workspace, the state directory, the record of each step and the
// cache mounts are theirs, as a job's workspace belongs on GitHub to the
// user whose steps write it.
type owner struct{ uid, gid int }

// lookupOwner resolves a docker --user value (NAME or UID, with an
// optional :GROUP or :GID) against the image's /etc/passwd and
// /etc/group, as docker does: a name must be in passwd; a numeric user
// need not be, and then has group 0 unless one is given.
func lookupOwner(passwd, group []byte, user string) (owner, error) {
	name, grp, hasGroup := strings.Cut(user, ":")
	o := owner{uid: -1}
	entries := func(data []byte) [][]string {
		var out [][]string
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				out = append(out, strings.Split(line, ":"))
			}
		}
		return out
	}
	uid, numeric := parseID(name)
	for _, f := range entries(passwd) {
		if len(f) < 4 {
			continue
		}
		id, ok := parseID(f[2])
		if !ok || (numeric && id != uid) || (!numeric && f[0] != name) {
			continue
		}
		o.uid = id
		if gid, ok := parseID(f[3]); ok {
			o.gid = gid
		}
		break
	}
	if o.uid < 0 {
		if !numeric {
			return owner{}, fmt.Errorf("unable to find user %s: no matching entries in the image's /etc/passwd", name)
		}
		o.uid, o.gid = uid, 0
	}
	if hasGroup {
		gid, numeric := parseID(grp)
		found := numeric
		for _, f := range entries(group) {
			if len(f) >= 3 && !numeric && f[0] == grp {
				if gid, found = parseID(f[2]); found {
					break
				}
			}
		}
		if !found {
			return owner{}, fmt.Errorf("unable to find group %s: no matching entries in the image's /etc/group", grp)
		}
		o.gid = gid
	}
	return o, nil
}

func parseID(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}
