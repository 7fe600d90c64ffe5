package expr

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/gantry-ci/gantry/diag"
)

// Contexts returns the top-level context names the expression reads
// (github, matrix, steps...), lowercased, sorted, each once.
func (e *Expr) Contexts() []string {
	var names []string
	actionlint.VisitExprNode(e.node, func(n, _ actionlint.ExprNode, entering bool) {
		if v, ok := n.(*actionlint.VariableNode); ok && entering {
			names = append(names, strings.ToLower(v.Name))
		}
	})
	slices.Sort(names)
	return slices.Compact(names)
}

// Partial evaluates the expressions for which resolve returns true and
// keeps the others as ${{ }} text, so that what is known early (matrix
// values at translate time) is fixed while run-time parts stay. Literal
// text is kept as it is.
func (t *Template) Partial(env *Env, resolve func(*Expr) bool) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case p.expr == nil:
			b.WriteString(p.lit)
		case resolve(p.expr):
			v, err := p.expr.Eval(env)
			if err != nil {
				return "", err
			}
			b.WriteString(v.String())
		default:
			b.WriteString("${{ ")
			b.WriteString(strings.TrimSpace(p.expr.String()))
			b.WriteString(" }}")
		}
	}
	return b.String(), nil
}

// Substitute rewrites every property access ctx.NAME or ctx['NAME'] in the
// template's expressions (ctx compared case-insensitively) into the
// expression values[NAME], parenthesised; a name without a value becomes
// ”. An expression that is nothing but such an access of a literal value
// becomes that literal text. It is how inlining maps a composite action's
// inputs, or a called workflow's, to what the caller passed.
func (t *Template) Substitute(ctx string, values map[string]Arg) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		src := strings.TrimSpace(p.expr.String())
		if name, ok := soleAccess(src, ctx); ok {
			if v := lookupArg(values, name); v.Literal {
				b.WriteString(v.Text)
				continue
			}
		}
		b.WriteString("${{ ")
		b.WriteString(substituteExpr(src, ctx, values))
		b.WriteString(" }}")
	}
	return b.String()
}

// Arg is a value passed to an input: literal text, or an expression.
type Arg struct {
	Text    string
	Literal bool
}

// ArgOf reads what a caller passed (a with: value) as an Arg: text without
// ${{ }} is literal; one ${{ e }} is the expression e; a mix becomes a
// format() call.
func ArgOf(s string) Arg {
	if !HasExpr(s) {
		return Arg{Text: s, Literal: true}
	}
	t, err := ParseTemplate(s, diag.Pos{Line: 1, Col: 1})
	if err != nil {
		return Arg{Text: s, Literal: true}
	}
	if e := t.Single(); e != nil {
		return Arg{Text: strings.TrimSpace(e.String())}
	}
	var (
		f    strings.Builder
		args []string
	)
	for _, p := range t.parts {
		if p.expr == nil {
			f.WriteString(strings.NewReplacer("{", "{{", "}", "}}").Replace(p.lit))
			continue
		}
		fmt.Fprintf(&f, "{%d}", len(args))
		args = append(args, strings.TrimSpace(p.expr.String()))
	}
	return Arg{Text: "format(" + quote(f.String()) + ", " + strings.Join(args, ", ") + ")"}
}

func (a Arg) expr() string {
	if a.Literal {
		return quote(a.Text)
	}
	return "(" + a.Text + ")"
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func lookupArg(values map[string]Arg, name string) Arg {
	for k, v := range values {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return Arg{Text: "", Literal: true}
}

// soleAccess reports whether src is exactly ctx.NAME or ctx['NAME'].
func soleAccess(src, ctx string) (string, bool) {
	toks := tokens(src)
	if len(toks) == 3 && isCtx(toks[0], ctx) && toks[1].Kind == actionlint.TokenKindDot && toks[2].Kind == actionlint.TokenKindIdent {
		return toks[2].Value, true
	}
	if len(toks) == 4 && isCtx(toks[0], ctx) && toks[1].Kind == actionlint.TokenKindLeftBracket &&
		toks[2].Kind == actionlint.TokenKindString && toks[3].Kind == actionlint.TokenKindRightBracket {
		return unquote(toks[2].Value), true
	}
	return "", false
}

func isCtx(t *actionlint.Token, ctx string) bool {
	return t.Kind == actionlint.TokenKindIdent && strings.EqualFold(t.Value, ctx)
}

func unquote(s string) string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "'"), "'")
	return strings.ReplaceAll(s, "''", "'")
}

// tokens lexes an expression body; it returns nil when it cannot be lexed.
func tokens(src string) []*actionlint.Token {
	l := actionlint.NewExprLexer(src + "}}")
	var out []*actionlint.Token
	for {
		t := l.Next()
		if l.Err() != nil {
			return nil
		}
		if t.Kind == actionlint.TokenKindEnd {
			return out
		}
		out = append(out, t)
	}
}

func substituteExpr(src, ctx string, values map[string]Arg) string {
	toks := tokens(src)
	var b strings.Builder
	last := 0
	for i := 0; i < len(toks); i++ {
		// A property of another object (x.inputs) is not the context.
		if !isCtx(toks[i], ctx) || (i > 0 && toks[i-1].Kind == actionlint.TokenKindDot) {
			continue
		}
		start := toks[i].Offset
		var name string
		var end int
		switch {
		case i+2 < len(toks) && toks[i+1].Kind == actionlint.TokenKindDot && toks[i+2].Kind == actionlint.TokenKindIdent:
			name, end = toks[i+2].Value, toks[i+2].Offset+len(toks[i+2].Value)
			i += 2
		case i+3 < len(toks) && toks[i+1].Kind == actionlint.TokenKindLeftBracket && toks[i+2].Kind == actionlint.TokenKindString &&
			toks[i+3].Kind == actionlint.TokenKindRightBracket:
			name, end = unquote(toks[i+2].Value), toks[i+3].Offset+1
			i += 3
		default:
			continue
		}
		b.WriteString(src[last:start])
		b.WriteString(lookupArg(values, name).expr())
		last = end
	}
	b.WriteString(src[last:])
	return b.String()
}

// Rename rewrites the property names read from a context (ctx.ID and
// ctx['ID']) with rename, in every expression of the template. Inlining a
// composite action uses it to keep the action's step ids apart.
func (t *Template) Rename(ctx string, rename func(string) string) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		src := strings.TrimSpace(p.expr.String())
		toks := tokens(src)
		var e strings.Builder
		last := 0
		for i := 0; i+2 < len(toks); i++ {
			if !isCtx(toks[i], ctx) || (i > 0 && toks[i-1].Kind == actionlint.TokenKindDot) {
				continue
			}
			switch {
			case toks[i+1].Kind == actionlint.TokenKindDot && toks[i+2].Kind == actionlint.TokenKindIdent:
				id := toks[i+2]
				e.WriteString(src[last:id.Offset])
				e.WriteString(rename(id.Value))
				last = id.Offset + len(id.Value)
			case toks[i+1].Kind == actionlint.TokenKindLeftBracket && toks[i+2].Kind == actionlint.TokenKindString:
				lit := toks[i+2]
				e.WriteString(src[last:lit.Offset])
				e.WriteString(quote(rename(unquote(lit.Value))))
				last = lit.Offset + len(lit.Value)
			}
		}
		e.WriteString(src[last:])
		b.WriteString("${{ ")
		b.WriteString(e.String())
		b.WriteString(" }}")
	}
	return b.String()
}
