package main

import (
	"io"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/gantry-ci/gantry/diag"
)

// IO is what the user sees: the three streams, whether they are terminals,
// and whether to use colour. Every command writes through it.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	// OutTTY and ErrTTY say whether the streams are terminals.
	OutTTY, ErrTTY bool
	// Color is on for terminals unless NO_COLOR is set.
	Color bool
	// ErrorFormat is how diagnostics print: line, pretty, json or github.
	ErrorFormat string
	// command is the command line's command (gantry run), whose --help a
	// usage error points at.
	command string
}

func newIO(in io.Reader, out, errw io.Writer) *IO {
	s := &IO{In: in, Out: out, Err: errw}
	s.OutTTY = isTerminal(out)
	s.ErrTTY = isTerminal(errw)
	_, noColor := os.LookupEnv("NO_COLOR")
	s.Color = s.ErrTTY && !noColor
	return s
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// printDiagnostics writes findings to stderr in the chosen format (JSON to
// stdout, so that machines can read it apart from messages).
func (s *IO) printDiagnostics(l diag.List) {
	l.Sort()
	format := s.ErrorFormat
	if format == "" || format == "auto" {
		format = "line"
		if s.ErrTTY {
			format = "pretty"
		}
	}
	switch format {
	case "json":
		_ = diag.WriteJSON(s.Out, l)
	case "github":
		_ = diag.WriteGitHub(s.Out, l)
	case "pretty":
		_ = diag.WritePretty(s.Err, l, func(file string) ([]byte, bool) {
			data, err := os.ReadFile(file)
			return data, err == nil
		})
	default:
		_ = diag.WriteOneLine(s.Err, l)
	}
}
