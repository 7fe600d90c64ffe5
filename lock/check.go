package lock

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/imageref"
	"github.com/gantry-ci/gantry/providers/gitlab"
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
func (f *File) CheckIncludes(locked bool, warn func(string)) func(gitlab.Fetched) error {
	return func(in gitlab.Fetched) error {
		entry, ok := f.Include(in.Kind, in.Key)
		h := ContentHash(in.Data)
		switch {
		case locked && !ok:
			return fmt.Errorf("not in gantry.lock: run gantry lock")
		case locked && entry.Hash != h:
			return fmt.Errorf("its content (%s, at %s) is not what gantry.lock says (%s, at %s); run gantry lock again if that is expected", h, cmp.Or(in.Commit, "the URL"), entry.Hash, cmp.Or(entry.Commit, "the URL"))
		case ok && entry.Hash != h:
			warn(fmt.Sprintf("gantry.lock is stale: include:%s %s changed (run gantry lock, or gantry run --locked)", in.Kind, in.Key))
		case ok && in.Commit != "" && entry.Commit != "" && in.Commit != entry.Commit:
			warn(fmt.Sprintf("gantry.lock is stale: include:%s %s is now at %.12s, the lock has %.12s (run gantry lock, or gantry run --locked)", in.Kind, in.Key, in.Commit, entry.Commit))
		}
		return nil
	}
}

// PinImages is what a --locked run pulls for the registry images the
// pipelines name: each one's repository at the digest the lock recorded,
// by normalised name (buildkit.Options.Pinned). An image missing from the
// lock is an error, and so is a tag that names another digest now than
// the lock's, asked through resolve (nil when offline: then the digest
// is pulled unchecked). A registry that cannot be asked leaves the digest
// pulled, and warn says so. Images the lock has no digest of are pulled
// by their tag.
func (f *File) PinImages(ctx context.Context, pipelines []*dag.Pipeline, resolve ImageResolver, warn func(string)) (map[string]string, error) {
	pins := map[string]string{}
	checked := map[string]bool{}
	var errs []error
	for _, p := range pipelines {
		for _, ni := range imageRefs(p) {
			r, err := imageref.Parse(ni.ref)
			if err != nil || r.Local() || checked[ni.ref] {
				continue
			}
			checked[ni.ref] = true
			where := ""
			if ni.pos.Line > 0 {
				where = ni.pos.String() + ": "
			}
			entry, ok := f.Image(ni.ref)
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("%simage %s is not in gantry.lock: run gantry lock", where, ni.ref))
				continue
			case entry.Digest == "" || r.Digest() != "":
				continue
			}
			if resolve != nil {
				now, err := resolve(ctx, ni.ref)
				switch {
				case err != nil:
					warn(fmt.Sprintf("image %s: the registry could not be asked whether its tag still names gantry.lock's %s (%v); pulling that digest", ni.ref, entry.Digest, err))
				case now != entry.Digest:
					errs = append(errs, fmt.Errorf("%simage %s has moved: its tag names %s now, gantry.lock has %s (run gantry lock again if that is expected)", where, ni.ref, now, entry.Digest))
					continue
				}
			}
			pins[r.Name] = r.Pinned(entry.Digest)
		}
	}
	return pins, errors.Join(errs...)
}
