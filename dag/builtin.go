package dag

import "strings"

// BuiltinActions are the actions (uses: NAME@REF) every gantry runner
// carries its own version of, so that workflows run offline: they are never
// fetched, pinned or locked. Names are lowercase, without the ref.
var BuiltinActions = []string{
	"gantry/outputs",
	"actions/checkout",
	"actions/upload-artifact",
	"actions/download-artifact",
	"actions/cache",
	"actions/cache/restore",
	"actions/cache/save",
	"actions/setup-go",
	"actions/setup-node",
	"actions/setup-python",
	"actions/setup-java",
	"actions/setup-dotnet",
}

// BuiltinAction reports whether uses names one of BuiltinActions, at any
// ref.
func BuiltinAction(uses string) bool {
	name, _, _ := strings.Cut(strings.ToLower(uses), "@")
	for _, b := range BuiltinActions {
		if b == name {
			return true
		}
	}
	return false
}

// RemoteAction reports whether uses names an action or reusable workflow
// of another repository, OWNER/REPO[/PATH]@REF, that is fetched: not a
// local path (./, ../, $/), not a docker:// image, not one of
// BuiltinActions and not known only at run time (${{ }}).
func RemoteAction(uses string) bool {
	if uses == "" || strings.HasPrefix(uses, "./") || strings.HasPrefix(uses, "../") || strings.HasPrefix(uses, "$/") ||
		strings.HasPrefix(uses, "docker://") || strings.Contains(uses, "${{") || BuiltinAction(uses) {
		return false
	}
	name, _, ok := strings.Cut(uses, "@")
	return ok && strings.Contains(name, "/")
}
