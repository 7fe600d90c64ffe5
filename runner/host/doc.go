// Package host is gantry's default executor: it runs steps as processes on
// this machine and needs nothing installed but git, and git only for
// repositories that use it.
//
// Each node gets a copy of the repository in a temporary directory, as a CI
// checkout would see it: tracked files and untracked files that are not
// ignored, with their modes and symbolic links, and the git metadata so that
// history is there (the object store is shared with the source read-only,
// through git's alternates, rather than copied). The user's working tree and
// repository are never written to.
//
// Each command runs with exactly the environment it is given, in its own
// process group. Cancelling the context sends SIGTERM to the whole group
// and SIGKILL after Options.KillGrace; Release does the same for any
// process a step left running in the background, then removes the copy.
// Processes that leave their group (setsid, daemons) are out of reach.
package host
