package logs

import (
	"errors"
	"fmt"
	"sync"

	"github.com/skiff-dev/skiff/logs/logdriver"
)

// defaultRingSize is Docker's default max-buffer-size: 1 MB.
const defaultRingSize = 1e6

var errRingClosed = errors.New("closed")

// ring is mode=non-blocking: Log queues a copy of the message and returns;
// a goroutine sends the queue to the driver. A message that does not fit
// in maxBytes (the lines queued or being sent) is dropped, unless nothing
// is, as in Docker's ring logger. Close sends what is queued, then closes
// the driver.
type ring struct {
	d        Driver
	mu       sync.Mutex
	wait     *sync.Cond
	queue    []*Message
	size     int64
	maxBytes int64
	closed   bool
	err      error // the first error of the driver, for Close
	done     chan struct{}
}

// NonBlocking wraps d as mode=non-blocking does: Log never waits for d;
// messages wait in a buffer of maxBytes (negative: Docker's 1 MB) and
// those that do not fit are dropped. Close sends what is buffered, then
// closes d; its error includes the first one d gave meanwhile.
func NonBlocking(d Driver, maxBytes int64) Driver { return newRing(d, maxBytes) }

func newRing(d Driver, maxBytes int64) *ring {
	if maxBytes < 0 {
		maxBytes = defaultRingSize
	}
	r := &ring{d: d, maxBytes: maxBytes, done: make(chan struct{})}
	r.wait = sync.NewCond(&r.mu)
	go r.run()
	return r
}

func (r *ring) Name() string { return r.d.Name() }

// BufSize is the driver's.
func (r *ring) BufSize() int {
	if b, ok := r.d.(logdriver.BufSizer); ok {
		return b.BufSize()
	}
	return logdriver.DefaultBufSize
}

func (r *ring) Log(m *Message) error {
	n := int64(len(m.Line))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errRingClosed
	}
	if n+r.size > r.maxBytes && r.size > 0 {
		return nil
	}
	c := *m
	c.Line = append([]byte(nil), m.Line...)
	if m.Partial != nil {
		p := *m.Partial
		c.Partial = &p
	}
	r.queue = append(r.queue, &c)
	r.size += n
	r.wait.Signal()
	return nil
}

func (r *ring) run() {
	defer close(r.done)
	for {
		r.mu.Lock()
		for len(r.queue) == 0 && !r.closed {
			r.wait.Wait()
		}
		if len(r.queue) == 0 {
			r.mu.Unlock()
			return
		}
		batch := r.queue
		r.queue = nil
		r.mu.Unlock()
		var errs []error
		if b, ok := r.d.(logdriver.BatchLogger); ok {
			errs = append(errs, b.LogBatch(batch))
		} else {
			for _, m := range batch {
				errs = append(errs, r.d.Log(m))
			}
		}
		err := errors.Join(errs...)
		// The batch counted against the buffer until it was sent.
		var sent int64
		for _, m := range batch {
			sent += int64(len(m.Line))
		}
		r.mu.Lock()
		r.size -= sent
		if r.err == nil && err != nil {
			r.err = fmt.Errorf("logging in the background (mode=non-blocking): %w", err)
		}
		r.mu.Unlock()
	}
}

func (r *ring) Close() error {
	r.mu.Lock()
	r.closed = true
	r.wait.Broadcast()
	r.mu.Unlock()
	<-r.done
	return errors.Join(r.err, r.d.Close())
}
