package cmdline

import "strings"

// Split splits a command line into arguments as GitHub's runner has it
// split: the runner pastes a container's options: (and a docker:// step's
// with.args) into the docker command line it starts, and .NET splits that
// line by its own rules (those of CommandLineToArgvW), not a shell's:
//   - spaces and tabs separate arguments (newlines too here: a block
//     scalar's line breaks are meant as spaces);
//   - "..." groups, and the quotes go; a quote may open or close in the
//     middle of an argument (a"b c"d is one argument, ab cd);
//   - inside quotes, "" is a literal quote;
//   - backslashes are literal, but before a quote 2n of them are n
//     backslashes and the quote is a quote mark as above, and 2n+1 are n
//     backslashes and a literal quote;
//   - single quotes are characters like any other: 'a b' is two
//     arguments, 'a and b'.
//
// An unclosed quote runs to the end. It never fails.
func Split(s string) []string {
	var args []string
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return args
		}
		var b strings.Builder
		quoted := false
		for i < len(s) {
			n := 0
			for i < len(s) && s[i] == '\\' {
				i++
				n++
			}
			if n > 0 {
				if i < len(s) && s[i] == '"' {
					b.WriteString(strings.Repeat(`\`, n/2))
					if n%2 == 1 {
						b.WriteByte('"')
						i++
					}
				} else {
					b.WriteString(strings.Repeat(`\`, n))
				}
				continue
			}
			c := s[i]
			if c == '"' {
				if quoted && i+1 < len(s) && s[i+1] == '"' {
					b.WriteByte('"')
					i++
				} else {
					quoted = !quoted
				}
				i++
				continue
			}
			if isSpace(c) && !quoted {
				break
			}
			b.WriteByte(c)
			i++
		}
		args = append(args, b.String())
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
