// Package lock reads, writes and checks gantry.lock: what the pipelines of
// a repository use from elsewhere, resolved and hashed — remote actions
// and reusable workflows (the commit their ref named and a hash of the
// fetched tree), the remote files GitLab pipelines include (a hash of their
// content) and the images the pipelines name (local ones with a hash of
// what they hold).
//
// gantry lock builds a File with a Recorder while it translates the
// repository's pipelines; gantry run reads it back and checks what it
// fetches against it (File.ResolveActions, File.CheckIncludes): with
// --locked, exactly the locked commits and contents, otherwise a warning
// when the lock is stale.
package lock
