package streamput

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// Bar makes a plain-text progress bar of total records on w; pass its Update as
// Config.Progress and call Finish after the last record. With redraw (a terminal), one line is
// redrawn in place; without (a log, a CI job), a line is written at each tenth of the way, so
// the output stays short and readable.
func Bar(w io.Writer, total int, redraw bool) *ProgressBar {
	return &ProgressBar{w: w, total: total, redraw: redraw, lastStep: -1}
}

// ProgressBar draws progress; Update fits Config.Progress.
type ProgressBar struct {
	mu       sync.Mutex
	w        io.Writer
	total    int
	redraw   bool
	lastStep int
	drawn    bool
}

// Update draws the bar for s.
func (b *ProgressBar) Update(s Stats) {
	b.mu.Lock()
	defer b.mu.Unlock()
	done := s.Sent + s.Failed
	if b.redraw {
		fmt.Fprintf(b.w, "\r%s", b.line(s, done))
		b.drawn = true
		return
	}
	step := 0
	if b.total > 0 {
		step = done * 10 / b.total
	}
	if step > b.lastStep {
		b.lastStep = step
		fmt.Fprintln(b.w, b.line(s, done))
	}
}

// Finish ends the bar's line.
func (b *ProgressBar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.redraw && b.drawn {
		fmt.Fprintln(b.w)
	}
}

func (b *ProgressBar) line(s Stats, done int) string {
	const width = 30
	frac := 1.0
	if b.total > 0 {
		frac = min(1, float64(done)/float64(b.total))
	}
	fill := int(frac * width)
	return fmt.Sprintf("[%s%s] %*d/%d %3.0f%%  %6.0f rec/s  retries %d  failed %d",
		strings.Repeat("#", fill), strings.Repeat(".", width-fill),
		len(fmt.Sprint(b.total)), done, b.total, frac*100, s.PerSecond(), s.Retries, s.Failed)
}
