package expr

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gantry-ci/gantry/diag"
	"github.com/rhysd/actionlint"
)

// Codes of the diagnostics this package reports.
const (
	// CodeSyntax marks an expression that does not parse.
	CodeSyntax = "expr-syntax"
	// CodeFunc marks a call of an unknown function, or one with the wrong
	// arguments.
	CodeFunc = "expr-func"
	// CodeContext marks a context name that is not available.
	CodeContext = "expr-context"
	// CodeEval marks an expression that failed while it was evaluated.
	CodeEval = "expr-eval"
)

// Limits on one expression. actionlint's parser is recursive, so they keep a
// hostile or broken input from exhausting the stack; real expressions stay
// far below them.
const (
	// MaxTokens is the most tokens one expression may have.
	MaxTokens = 10000
	// MaxDepth is how deeply parentheses and brackets may nest.
	MaxDepth = 100
)

// PosFunc maps a byte offset in a string to where that byte is in the user's
// file.
type PosFunc func(offset int) diag.Pos

// FlowPos returns the PosFunc of a string s that starts at start and, after
// each newline, continues at column 1: a whole line, a flow or quoted YAML
// scalar, a file. A zero line or column of start counts as 1.
func FlowPos(s string, start diag.Pos) PosFunc {
	return linePos(s, start, false)
}

// BlockPos returns the PosFunc of the content s of a YAML literal block
// scalar (|) whose first content character is at start: every line of such
// a block is indented like the first, so each continues at start's column.
func BlockPos(s string, start diag.Pos) PosFunc {
	return linePos(s, start, true)
}

func linePos(s string, start diag.Pos, block bool) PosFunc {
	start.Line = max(start.Line, 1)
	start.Col = max(start.Col, 1)
	return func(off int) diag.Pos {
		off = min(max(off, 0), len(s))
		prefix := s[:off]
		nl := strings.LastIndexByte(prefix, '\n')
		if nl < 0 {
			return diag.Pos{File: start.File, Line: start.Line, Col: start.Col + utf8.RuneCountInString(prefix)}
		}
		col := 1
		if block {
			col = start.Col
		}
		return diag.Pos{
			File: start.File,
			Line: start.Line + strings.Count(prefix, "\n"),
			Col:  col + utf8.RuneCountInString(prefix[nl+1:]),
		}
	}
}

func shift(at PosFunc, by int) PosFunc {
	return func(off int) diag.Pos { return at(by + off) }
}

// Expr is a parsed expression. It is immutable and safe for concurrent use.
type Expr struct {
	src  string              // as given to Parse
	node actionlint.ExprNode // the syntax tree
	at   PosFunc             // maps offsets in the expression's text (inside any braces)
	// res holds the compiled patterns of matches() calls whose pattern is
	// a string literal.
	res map[*actionlint.FuncCallNode]*regexp.Regexp
}

// Parse parses one expression: the text inside ${{ }}, or the whole
// ${{ ... }} with its braces. pos is where src starts in the user's file.
// The error is a diag.Diagnostic with code CodeSyntax, positioned at the
// offending character.
func Parse(src string, pos diag.Pos) (*Expr, error) {
	return ParseAt(src, FlowPos(src, pos))
}

// ParseAt is Parse with an explicit mapping from offsets in src to positions
// (see FlowPos and BlockPos).
func ParseAt(src string, at PosFunc) (*Expr, error) {
	inner, off := stripBraces(src)
	e, err := parseInner(inner, shift(at, off))
	if err != nil {
		return nil, err
	}
	e.src = src
	return e, nil
}

// stripBraces returns the inside of src when src is a single ${{ ... }},
// with its offset in src.
func stripBraces(src string) (string, int) {
	t := strings.TrimSpace(src)
	if len(t) >= 5 && strings.HasPrefix(t, "${{") && strings.HasSuffix(t, "}}") {
		off := strings.Index(src, "${{") + 3
		return t[3 : len(t)-2], off
	}
	return src, 0
}

func syntaxError(at PosFunc, off int, format string, args ...any) diag.Diagnostic {
	return diag.Errorf(at(off), CodeSyntax, format, args...)
}

// parseInner parses the text inside ${{ }}; at maps offsets in src.
func parseInner(src string, at PosFunc) (*Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, syntaxError(at, 0, "empty expression").WithHint("write an expression between ${{ and }}, such as ${{ github.ref }}")
	}
	text, back, err := prescan(src, at)
	if err != nil {
		return nil, err
	}
	// Offsets in text map back to offsets in src, then to the file.
	inSrc := at
	at = func(off int) diag.Pos { return inSrc(back(off)) }
	// actionlint's lexer expects the closing }} of the expression.
	l := actionlint.NewExprLexer(text + "}}")
	node, perr := actionlint.NewExprParser().Parse(l)
	if perr != nil {
		return nil, syntaxError(at, min(perr.Offset, len(text)), "%s", perr.Message)
	}
	if end := l.Offset() - 2; end != len(text) {
		return nil, syntaxError(at, end, "unexpected \"}}\" inside the expression").
			WithHint("an expression ends at the first }} outside a string literal")
	}
	e := &Expr{src: src, node: node, at: at}
	e.compilePatterns()
	return e, nil
}

