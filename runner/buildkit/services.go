package buildkit

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gantry-ci/gantry/dag"
	"github.com/mattn/go-shellwords"
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

// health is how to tell a service is up: its --health-cmd, else its
// ports accepting connections.
type health struct {
	cmd      string // shell
	interval time.Duration
	retries  int
}

// parseHealth reads docker-style --health-* options (GitHub's
// services.<id>.options).
func parseHealth(options string) (health, error) {
	h := health{interval: time.Second, retries: 60}
	if strings.TrimSpace(options) == "" {
		return h, nil
	}
	args, err := shellwords.Parse(options)
	if err != nil {
		return h, fmt.Errorf("options %q: %w", options, err)
	}
	for i := 0; i < len(args); i++ {
		name, value, ok := strings.Cut(args[i], "=")
		if !ok && i+1 < len(args) && strings.HasPrefix(name, "--health-") {
			i++
			value = args[i]
		}
		switch name {
		case "--health-cmd":
			h.cmd = value
		case "--health-interval":
			if d, err := time.ParseDuration(value); err == nil && d > 0 {
				h.interval = d
			}
		case "--health-retries":
			if n, err := strconv.Atoi(value); err == nil && n > 0 {
				h.retries = n
			}
		}
	}
	return h, nil
}

// startServices starts the node's services in the session, waits until
// each is healthy, and returns the host names the steps reach them by.
// The services share the network of the steps (BuildKit's host network
// when no CNI is configured), so an alias names 127.0.0.1.
func (w *workspace) startServices(ctx context.Context, services []dag.Service, images []image) error {
	for i, s := range services {
		ref, img := s.Image, images[i]
		if err := img.config(ctx, w.gw, ref); err != nil {
			return fmt.Errorf("service %q: %w", s.Name, err)
		}
		root, err := w.solve(ctx, img.state)
		if err != nil {
			return fmt.Errorf("service %q: image %s: %w", s.Name, ref, err)
		}
		argv := append(append([]string{}, s.Entrypoint...), s.Command...)
		if len(s.Entrypoint) == 0 {
			argv = append(append([]string{}, img.entrypoint...), argv...)
			if len(s.Command) == 0 {
				argv = append(argv, img.cmd...)
			}
		}
		if len(argv) == 0 {
			return fmt.Errorf("service %q: image %s names no command; give the service a command (GitLab: command:, entrypoint:)", s.Name, ref)
		}
		h, err := parseHealth(s.Options)
		if err != nil {
			return fmt.Errorf("service %q: %w", s.Name, err)
		}
		ctr, err := w.gw.NewContainer(ctx, gateway.NewContainerRequest{
			Mounts:   []gateway.Mount{{Dest: "/", Ref: root, MountType: pb.MountType_BIND}},
			Hostname: s.Name,
		})
		if err != nil {
			return fmt.Errorf("service %q: %w", s.Name, err)
		}
		env := append([]string{}, img.env...)
		for k, v := range s.Env {
			env = append(env, k+"="+v)
		}
		out := &lockedBuffer{}
		proc, err := ctr.Start(ctx, gateway.StartRequest{Args: argv, Env: env, Cwd: "/", Stdout: out, Stderr: out})
		if err != nil {
			ctr.Release(context.WithoutCancel(ctx))
			return fmt.Errorf("service %q: starting %q: %w", s.Name, strings.Join(argv, " "), err)
		}
		svc := &service{name: s.Name, ctr: ctr, proc: proc, out: out, ended: make(chan error, 1)}
		go func() { svc.ended <- proc.Wait() }()
		w.services = append(w.services, svc)
		for _, host := range append([]string{s.Name}, s.Aliases...) {
			w.hosts = append(w.hosts, &pb.HostIP{Host: host, IP: "127.0.0.1"})
		}
		if err := w.waitHealthy(ctx, svc, h, s.Ports); err != nil {
			return err
		}
		w.e.notice(w.node.ID, "service %q is up (%s, %s)", s.Name, ref, strings.Join(argv, " "))
	}
	return nil
}

// waitHealthy runs the health command in the service until it succeeds,
// or, without one, waits until every declared port accepts connections
// (checked from inside the service's container).
func (w *workspace) waitHealthy(ctx context.Context, svc *service, h health, ports []string) error {
	check := h.cmd
	if check == "" {
		var probes []string
		for _, p := range ports {
			port := containerPort(p)
			if port == "" {
				continue
			}
			// nc -z (OpenBSD, GNU), nc -e (busybox), bash's /dev/tcp.
			probes = append(probes, fmt.Sprintf("(nc -z 127.0.0.1 %[1]s || nc -w 1 127.0.0.1 %[1]s -e true || (exec 3<>/dev/tcp/127.0.0.1/%[1]s)) >/dev/null 2>&1", port))
		}
		if len(probes) == 0 {
			return nil
		}
		check = strings.Join(probes, " && ")
	}
	// A process of a gateway container that exits non-zero takes the
	// whole container down with it, so the check always exits 0 and says
	// how it went.
	argv := []string{"/bin/sh", "-c", "if " + check + "\nthen echo gantry-healthy; fi; exit 0"}
	var last string
	for try := 0; try < h.retries; try++ {
		select {
		case err := <-svc.ended:
			return fmt.Errorf("service %q ended before it was healthy (%v); its output:\n%s", svc.name, err, svc.out.String())
		default:
		}
		out := &lockedBuffer{}
		p, err := svc.ctr.Start(ctx, gateway.StartRequest{Args: argv, Cwd: "/", Stdout: out, Stderr: out})
		if err == nil {
			err = p.Wait()
		}
		if err == nil && strings.Contains(out.String(), "gantry-healthy") {
			return nil
		}
		last = strings.TrimSpace(out.String())
		if err != nil {
			last = fmt.Sprintf("%v %s", err, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(h.interval):
		}
	}
	return fmt.Errorf("service %q is not healthy after %d checks (%s): %s", svc.name, h.retries, check, last)
}

// containerPort is the container side of a ports: entry (8080,
// 8080:80, 127.0.0.1:8080:80/tcp).
func containerPort(p string) string {
	p, _, _ = strings.Cut(p, "/")
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		p = p[i+1:]
	}
	if _, err := strconv.Atoi(p); err != nil {
		return ""
	}
	return p
}

// stopServices ends the node's services and releases their containers.
// Release reports how the service's processes ended, killed as they are
// by it: that is logged, not an error.
func (w *workspace) stopServices(ctx context.Context) {
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
