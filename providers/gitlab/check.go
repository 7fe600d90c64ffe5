package gitlab

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gantry-ci/gantry/diag"
)

// checkShapes reports keywords whose values have the wrong shape, where
// GitLab would reject the file: what the schema of each keyword allows.
func (t *translator) checkShapes(name string, job *node) {
	if h := job.get("hooks"); h != nil {
		t.onlyKeys(h, "hooks", []string{"pre_get_sources_script"})
		if s := h.get("pre_get_sources_script"); s != nil && !isStringOrList(s) {
			t.diags.Errorf(s.pos, "hooks", "hooks:pre_get_sources_script must be a script (a string or a list of strings), found %s", s.describe())
		}
	}
	if ids := job.get("id_tokens"); ids != nil {
		if ids.kind != mapKind {
			t.diags.Errorf(ids.pos, "id_tokens", "id_tokens: maps token names to {aud: ...}, found %s", ids.describe())
		} else {
			for _, k := range ids.keys {
				tok := ids.fields[k]
				if tok.kind != mapKind {
					t.diags.Errorf(tok.pos, "id_tokens", "id token %q must be a mapping with aud:", k)
					continue
				}
				t.onlyKeys(tok, "id_tokens:"+k, []string{"aud"})
				if aud := tok.get("aud"); aud == nil || !isStringOrList(aud) {
					t.diags.Errorf(tok.pos, "id_tokens", "id token %q needs aud: as a string or a list of strings", k)
				}
			}
		}
	}
	if id := job.get("identity"); id != nil && id.str() != "google_cloud" {
		t.diags.Errorf(id.pos, "identity", "identity: %s is not a provider GitLab knows; the only one is google_cloud", id.describe())
	}
	if sec := job.get("secrets"); sec != nil {
		t.checkSecrets(sec)
	}
	if svc := job.get("services"); svc != nil {
		t.checkServices(svc)
	}
}

var secretProviders = []string{"vault", "gcp_secret_manager", "azure_key_vault", "aws_secrets_manager", "akeyless", "gitlab_secrets_manager"}

func (t *translator) checkSecrets(sec *node) {
	if sec.kind != mapKind {
		t.diags.Errorf(sec.pos, "secrets", "secrets: maps variable names to a secret provider, found %s", sec.describe())
		return
	}
	for _, k := range sec.keys {
		s := sec.fields[k]
		if s.kind != mapKind {
			t.diags.Errorf(s.pos, "secrets", "secret %q must be a mapping naming its provider", k)
			continue
		}
		t.onlyKeys(s, "secrets:"+k, append(slices.Clone(secretProviders), "file", "token"))
		found := false
		for _, p := range secretProviders {
			if s.has(p) {
				found = true
			}
		}
		if !found {
			t.diags.Errorf(s.pos, "secrets", "secret %q names no provider; use one of %s", k, strings.Join(secretProviders, ", "))
		}
		if v := s.get("vault"); v != nil && v.kind == mapKind {
			t.onlyKeys(v, "secrets:"+k+":vault", []string{"engine", "path", "field"})
			for _, req := range []string{"engine", "path", "field"} {
				if !v.has(req) {
					t.diags.Errorf(v.pos, "secrets", "secret %q: vault: needs %s:", k, req)
				}
			}
		} else if v != nil && v.kind != scalarKind {
			t.diags.Errorf(v.pos, "secrets", "secret %q: vault: is a path string or a mapping with engine, path and field", k)
		}
	}
}

func (t *translator) checkServices(svc *node) {
	if svc.isNull() {
		t.diags.Errorf(svc.pos, "services", "services: is empty; list images, or remove the keyword")
		return
	}
	items := svc.items
	if svc.kind != seqKind {
		items = []*node{svc}
	}
	for _, s := range items {
		if s.kind != mapKind {
			continue
		}
		if !s.has("name") {
			t.diags.Errorf(s.pos, "services", "a service needs name: (its image)")
		}
		for _, k := range []string{"entrypoint", "command"} {
			v := s.get(k)
			if v == nil {
				continue
			}
			if v.kind != seqKind {
				t.diags.Errorf(v.pos, "services", "service %s: must be a list of strings, found %s", k, v.describe())
			} else if len(v.items) == 0 {
				t.diags.Errorf(v.pos, "services", "service %s: must not be empty", k)
			}
		}
	}
}

// onlyKeys reports keys outside allowed, with a did-you-mean.
func (t *translator) onlyKeys(n *node, where string, allowed []string) {
	if n.kind != mapKind {
		return
	}
	for _, k := range n.keys {
		if slices.Contains(allowed, k) {
			continue
		}
		d := t.diags.Errorf(n.keyAt(k), "unknown-keyword", "unknown keyword %q in %s", k, where)
		if s := diag.Closest(k, allowed); s != "" {
			d.Hint = fmt.Sprintf("did you mean %q?", s)
		} else {
			d.Hint = "allowed: " + strings.Join(allowed, ", ")
		}
	}
}

func isStringOrList(n *node) bool {
	if n.kind == scalarKind {
		return n.tag == "!!str"
	}
	if n.kind != seqKind {
		return false
	}
	for _, it := range n.items {
		if it.kind != scalarKind || it.tag != "!!str" {
			return false
		}
	}
	return true
}
