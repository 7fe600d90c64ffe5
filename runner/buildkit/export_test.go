package buildkit

import (
	"fmt"
	"sync"
	"time"

	"github.com/moby/buildkit/client/llb"
)

var definitionsMu sync.Mutex

// RecordDefinitions collects the bytes of every definition solved from now
// on, until the returned function stops it and returns them.
func RecordDefinitions() func() [][]byte {
	var defs [][]byte
	definitionsMu.Lock()
	onDefinition = func(d *llb.Definition) {
		definitionsMu.Lock()
		defer definitionsMu.Unlock()
		for _, op := range d.Def {
			defs = append(defs, op)
		}
		for _, md := range d.Metadata {
			defs = append(defs, []byte(fmt.Sprintf("%+v", md)))
		}
	}
	definitionsMu.Unlock()
	return func() [][]byte {
		definitionsMu.Lock()
		defer definitionsMu.Unlock()
		onDefinition = nil
		return defs
	}
}

// BuildRef is the daemon's name for a workspace's session.
func BuildRef(ws any) string { return "gantry-" + ws.(*workspace).unique }

// SetPortWait sets how long a service without a health check is waited
// for, and returns the old value.
func SetPortWait(d time.Duration) time.Duration {
	old := portWait
	portWait = d
	return old
}
