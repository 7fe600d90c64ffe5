package gitlab

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// TestChronicDuration checks the parser against the exemplars of
// gitlab-chronic-duration's own spec and the forms GitLab's docs use.
func TestChronicDuration(t *testing.T) {
	t.Parallel()
	const day, month, year = 86400, 30 * 86400, 31557600
	for _, tc := range []struct {
		in   string
		want float64
		// word is the unknown word of an error ("" and want 0: adds up to nothing).
		word string
	}{
		// The gem's exemplars.
		{in: "1:20", want: 80},
		{in: "1:20.51", want: 80.51},
		{in: "4:01:01", want: 4*3600 + 60 + 1},
		{in: "3 mins 4 sec", want: 184},
		{in: "3 Mins 4 Sec", want: 184},
		{in: "2 hrs 20 min", want: 2*3600 + 20*60},
		{in: "2h20min", want: 2*3600 + 20*60},
		{in: "6 mos 1 day", want: 6*month + day},
		{in: "1 year 6 mos 1 day", want: year + 6*month + day},
		{in: "2.5 hrs", want: 2.5 * 3600},
		{in: "47 yrs 6 mos and 4.5d", want: 47*year + 6*month + 4.5*day},
		{in: "3 weeks and, 2 days", want: 3*7*day + 2*day},
		{in: "3 weeks, plus 2 days", want: 3*7*day + 2*day},
		{in: "3 weeks with 2 days", want: 3*7*day + 2*day},
		{in: "1 month", want: month},
		{in: "2 months", want: 2 * month},
		{in: "18 months", want: 18 * month},
		{in: "1 year 6 months", want: year + 6*month},
		{in: "day", want: day},
		{in: "minute 30s", want: 90},
		{in: "12 mins 3.141 seconds", want: 723.141},
		{in: "4 days and 11 hours", want: 4*day + 11*3600},
		{in: "  4 days and 11     hours", want: 4*day + 11*3600},
		{in: "4m11.5s", want: 251.5},
		{in: "gobblygoo", word: "gobblygoo"},
		{in: "23 gobblygoos", word: "gobblygoos"},
		{in: "0"},
		// GitLab's docs and what CI files write.
		{in: "3600", want: 3600},
		{in: "1 week", want: 7 * day},
		{in: "1h 30m", want: 5400},
		{in: "1 day and 2 hours", want: day + 2*3600},
		{in: "30 minutes", want: 1800},
		{in: "45min", want: 2700},
		{in: "1h30m", want: 5400},
		{in: "3h 30m 20s", want: 3*3600 + 30*60 + 20},
		{in: "2 weeks", want: 14 * day},
		{in: "1 dy", want: day},
		{in: "3 wks", want: 21 * day},
		{in: "2 yrs", want: 2 * year},
		{in: "1 mo", want: month},
		{in: "5m", want: 300},
		// A number without a unit after one counts in the next smaller unit.
		{in: "1h 30", want: 5400},
		{in: "1 day 2", want: day + 2*3600},
		{in: "10 s 5", want: 15},
		{in: "1:2:3:4", want: 86400 + 2*3600 + 3*60 + 4},
		{in: "1 : 20", want: 80},
		{in: "MINUTES", want: 60},
		{in: "0 seconds"},
		{in: ""},
		{in: "and"},
		{in: "never", word: "never"},
		{in: "-5 minutes", word: "-"},
		{in: "3 hourz", word: "hourz"},
		{in: "1 hour, 2 minutes", want: 3720},
		{in: "1 hour , 2 minutes", word: ","},
		{in: "1.5.2 h", want: 1.5 + 0.2*3600},
	} {
		got, err := chronicDuration(tc.in)
		if tc.want == 0 {
			var de *durationError
			if !errors.As(err, &de) || de.word != tc.word {
				t.Errorf("chronicDuration(%q) = %v, %v; want an error about %q", tc.in, got, err, tc.word)
			}
			continue
		}
		if err != nil || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("chronicDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// FuzzDuration checks that no text makes the duration parser panic, that
// a duration is more than zero, and that letter case does not matter.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{"1:20.51", "47 yrs 6 mos and 4.5d", "3 weeks, plus 2 days", "minute 30s", "1h 30", "3600", "never", "2 months", "1 day and 2 hours", "4:01:01:01:01:01", "1.5.2 h", ",and, 3", "9999999999999999999999 years"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		secs, err := chronicDuration(s)
		if err != nil {
			var de *durationError
			if !errors.As(err, &de) {
				t.Fatalf("chronicDuration(%q): error of type %T", s, err)
			}
			if secs != 0 {
				t.Fatalf("chronicDuration(%q) = %v with an error", s, secs)
			}
		} else if !(secs > 0) {
			t.Fatalf("chronicDuration(%q) = %v, want more than zero", s, secs)
		}
		upper, uerr := chronicDuration(asciiUpper(s))
		if (err == nil) != (uerr == nil) || (err == nil && upper != secs && !(math.IsNaN(upper) && math.IsNaN(secs))) {
			t.Fatalf("chronicDuration(%q) = %v, %v but upper-cased %v, %v", s, secs, err, upper, uerr)
		}
	})
}

func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}
