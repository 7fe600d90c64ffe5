package buildkit

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gantry-ci/gantry/dag"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
)

// service is a running service container of a node.
type service struct {
	name  string
	ctr   gateway.Container
	proc  gateway.ContainerProcess
	out   *lockedBuffer
	ended chan error
}

// healthCheck is a service's health check as docker runs it: the image's
// HEALTHCHECK with the --health-* options over it.
type healthCheck struct {
	argv                           []string // nil: none
	written                        string   // for messages
	interval, timeout, startPeriod time.Duration
	retries                        int
}

// Docker's defaults for a health check's timing.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 30 * time.Second
	defaultHealthRetries  = 3
)

// health is the service's health check: the image's HEALTHCHECK, its
// fields replaced by the --health-* options given, none with
// --no-healthcheck or HEALTHCHECK NONE.
func health(img *healthConfig, o runOptions) healthCheck {
	var h healthCheck
	if img != nil {
		switch {
		case len(img.Test) == 0 || img.Test[0] == "NONE":
		case img.Test[0] == "CMD-SHELL" && len(img.Test) > 1:
			h.argv, h.written = []string{"/bin/sh", "-c", img.Test[1]}, img.Test[1]
		case img.Test[0] == "CMD" && len(img.Test) > 1:
			h.argv, h.written = img.Test[1:], strings.Join(img.Test[1:], " ")
		}
		h.interval, h.timeout, h.startPeriod, h.retries = img.Interval, img.Timeout, img.StartPeriod, img.Retries
	}
	if o.healthCmd != nil {
		h.argv, h.written = []string{"/bin/sh", "-c", *o.healthCmd}, *o.healthCmd
	}
	if o.noHealthcheck {
		h.argv, h.written = nil, ""
	}
	h.interval = cmp.Or(o.healthInterval, h.interval, defaultHealthInterval)
	h.timeout = cmp.Or(o.healthTimeout, h.timeout, defaultHealthTimeout)
	h.startPeriod = cmp.Or(o.healthStart, h.startPeriod)
	h.retries = cmp.Or(o.healthRetries, h.retries, defaultHealthRetries)
	return h
}

// servicePort is one ports: entry: [HOSTIP:][HOSTPORT:]CONTAINERPORT[/PROTO].
type servicePort struct {
	hostIP          string
	host, container int // host 0: none given
	proto           string
	written         string
}

// parsePort reads a ports: entry as docker -p does.
func parsePort(p string) (servicePort, error) {
	sp := servicePort{written: p, proto: "tcp"}
	spec, proto, ok := strings.Cut(p, "/")
	if ok {
		sp.proto = strings.ToLower(proto)
	}
	parts := strings.Split(spec, ":")
	if strings.HasPrefix(spec, "[") { // [::1]:8080:80
		end := strings.Index(spec, "]")
		if end < 0 {
			return sp, fmt.Errorf("port %q: no ] after the IPv6 address", p)
		}
		sp.hostIP = spec[1:end]
		parts = strings.Split(strings.TrimPrefix(spec[end+1:], ":"), ":")
	}
	number := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 65535 {
			return 0, fmt.Errorf("port %q: %q is not a port number (ranges are not supported)", p, s)
		}
		return n, nil
	}
	var err error
	switch {
	case len(parts) == 1:
		sp.container, err = number(parts[0])
	case len(parts) == 2:
		if sp.host, err = number(parts[0]); err == nil {
			sp.container, err = number(parts[1])
		}
	case len(parts) == 3 && sp.hostIP == "":
		sp.hostIP = parts[0]
		if parts[1] != "" {
			sp.host, err = number(parts[1])
		}
		if err == nil {
			sp.container, err = number(parts[2])
		}
	default:
		err = fmt.Errorf("port %q: want [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]", p)
	}
	return sp, err
}