// prescan lexes src once, before the recursive parser sees it. It rejects
// inputs that are too long or too deeply nested, and it rewrites integer
// literals that do not fit in 32 bits, which actionlint's parser refuses
// but GitHub accepts (run and database ids are larger), as equal float
// literals. It returns the text to parse and the mapping of offsets in that
// text back to offsets in src. Lexing errors are left to the parser, which
// reports the same ones.
func prescan(src string, at PosFunc) (string, func(int) int, error) {
	type edit struct {
		off, n int    // the replaced token in src
		text   string // what replaces it
	}
	var edits []edit
	l := actionlint.NewExprLexer(src + "}}")
	depth, n := 0, 0
	for {
		t := l.Next()
		if l.Err() != nil || t.Kind == actionlint.TokenKindEnd {
			break
		}
		n++
		if n > MaxTokens {
			return "", nil, syntaxError(at, t.Offset, "expression is too long: more than %d tokens", MaxTokens).
				WithHint("split it, or compute the value in a step and pass it as an output")
		}
		switch t.Kind {
		case actionlint.TokenKindLeftParen, actionlint.TokenKindLeftBracket:
			depth++
			if depth > MaxDepth {
				return "", nil, syntaxError(at, t.Offset, "expression is nested too deeply: more than %d levels of ( and [", MaxDepth)
			}
		case actionlint.TokenKindRightParen, actionlint.TokenKindRightBracket:
			depth--
		case actionlint.TokenKindInt:
			if text, ok := wideInt(t.Value); ok {
				edits = append(edits, edit{off: t.Offset, n: len(t.Value), text: text})
			}
		}
	}
	if len(edits) == 0 {
		return src, func(off int) int { return off }, nil
	}
	var b strings.Builder
	last := 0
	for _, e := range edits {
		b.WriteString(src[last:e.off])
		b.WriteString(e.text)
		last = e.off + e.n
	}
	b.WriteString(src[last:])
	back := func(off int) int {
		delta := 0
		for _, e := range edits {
			start := e.off + delta // where the edit begins in the new text
			if off < start {
				break
			}
			if off < start+len(e.text) {
				return e.off
			}
			delta += len(e.text) - e.n
		}
		return off - delta
	}
	return b.String(), back, nil
}

// wideInt returns a float literal equal to an integer literal that does not
// fit in 32 bits.
func wideInt(lit string) (string, bool) {
	if _, err := strconv.ParseInt(lit, 0, 32); err == nil {
		return "", false
	}
	sign, digits := "", lit
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	if hex, ok := strings.CutPrefix(digits, "0x"); ok {
		u, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			return "", false
		}
		digits = strconv.FormatUint(u, 10)
	}
	return sign + digits + ".0", true
}

// compilePatterns compiles the literal patterns of matches() calls once, so
// that evaluating them does not compile them again. A bad pattern is left
// for Check and Eval to report.
func (e *Expr) compilePatterns() {
	actionlint.VisitExprNode(e.node, func(n, _ actionlint.ExprNode, entering bool) {
		call, ok := n.(*actionlint.FuncCallNode)
		if !entering || !ok || !strings.EqualFold(call.Callee, "matches") || len(call.Args) != 2 {
			return
		}
		lit, ok := call.Args[1].(*actionlint.StringNode)
		if !ok {
			return
		}
		re, err := compilePattern(lit.Value)
		if err != nil {
			return
		}
		if e.res == nil {
			e.res = map[*actionlint.FuncCallNode]*regexp.Regexp{}
		}
		e.res[call] = re
	})
}

// String returns the text the expression was parsed from.
func (e *Expr) String() string { return e.src }

// Pos returns where the expression starts in the user's file.
func (e *Expr) Pos() diag.Pos { return e.at(0) }

// Node returns actionlint's syntax tree of the expression, for checks that
// actionlint already knows how to do (untrusted inputs, types).
func (e *Expr) Node() actionlint.ExprNode { return e.node }

// posOf returns the position of a node's first token.
func (e *Expr) posOf(n actionlint.ExprNode) diag.Pos {
	if t := n.Token(); t != nil {
		return e.at(t.Offset)
	}
	return e.at(0)
}

// statusFuncs are the functions that look at the job's status.
var statusFuncs = map[string]bool{"success": true, "failure": true, "always": true, "cancelled": true}

// UsesStatusFunc reports whether e calls success(), failure(), always() or
// cancelled() anywhere. An if: condition that does not is evaluated as
// success() && (condition), as GitHub does.
func UsesStatusFunc(e *Expr) bool {
	if e == nil || e.node == nil {
		return false
	}
	found := false
	actionlint.VisitExprNode(e.node, func(n, _ actionlint.ExprNode, entering bool) {
		if call, ok := n.(*actionlint.FuncCallNode); ok && entering && statusFuncs[strings.ToLower(call.Callee)] {
			found = true
		}
	})
	return found
}
