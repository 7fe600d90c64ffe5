package gitlab

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gantry-ci/gantry/diag"
)

// condition translates a GitLab rules:if expression (or only:variables
// entry) into gantry's expression language:
//
//	$VAR                  env.VAR   (defined and not empty)
//	$VAR == "x"           matches(env.VAR, '^x$')   (GitLab compares case-sensitively)
//	$VAR != "x"           !matches(env.VAR, '^x$')
//	$VAR == null          env.VAR == null
//	$VAR =~ /re/i         matches(env.VAR, '/re/i')
//	$VAR !~ /re/          !matches(env.VAR, '/re/')
//	$A == $B              env.A == env.B
//	&&, ||, ( )           the same
//
// pos is where the expression starts in the file, for errors.
func condition(src string, pos diag.Pos) (string, error) {
	p := &condParser{src: src, pos: pos}
	p.next()
	out, err := p.or()
	if err != nil {
		return "", err
	}
	if p.tok.kind != tEOF {
		return "", p.errorf("unexpected %q", p.tok.text)
	}
	return out, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tVar
	tString
	tRegex
	tNull
	tOp // == != =~ !~
	tAnd
	tOr
	tLParen
	tRParen
)

type token struct {
	kind tokKind
	text string // variable name, string value, regex literal, operator
	off  int
}

type condParser struct {
	src string
	pos diag.Pos
	i   int
	tok token
	err error
}

func (p *condParser) errorf(format string, args ...any) error {
	at := p.pos
	at.Col += p.tok.off
	if p.pos.Col == 0 {
		at.Col = p.tok.off + 1
	}
	return diag.Errorf(at, "rules-if", "rules:if %q: %s", p.src, fmt.Sprintf(format, args...)).
		WithHint("GitLab expressions compare $VARIABLES with \"strings\", /regexes/ or null, joined by && and ||")
}

