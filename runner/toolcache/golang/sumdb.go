package golang

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
)

// knownSumDB are the checksum databases the go command knows by name.
var knownSumDB = map[string]string{
	"sum.golang.org": "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
}

// ErrChecksum is returned when a download does not match the checksum
// database.
var ErrChecksum = errors.New("checksum mismatch")

// checker looks up module hashes in the checksum database GOSUMDB names,
// reached through the proxies when they serve it (/sumdb/NAME/supported),
// as the go command reaches it, else directly. Its tiles and latest tree
// are kept under dir. One checker serves one download: it holds that
// download's context because sumdb.ClientOps's methods take none.
type checker struct {
	in     *Installer
	ctx    context.Context
	name   string
	direct string
	key    string
	dir    string
	list   []proxy

	once sync.Once
	base string
	err  error

	mu       sync.Mutex
	security []string
}

// newChecker returns nil when GOSUMDB=off (or GONOSUMCHECK=1, or
// GONOSUMDB names the module): nothing to check against.
func (in *Installer) newChecker(ctx context.Context, e Env, list []proxy, dir string) (*checker, error) {
	if e.GOSUMDB == "off" || e.GONOSUMCHECK == "1" || module.MatchPrefixPatterns(e.GONOSUMDB, Module) {
		return nil, nil
	}
	db := e.GOSUMDB
	if db == "sum.golang.google.cn" {
		db = "sum.golang.org https://sum.golang.google.cn"
	}
	f := strings.Fields(db)
	if len(f) == 0 || len(f) > 2 {
		return nil, fmt.Errorf("GOSUMDB %q: want a name, name+key or \"name+key URL\"", e.GOSUMDB)
	}
	if k, ok := knownSumDB[f[0]]; ok {
		f[0] = k
	}
	v, err := note.NewVerifier(f[0])
	if err != nil {
		return nil, fmt.Errorf("GOSUMDB %q: invalid key: %w", e.GOSUMDB, err)
	}
	c := &checker{in: in, ctx: ctx, name: v.Name(), key: f[0], direct: "https://" + v.Name(), list: list,
		dir: filepath.Join(dir, ".sumdb", v.Name())}
	if len(f) == 2 {
		c.direct = strings.TrimSuffix(f[1], "/")
	}
	return c, nil
}

// hash returns the database's h1: hash of a module version's zip.
func (c *checker) hash(version string) (string, error) {
	client := sumdb.NewClient(c)
	lines, err := client.Lookup(Module, version)
	if err != nil {
		c.mu.Lock()
		sec := strings.Join(c.security, "; ")
		c.mu.Unlock()
		if sec != "" {
			return "", fmt.Errorf("checksum database %s: %w: %s", c.name, err, sec)
		}
		return "", fmt.Errorf("checksum database %s: %w", c.name, err)
	}
	prefix := Module + " " + version + " "
	for _, l := range lines {
		if h, ok := strings.CutPrefix(l, prefix); ok {
			return h, nil
		}
	}
	return "", fmt.Errorf("checksum database %s has no hash for %s@%s", c.name, Module, version)
}

// baseURL picks where the database is read: the first proxy that serves
// it, else its own URL.
func (c *checker) baseURL() (string, error) {
	c.once.Do(func() {
		for _, p := range c.list {
			if p.url == "off" {
				break
			}
			if p.url == directURL {
				break
			}
			body, _, err := c.in.open(c.ctx, p.url+"/sumdb/"+c.name+"/supported")
			if err == nil {
				body.Close()
				c.base = p.url + "/sumdb/" + c.name
				return
			}
			if !p.anyError && !errors.Is(err, errNotFound) {
				c.err = err
				return
			}
		}
		c.base = c.direct
	})
	return c.base, c.err
}

func (c *checker) ReadRemote(path string) ([]byte, error) {
	base, err := c.baseURL()
	if err != nil {
		return nil, err
	}
	body, _, err := c.in.open(c.ctx, base+path)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return io.ReadAll(io.LimitReader(body, 16<<20))
}

func (c *checker) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(c.key), nil
	}
	data, err := os.ReadFile(filepath.Join(c.dir, "config", filepath.FromSlash(file)))
	if errors.Is(err, os.ErrNotExist) {
		return []byte{}, nil
	}
	return data, err
}

var configMu sync.Mutex

func (c *checker) WriteConfig(file string, old, new []byte) error {
	configMu.Lock()
	defer configMu.Unlock()
	cur, err := c.ReadConfig(file)
	if err != nil {
		return err
	}
	if !bytes.Equal(cur, old) {
		return sumdb.ErrWriteConflict
	}
	return writeAtomic(filepath.Join(c.dir, "config", filepath.FromSlash(file)), new)
}

func (c *checker) ReadCache(file string) ([]byte, error) {
	return os.ReadFile(filepath.Join(c.dir, "cache", filepath.FromSlash(file)))
}

func (c *checker) WriteCache(file string, data []byte) {
	_ = writeAtomic(filepath.Join(c.dir, "cache", filepath.FromSlash(file)), data)
}

func (c *checker) Log(msg string) {}

func (c *checker) SecurityError(msg string) {
	c.mu.Lock()
	c.security = append(c.security, msg)
	c.mu.Unlock()
}

func writeAtomic(file string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), file)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
