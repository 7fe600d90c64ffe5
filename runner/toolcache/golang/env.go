package golang

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
)

// Env is the go command's configuration for downloading toolchains.
type Env struct {
	GOPROXY, GONOPROXY, GOPRIVATE string
	GOSUMDB, GONOSUMDB            string
	// GONOSUMCHECK=1 skips the checksum database, as it does for the go
	// command's own tests.
	GONOSUMCHECK string
}

// Defaults of the go command.
const (
	DefaultGOPROXY = "https://proxy.golang.org,direct"
	DefaultGOSUMDB = "sum.golang.org"
	// directURL serves golang.org/toolchain for GOPROXY=direct: the
	// go-import of golang.org/toolchain is "mod https://go.dev/dl/mod".
	directURL = "https://go.dev/dl/mod"
)

var envNames = []string{"GOPROXY", "GONOPROXY", "GOPRIVATE", "GOSUMDB", "GONOSUMDB", "GONOSUMCHECK"}

// ReadEnv reads the configuration through lookup (the job's variables,
// then gantry's, say), then the go env file (GOENV, default
// os.UserConfigDir()/go/env), then the go command's defaults. An empty
// value counts as unset, as the go command counts it.
func ReadEnv(lookup func(string) string) Env {
	file := goEnvFile(lookup)
	get := func(k string) string {
		if v := lookup(k); v != "" {
			return v
		}
		return file[k]
	}
	e := Env{
		GOPROXY: get("GOPROXY"), GONOPROXY: get("GONOPROXY"), GOPRIVATE: get("GOPRIVATE"),
		GOSUMDB: get("GOSUMDB"), GONOSUMDB: get("GONOSUMDB"), GONOSUMCHECK: get("GONOSUMCHECK"),
	}
	if e.GOPROXY == "" {
		e.GOPROXY = DefaultGOPROXY
	}
	if e.GOSUMDB == "" {
		e.GOSUMDB = DefaultGOSUMDB
	}
	if e.GONOPROXY == "" {
		e.GONOPROXY = e.GOPRIVATE
	}
	if e.GONOSUMDB == "" {
		e.GONOSUMDB = e.GOPRIVATE
	}
	return e
}

// goEnvFile reads the variables of the go env file that matter here.
func goEnvFile(lookup func(string) string) map[string]string {
	file := lookup("GOENV")
	if file == "off" {
		return nil
	}
	if file == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return nil
		}
		file = filepath.Join(dir, "go", "env")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		for _, n := range envNames {
			if k == n {
				out[k] = strings.TrimSpace(v)
			}
		}
	}
	return out
}