var varName = regexp.MustCompile(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

func (p *condParser) next() {
	s := p.src
	for p.i < len(s) && (s[p.i] == ' ' || s[p.i] == '\t' || s[p.i] == '\n') {
		p.i++
	}
	start := p.i
	if p.i >= len(s) {
		p.tok = token{kind: tEOF, off: start}
		return
	}
	rest := s[p.i:]
	switch {
	case strings.HasPrefix(rest, "&&"):
		p.i += 2
		p.tok = token{kind: tAnd, text: "&&", off: start}
	case strings.HasPrefix(rest, "||"):
		p.i += 2
		p.tok = token{kind: tOr, text: "||", off: start}
	case strings.HasPrefix(rest, "=="), strings.HasPrefix(rest, "!="), strings.HasPrefix(rest, "=~"), strings.HasPrefix(rest, "!~"):
		p.i += 2
		p.tok = token{kind: tOp, text: rest[:2], off: start}
	case rest[0] == '(':
		p.i++
		p.tok = token{kind: tLParen, text: "(", off: start}
	case rest[0] == ')':
		p.i++
		p.tok = token{kind: tRParen, text: ")", off: start}
	case rest[0] == '$':
		m := varName.FindStringSubmatch(rest)
		if m == nil {
			p.tok = token{kind: tEOF, off: start}
			p.err = p.errorf("bad variable name after $")
			return
		}
		p.i += len(m[0])
		p.tok = token{kind: tVar, text: m[1] + m[2], off: start}
	case rest[0] == '"' || rest[0] == '\'':
		q := rest[0]
		j := 1
		var b strings.Builder
		for j < len(rest) && rest[j] != q {
			if rest[j] == '\\' && j+1 < len(rest) {
				j++
			}
			b.WriteByte(rest[j])
			j++
		}
		if j >= len(rest) {
			p.tok = token{kind: tString, off: start}
			p.err = p.errorf("string is not closed")
			p.i = len(s)
			return
		}
		p.i += j + 1
		p.tok = token{kind: tString, text: b.String(), off: start}
	case rest[0] == '/':
		j := 1
		for j < len(rest) && rest[j] != '/' {
			if rest[j] == '\\' && j+1 < len(rest) {
				j++
			}
			j++
		}
		if j >= len(rest) {
			p.tok = token{kind: tRegex, off: start}
			p.err = p.errorf("regular expression is not closed with /")
			p.i = len(s)
			return
		}
		j++
		for j < len(rest) && strings.ContainsRune("imsx", rune(rest[j])) {
			j++
		}
		p.i += j
		p.tok = token{kind: tRegex, text: rest[:j], off: start}
	case strings.HasPrefix(rest, "null"):
		p.i += 4
		p.tok = token{kind: tNull, text: "null", off: start}
	default:
		p.tok = token{kind: tEOF, off: start}
		p.err = p.errorf("unexpected %q", string(rest[0]))
		p.i = len(s)
	}
}

func (p *condParser) or() (string, error) {
	left, err := p.and()
	if err != nil {
		return "", err
	}
	for p.tok.kind == tOr {
		p.next()
		right, err := p.and()
		if err != nil {
			return "", err
		}
		left = left + " || " + right
	}
	return left, p.err
}

func (p *condParser) and() (string, error) {
	left, err := p.primary()
	if err != nil {
		return "", err
	}
	for p.tok.kind == tAnd {
		p.next()
		right, err := p.primary()
		if err != nil {
			return "", err
		}
		left = left + " && " + right
	}
	return left, p.err
}

func (p *condParser) primary() (string, error) {
	if p.err != nil {
		return "", p.err
	}
	if p.tok.kind == tLParen {
		p.next()
		inner, err := p.or()
		if err != nil {
			return "", err
		}
		if p.tok.kind != tRParen {
			return "", p.errorf("missing )")
		}
		p.next()
		return "(" + inner + ")", nil
	}
	left, err := p.operand()
	if err != nil {
		return "", err
	}
	if p.tok.kind != tOp {
		if left.kind != tVar {
			return "", p.errorf("a %s alone is always the same; compare it with a variable", kindName(left.kind))
		}
		return "env." + left.text, nil
	}
	op := p.tok.text
	p.next()
	right, err := p.operand()
	if err != nil {
		return "", err
	}
	return compare(left, op, right), nil
}

func kindName(k tokKind) string {
	switch k {
	case tString:
		return "string"
	case tRegex:
		return "regex"
	case tNull:
		return "null"
	}
	return "value"
}

func (p *condParser) operand() (token, error) {
	if p.err != nil {
		return token{}, p.err
	}
	switch p.tok.kind {
	case tVar, tString, tRegex, tNull:
		t := p.tok
		p.next()
		return t, p.err
	case tEOF:
		return token{}, p.errorf("expected a $VARIABLE, \"string\", /regex/ or null at the end")
	}
	return token{}, p.errorf("expected a $VARIABLE, \"string\", /regex/ or null, found %q", p.tok.text)
}

// compare writes one comparison in gantry's language.
func compare(left token, op string, right token) string {
	// Put the variable on the left, as GitLab allows either order.
	if left.kind != tVar && right.kind == tVar && (op == "==" || op == "!=") {
		left, right = right, left
	}
	operand := func(t token) string {
		switch t.kind {
		case tVar:
			return "env." + t.text
		case tNull:
			return "null"
		case tRegex:
			return quote(t.text)
		}
		return quote(t.text)
	}
	switch op {
	case "=~", "!~":
		not := ""
		if op == "!~" {
			not = "!"
		}
		return fmt.Sprintf("%smatches(%s, %s)", not, operand(left), operand(right))
	}
	if right.kind == tString && left.kind == tVar {
		not := ""
		if op == "!=" {
			not = "!"
		}
		return fmt.Sprintf("%smatches(%s, %s)", not, operand(left), quote("^"+regexp.QuoteMeta(right.text)+"$"))
	}
	return fmt.Sprintf("%s %s %s", operand(left), op, operand(right))
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