// startServices starts the node's services in the session, waits until
// each is ready, and records the host names the steps reach them by. The
// services share the network of the steps (BuildKit's host network when
// no CNI is configured), so an alias names 127.0.0.1, and a step reaches
// a service by its name on its container port, as a job container does on
// GitHub. A ports: mapping HOST:CONTAINER is published on this machine's
// HOST port when the daemon's network is this machine's, so that a step
// reaches localhost:HOST as a job on GitHub's runner host does.
//
// Readiness is as GitHub's runner checks it, and then some: a service with
// a health check (the image's HEALTHCHECK, or --health-cmd) must turn
// healthy, run as docker runs it, inside the service; a service without
// one is waited for until its ports accept connections, checked from
// outside it (see prober), with no tool inside the service image; as
// GitHub does not wait for such a service at all, one whose ports stay
// closed gets a notice and the job goes on.
func (w *workspace) startServices(ctx context.Context, services []dag.Service, images []image) error {
	for _, s := range services {
		for _, host := range append([]string{s.Name}, s.Aliases...) {
			w.hosts = append(w.hosts, &pb.HostIP{Host: host, IP: "127.0.0.1"})
		}
	}
	w.servicePorts = map[string]map[string]string{}
	probe := &lazyProber{w: w}
	defer probe.close(ctx)
	for i, s := range services {
		ref, img := s.Image, images[i]
		if err := img.config(ctx, w.gw, ref, w.auth); err != nil {
			return fmt.Errorf("service %q: %w", s.Name, ctxError(ctx, err))
		}
		root, err := w.solve(ctx, img.state)
		if err != nil {
			return fmt.Errorf("service %q: image %s: %w", s.Name, ref, err)
		}
		o := parseRunOptions(s.Options)
		argv := w.serviceCommand(s, img.cfg, o)
		if len(argv) == 0 {
			return fmt.Errorf("service %q: image %s names no command; give the service a command (GitHub: entrypoint:, command:; GitLab: command:, entrypoint:)", s.Name, ref)
		}
		var ports []servicePort
		var notApplied []string
		for _, p := range s.Ports {
			sp, err := parsePort(p)
			if err != nil {
				return fmt.Errorf("service %q: %w", s.Name, err)
			}
			if sp.proto != "tcp" {
				notApplied = append(notApplied, "port "+p+" (gantry publishes TCP ports only)")
				continue
			}
			ports = append(ports, sp)
		}
		notApplied = append(notApplied, o.notApplied...)
		notApplied = append(notApplied, o.limits()...)
		if len(notApplied) > 0 {
			w.e.reportOnce(w.node, fmt.Sprintf("service %q: not applied on BuildKit: %s", s.Name, strings.Join(notApplied, ", ")))
		}
		ctr, err := w.gw.NewContainer(ctx, gateway.NewContainerRequest{
			Mounts:     []gateway.Mount{{Dest: "/", Ref: root, MountType: pb.MountType_BIND}},
			Hostname:   cmp.Or(o.hostname, s.Name),
			ExtraHosts: w.hosts,
		})
		if err != nil {
			return fmt.Errorf("service %q: %w", s.Name, err)
		}
		// The image's variables, then --env options, then the service's
		// env: (which the runner passes after the options).
		env := slices.Clone(img.cfg.Env)
		for _, kv := range o.env {
			env = setVar(env, kv)
		}
		for _, k := range slices.Sorted(maps.Keys(s.Env)) {
			env = setVar(env, k+"="+s.Env[k])
		}
		out := &lockedBuffer{}
		proc, err := ctr.Start(ctx, gateway.StartRequest{Args: argv, Env: env, User: cmp.Or(o.user, img.cfg.User),
			Cwd: cmp.Or(o.workdir, img.cfg.WorkingDir, "/"), Stdout: out, Stderr: out})
		if err != nil {
			ctr.Release(context.WithoutCancel(ctx))
			return fmt.Errorf("service %q: starting %q: %w", s.Name, strings.Join(argv, " "), err)
		}
		svc := &service{name: s.Name, ctr: ctr, proc: proc, out: out, ended: make(chan error, 1)}
		go func() { svc.ended <- proc.Wait() }()
		w.services = append(w.services, svc)

		if h := health(img.cfg.Healthcheck, o); h.argv != nil {
			if err := w.waitHealthy(ctx, svc, h); err != nil {
				return err
			}
		} else {
			wait := ports
			if len(wait) == 0 {
				for _, p := range slices.Sorted(maps.Keys(img.cfg.ExposedPorts)) {
					if sp, err := parsePort(p); err == nil && sp.proto == "tcp" {
						wait = append(wait, sp)
					}
				}
			}
			if len(wait) > 0 {
				if p, err := probe.get(ctx); err != nil {
					w.e.notice(w.node.ID, "service %q: its ports are not checked: %v", s.Name, err)
				} else if err := w.waitPorts(ctx, svc, p, wait); err != nil {
					return err
				}
			}
		}
		if err := w.publish(ctx, s.Name, ports, probe); err != nil {
			return err
		}
		w.e.notice(w.node.ID, "service %q is up (%s, %s)", s.Name, ref, strings.Join(argv, " "))
	}
	return nil
}

