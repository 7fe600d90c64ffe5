package expr

import (
	"strings"

	"github.com/gantry-ci/gantry/diag"
	"github.com/rhysd/actionlint"
)

// Template is a string with ${{ }} expressions in it, split into literal
// text and expressions. It is immutable and safe for concurrent use.
type Template struct {
	src   string
	parts []part
}

// part is either literal text or an expression.
type part struct {
	lit  string
	expr *Expr
}

// HasExpr reports whether s has a ${{ in it.
func HasExpr(s string) bool { return strings.Contains(s, "${{") }

// ParseTemplate splits s into literal text and ${{ }} expressions. pos is
// where s starts in the user's file; each expression is positioned by
// counting lines and characters from there (see FlowPos). Every bad
// expression is reported: the error is a diag.Diagnostic when there is one,
// a *diag.ListError when there are more (diag.AsList gives them all).
func ParseTemplate(s string, pos diag.Pos) (*Template, error) {
	return ParseTemplateAt(s, FlowPos(s, pos))
}

// ParseTemplateAt is ParseTemplate with an explicit mapping from offsets in
// s to positions, such as BlockPos for a YAML | block.
func ParseTemplateAt(s string, at PosFunc) (*Template, error) {
	t := &Template{src: s}
	var errs diag.List
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "${{")
		if j < 0 {
			t.addLit(s[i:])
			break
		}
		start := i + j
		t.addLit(s[i:start])
		body := start + 3
		end, lexOff, lexMsg := scanExprEnd(s[body:])
		switch {
		case lexMsg != "":
			errs.Add(diag.Errorf(at(body+lexOff), CodeSyntax, "%s", lexMsg))
			// Go on after the next }}, if there is one.
			k := strings.Index(s[body+lexOff:], "}}")
			if k < 0 {
				i = len(s)
				continue
			}
			i = body + lexOff + k + 2
			continue
		case end < 0:
			errs.Add(diag.Errorf(at(start), CodeSyntax, "\"${{\" is not closed by \"}}\"").
				WithHint("close the expression with }}, or write ${{ '${{' }} for a literal ${{"))
			i = len(s)
			continue
		}
		e, err := parseInner(s[body:body+end], shift(at, body))
		if err != nil {
			errs.Add(diag.AsList(err)...)
		} else {
			t.parts = append(t.parts, part{expr: e})
		}
		i = body + end + 2
	}
	switch len(errs) {
	case 0:
		return t, nil
	case 1:
		return nil, errs[0]
	}
	return nil, errs.Err()
}

func (t *Template) addLit(s string) {
	if s == "" {
		return
	}
	if n := len(t.parts); n > 0 && t.parts[n-1].expr == nil {
		t.parts[n-1].lit += s
		return
	}
	t.parts = append(t.parts, part{lit: s})
}

// scanExprEnd finds the }} that closes an expression starting at the
// beginning of s, lexing it as actionlint does so that a }} inside a string
// literal does not count. It returns the offset of that }}, or -1 when s
// ends first; or, when s cannot be lexed, the offset and message of the
// error.
func scanExprEnd(s string) (end, errOff int, errMsg string) {
	l := actionlint.NewExprLexer(s)
	for {
		t := l.Next()
		if err := l.Err(); err != nil {
			if err.Offset >= len(s) {
				return -1, 0, ""
			}
			return -1, err.Offset, err.Message
		}
		if t.Kind == actionlint.TokenKindEnd {
			return l.Offset() - 2, 0, ""
		}
	}
}

// String returns the text the template was parsed from.
func (t *Template) String() string { return t.src }

// Exprs returns the expressions of the template, in order.
func (t *Template) Exprs() []*Expr {
	var es []*Expr
	for _, p := range t.parts {
		if p.expr != nil {
			es = append(es, p.expr)
		}
	}
	return es
}

// Single returns the expression when the template is exactly one ${{ }}
// with nothing around it, and nil otherwise.
func (t *Template) Single() *Expr {
	if len(t.parts) == 1 {
		return t.parts[0].expr
	}
	return nil
}

// Check reports the static problems of each expression; see Check.
func (t *Template) Check(known []string) diag.List {
	var l diag.List
	for _, e := range t.Exprs() {
		l.Add(e.Check(known)...)
	}
	return l
}

// Eval evaluates the expressions and joins them with the literal text. Each
// value is converted by Value.String: primitives GitHub's way, arrays and
// objects as compact JSON.
func (t *Template) Eval(env *Env) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.expr.Eval(env)
		if err != nil {
			return "", err
		}
		b.WriteString(v.String())
	}
	return b.String(), nil
}

// Value evaluates the template to a Value: when it is exactly one ${{ }},
// the expression's value as it is (for if:, matrix:, fromJSON results),
// and otherwise the string Eval gives.
func (t *Template) Value(env *Env) (Value, error) {
	if e := t.Single(); e != nil {
		return e.Eval(env)
	}
	s, err := t.Eval(env)
	if err != nil {
		return Null(), err
	}
	return String(s), nil
}

// Interpolate parses s as a template and evaluates it; a string without
// ${{ is returned as it is.
func Interpolate(s string, pos diag.Pos, env *Env) (string, error) {
	if !HasExpr(s) {
		return s, nil
	}
	t, err := ParseTemplate(s, pos)
	if err != nil {
		return "", err
	}
	return t.Eval(env)
}
