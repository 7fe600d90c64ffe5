package github

import (
	"regexp"

	"github.com/gantry-ci/gantry/diag"
)

// notEnforced is the one list of findings that actionlint (or gantry's own
// reading of the file) reports and GitHub does not enforce: GitHub runs
// such a workflow, so gantry translate and gantry run must too. There they
// are warnings that say what GitHub does; gantry lint keeps them as
// findings. docs/github.md has the same table ("Never stricter than
// GitHub"), and a test keeps the two alike.
var notEnforced = []leniency{
	{
		name:    "max-parallel-below-one",
		code:    "syntax-check",
		message: regexp.MustCompile(`^value at "max-parallel" must be greater than zero`),
		// https://github.com/actions/runner/blob/main/src/Sdk/DTPipelines/workflow-v1.0.json ("max-parallel": "number")
		github: "GitHub's workflow schema takes any number for max-parallel; gantry reads it as no limit",
	},
	{
		name:    "dispatch-input-type",
		code:    "syntax-check",
		message: regexp.MustCompile(`^input type of workflow_dispatch event must be one of`),
		// https://github.com/actions/runner/blob/main/src/Sdk/DTPipelines/workflow-v1.0.json (workflow_dispatch-input: loose keys and values)
		github: "GitHub does not check the type of a workflow_dispatch input; gantry reads it as a string input",
	},
	{
		name:    "action-input-unknown-key",
		code:    "action",
		message: regexp.MustCompile(`^could not parse action metadata in .*unexpected key "[^"]+" for definition of input`),
		// https://github.com/actions/runner/blob/main/src/Runner.Worker/action_yaml.json ("input": loose keys and values)
		github: "GitHub's runner reads an action's inputs loosely and ignores keys it does not know, such as type",
	},
	{
		name:    "number-trailing-dot",
		code:    "expression",
		message: regexp.MustCompile(`^number literal "[0-9]+\." ends with "\."`),
		// https://github.com/actions/runner/blob/main/src/Sdk/DTExpressions2/Expressions2/Tokens/LexicalAnalyzer.cs (ReadNumberToken, ExpressionUtility.ParseNumber)
		github: "GitHub reads it as the number without the dot, and so does gantry",
	},
}

// leniency is one row of notEnforced.
type leniency struct {
	// name is the row's name in docs/github.md.
	name string
	// code and message match the finding.
	code    string
	message *regexp.Regexp
	// github says what GitHub does instead.
	github string
}

// notEnforcedBy returns the row of notEnforced that d matches.
func notEnforcedBy(d diag.Diagnostic) (leniency, bool) {
	for _, r := range notEnforced {
		if d.Code == r.code && r.message.MatchString(d.Message) {
			return r, true
		}
	}
	return leniency{}, false
}

// relax applies notEnforced to the findings of a file, in place: outside
// lint mode each such error becomes a warning that says what GitHub does;
// in lint mode it stays an error, GitHub's behaviour in its hint. It
// reports whether an error that GitHub enforces is left.
func relax(l diag.List, lintMode bool) (blocking bool) {
	for i := range l {
		d := &l[i]
		if d.Severity != diag.Error {
			continue
		}
		r, ok := notEnforcedBy(*d)
		if !ok {
			blocking = true
			continue
		}
		if lintMode {
			d.Hint = joinHint(d.Hint, r.github)
			continue
		}
		d.Severity = diag.Warning
		d.Message += ": " + r.github
	}
	return blocking
}

func joinHint(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
