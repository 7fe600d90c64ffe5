package runner

import (
	"context"
	"io"
	"io/fs"

	"github.com/gantry-ci/gantry/dag"
)

// Executor runs the steps of nodes somewhere: on this machine, or in
// containers.
//
// Lifecycle: the scheduler calls Prepare once per node before its first
// step, then Exec on the returned Workspace for each step, one at a time,
// then Release once when the node ends, whether it succeeded, failed or was
// cancelled. Release must be safe to call more than once. Workspaces of
// different nodes are used concurrently from different goroutines; one
// Workspace is used by one goroutine at a time.
type Executor interface {
	// Name is the executor's name for messages: "host", "buildkit". The
	// runner never decides anything by it: what an executor can do it says
	// through its errors (ErrNeedsContainer, InfraError) and the interfaces
	// its workspaces implement (HostDir, ImageEnv, ImageRunner,
	// FileTransfer, CacheMounter, ArtifactCarrier).
	Name() string
	// Prepare makes a node's workspace: a copy of the repository that its
	// steps may change freely.
	Prepare(ctx context.Context, n *dag.Node, spec WorkspaceSpec) (Workspace, error)
}

// WorkspaceSpec says what a node's workspace holds.
type WorkspaceSpec struct {
	// Source is the repository root the workspace copies.
	Source string
	// StateDir is a directory on the host, private to the node, that steps
	// see too: the step protocol's files (GITHUB_OUTPUT, GITHUB_ENV, ...)
	// live in it.
	StateDir string
	// IgnoreImage asks an executor that runs steps on the host to run
	// them there even when the node names an image (--platform-host).
	// Without it, such an executor's Prepare refuses a node with an image
	// or services with an error wrapping ErrNeedsContainer; services are
	// refused either way.
	IgnoreImage bool
}

// Workspace is one node's place to run steps.
type Workspace interface {
	// Dir is the workspace as steps see it: their working directory.
	Dir() string
	// StateDir is WorkspaceSpec.StateDir as steps see it.
	StateDir() string
	// HostDir is the workspace on the host, for artifacts and caches, or
	// "" when it is not on the host.
	HostDir() string
	// Exec runs one command to its end and returns its exit code. An error
	// means it could not be run at all (or was cancelled), not that it
	// failed. Cancelling ctx stops the command and everything it started.
	Exec(ctx context.Context, c Command) (exitCode int, err error)
	// Release removes the workspace; safe to call again.
	Release(ctx context.Context) error
}

// Command is one process a step runs.
type Command struct {
	// Argv is the program and its arguments.
	Argv []string
	// Name is what the command is called in progress displays (the
	// step's name); Argv when empty.
	Name string
	// Env is the whole environment, as KEY=VALUE: nothing of gantry's own
	// environment leaks in unless it is here.
	Env []string
	// Dir is the working directory, relative to the workspace (or absolute
	// as steps see it).
	Dir string
	// Stdout and Stderr receive the output as it comes.
	Stdout, Stderr io.Writer
	// Secrets are the secret values the run knows. Executors that record
	// what they run (BuildKit's definitions and cache keys) keep variables
	// and state files holding one out of those records.
	Secrets []string
	// Volatile names the variables of Env whose values change on every
	// run (GITHUB_RUN_ID, CI_JOB_ID, ...): executors that cache steps keep
	// them out of cache keys, or nothing would ever be cached.
	Volatile []string
	// Cached, when not nil, is set to whether the executor replayed the
	// command's result from its cache rather than running it.
	Cached *bool
}

// ImageEnv is implemented by workspaces inside a container image: steps get
// the image's environment (PATH, ...) where on the host they get the
// host's allowlisted variables.
type ImageEnv interface {
	ImageEnv() []string
}

// JobHome is implemented by workspaces on this machine. Each job gets a
// home directory of its own (HOME), so that nothing it does (git config
// --global, ~/.npmrc, ~/.ssh) changes the user's; SharedCaches are
// variables that keep tools' caches shared between jobs and runs rather
// than cold in each fresh home (GOMODCACHE, GOCACHE). Both lie under the
// job's own variables: a workflow that sets them wins.
type JobHome interface {
	HomeDir() string
	SharedCaches() map[string]string
}

// ServicePorts is implemented by workspaces with services: for each
// service by name, its container ports and the ports they are reached at
// on the runner's host, as GitHub's job.services.<id>.ports gives them.
type ServicePorts interface {
	ServicePorts() map[string]map[string]string
}

// ImageRunner is implemented by workspaces that can run a command in
// another image than the job's (Docker actions), with the workspace and
// state directory as for any step.
type ImageRunner interface {
	RunImage(ctx context.Context, image ActionImage, c Command) (int, error)
}

// ActionImage is a Docker action's image and command.
type ActionImage struct {
	// Dockerfile is the host path of the Dockerfile to build, in the
	// action's directory (its build context); or else Ref names the image.
	Dockerfile string
	Ref        string
	// Entrypoint and Args replace the image's own when set.
	Entrypoint []string
	Args       []string
}

// FileTransfer is implemented by workspaces that are not on the host
// (HostDir is ""): artifacts and caches move through it.
type FileTransfer interface {
	// Export copies the workspace's files matching the patterns (globs
	// relative to Dir; all files when none) to the host directory dst.
	Export(ctx context.Context, patterns []string, dst string) error
	// Import copies the host directory src into the workspace at dir
	// (relative to Dir), before the next command runs.
	Import(ctx context.Context, src, dir string) error
}

// ArtifactCarrier is implemented by workspaces whose engine can hand an
// artifact to the workspaces of later nodes itself (BuildKit: as a state
// of its own, along the DAG's edge), so that its files do not go through
// the host on the way. The runner still writes the run's copy on the host,
// off the nodes' way: in the background, and before the run ends.
type ArtifactCarrier interface {
	// ListFiles lists the workspace's files that the patterns (globs
	// relative to Dir) select, and the directories holding them: their
	// names, modes, sizes and times, not their contents.
	ListFiles(ctx context.Context, patterns []string) (fs.FS, error)
	// CarryArtifact keeps the files (slash paths relative to base, a
	// directory relative to Dir) as they are now, at their paths relative
	// to base; nil when it cannot carry those (the host copy serves).
	CarryArtifact(ctx context.Context, base string, files []string) (CarriedArtifact, error)
	// TakeArtifact puts a carried artifact's files into the workspace at
	// dir (relative to Dir) before the next command runs. It returns false
	// when this workspace cannot take that artifact (another engine's):
	// the host copy serves then.
	TakeArtifact(ctx context.Context, a CarriedArtifact, dir string) (bool, error)
}

// CarriedArtifact is an artifact an engine keeps (see ArtifactCarrier).
type CarriedArtifact interface {
	// Export copies the artifact's files to the host directory dst.
	Export(ctx context.Context, dst string) error
	// Release lets the engine drop the artifact once no node will take
	// it; safe to call again.
	Release()
}
