// Package expr is the one expression language of gantry's DAG: GitHub
// Actions' ${{ }} expressions, parsed with actionlint's lexer and parser and
// evaluated over a small typed value model, with a few documented additions
// for what GitLab CI needs.
//
// # Parsing
//
// Parse reads one expression (with or without its ${{ }}); ParseTemplate
// splits a string such as "v${{ matrix.go }}-${{ runner.os }}" into literal
// text and expressions. Every error is a diag.Diagnostic positioned in the
// user's file: the position given for the start of the text, moved by the
// lines and characters before the offending token, so that expressions in
// the middle of a multi-line script point at the right line and column
// (ParseAt and ParseTemplateAt take an explicit PosFunc, such as BlockPos for
// the content of a YAML | block). Syntax errors have code "expr-syntax".
// Expressions longer than MaxTokens tokens or nested deeper than MaxDepth
// are rejected with a positioned error rather than handed to the recursive
// parser. Integer literals wider than 32 bits, which actionlint's parser
// refuses, are read as numbers, as GitHub reads them (run ids are larger).
//
// Check reports what can be seen without evaluating: unknown functions and
// wrong numbers of arguments ("expr-func"), bad literal format strings and
// regular expressions ("expr-func"), and context names that are not
// available ("expr-context").
//
// # Values
//
// A Value is null, a boolean, a number (float64), a string, an array or an
// object; FromGo and Go convert from and to decoded JSON or YAML, and
// Value implements json.Marshaler and json.Unmarshaler. The conversions are
// GitHub's:
//
//   - to a boolean (Truthy): false, 0, -0, NaN, "" and null are false;
//   - to a number (Number): null is 0, true 1, false 0, a string is parsed
//     after trimming white space ("" is 0, 0x hexadecimal is allowed,
//     anything unparsable is NaN), arrays and objects are NaN;
//   - to a string (String): null is "", booleans "true" and "false", numbers
//     have up to 15 significant digits and no decimal point when whole
//     (1E+15 past that); arrays and objects, which GitHub does not convert,
//     become compact JSON in templates and the words "Array" and "Object"
//     in format() and join(), as on GitHub.
//
// Object fields are looked up without regard to case, as GitHub does.
//
// # Evaluation
//
// Expr.Eval evaluates against an Env: the named contexts (github, env, vars,
// secrets, matrix, needs, steps, job, jobs, runner, inputs, strategy or any
// other), the Status the status functions report on, and the HashFiles
// implementation (HashFilesIn gives GitHub's for a directory). Errors have
// code "expr-eval"; evaluation never panics.
//
// Operators, with GitHub's semantics:
//
//	( )                 grouping
//	a[b]  a.b           index and property; on null or a missing key: null
//	a.*                 object filter: the elements or values of a, and
//	                    a.*.b collects b from each (steps.*.outputs.x)
//	!                   not
//	< <= > >= == !=     loose comparison: if the kinds differ both sides
//	                    become numbers; strings compare without regard to
//	                    case; NaN equals nothing; arrays and objects are
//	                    equal only to themselves
//	&& ||               give one of their operands, not a boolean:
//	                    github.ref == 'refs/heads/main' && 'prod' || 'dev'
//
// Functions (names are case-insensitive):
//
//	contains(search, item)           contains('Hello world', 'llo') is true; contains(fromJSON('["a","b"]'), 'a') is true
//	startsWith(string, value)        startsWith('Hello world', 'he') is true
//	endsWith(string, value)          endsWith('Hello world', 'LD') is true
//	format(string, values...)        format('{0} {1}', 'a', 'b') is 'a b'; format('{{0}}', 1) is '{0}'
//	join(array, separator?)          join(github.event.issue.labels.*.name, ', ') is 'bug, help wanted'
//	toJSON(value)                    toJSON(fromJSON('{"a":1}')) is "{\n  \"a\": 1\n}"
//	fromJSON(string)                 fromJSON('[1, 2]')[1] is 2
//	hashFiles(patterns...)           hashFiles('**/go.sum', '!vendor/**') is the SHA-256 of the matched files, or ''
//	success()                        true when nothing before failed or was cancelled
//	failure()                        true when something before failed
//	cancelled()                      true when the run was cancelled
//	always()                         always true
//	case(pred, value, ..., default)  case(matrix.os == 'windows', 'pwsh', 'bash'); predicates must be booleans
//	matches(string, pattern)         matches('v1.2.3', '/^v\d+/') is true; matches('ABC', '/abc/i') is true
//
// UsesStatusFunc tells whether an expression calls one of the status
// functions: an if: condition that does not is evaluated as
// success() && (condition), as GitHub does.
//
// # GitLab
//
// matches is gantry's own function for GitLab's regular expression
// operators. Its pattern is a GitLab-style /regexp/flags literal (flags i,
// m and s) or a bare RE2 expression, so GitLab's rules translate as:
//
//	$VAR =~ /re/       matches(env.VAR, '/re/')
//	$VAR !~ /re/i      !matches(env.VAR, '/re/i')
//	$VAR               env.VAR != ''
//	$VAR == "x"        matches(env.VAR, '^x$')    (x quoted with regexp.QuoteMeta)
//
// GitLab's == is case-sensitive and GitHub's is not, hence the anchored
// pattern for it. A variable that is not set is null, which matches as the
// empty string.
package expr
