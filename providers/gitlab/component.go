package gitlab

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// hostName is an instance's host as a component names it.
var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)

// componentRef is an include:component reference,
// HOST/GROUP/PROJECT/NAME@VERSION, as GitLab reads it: the host is the
// instance, the last path segment the component, what lies between the
// project (groups nest).
type componentRef struct {
	host, project, name, version string
}

func (c componentRef) String() string {
	return c.host + "/" + c.project + "/" + c.name + "@" + c.version
}

// parseComponent reads a component reference (variables expanded).
func parseComponent(s string) (componentRef, error) {
	path, version, ok := strings.Cut(s, "@")
	if !ok || version == "" {
		return componentRef{}, fmt.Errorf("component %q has no @VERSION: write HOST/GROUP/PROJECT/NAME@VERSION (a release like 1.2.0, a partial one like 1 or 1.2, ~latest, a branch or a commit SHA)", s)
	}
	if strings.ContainsAny(version, " \t\n@") {
		return componentRef{}, fmt.Errorf("component %q: version %q is not a version, branch or commit", s, version)
	}
	parts := strings.Split(path, "/")
	if len(parts) < 4 {
		return componentRef{}, fmt.Errorf("component %q: want HOST/GROUP/PROJECT/NAME@VERSION (the instance's host, the project's full path, the component's name)", s)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, " \t\n\\?#%") {
			return componentRef{}, fmt.Errorf("component %q: %q is not a path segment", s, p)
		}
	}
	if !hostName.MatchString(parts[0]) {
		return componentRef{}, fmt.Errorf("component %q: %q is not a host name (letters, digits, dots and dashes, then :PORT)", s, parts[0])
	}
	if !strings.Contains(parts[0], ".") && !strings.Contains(parts[0], ":") && parts[0] != "localhost" {
		return componentRef{}, fmt.Errorf("component %q starts with %q, not an instance's host: write HOST/GROUP/PROJECT/NAME@VERSION (often $CI_SERVER_FQDN/...)", s, parts[0])
	}
	return componentRef{
		host:    strings.ToLower(parts[0]),
		project: strings.Join(parts[1:len(parts)-1], "/"),
		name:    parts[len(parts)-1],
		version: version,
	}, nil
}

// resolvedVersion is what a component's version named.
type resolvedVersion struct {
	// ref is what the files are read at: a release's tag, or the
	// branch or commit given.
	ref string
	// version is the release's version, or "" for a branch or commit.
	version string
}

// resolveVersion picks what a component's version means among the
// project's releases, as GitLab does: a full semantic version is that
// release; a partial one (1, 1.2) the newest release it prefixes; ~latest
// the newest release; anything else a branch, tag or commit SHA, read as
// it is. Pre-releases are taken only when named in full.
func resolveVersion(version string, releases []release) (resolvedVersion, error) {
	type rel struct {
		v   *semver.Version
		tag string
	}
	var rels []rel
	for _, r := range releases {
		if v, err := semver.StrictNewVersion(strings.TrimPrefix(r.Tag, "v")); err == nil {
			rels = append(rels, rel{v, r.Tag})
		}
	}
	slices.SortFunc(rels, func(a, b rel) int { return b.v.Compare(a.v) })
	among := fmt.Sprintf("among the project's %d releases", len(rels))
	if len(rels) > 0 {
		among += " (the newest is " + rels[0].tag + ")"
	}
	newest := func(match func(*semver.Version) bool) (resolvedVersion, bool) {
		for _, r := range rels {
			if r.v.Prerelease() == "" && match(r.v) {
				return resolvedVersion{ref: r.tag, version: r.v.String()}, true
			}
		}
		return resolvedVersion{}, false
	}
	if version == "" {
		return resolvedVersion{}, fmt.Errorf("no version given")
	}
	if version == "~latest" {
		if rv, ok := newest(func(*semver.Version) bool { return true }); ok {
			return rv, nil
		}
		return resolvedVersion{}, fmt.Errorf("~latest: the project has no release with a semantic version")
	}
	parts := strings.Split(strings.TrimPrefix(version, "v"), ".")
	numeric := len(parts) <= 3
	nums := make([]uint64, 0, len(parts))
	for _, p := range parts {
		var n uint64
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || fmt.Sprint(n) != p {
			numeric = false
			break
		}
		nums = append(nums, n)
	}
	if v, err := semver.StrictNewVersion(strings.TrimPrefix(version, "v")); err == nil {
		for _, r := range rels {
			if r.v.Equal(v) {
				return resolvedVersion{ref: r.tag, version: r.v.String()}, nil
			}
		}
		if len(releases) > 0 || v.Prerelease() != "" {
			return resolvedVersion{}, fmt.Errorf("no release %s %s", version, among)
		}
		// No releases at all: a tag of that name is read as it is.
		return resolvedVersion{ref: version}, nil
	}
	if numeric && len(nums) < 3 {
		rv, ok := newest(func(v *semver.Version) bool {
			return v.Major() == nums[0] && (len(nums) < 2 || v.Minor() == nums[1])
		})
		if !ok {
			return resolvedVersion{}, fmt.Errorf("no release matches %s %s", version, among)
		}
		return rv, nil
	}
	return resolvedVersion{ref: version}, nil
}

// component reads a component's template and what it resolved to: the
// file is templates/NAME.yml, or templates/NAME/template.yml, in the
// project at the version's ref.
func (r *Remote) component(ctx context.Context, c componentRef) (fetched, resolvedVersion, string, error) {
	var rv resolvedVersion
	if fullSHA.MatchString(c.version) {
		rv = resolvedVersion{ref: c.version}
	} else {
		rels, err := r.releases(ctx, c.host, c.project)
		if err != nil {
			return fetched{}, rv, "", err
		}
		if rv, err = resolveVersion(c.version, rels); err != nil {
			return fetched{}, rv, "", fmt.Errorf("component %s: %w", c, err)
		}
	}
	var firstErr error
	for _, file := range []string{"templates/" + c.name + ".yml", "templates/" + c.name + "/template.yml"} {
		f, err := r.projectFile(ctx, c.host, c.project, rv.ref, file)
		if err == nil {
			return f, rv, file, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if !strings.Contains(err.Error(), "not found") && !strings.Contains(err.Error(), "not in the cache") {
			break
		}
	}
	return fetched{}, rv, "", fmt.Errorf("component %s: neither templates/%s.yml nor templates/%s/template.yml could be read: %w", c, c.name, c.name, firstErr)
}
