package buildkit_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/internal/mounts"
	"github.com/gantry-ci/gantry/runner/buildkit"
	"github.com/gantry-ci/gantry/runner/executortest"
)

// certs writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, all signed by the CA, into dir.
func certs(t *testing.T, dir string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gantry test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	for i, name := range []string{"server", "client"} {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		if name == "server" {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		} else {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		write(name+".pem", "CERTIFICATE", der)
		write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	}
}

// TestRemoteTLS runs steps on a second buildkitd that listens on
// tcp://127.0.0.1 with TLS certificates made here, as a remote engine
// would, and checks that a client without a certificate is refused.
func TestRemoteTLS(t *testing.T) {
	dir := t.TempDir()
	certs(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "tcp://" + l.Addr().String()
	l.Close()
	d := startDaemon(t, addr, "--tlscacert", filepath.Join(dir, "ca.pem"), "--tlscert", filepath.Join(dir, "server.pem"), "--tlskey", filepath.Join(dir, "server-key.pem"))
	tls := buildkit.TLS{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "client.pem"), Key: filepath.Join(dir, "client-key.pem")}
	e := d.connect(t, buildkit.Options{TLS: tls})
	t.Cleanup(func() { e.Close() }) // after the workspace's Release, which Prepare registers next
	ws, _ := executortest.Prepare(t, e, "")
	if got := executortest.MustSh(t, ws, "cat hello.txt; echo over tls"); got != "hello\nover tls\n" {
		t.Errorf("a step on the TLS daemon printed %q", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := buildkit.New(ctx, buildkit.Options{Addr: addr, TLS: buildkit.TLS{CA: tls.CA}, StateDir: t.TempDir()}); err == nil {
		t.Error("a client without a certificate was let in")
	} else if !strings.Contains(err.Error(), addr) {
		t.Errorf("the error does not name the address: %v", err)
	}
}

// daemon is a buildkitd of a test's own, which the test may stop.
type daemon struct {
	addr string
	cmd  *exec.Cmd
	log  *strings.Builder
}

// startDaemon starts a second buildkitd (GANTRY_BUILDKITD, built by
// scripts/buildkit-up) listening on addr with the given flags; it is
// stopped when the test ends. Without the binary the test skips, unless
// GANTRY_REQUIRE_BUILDKIT is set.
func startDaemon(t *testing.T, addr string, args ...string) *daemon {
	t.Helper()
	bin := os.Getenv("GANTRY_BUILDKITD")
	if bin == "" || os.Getenv("GANTRY_TEST_ROOTFS") == "" {
		if os.Getenv("GANTRY_REQUIRE_BUILDKIT") != "" {
			t.Fatal("GANTRY_REQUIRE_BUILDKIT is set but GANTRY_BUILDKITD or GANTRY_TEST_ROOTFS is not")
		}
		t.Skip("no buildkitd binary (eval \"$(scripts/buildkit-up)\")")
	}
	root, err := os.MkdirTemp("", "gantry-buildkitd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{addr: addr, log: &strings.Builder{}}
	d.cmd = exec.Command(bin, append([]string{"--root", root, "--addr", addr, "--oci-worker=true", "--containerd-worker=false"}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	// Its temporary mounts (buildkit-mount*) under its state, where the
	// cleanup finds them.
	d.cmd.Env = append(os.Environ(), "TMPDIR="+root)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			d.cmd.Process.Kill()
			<-done
		}
		// A daemon killed in the middle of a step (TestEngineLost) leaves
		// its runc processes and its containers' mounts behind.
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		if err := mounts.DetachUnder(root); err != nil {
			t.Error(err)
		}
		os.RemoveAll(root)
		if left, _ := mounts.Under(root); len(left) > 0 {
			t.Errorf("mounts left under the daemon's state: %q", left)
		}
	})
	return d
}

// connect makes an executor on the daemon once it answers, with the
// busybox root filesystem as the default image.
func (d *daemon) connect(t *testing.T, opts buildkit.Options) *buildkit.Executor {
	t.Helper()
	opts.Addr = d.addr
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	if opts.Images == nil {
		opts.Images = map[string]string{"default": "rootfs://" + os.Getenv("GANTRY_TEST_ROOTFS")}
	}
	for start := time.Now(); ; {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		e, err := buildkit.New(ctx, opts)
		cancel()
		if err == nil {
			return e
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the daemon at %s did not answer: %v\n%s", d.addr, err, d.log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