// serviceCommand is what a service container runs: its entrypoint:
// (GitHub's runner passes it after the options, so it wins over
// --entrypoint), else --entrypoint, else the image's; then its command:,
// else, unless the entrypoint was replaced, the image's CMD.
func (w *workspace) serviceCommand(s dag.Service, cfg imageConfig, o runOptions) []string {
	entrypoint, cmd := cfg.Entrypoint, cfg.Cmd
	switch {
	case len(s.Entrypoint) > 0:
		entrypoint, cmd = s.Entrypoint, nil
	case o.entrypoint != nil:
		entrypoint, cmd = nil, nil
		if *o.entrypoint != "" {
			entrypoint = []string{*o.entrypoint}
		}
	}
	if len(s.Command) > 0 {
		cmd = s.Command
	}
	return append(slices.Clone(entrypoint), cmd...)
}

// waitHealthy runs the health check in the service, as docker does, until
// it succeeds: the service is then healthy. It is unhealthy when the
// check has failed retries times in a row and as long as docker would
// have taken to see that (the start period, then retries times the
// interval and a check's time), or when the service ends. The check runs
// more often than every interval (every 500 ms at most), so that a
// service is found healthy as soon as it is, without being found
// unhealthy sooner than docker would.
func (w *workspace) waitHealthy(ctx context.Context, svc *service, h healthCheck) error {
	start := time.Now()
	every := min(h.interval, 500*time.Millisecond)
	// A process of a gateway container that exits non-zero takes the
	// whole container down with it, so the check always exits 0 and says
	// how it went (the image then needs /bin/sh, as CMD-SHELL does anyway).
	argv := append([]string{"/bin/sh", "-c", `if "$@"; then echo gantry-healthy; fi; exit 0`, "gantry-health"}, h.argv...)
	var last string
	var checks, failures int
	var busy time.Duration
	for {
		select {
		case err := <-svc.ended:
			return fmt.Errorf("service %q ended before it was healthy (%v); its output:\n%s", svc.name, err, svc.out.String())
		default:
		}
		out := &lockedBuffer{}
		began := time.Now()
		cctx, cancel := context.WithTimeout(ctx, h.timeout)
		p, err := svc.ctr.Start(cctx, gateway.StartRequest{Args: argv, Cwd: "/", Stdout: out, Stderr: out})
		if err == nil {
			err = p.Wait()
		}
		cancel()
		checks++
		busy += time.Since(began)
		if err == nil && strings.Contains(out.String(), "gantry-healthy") {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(start) >= h.startPeriod {
			failures++
		}
		last = strings.TrimSpace(strings.ReplaceAll(out.String(), "gantry-healthy", ""))
		if err != nil {
			last = strings.TrimSpace(fmt.Sprintf("%v %s", err, last))
		}
		perCheck := h.interval + busy/time.Duration(checks)
		if failures >= h.retries && time.Since(start) >= h.startPeriod+time.Duration(h.retries)*perCheck {
			return fmt.Errorf("service %q is unhealthy: its health check %q still failed after %s (%d retries every %s after a start period of %s): %s",
				svc.name, h.written, time.Since(start).Round(time.Millisecond), h.retries, h.interval, h.startPeriod, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// portWait bounds the wait for a service without a health check: GitHub
// does not wait for one at all.
var portWait = 60 * time.Second

// waitPorts waits until the service's ports accept connections (are
// listened on, in the network the steps share), seen from outside the
// service. A service that ends meanwhile fails the node; one whose ports
// stay closed gets a notice.
func (w *workspace) waitPorts(ctx context.Context, svc *service, probe *prober, ports []servicePort) error {
	deadline := time.Now().Add(portWait)
	var closed []int
	for {
		select {
		case err := <-svc.ended:
			return fmt.Errorf("service %q ended (%v); its output:\n%s", svc.name, err, svc.out.String())
		default:
		}
		listening, err := probe.listening(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.e.notice(w.node.ID, "service %q: its ports are not checked: %v", svc.name, err)
			return nil
		}
		closed = closed[:0]
		for _, p := range ports {
			if !listening[p.container] {
				closed = append(closed, p.container)
			}
		}
		if len(closed) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			w.e.notice(w.node.ID, "service %q: nothing listens on port %s after %s; the job goes on, as on GitHub, which waits only for a health check", svc.name, joinInts(closed), portWait)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// ServicePorts are the node's services' ports, as GitHub's
// job.services.<id>.ports gives them: container port to the port on the
// runner's host, the mapping's or, for a port given alone, a free one (the
// container port also answers, in the steps' shared network).
func (w *workspace) ServicePorts() map[string]map[string]string {
	return w.servicePorts
}

// publish makes each HOST:CONTAINER mapping whose ports differ, and each
// port given alone (on a free host port), reachable on this machine, by a forwarder of gantry's own, when the
// daemon's network is this machine's (which it checks: a port gantry
// listens on must be seen by the prober); otherwise it says why not.
func (w *workspace) publish(ctx context.Context, name string, ports []servicePort, probe *lazyProber) error {
	known := map[string]string{}
	w.servicePorts[name] = known
	var forward []servicePort
	for _, p := range ports {
		known[strconv.Itoa(p.container)] = strconv.Itoa(p.container)
		// A port without a host port gets a free one, as docker -p
		// gives it on GitHub's runner.
		if p.host != p.container {
			forward = append(forward, p)
		}
	}
	if len(forward) == 0 {
		return nil
	}
	if !w.sharesNetwork(ctx, probe) {
		var written []string
		for _, p := range forward {
			written = append(written, p.written)
		}
		w.e.reportOnce(w.node, fmt.Sprintf("service %q: ports %s are not published: the BuildKit daemon's network is not this machine's; steps reach the service at %s or localhost on its container port",
			name, strings.Join(written, ", "), name))
		return nil
	}
	for _, p := range forward {
		f, err := forwardPort(p)
		if err != nil {
			return fmt.Errorf("service %q: publishing port %s: %w", name, p.written, err)
		}
		w.forwarders = append(w.forwarders, f)
		known[strconv.Itoa(p.container)] = strconv.Itoa(f.port)
	}
	return nil
}

// sharesNetwork reports whether the steps' network is this machine's: a
// port gantry listens on here is listened on there. Checked once.
func (w *workspace) sharesNetwork(ctx context.Context, probe *lazyProber) bool {
	if w.shared != nil {
		return *w.shared
	}
	shared := false
	defer func() { w.shared = &shared }()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return false
	}
	defer l.Close()
	p, err := probe.get(ctx)
	if err != nil {
		return false
	}
	listening, err := p.listening(ctx)
	shared = err == nil && listening[l.Addr().(*net.TCPAddr).Port]
	return shared
}

// lazyProber is the prober the services of a node share, started when
// first needed (not at all for services without ports) and closed when
// they are all up.
type lazyProber struct {
	w   *workspace
	p   *prober
	err error
}

func (l *lazyProber) get(ctx context.Context) (*prober, error) {
	if l.p == nil && l.err == nil {
		l.p, l.err = l.w.newProber(ctx)
	}
	return l.p, l.err
}

func (l *lazyProber) close(ctx context.Context) {
	if l.p != nil {
		l.p.close(ctx)
	}
}

// forwarder publishes a service's port on this machine.
type forwarder struct {
	// port is the host port, the one asked for or a free one.
	port      int
	listeners []net.Listener
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     map[net.Conn]bool
	closed    bool
}

// forwardPort listens on the mapping's host port (on its host IP, else
// on the loopback addresses: 127.0.0.1, and ::1 where there is one) and
// forwards each connection to the container port on the loopback.
func forwardPort(p servicePort) (*forwarder, error) {
	f := &forwarder{conns: map[net.Conn]bool{}}
	ips := []string{"127.0.0.1", "::1"}
	if p.hostIP != "" {
		ips = []string{p.hostIP}
	}
	f.port = p.host
	for i, ip := range ips {
		// The first listener picks a free port when none was given; the
		// others take the same.
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(f.port)))
		if err != nil {
			if i > 0 {
				continue // no IPv6 loopback here
			}
			f.close()
			return nil, err
		}
		if f.port == 0 {
			f.port = l.Addr().(*net.TCPAddr).Port
		}
		f.listeners = append(f.listeners, l)
		f.wg.Add(1)
		go f.serve(l, strconv.Itoa(p.container))
	}
	return f, nil
}

func (f *forwarder) serve(l net.Listener, port string) {
	defer f.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		if !f.track(c, true) {
			c.Close()
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.track(c, false)
			defer c.Close()
			var d net.Dialer
			up, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
			if err != nil {
				if up, err = d.Dial("tcp", net.JoinHostPort("::1", port)); err != nil {
					return
				}
			}
			if !f.track(up, true) {
				up.Close()
				return
			}
			defer f.track(up, false)
			defer up.Close()
			done := make(chan struct{}, 2)
			pipe := func(dst, src net.Conn) {
				io.Copy(dst, src)
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
				done <- struct{}{}
			}
			go pipe(up, c)
			go pipe(c, up)
			<-done
			<-done
		}()
	}
}

// track adds or removes a connection; it refuses new ones once closed.
func (f *forwarder) track(c net.Conn, add bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !add {
		delete(f.conns, c)
		return true
	}
	if f.closed {
		return false
	}
	f.conns[c] = true
	return true
}

// close stops listening and ends the connections; safe to call again.
func (f *forwarder) close() {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	for _, l := range f.listeners {
		l.Close()
	}
	f.wg.Wait()
}

// prober lists the TCP ports listened on in the network the steps and
// services share, from a container of the job's image (which has the
// /bin/sh every step runs under) reading /proc/net/tcp with the shell's
// own read: no tool of the service's image, nor of the job's, is needed.
type prober struct {
	ctr   gateway.Container
	stdin io.Closer
}

// newProber starts the prober's container: its first process waits on
// its stdin, closed by close, and the listings are processes beside it.
func (w *workspace) newProber(ctx context.Context) (*prober, error) {
	root, err := w.solve(ctx, w.root)
	if err != nil {
		return nil, err
	}
	ctr, err := w.gw.NewContainer(ctx, gateway.NewContainerRequest{
		Mounts: []gateway.Mount{{Dest: "/", Ref: root, MountType: pb.MountType_BIND, Readonly: true}},
	})
	if err != nil {
		return nil, err
	}
	r, wr := io.Pipe()
	if _, err := ctr.Start(ctx, gateway.StartRequest{Args: []string{"/bin/sh", "-c", "read -r _; exit 0"}, Cwd: "/", Stdin: r}); err != nil {
		ctr.Release(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("the job's image runs no /bin/sh: %w", err)
	}
	return &prober{ctr: ctr, stdin: wr}, nil
}

// listTCP prints the sockets of /proc/net/tcp and tcp6 with builtins only.
const listTCP = `for f in /proc/net/tcp /proc/net/tcp6; do [ -r "$f" ] || continue; while read -r l; do echo "$l"; done <"$f"; done; exit 0`

// listening lists the ports with a listening TCP socket.
func (p *prober) listening(ctx context.Context) (map[int]bool, error) {
	out := &lockedBuffer{}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	proc, err := p.ctr.Start(cctx, gateway.StartRequest{Args: []string{"/bin/sh", "-c", listTCP}, Cwd: "/", Stdout: out, Stderr: out})
	if err == nil {
		err = proc.Wait()
	}
	if err != nil {
		return nil, fmt.Errorf("listing the listened ports: %w %s", err, strings.TrimSpace(out.String()))
	}
	ports, err := parseProcNetTCP(out.String())
	if err != nil {
		return nil, err
	}
	return ports, nil
}

// parseProcNetTCP reads /proc/net/tcp's lines (sl local_address
// rem_address st ...; local_address is HEXIP:HEXPORT, st 0A is LISTEN)
// into the set of listened ports.
func parseProcNetTCP(s string) (map[int]bool, error) {
	ports := map[int]bool{}
	sc := bufio.NewScanner(strings.NewReader(s))
	seen := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 && f[0] == "sl" {
			seen = true // the header: the file was read
		}
		if len(f) < 4 || !strings.HasSuffix(f[0], ":") || !strings.Contains(f[1], ":") {
			continue
		}
		seen = true
		if f[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		if port, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
			ports[int(port)] = true
		}
	}
	if !seen {
		return nil, errors.New("no /proc/net/tcp in the job's container")
	}
	return ports, nil
}

func (p *prober) close(ctx context.Context) {
	p.stdin.Close()
	p.ctr.Release(context.WithoutCancel(ctx))
}

// stopServices ends the node's services and releases their containers.
// Release reports how the service's processes ended, killed as they are
// by it: that is logged, not an error.
func (w *workspace) stopServices(ctx context.Context) {
	for _, f := range w.forwarders {
		f.close()
	}
	w.forwarders = nil
	for _, s := range w.services {
		if err := s.ctr.Release(ctx); err != nil {
			w.e.log.Debug("service released", "node", w.node.ID, "service", s.name, "err", err)
		}
	}
	w.services = nil
}

// lockedBuffer is an io.WriteCloser safe for the writers of a process.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) Close() error { return nil }

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
