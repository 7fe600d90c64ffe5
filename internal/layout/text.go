package layout

import (
	"strings"
	"unicode"
)

//go:generate go run ./genwidths

// Font is the font family pictures name for their text: DejaVu Sans,
// whose widths TextWidth knows, first; the others are narrower, and text
// is drawn at its measured length whichever the viewer has.
const Font = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"

// TextWidth is the width of s in DejaVu Sans (bold or not) at size
// pixels. A rune it has no width for counts as a wide one: 1 em for East
// Asian ideographs and kana, 0.65 em otherwise.
func TextWidth(s string, size float64, bold bool) float64 {
	widths := regularWidths
	if bold {
		widths = boldWidths
	}
	var w int
	for _, r := range s {
		switch k, ok := widths[r]; {
		case ok:
			w += k
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			w += 1000
		default:
			w += 650
		}
	}
	return float64(w) * size / 1000
}

// Wrap breaks s into lines of at most width pixels at size, between words
// where it can and inside a word longer than a line; at most max lines,
// the last one ending in … when s does not fit. It takes time linear in
// the length of s, however narrow the lines.
func Wrap(s string, size, width float64, bold bool, max int) []string {
	var lines []string
	line, lineW := "", 0.0
	space := TextWidth(" ", size, bold)
	for _, word := range strings.Fields(s) {
		w := TextWidth(word, size, bold)
		if line != "" && lineW+space+w <= width {
			line, lineW = line+" "+word, lineW+space+w
			continue
		}
		if line != "" {
			lines = append(lines, line)
		}
		r := []rune(word)
		for w > width && len(r) > 1 {
			// A word longer than a line is cut where it fills one (a rune
			// wider than a line is a line of its own).
			n := fitting(r, size, width, bold)
			// Rather after a separator (build.linux-x64, a/b/c), when that
			// leaves most of the line used.
			for k := n; k > n/2; k-- {
				if strings.ContainsRune(".-_/:@,", r[k-1]) {
					n = k
					break
				}
			}
			lines = append(lines, string(r[:n]))
			w -= TextWidth(string(r[:n]), size, bold)
			r = r[n:]
		}
		line, lineW = string(r), TextWidth(string(r), size, bold)
	}
	if line != "" {
		lines = append(lines, line)
	}
	if max > 0 && len(lines) > max {
		rest := []rune(lines[max-1] + " " + strings.Join(lines[max:], " "))
		n := fitting(rest, size, width-TextWidth("…", size, bold), bold)
		lines = append(lines[:max-1], strings.TrimRight(string(rest[:n]), " ")+"…")
	}
	return lines
}

// fitting is how many of r's first runes fit in width: at least one.
func fitting(r []rune, size, width float64, bold bool) int {
	n, w := 0, 0.0
	for n < len(r) {
		cw := TextWidth(string(r[n]), size, bold)
		if w+cw > width {
			break
		}
		w += cw
		n++
	}
	return max(n, 1)
}
