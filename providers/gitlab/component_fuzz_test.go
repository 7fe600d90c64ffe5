package gitlab

import (
	"strings"
	"testing"
)

// FuzzParseComponent: no reference makes the parser panic; one it accepts
// has a host, a project of at least two segments, a name and a version,
// and prints back as itself (lower-cased host).
func FuzzParseComponent(f *testing.F) {
	for _, s := range []string{
		"gitlab.com/components/secret-detection/secret-detection@1.1.2",
		"gitlab.gnome.org/GNOME/citemplates/release-service@master",
		"gitlab.example.org:8443/a/b/c/name@~latest",
		"localhost/g/p/n@0123456789abcdef0123456789abcdef01234567",
		"a/b@1", "@", "h.x/a/b/c@", "h.x//b/c@1", "h.x/a/../c@1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseComponent(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if c.host == "" || c.name == "" || c.version == "" || strings.Count(c.project, "/") < 1 {
			t.Fatalf("%q parsed as %+v", s, c)
		}
		if got := c.String(); !strings.EqualFold(got, s) {
			t.Fatalf("%q prints back as %q", s, got)
		}
	})
}

// FuzzResolveVersion: no version and set of release tags makes resolution
// panic; a release it picks is one of the tags, and a partial version
// picks a release it prefixes.
func FuzzResolveVersion(f *testing.F) {
	f.Add("1", "1.0.0 1.2.0 v1.2.3 2.0.0 2.1.0-rc1")
	f.Add("~latest", "0.1.0 junk v3.0.0")
	f.Add("1.2", "1.2.0 1.3.0")
	f.Add("2.1.0-rc1", "2.1.0-rc1")
	f.Add("main", "")
	f.Add("01", "1.0.0")
	f.Fuzz(func(t *testing.T, version, tags string) {
		var rels []release
		for _, tag := range strings.Fields(tags) {
			rels = append(rels, release{Tag: tag})
		}
		rv, err := resolveVersion(version, rels)
		if err != nil {
			return
		}
		if rv.ref == "" {
			t.Fatalf("%q among %q resolved to no ref", version, tags)
		}
		if rv.version == "" {
			return // a branch, tag or commit, read as given
		}
		found := false
		for _, r := range rels {
			found = found || r.Tag == rv.ref
		}
		if !found {
			t.Fatalf("%q among %q picked %q, not one of the tags", version, tags, rv.ref)
		}
		if parts := strings.Split(version, "."); version != "~latest" && len(parts) < 3 && !strings.HasPrefix(rv.version, strings.TrimPrefix(version, "v")+".") {
			t.Fatalf("%q picked %s, which it does not prefix", version, rv.version)
		}
	})
}
