// Package golang provisions Go toolchains into the tool cache as
// actions/setup-go does on GitHub, from the Go toolchain distribution the
// go command itself uses for GOTOOLCHAIN: the module golang.org/toolchain
// (versions v0.0.1-goX.Y.Z.GOOS-GOARCH) through GOPROXY, each zip checked
// against the checksum database (GOSUMDB) before anything of it enters the
// cache.
//
// The go command's variables decide where versions come from, read from
// the job's environment, then gantry's, then the go env file (go env -w):
// GOPROXY (a list; "," falls through on not found, "|" on any error;
// "direct" is the module's origin, https://go.dev/dl/mod; "off" forbids
// downloads), GONOPROXY and GOPRIVATE, GOSUMDB ("off", a known name, or
// "name+key [url]"), GONOSUMDB, and GONOSUMCHECK=1.
package golang
