package diag

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Sources returns the contents of a file named in a position, for printers
// that show a snippet. It returns false when the file is not at hand.
type Sources func(file string) ([]byte, bool)

// WriteOneLine prints each diagnostic as file:line:col: message [code],
// followed by an indented hint line when there is one.
func WriteOneLine(w io.Writer, l List) error {
	for _, d := range l {
		if _, err := fmt.Fprintln(w, d.Error()); err != nil {
			return err
		}
		if d.Hint != "" {
			if _, err := fmt.Fprintf(w, "  hint: %s\n", d.Hint); err != nil {
				return err
			}
		}
	}
	return nil
}

// WritePretty prints each diagnostic with the offending source line and a
// ^~~~ marker under it, when src can supply the file.
func WritePretty(w io.Writer, l List, src Sources) error {
	for _, d := range l {
		var b strings.Builder
		b.WriteString(d.Error())
		b.WriteByte('\n')
		if src != nil && d.Pos.IsValid() {
			if data, ok := src(d.Pos.File); ok {
				writeSnippet(&b, data, d)
			}
		}
		if d.Hint != "" {
			fmt.Fprintf(&b, "  hint: %s\n", d.Hint)
		}
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	return nil
}

func writeSnippet(b *strings.Builder, data []byte, d Diagnostic) {
	line, ok := lineAt(data, d.Pos.Line)
	if !ok {
		return
	}
	line = strings.ReplaceAll(line, "\t", " ")
	gutter := fmt.Sprintf("%5d | ", d.Pos.Line)
	b.WriteString(gutter)
	b.WriteString(line)
	b.WriteByte('\n')
	col := max(d.Pos.Col, 1)
	// Columns count characters, as yaml.v3 and actionlint do.
	width := 1
	if d.End.Line == d.Pos.Line && d.End.Col > col {
		width = d.End.Col - col
	}
	if n := utf8.RuneCountInString(line); col > n+1 {
		col = n + 1
	}
	b.WriteString(strings.Repeat(" ", len(gutter)-2))
	b.WriteString("| ")
	b.WriteString(strings.Repeat(" ", col-1))
	b.WriteByte('^')
	b.WriteString(strings.Repeat("~", width-1))
	b.WriteByte('\n')
}

func lineAt(data []byte, n int) (string, bool) {
	if n < 1 {
		return "", false
	}
	s := string(data)
	for i := 1; i < n; i++ {
		j := strings.IndexByte(s, '\n')
		if j < 0 {
			return "", false
		}
		s = s[j+1:]
	}
	if j := strings.IndexByte(s, '\n'); j >= 0 {
		s = s[:j]
	}
	return strings.TrimSuffix(s, "\r"), true
}

// WriteJSON prints the list as one JSON array (an empty array when l is empty).
func WriteJSON(w io.Writer, l List) error {
	if l == nil {
		l = List{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(l)
}

// WriteGitHub prints each diagnostic as a GitHub Actions workflow command
// (::error file=F,line=L,col=C,title=CODE::MESSAGE) so that it shows as an
// annotation on the pull request.
func WriteGitHub(w io.Writer, l List) error {
	for _, d := range l {
		kind := "error"
		switch d.Severity {
		case Warning:
			kind = "warning"
		case Info:
			kind = "notice"
		}
		var props []string
		if d.Pos.File != "" {
			props = append(props, "file="+escapeProperty(d.Pos.File))
		}
		if d.Pos.Line > 0 {
			props = append(props, fmt.Sprintf("line=%d", d.Pos.Line))
		}
		if d.Pos.Col > 0 {
			props = append(props, fmt.Sprintf("col=%d", d.Pos.Col))
		}
		if d.Code != "" {
			props = append(props, "title="+escapeProperty(d.Code))
		}
		msg := d.Message
		if d.Hint != "" {
			msg += "\n" + d.Hint
		}
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", kind, strings.Join(props, ","), escapeData(msg)); err != nil {
			return err
		}
	}
	return nil
}

// Escaping as the Actions runner's command parser expects it.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
