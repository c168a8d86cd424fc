// Package logs writes and reads container output in Docker's json-file format.
package logs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// Entry is one line of a json-file log, field for field as Docker writes it.
type Entry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// maxLine is the longest piece of output kept in one entry; longer lines are
// split, as Docker's 16 KiB buffer does.
const maxLine = 16 * 1024

// Writer appends entries to a json-file log. It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	f   *os.File
	buf map[string][]byte // partial lines per stream
	enc []byte
}

// NewWriter opens (or creates) the log at path for appending.
func NewWriter(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	return &Writer{f: f, buf: map[string][]byte{}}, nil
}

// Write records output p from stream ("stdout" or "stderr"): one entry per
// complete line; a trailing partial line waits for its end or for Flush.
func (w *Writer) Write(stream string, p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	data := append(w.buf[stream], p...)
	now := time.Now().UTC()
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := data[:i+1]
		for len(line) > maxLine {
			if err := w.emit(stream, line[:maxLine], now); err != nil {
				return err
			}
			line = line[maxLine:]
		}
		if err := w.emit(stream, line, now); err != nil {
			return err
		}
		data = data[i+1:]
	}
	for len(data) >= maxLine {
		if err := w.emit(stream, data[:maxLine], now); err != nil {
			return err
		}
		data = data[maxLine:]
	}
	w.buf[stream] = append([]byte(nil), data...)
	return nil
}

// Flush writes out the partial lines that are still buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for stream, data := range w.buf {
		if len(data) > 0 {
			if err := w.emit(stream, data, time.Now().UTC()); err != nil {
				return err
			}
		}
		delete(w.buf, stream)
	}
	return nil
}

// Close flushes and closes the log.
func (w *Writer) Close() error {
	ferr := w.Flush()
	return errors.Join(ferr, w.f.Close())
}

func (w *Writer) emit(stream string, line []byte, t time.Time) error {
	b, err := json.Marshal(Entry{Log: string(line), Stream: stream, Time: t})
	if err != nil {
		return err
	}
	w.enc = append(append(w.enc[:0], b...), '\n')
	_, err = w.f.Write(w.enc)
	return err
}

// ReadOptions select which entries Read returns.
type ReadOptions struct {
	// Since and Until bound the entries' times; zero means unbounded.
	Since, Until time.Time
	// Tail keeps only the last Tail entries; negative means all.
	Tail int
}

// Read returns the entries of the log at path that match opt.
func Read(path string, opt ReadOptions) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	r := bufio.NewReaderSize(f, 64*1024)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var e Entry
			if json.Unmarshal(line, &e) == nil && keep(e, opt) {
				out = append(out, e)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, err
		}
	}
	if opt.Tail >= 0 && len(out) > opt.Tail {
		out = out[len(out)-opt.Tail:]
	}
	return out, nil
}

func keep(e Entry, opt ReadOptions) bool {
	if !opt.Since.IsZero() && e.Time.Before(opt.Since) {
		return false
	}
	if !opt.Until.IsZero() && e.Time.After(opt.Until) {
		return false
	}
	return true
}

// ReadFrom returns the complete entries written at or after byte offset
// off, and the offset just past the last one; a line still being written
// is left for the next call.
func ReadFrom(path string, off int64) ([]Entry, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, off, nil
	}
	if err != nil {
		return nil, off, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, off, err
	}
	var out []Entry
	r := bufio.NewReaderSize(f, 64*1024)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) == 0 || line[len(line)-1] != '\n' {
			return out, off, nil
		}
		off += int64(len(line))
		var e Entry
		if json.Unmarshal(line, &e) == nil {
			out = append(out, e)
		}
		if err != nil {
			return out, off, nil
		}
	}
}
