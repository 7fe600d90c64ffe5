package expr

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"github.com/rhysd/actionlint"
)

// function is a built-in function.
type function struct {
	name     string // as documented
	min, max int    // number of arguments; max < 0 means no limit
	odd      bool   // the number of arguments must be odd (case)
	usage    string
	// call evaluates the call; most functions take their arguments
	// evaluated, in args, while lazy ones (case) evaluate n.Args themselves.
	call func(ev *evaluator, n *actionlint.FuncCallNode, args []Value) (Value, error)
	lazy bool
}

// functions is keyed by the lower-case name: names are case-insensitive.
var functions map[string]*function

func init() {
	fs := []*function{
		{name: "contains", min: 2, max: 2, usage: "contains(search, item)", call: fnContains},
		{name: "startsWith", min: 2, max: 2, usage: "startsWith(searchString, searchValue)", call: fnStartsWith},
		{name: "endsWith", min: 2, max: 2, usage: "endsWith(searchString, searchValue)", call: fnEndsWith},
		{name: "format", min: 1, max: -1, usage: "format(string, replaceValue0, replaceValue1, ...)", call: fnFormat},
		{name: "join", min: 1, max: 2, usage: "join(array, optionalSeparator)", call: fnJoin},
		{name: "toJSON", min: 1, max: 1, usage: "toJSON(value)", call: fnToJSON},
		{name: "fromJSON", min: 1, max: 1, usage: "fromJSON(value)", call: fnFromJSON},
		{name: "hashFiles", min: 1, max: -1, usage: "hashFiles(path, ...)", call: fnHashFiles},
		{name: "success", usage: "success()", call: fnSuccess},
		{name: "failure", usage: "failure()", call: fnFailure},
		{name: "cancelled", usage: "cancelled()", call: fnCancelled},
		{name: "always", usage: "always()", call: fnAlways},
		{name: "case", min: 3, max: -1, odd: true, usage: "case(pred1, val1, [pred2, val2, ...], default)", call: fnCase, lazy: true},
		{name: "matches", min: 2, max: 2, usage: "matches(string, pattern)", call: fnMatches},
	}
	functions = make(map[string]*function, len(fs))
	for _, f := range fs {
		functions[strings.ToLower(f.name)] = f
	}
}

// Functions returns the names of the built-in functions, as documented.
func Functions() []string {
	names := make([]string, 0, len(functions))
	for _, f := range functions {
		names = append(names, f.name)
	}
	slices.Sort(names)
	return names
}

