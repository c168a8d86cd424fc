package logs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/skiff-dev/skiff/logs/jsonfile"
	"github.com/skiff-dev/skiff/logs/logdriver"
)

// Writer turns a container's output into messages for a Driver, line by
// line, as Docker's log copier does: a complete line is one message (its
// newline dropped); a line longer than the driver's buffer (16 KiB, or the
// driver's BufSize) is sent in pieces of that size marked Partial, the
// last piece when its newline arrives; output still without a newline at
// Flush or Close is sent as a partial piece. It is safe for concurrent use
// (the monitor writes stdout and stderr from two goroutines); the lines of
// one Write go to the driver in one LogBatch when it has one.
type Writer struct {
	mu      sync.Mutex
	d       Driver
	bufSize int
	streams map[string]*lineBuf
	msgs    []Message
	ptrs    []*Message
	now     time.Time // the time of the output being split
}

// lineBuf is the unfinished line of one stream.
type lineBuf struct {
	buf     []byte
	partial *logdriver.Partial // the line's pieces so far, or nil
	ts      time.Time          // the first piece's time
}

// NewDriverWriter returns a Writer that sends to d. Close closes d.
func NewDriverWriter(d Driver) *Writer {
	size := logdriver.DefaultBufSize
	if b, ok := d.(logdriver.BufSizer); ok && b.BufSize() > 0 {
		size = b.BufSize()
	}
	return &Writer{d: d, bufSize: size, streams: map[string]*lineBuf{}}
}

// Open starts driver for the container (New) and returns a Writer for it:
// what the monitor calls once per container start.
func Open(driver string, info Info) (*Writer, error) {
	d, err := New(driver, info)
	if err != nil {
		return nil, err
	}
	return NewDriverWriter(d), nil
}

// NewWriter opens (or creates) a json-file log at path, without rotation.
func NewWriter(path string) (*Writer, error) {
	d, err := jsonfile.Open(path, jsonfile.Config{MaxSize: -1, MaxFile: 1})
	if err != nil {
		return nil, err
	}
	return NewDriverWriter(d), nil
}

// Driver is the driver the Writer sends to.
func (w *Writer) Driver() Driver { return w.d }

// Write records output p from stream ("stdout" or "stderr"). Its error is
// the driver's first (the line is then lost; later ones are still sent).
func (w *Writer) Write(stream string, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.streams[stream]
	if s == nil {
		s = &lineBuf{}
		w.streams[stream] = s
	}
	s.buf = append(s.buf, p...)
	data := s.buf
	// The lines of one read arrived together: they share its time (Docker
	// takes the time per line, microseconds apart).
	w.now = time.Now().UTC()
	for {
		// Docker's copier holds at most bufSize bytes: a newline within
		// them ends a line; a full buffer without one is a piece.
		window := data
		if len(window) > w.bufSize {
			window = window[:w.bufSize]
		}
		if i := bytes.IndexByte(window, '\n'); i >= 0 {
			w.add(stream, s, data[:i], true)
			data = data[i+1:]
			continue
		}
		if len(data) < w.bufSize {
			break
		}
		w.add(stream, s, data[:w.bufSize], false)
		data = data[w.bufSize:]
	}
	err := w.send()
	s.buf = append(s.buf[:0], data...)
	return err
}

// add queues one message: a line (or its last piece) when complete, else a
// piece of a line still going on.
func (w *Writer) add(src string, s *lineBuf, line []byte, complete bool) {
	now := w.now
	m := Message{Line: line, Source: src, Timestamp: now}
	switch {
	case s.partial != nil:
		s.partial.Ordinal++
		p := *s.partial
		p.Last = complete
		m.Partial, m.Timestamp = &p, s.ts
		if complete {
			s.partial = nil
		}
	case !complete:
		s.partial = &logdriver.Partial{ID: newPartialID(), Ordinal: 1}
		s.ts = now
		p := *s.partial
		m.Partial = &p
	}
	w.msgs = append(w.msgs, m)
}

// send hands the queued messages to the driver.
func (w *Writer) send() error {
	if len(w.msgs) == 0 {
		return nil
	}
	w.ptrs = w.ptrs[:0]
	for i := range w.msgs {
		w.ptrs = append(w.ptrs, &w.msgs[i])
	}
	var err error
	if b, ok := w.d.(logdriver.BatchLogger); ok {
		err = b.LogBatch(w.ptrs)
	} else {
		var errs []error
		for _, m := range w.ptrs {
			if e := w.d.Log(m); e != nil {
				errs = append(errs, e)
			}
		}
		if len(errs) > 0 {
			err = errs[0]
		}
	}
	clear(w.msgs)
	w.msgs = w.msgs[:0]
	return err
}

// Flush sends the partial lines still buffered, as pieces that later
// output continues.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flush()
}

func (w *Writer) flush() error {
	w.now = time.Now().UTC()
	for name, s := range w.streams {
		if len(s.buf) > 0 {
			w.add(name, s, s.buf, false)
		}
	}
	err := w.send()
	for _, s := range w.streams {
		s.buf = s.buf[:0]
	}
	return err
}

// Close flushes and closes the driver.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	ferr := w.flush()
	return errors.Join(ferr, w.d.Close())
}

// newPartialID is a random 64-hex-digit id, as Docker's.
func newPartialID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Read returns the entries of the json-file log at path and its rotated
// files that opt selects (Follow is ignored).
func Read(path string, opt ReadOptions) ([]Entry, error) { return jsonfile.Read(path, opt) }

// ReadLogs calls fn with batches of the entries of the json-file log at
// path and its rotated files (oldest first) that opt selects, following
// the log across rotations when opt.Follow is set; see jsonfile.ReadLogs.
func ReadLogs(ctx context.Context, path string, opt ReadOptions, fn func([]Entry) error) error {
	return jsonfile.ReadLogs(ctx, path, opt, fn)
}

// ReadFrom returns the complete entries of the file at path from byte
// offset off on, and the offset past them; it does not see rotations (use
// ReadLogs to follow).
func ReadFrom(path string, off int64) ([]Entry, int64, error) { return jsonfile.ReadFrom(path, off) }
