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
// the last one ending in … when s does not fit.
func Wrap(s string, size, width float64, bold bool, max int) []string {
	var lines []string
	line := ""
	flush := func() {
		if line != "" {
			lines = append(lines, line)
		}
		line = ""
	}
	for _, word := range strings.Fields(s) {
		try := word
		if line != "" {
			try = line + " " + word
		}
		if TextWidth(try, size, bold) <= width {
			line = try
			continue
		}
		flush()
		for TextWidth(word, size, bold) > width {
			// A word longer than a line is cut where it fills one.
			r := []rune(word)
			n := len(r) - 1
			for n > 1 && TextWidth(string(r[:n]), size, bold) > width {
				n--
			}
			// Rather after a separator (build.linux-x64, a/b/c), when that
			// leaves most of the line used.
			for k := n; k > n/2; k-- {
				if strings.ContainsRune(".-_/:@,", r[k-1]) {
					n = k
					break
				}
			}
			lines = append(lines, string(r[:n]))
			word = string(r[n:])
		}
		line = word
	}
	flush()
	if max > 0 && len(lines) > max {
		last := []rune(lines[max-1] + " " + strings.Join(lines[max:], " "))
		for len(last) > 1 && TextWidth(string(last)+"…", size, bold) > width {
			last = last[:len(last)-1]
		}
		lines = append(lines[:max-1], strings.TrimRight(string(last), " ")+"…")
	}
	return lines
}
