package runner

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"sync"
)

// Masker replaces secret values with *** in everything written through it.
// Values are added as they become known (::add-mask::); all of gantry's
// output goes through one.
type Masker struct {
	mu     sync.RWMutex
	values []string
}

// Add registers values to hide; empty and one-character values are ignored,
// as masking them would garble every line.
func (m *Masker) Add(values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range values {
		for _, line := range strings.Split(v, "\n") {
			line = strings.TrimRight(line, "\r")
			if len(line) > 1 && !slices.Contains(m.values, line) {
				m.values = append(m.values, line)
			}
		}
	}
	// Longest first, so that a value containing another is masked whole.
	slices.SortFunc(m.values, func(a, b string) int { return len(b) - len(a) })
}

// Values are the registered values, for executors that must keep them out
// of what they record.
func (m *Masker) Values() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.values)
}

// Mask returns s with every registered value replaced by ***.
func (m *Masker) Mask(s string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, v := range m.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}

// Writer returns a writer that masks whole lines before passing them on:
// it holds back a partial line until its end arrives (or Close), so that a
// value split across two writes is still masked.
func (m *Masker) Writer(w io.Writer) io.WriteCloser { return &maskWriter{m: m, w: w} }

type maskWriter struct {
	m   *Masker
	w   io.Writer
	buf []byte
	mu  sync.Mutex
}

func (mw *maskWriter) Write(p []byte) (int, error) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	mw.buf = append(mw.buf, p...)
	i := bytes.LastIndexByte(mw.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	out := mw.m.Mask(string(mw.buf[:i+1]))
	mw.buf = append(mw.buf[:0], mw.buf[i+1:]...)
	if _, err := io.WriteString(mw.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close writes what is left of a partial line.
func (mw *maskWriter) Close() error {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if len(mw.buf) == 0 {
		return nil
	}
	out := mw.m.Mask(string(mw.buf))
	mw.buf = mw.buf[:0]
	_, err := io.WriteString(mw.w, out)
	return err
}
