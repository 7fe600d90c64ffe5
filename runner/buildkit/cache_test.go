package buildkit

import (
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/diag"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
)

func TestParseCacheOption(t *testing.T) {
	t.Setenv("ACTIONS_RUNTIME_TOKEN", "runtime-token")
	t.Setenv("ACTIONS_RESULTS_URL", "https://results.example/")
	t.Setenv("ACTIONS_CACHE_URL", "")
	t.Setenv("ACTIONS_CACHE_SERVICE_V2", "true")
	for _, tc := range []struct {
		name    string
		in      string
		export  bool
		want    string // String()
		wantErr string
	}{
		{name: "registry", in: "type=registry,ref=ghcr.io/o/app:cache,mode=max", export: true, want: "type=registry,compression=zstd,mode=max,ref=ghcr.io/o/app:cache"},
		{name: "compression as written", in: "type=registry,ref=r,compression=gzip", export: true, want: "type=registry,compression=gzip,ref=r"},
		{name: "a bare ref is a registry", in: "ghcr.io/o/app:cache", want: "type=registry,ref=ghcr.io/o/app:cache"},
		{name: "local import", in: "type=local,src=/c", want: "type=local,src=/c"},
		{name: "local export", in: "type=local,dest=/c", export: true, want: "type=local,compression=zstd,dest=/c"},
		{name: "quoted value", in: `type=s3,bucket=b,region=eu,"name=a;b"`, want: "type=s3,bucket=b,name=a;b,region=eu"},
		{name: "gha from the environment, token hidden", in: "type=gha", export: true, want: "type=gha,token=***,url=https://results.example/,url_v2=https://results.example/"},
		{name: "no type", in: "ref=x", wantErr: `--cache-from "ref=x": no type= (one of registry, local, gha, s3, azblob)`},
		{name: "unknown type", in: "type=nfs", wantErr: `unknown type "nfs"`},
		{name: "inline", in: "type=inline", export: true, wantErr: "inline caches travel in an exported image"},
		{name: "registry without ref", in: "type=registry", wantErr: "type=registry needs ref="},
		{name: "bad ref", in: "type=registry,ref=a b", wantErr: `ref "a b"`},
		{name: "local export needs dest", in: "type=local,src=/c", export: true, wantErr: `--cache-to "type=local,src=/c": type=local needs dest=`},
		{name: "local import needs src", in: "type=local,dest=/c", wantErr: "type=local needs src="},
		{name: "s3 needs a region", in: "type=s3,bucket=b", wantErr: "type=s3 needs region="},
		{name: "mode on an import", in: "type=registry,ref=r,mode=max", wantErr: "mode= is an export's (--cache-to)"},
		{name: "bad mode", in: "type=registry,ref=r,mode=all", export: true, wantErr: "mode=all: want min or max"},
		{name: "not key=value", in: "type=registry,ref", wantErr: `"ref" is no KEY=VALUE`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseCacheOption(tc.in, tc.export)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := o.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("gha without a token", func(t *testing.T) {
		t.Setenv("ACTIONS_RUNTIME_TOKEN", "")
		if _, err := ParseCacheOption("type=gha", true); err == nil || !strings.Contains(err.Error(), "ACTIONS_RUNTIME_TOKEN") {
			t.Errorf("error %v", err)
		}
	})
}

func TestNodeCacheKey(t *testing.T) {
	t.Parallel()
	n := &dag.Node{ID: "test (1.22, linux/amd64)", Pos: dag.SourcePos{Pos: diag.Pos{File: ".github/workflows/ci.yml", Line: 3, Col: 3}}}
	key := nodeCacheKey(n)
	if !strings.HasPrefix(key, "test--1.22--linux-amd64-") || len(key) != len("test--1.22--linux-amd64-")+12 {
		t.Errorf("key %q", key)
	}
	// Another file's job of the same id has its own entry; the same job
	// has the same on every machine.
	other := *n
	other.Pos.File = ".github/workflows/release.yml"
	if nodeCacheKey(&other) == key {
		t.Error("two pipelines' jobs of one id share an entry")
	}
	same := *n
	same.Pos.Line = 9
	if nodeCacheKey(&same) != key {
		t.Error("the key depends on the line")
	}
	for _, tc := range []struct{ in, want string }{
		{in: "type=registry,ref=reg.example/app/cache", want: "type=registry,ref=reg.example/app/cache:" + key},
		{in: "type=registry,ref=reg.example/app/cache:main", want: "type=registry,ref=reg.example/app/cache:main-" + key},
		{in: "type=local,src=/c", want: "type=local,src=/c,tag=" + key},
		{in: "type=s3,bucket=b,region=r,name=a;b", want: "type=s3,bucket=b,name=a-" + key + ";b-" + key + ",region=r"},
		{in: "type=azblob,account_url=https://a.example", want: "type=azblob,account_url=https://a.example,name=buildkit-" + key},
	} {
		o, err := ParseCacheOption(tc.in, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.forNode(key).String(); got != tc.want {
			t.Errorf("%s for the node: %q, want %q", tc.in, got, tc.want)
		}
		if o.String() == o.forNode(key).String() {
			t.Errorf("forNode changed nothing or changed the option itself")
		}
	}
	if err := checkCaches([]CacheOption{{Type: "local"}, {Type: "registry"}, {Type: "local"}}); err == nil {
		t.Error("two local exports were taken")
	}
}

// An upload's selection is shared only when it was made right after a
// shared step, while sharing is open.
func TestSharedStepsAlso(t *testing.T) {
	var s sharedSteps
	var sel gateway.Reference // what is kept is counted, not read
	for _, c := range []struct {
		what string
		step func()
		gen  int // the selection's
		kept int
	}{
		{what: "before any shared step", gen: 0, kept: 0},
		{what: "right after a shared step", step: func() { s.add(1, "[build] #1", "", nil, layers{gen: 1}) }, gen: 1, kept: 1},
		// gen 2 is no shared step's: a download into the workspace
		{what: "after an unshared commit", gen: 2, kept: 1},
		{what: "after sharing ended", step: func() { s.add(2, "[build] #2", "it was given a secret", nil, layers{gen: 3}) }, gen: 1, kept: 1},
	} {
		if c.step != nil {
			c.step()
		}
		s.also(c.gen, sel)
		if len(s.refs) != c.kept {
			t.Fatalf("a selection %s: %d refs kept, want %d", c.what, len(s.refs), c.kept)
		}
	}
}

func TestBriefError(t *testing.T) {
	azure := "failed to configure azblob cache exporter: failed to get properties of cache container buildkit-cache: GET http://127.0.0.1:1/devstoreaccount1/buildkit-cache\n" +
		"--------------------------------------------------------------------------------\n" +
		"RESPONSE 403: 403 Server failed to authenticate the request.\n" +
		"ERROR CODE: AuthorizationFailure\n" +
		"--------------------------------------------------------------------------------\n" +
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AuthorizationFailure</Code></Error>\n"
	want := "failed to configure azblob cache exporter: failed to get properties of cache container buildkit-cache: GET http://127.0.0.1:1/devstoreaccount1/buildkit-cache; RESPONSE 403: 403 Server failed to authenticate the request.; ERROR CODE: AuthorizationFailure"
	if got := briefError(azure); got != want {
		t.Errorf("briefError:\n got %q\nwant %q", got, want)
	}
	if got := briefError("not found"); got != "not found" {
		t.Errorf("one line: %q", got)
	}
}

func TestCacheOptionSecrets(t *testing.T) {
	o, err := ParseCacheOption("type=s3,bucket=b,region=r,access_key_id=AKIDEXAMPLE,secret_access_key=s3cr3t,session_token=tok3n", true)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(o.Secrets(), " ")
	if got != "s3cr3t tok3n" {
		t.Errorf("Secrets: %q, want the secret key and the session token (not the key's id)", got)
	}
	if s := o.String(); strings.Contains(s, "s3cr3t") || strings.Contains(s, "tok3n") || strings.Contains(s, "AKIDEXAMPLE") {
		t.Errorf("String shows a credential: %s", s)
	}
}
