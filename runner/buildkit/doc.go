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
// failures.go). The protocol's state directory goes into each step as file
// ops in its definition when it is small (as a local source otherwise),
// every file with one fixed time, so that the files a step did not write
// come back as they went and are not read again.
//
// Artifacts of upload-artifact travel between nodes as states (carry.go):
// the producer's files narrowed to the artifact, which a consumer's
// workspace copies from while the producer's session, kept open until the
// run ends, lets BuildKit share the result; the run's host copy is made
// from that session in the background.
//
// Secrets never enter an LLB definition or a cache key: environment
// variables whose values contain one are secret environment variables, and
// state files that contain one (scripts with interpolated secrets) are
// secret file mounts; their HMACs under a key that stays on the client key
// the cache, so a rotated secret still misses it. Variables whose names a
// POSIX shell drops (INPUT_GITHUB-TOKEN) pass the wrapper as pairs of
// shell names and reach the command as env's arguments.
//
// Images are named as workflows name them and normalised as Docker does
// (internal/imageref): alpine is docker.io/library/alpine:latest. -P maps
// runs-on labels and image names alike: an image name is matched by its
// normalised form wherever an image is named (a job's, a service's, a
// docker:// step's, a Dockerfile's FROM, as a named context).
//
// A node's container runs as GitHub's runner runs a job container (docker
// create with container.options, each step a docker exec in the
// workspace): the image's USER or --user runs the steps, and owns the
// workspace, the protocol's files and the caches; --hostname, --env,
// --add-host, --ulimit, --tmpfs and --shm-size apply to every step; what
// BuildKit cannot do (--cpus, --memory, --privileged, volumes...) is
// reported once at the node's position (options.go, container.go).
// Services are gateway containers in the steps' network (BuildKit's host
// network): reached by name on their container port, published on this
// machine for ports: HOST:CONTAINER when the daemon's network is this
// machine's, and waited for by their health check (the image's
// HEALTHCHECK, --health-*) or else until their ports are listened on,
// seen from a container of the job's image (services.go).
package buildkit