// arityError says what is wrong with the number of arguments of a call, or
// returns "".
func (f *function) arityError(n int) string {
	switch {
	case n < f.min || (f.max >= 0 && n > f.max):
		var want string
		switch {
		case f.min == f.max && f.min == 0:
			want = "no arguments"
		case f.min == f.max && f.min == 1:
			want = "1 argument"
		case f.min == f.max:
			want = fmt.Sprintf("%d arguments", f.min)
		case f.max < 0:
			want = fmt.Sprintf("at least %d argument%s", f.min, plural(f.min))
		default:
			want = fmt.Sprintf("%d to %d arguments", f.min, f.max)
		}
		return fmt.Sprintf("%s takes %s, got %d", f.name, want, n)
	case f.odd && n%2 == 0:
		return fmt.Sprintf("%s takes an odd number of arguments (pairs of predicate and value, then a default), got %d", f.name, n)
	}
	return ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (ev *evaluator) call(n *actionlint.FuncCallNode) (Value, error) {
	f := functions[strings.ToLower(n.Callee)]
	if f == nil {
		return Null(), ev.errorf(n, "unknown function %q", n.Callee)
	}
	if msg := f.arityError(len(n.Args)); msg != "" {
		return Null(), ev.errorf(n, "%s", msg).WithHint("usage: %s", f.usage)
	}
	var args []Value
	if !f.lazy {
		args = make([]Value, len(n.Args))
		for i, a := range n.Args {
			v, err := ev.eval(a)
			if err != nil {
				return Null(), err
			}
			args[i] = v
		}
	}
	return f.call(ev, n, args)
}

func fnContains(_ *evaluator, _ *actionlint.FuncCallNode, args []Value) (Value, error) {
	search, item := args[0], args[1]
	switch {
	case search.isPrimitive():
		if item.isPrimitive() {
			return Bool(strings.Contains(upper(search.funcString()), upper(item.funcString()))), nil
		}
	case search.kind == KindArray:
		for _, e := range search.arr.elems {
			if item.Equal(e) {
				return Bool(true), nil
			}
		}
	}
	return Bool(false), nil
}

func fnStartsWith(_ *evaluator, _ *actionlint.FuncCallNode, args []Value) (Value, error) {
	if !args[0].isPrimitive() || !args[1].isPrimitive() {
		return Bool(false), nil
	}
	return Bool(strings.HasPrefix(upper(args[0].funcString()), upper(args[1].funcString()))), nil
}

func fnEndsWith(_ *evaluator, _ *actionlint.FuncCallNode, args []Value) (Value, error) {
	if !args[0].isPrimitive() || !args[1].isPrimitive() {
		return Bool(false), nil
	}
	return Bool(strings.HasSuffix(upper(args[0].funcString()), upper(args[1].funcString()))), nil
}

func fnFormat(ev *evaluator, n *actionlint.FuncCallNode, args []Value) (Value, error) {
	s, err := formatString(args[0].funcString(), args[1:])
	if err != nil {
		return Null(), ev.errorf(n.Args[0], "format: %v", err).WithHint("write {0}, {1}, ... for the values and {{ and }} for literal braces")
	}
	return String(s), nil
}

// formatString replaces {N} (or {N:spec}, whose spec is ignored) with the
// N-th argument, and {{ and }} with single braces.
func formatString(fs string, args []Value) (string, error) {
	var b strings.Builder
	for i := 0; i < len(fs); {
		switch c := fs[i]; c {
		case '{':
			if i+1 < len(fs) && fs[i+1] == '{' {
				b.WriteByte('{')
				i += 2
				continue
			}
			j := i + 1
			for j < len(fs) && isDigit(fs[j]) {
				j++
			}
			if j == i+1 {
				return "", fmt.Errorf("invalid format string %q: \"{\" at byte %d is not followed by an argument number", fs, i)
			}
			idx, err := strconv.Atoi(fs[i+1 : j])
			if err != nil {
				return "", fmt.Errorf("invalid format string %q: argument number %s is too large", fs, fs[i+1:j])
			}
			if j < len(fs) && fs[j] == ':' {
				k := strings.IndexByte(fs[j:], '}')
				if k < 0 {
					return "", fmt.Errorf("invalid format string %q: \"{\" at byte %d is not closed", fs, i)
				}
				j += k
			}
			if j >= len(fs) || fs[j] != '}' {
				return "", fmt.Errorf("invalid format string %q: \"{\" at byte %d is not closed", fs, i)
			}
			if idx >= len(args) {
				return "", fmt.Errorf("format string %q refers to {%d} but only %d value%s given", fs, idx, len(args), plural(len(args)))
			}
			b.WriteString(args[idx].funcString())
			i = j + 1
		case '}':
			if i+1 < len(fs) && fs[i+1] == '}' {
				b.WriteByte('}')
				i += 2
				continue
			}
			return "", fmt.Errorf("invalid format string %q: unmatched \"}\" at byte %d", fs, i)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

func fnJoin(_ *evaluator, _ *actionlint.FuncCallNode, args []Value) (Value, error) {
	items := args[0]
	if items.isPrimitive() {
		return String(items.funcString()), nil
	}
	if items.kind != KindArray {
		return String(""), nil
	}
	sep := ","
	if len(args) > 1 && args[1].isPrimitive() {
		sep = args[1].funcString()
	}
	parts := make([]string, len(items.arr.elems))
	for i, e := range items.arr.elems {
		parts[i] = e.funcString()
	}
	return String(strings.Join(parts, sep)), nil
}

func fnToJSON(_ *evaluator, _ *actionlint.FuncCallNode, args []Value) (Value, error) {
	return String(prettyJSON(args[0])), nil
}

func fnFromJSON(ev *evaluator, n *actionlint.FuncCallNode, args []Value) (Value, error) {
	s := args[0].funcString()
	if strings.TrimSpace(s) == "" {
		return Null(), ev.errorf(n.Args[0], "fromJSON: empty input")
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return Null(), ev.errorf(n.Args[0], "fromJSON: %v", err)
	}
	return v, nil
}

func fnHashFiles(ev *evaluator, n *actionlint.FuncCallNode, args []Value) (Value, error) {
	if ev.env.HashFiles == nil {
		return Null(), ev.errorf(n, "hashFiles is not available here").WithHint("hashFiles can only be used where the workspace is known, such as in steps")
	}
	patterns := make([]string, len(args))
	for i, a := range args {
		patterns[i] = a.funcString()
	}
	h, err := ev.env.HashFiles(patterns)
	if err != nil {
		return Null(), ev.errorf(n, "hashFiles: %v", err)
	}
	return String(h), nil
}

func (ev *evaluator) status() Status {
	if ev.env.Status == "" {
		return StatusSuccess
	}
	return ev.env.Status
}

func fnSuccess(ev *evaluator, _ *actionlint.FuncCallNode, _ []Value) (Value, error) {
	return Bool(ev.status() == StatusSuccess), nil
}

func fnFailure(ev *evaluator, _ *actionlint.FuncCallNode, _ []Value) (Value, error) {
	return Bool(ev.status() == StatusFailure), nil
}

func fnCancelled(ev *evaluator, _ *actionlint.FuncCallNode, _ []Value) (Value, error) {
	return Bool(ev.status() == StatusCancelled), nil
}

func fnAlways(*evaluator, *actionlint.FuncCallNode, []Value) (Value, error) {
	return Bool(true), nil
}

// fnCase evaluates its predicates in order, and only the value it returns.
func fnCase(ev *evaluator, n *actionlint.FuncCallNode, _ []Value) (Value, error) {
	for i := 0; i+1 < len(n.Args); i += 2 {
		pred, err := ev.eval(n.Args[i])
		if err != nil {
			return Null(), err
		}
		if pred.kind != KindBool {
			return Null(), ev.errorf(n.Args[i], "case: predicate must be a boolean, got %s", pred.kind).
				WithHint("compare explicitly, such as x == 'value', or use x != '' for a string")
		}
		if pred.b {
			return ev.eval(n.Args[i+1])
		}
	}
	return ev.eval(n.Args[len(n.Args)-1])
}

func fnMatches(ev *evaluator, n *actionlint.FuncCallNode, args []Value) (Value, error) {
	re := ev.e.res[n]
	if re == nil {
		var err error
		re, err = compilePattern(args[1].funcString())
		if err != nil {
			return Null(), ev.errorf(n.Args[1], "matches: %v", err)
		}
	}
	return Bool(re.MatchString(args[0].funcString())), nil
}

// compilePattern compiles a GitLab-style /regexp/flags literal (flags i, m
// and s) or, when pattern is not one, pattern itself as an RE2 expression.
func compilePattern(pattern string) (*regexp.Regexp, error) {
	body, flags := pattern, ""
	if len(pattern) >= 2 && pattern[0] == '/' {
		if end := strings.LastIndexByte(pattern, '/'); end > 0 {
			f := pattern[end+1:]
			if strings.Trim(f, "ims") == "" {
				body, flags = pattern[1:end], f
			}
		}
	}
	if flags != "" {
		body = "(?" + flags + ")" + body
	}
	re, err := regexp.Compile(body)
	if err != nil {
		var re2 *syntax.Error
		if errors.As(err, &re2) {
			return nil, fmt.Errorf("invalid regular expression %q: %s", pattern, re2.Code)
		}
		return nil, fmt.Errorf("invalid regular expression %q: %w", pattern, err)
	}
	return re, nil
}
