// Package buildkit is a runner.Executor that runs DAG nodes in containers
// on a BuildKit daemon: each node in its own image, each step an LLB exec
// solved on its own through the gateway client, so that the runner's step
// protocol (if:, outputs, GITHUB_ENV, ...) is honoured between steps
// exactly as on the host, while unchanged steps are cache hits on re-run.
//
// A node's session holds three chains of states: the root filesystem (the
// image plus what steps installed), the workspace (a copy of the
// repository's tracked and untracked-not-ignored files) and, for each step,
// a fresh record of what it printed and how it exited. Steps run through a
// small sh wrapper that records the exit code and a copy of the output in
// that record instead of failing the solve: a failing step keeps its
// changes (test reports uploaded by always() steps after it), its exit code
// is exact, and on a cache hit its output is replayed. Failed steps are
// not cache hits on the next run: the executor remembers them (see
// failures.go).
//
// Secrets never enter an LLB definition or a cache key: environment
// variables whose values contain one are secret environment variables, and
// state files that contain one (scripts with interpolated secrets) are
// secret file mounts; their HMACs under a key that stays on the client key
// the cache, so a rotated secret still misses it.
package buildkit
