package logs_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skiff-dev/skiff/logs"
	"github.com/skiff-dev/skiff/logs/jsonfile"
	"github.com/skiff-dev/skiff/logs/logdriver"
)

// recorder keeps copies of the messages it is given.
type recorder struct {
	mu   sync.Mutex
	msgs []logdriver.Message
	size int
}

func (r *recorder) Log(m *logdriver.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *m
	c.Line = append([]byte(nil), m.Line...)
	if m.Partial != nil {
		p := *m.Partial
		c.Partial = &p
	}
	r.msgs = append(r.msgs, c)
	return nil
}
func (r *recorder) Name() string { return "recorder" }
func (r *recorder) Close() error { return nil }
func (r *recorder) BufSize() int { return r.size }

// TestWriterPartials checks the pieces of split lines as Docker's copier
// makes them: one id per line, ordinals from 1, Last on the piece that
// ends it, and the first piece's time on all of them.
func TestWriterPartials(t *testing.T) {
	rec := &recorder{size: 8}
	w := logs.NewDriverWriter(rec)
	if err := w.Write("stdout", []byte("0123456789abcdefXY\nshort\n")); err != nil {
		t.Fatal(err)
	}
	// Exactly the buffer: a piece.
	if err := w.Write("stdout", []byte("12345678")); err != nil {
		t.Fatal(err)
	}
	// And the empty last piece.
	if err := w.Write("stdout", []byte("\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("stderr", []byte("tail")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	type piece struct {
		source, line string
		ordinal      int
		last         bool
	}
	want := []piece{
		{"stdout", "01234567", 1, false}, {"stdout", "89abcdef", 2, false}, {"stdout", "XY", 3, true},
		{"stdout", "short", 0, false},
		{"stdout", "12345678", 1, false}, {"stdout", "", 2, true},
		{"stderr", "tail", 1, false},
	}
	if len(rec.msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(rec.msgs), len(want))
	}
	for i, m := range rec.msgs {
		got := piece{m.Source, string(m.Line), 0, false}
		if m.Partial != nil {
			got.ordinal, got.last = m.Partial.Ordinal, m.Partial.Last
		}
		if got != want[i] {
			t.Errorf("message %d = %+v, want %+v", i, got, want[i])
		}
	}
	first := rec.msgs[0]
	for _, m := range rec.msgs[1:3] {
		if m.Partial.ID != first.Partial.ID || !m.Timestamp.Equal(first.Timestamp) {
			t.Errorf("piece %+v: want id %s and time %v of the first piece", m.Partial, first.Partial.ID, first.Timestamp)
		}
	}
	if len(first.Partial.ID) != 64 || rec.msgs[4].Partial.ID == first.Partial.ID {
		t.Errorf("partial ids %q, %q: want 64 hex digits, one per line", first.Partial.ID, rec.msgs[4].Partial.ID)
	}
}

// BenchmarkWriterJSONFile is the monitor's hot path: 32 KiB reads of
// short lines through the copier into a rotating json-file log.
func BenchmarkWriterJSONFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "c-json.log")
	d, err := jsonfile.New(logdriver.Info{Config: map[string]string{"max-size": "10m", "max-file": "3"}, LogPath: path})
	if err != nil {
		b.Fatal(err)
	}
	w := logs.NewDriverWriter(d)
	var chunk bytes.Buffer
	lines := 0
	for chunk.Len() < 32*1024-40 {
		fmt.Fprintf(&chunk, "line %08d %s\n", lines, strings.Repeat("x", 16))
		lines++
	}
	b.SetBytes(int64(chunk.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := w.Write("stdout", chunk.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	w.Close()
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}
