package summary

import (
	"context"
	"sync"
	"time"
)

// Debouncer gathers created curated keys and refreshes once they stop coming for Window: a
// burst of promotions becomes one refresh per summary. It is the local host's stand-in for
// the SQS batching window that gathers the deployed function's events.
type Debouncer struct {
	Window time.Duration
	// Refresh is called with every key gathered since the last call, never twice at once.
	Refresh func(ctx context.Context, keys []string)

	mu      sync.Mutex
	pending []string
	timer   *time.Timer
	run     sync.Mutex // held while Refresh runs
}

// Add gathers keys and (re)starts the quiet window.
func (d *Debouncer) Add(keys ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending = append(d.pending, keys...)
	if d.timer != nil {
		d.timer.Stop()
	}
	d.timer = time.AfterFunc(d.Window, func() { d.Flush(context.Background()) })
}

// Flush refreshes what is pending now, and returns once that refresh (and any running) is done.
func (d *Debouncer) Flush(ctx context.Context) {
	d.run.Lock()
	defer d.run.Unlock()
	d.mu.Lock()
	keys := d.pending
	d.pending = nil
	if d.timer != nil {
		d.timer.Stop()
	}
	d.mu.Unlock()
	if len(keys) > 0 {
		d.Refresh(ctx, keys)
	}
}
