package translate

import (
	"fmt"
	"strings"

	"github.com/gantry-ci/gantry/dag"
	"github.com/gantry-ci/gantry/internal/emit"
)

// EmitOptions configure a provider's emitter: the DAG's path in the
// repository, the source it was made from, the gantry version, the engine
// secret and fan-out.
type EmitOptions = emit.Options

// Targets are the names of the providers gantry writes trigger files for,
// in registry order.
func Targets() []string {
	var out []string
	for _, p := range registry {
		if p.Emit != nil {
			out = append(out, p.Name)
		}
	}
	return out
}

// Target returns the provider named name, which must write trigger files.
func Target(name string) (Provider, error) {
	for _, p := range registry {
		if p.Name == name && p.Emit != nil {
			return p, nil
		}
	}
	return Provider{}, fmt.Errorf("unknown emit target %q; known: %s", name, strings.Join(Targets(), ", "))
}

// Emit writes the trigger file of the provider named to for p.
func Emit(to string, p *dag.Pipeline, opts EmitOptions) ([]byte, error) {
	t, err := Target(to)
	if err != nil {
		return nil, err
	}
	return t.Emit(p, opts)
}
