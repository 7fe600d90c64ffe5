package lock

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// Fetcher fetches a remote action or reusable workflow (uses:
// OWNER/REPO[/PATH]@REF) into a local directory and says which commit the
// ref named; github.Remote is one.
type Fetcher interface {
	Action(ctx context.Context, uses string) (dir, sha string, err error)
}

// ResolveActions resolves actions for a run through fetch, checked against the
// lock f (nil for none): with locked, exactly the commits of the lock,
// their content checked against its hashes, and an action missing from it
// is an error; otherwise as the refs name them now, with one warning per
// action whose commit differs from the lock's. The result is safe for
// concurrent use.
func (f *File) ResolveActions(fetch Fetcher, locked bool, warn func(string)) func(ctx context.Context, uses string) (string, error) {
	var mu sync.Mutex
	warned := map[string]bool{}
	return func(ctx context.Context, uses string) (string, error) {
		entry, inLock := f.Action(uses)
		if !locked {
			dir, sha, err := fetch.Action(ctx, uses)
			if err == nil && inLock && sha != entry.SHA {
				mu.Lock()
				if !warned[uses] {
					warned[uses] = true
					warn(fmt.Sprintf("gantry.lock is stale: %s now names %s, the lock says %s (run gantry lock, or gantry run --locked)", uses, sha, entry.SHA))
				}
				mu.Unlock()
			}
			return dir, err
		}
		if !inLock {
			return "", fmt.Errorf("%s is not in gantry.lock: run gantry lock", uses)
		}
		spec, _, _ := strings.Cut(uses, "@")
		dir, _, err := fetch.Action(ctx, spec+"@"+entry.SHA)
		if err != nil {
			return "", err
		}
		h, err := TreeHash(dir)
		if err != nil {
			return "", err
		}
		if h != entry.Hash {
			return "", fmt.Errorf("%s at %s does not match gantry.lock's hash (%s, found %s): the cache or the repository changed; run gantry lock again if that is expected", uses, entry.SHA, entry.Hash, h)
		}
		return dir, nil
	}
}

// CheckIncludes checks the remote files a run includes against the lock f (nil
// for none), as gitlab.Options.Included sees them: with locked, each must
// be in it with the same content; otherwise a changed one is a warning.
func (f *File) CheckIncludes(locked bool, warn func(string)) func(kind, ref string, data []byte) error {
	return func(kind, ref string, data []byte) error {
		entry, ok := f.Include(kind, ref)
		h := ContentHash(data)
		switch {
		case locked && !ok:
			return fmt.Errorf("not in gantry.lock: run gantry lock")
		case locked && entry.Hash != h:
			return fmt.Errorf("its content (%s) is not what gantry.lock says (%s); run gantry lock again if that is expected", h, entry.Hash)
		case ok && entry.Hash != h:
			warn(fmt.Sprintf("gantry.lock is stale: include:%s %s changed (run gantry lock, or gantry run --locked)", kind, ref))
		}
		return nil
	}
}
