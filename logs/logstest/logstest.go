// Package logstest is the conformance suite every log driver passes: Run
// sends a driver lines from both streams, long and partial lines and
// concurrent writes through Docker's copier (logs.Writer), closes it, and
// checks what its receiving side got.
package logstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/logs"
	"github.com/skiff-dev/skiff/logs/logdriver"
)

// Received is one message as the receiving side got it.
type Received struct {
	// Source is "stdout" or "stderr" ("" when the receiver cannot tell).
	Source string
	// Line is the text without a trailing newline.
	Line string
	// Partial is set when the receiver marks the message as a piece of a
	// line (json-file: no newline; fluentd: partial_message).
	Partial bool
}

// Harness connects the suite to one driver and its receiving side.
type Harness struct {
	// Start returns a new driver for info. Run fills info with a test
	// container's facts (a fresh id, so every subtest's messages can be
	// told apart) and a LogPath in a temporary directory; Start adds the
	// driver's options to info.Config.
	Start func(t *testing.T, info logdriver.Info) (logdriver.Driver, error)
	// Received returns what the receiving side got from the closed driver
	// started for info, in the order it got it, waiting (within its own
	// bounded time) until it has at least want messages.
	Received func(t *testing.T, info logdriver.Info, want int) []Received
	// NoSource says the receiver cannot tell stdout from stderr.
	NoSource bool
	// DropsEmpty says empty lines are not sent (syslog, awslogs: as in
	// Docker).
	DropsEmpty bool
	// NoPartial says the receiver cannot tell a piece from a line.
	NoPartial bool
	// Lossy says the transport may drop messages under load (syslog over
	// UDP): the concurrent test then checks the order of what arrived,
	// not that everything did.
	Lossy bool
}

// Run runs the suite against h.
func Run(t *testing.T, h Harness) {
	t.Run("Lines", func(t *testing.T) { testLines(t, h) })
	t.Run("LongLine", func(t *testing.T) { testLongLine(t, h) })
	t.Run("PartialAtClose", func(t *testing.T) { testPartialAtClose(t, h) })
	t.Run("Text", func(t *testing.T) { testText(t, h) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("DirectLog", func(t *testing.T) { testDirectLog(t, h) })
}

// NewInfo is a test container's Info, with a fresh id.
func NewInfo(t *testing.T) logdriver.Info {
	var b [32]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return logdriver.Info{
		Config:              map[string]string{},
		ContainerID:         id,
		ContainerName:       "/" + strings.ToLower(name),
		ContainerEntrypoint: "/bin/sh",
		ContainerArgs:       []string{"-c", "echo hi"},
		ContainerImageID:    "sha256:" + strings.Repeat("ab", 32),
		ContainerImageName:  "busybox",
		ContainerCreated:    time.Now().UTC(),
		LogPath:             logs.JSONPath(t.TempDir(), id),
	}
}

type write struct{ stream, data string }

// send starts a driver, writes ws through a logs.Writer, closes it and
// returns what arrived (waiting for want messages).
func send(t *testing.T, h Harness, ws []write, want int) []Received {
	t.Helper()
	info := NewInfo(t)
	d, err := h.Start(t, info)
	if err != nil {
		t.Fatalf("starting the driver: %v", err)
	}
	w := logs.NewDriverWriter(d)
	for _, wr := range ws {
		if err := w.Write(wr.stream, []byte(wr.data)); err != nil {
			t.Errorf("Write(%s, %.40q): %v", wr.stream, wr.data, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	return h.Received(t, info, want)
}

func bufSize(d logdriver.Driver) int {
	if b, ok := d.(logdriver.BufSizer); ok && b.BufSize() > 0 {
		return b.BufSize()
	}
	return logdriver.DefaultBufSize
}

// check compares got with want, ignoring what h's receiver cannot see.
func check(t *testing.T, h Harness, got, want []Received) {
	t.Helper()
	var w []Received
	for _, r := range want {
		if h.DropsEmpty && r.Line == "" {
			continue
		}
		if h.NoSource {
			r.Source = ""
		}
		if h.NoPartial {
			r.Partial = false
		}
		w = append(w, r)
	}
	if len(got) != len(w) {
		t.Fatalf("received %d messages, want %d:\n got %s\nwant %s", len(got), len(w), show(got), show(w))
	}
	for i := range w {
		if got[i] != w[i] {
			t.Errorf("message %d = %s, want %s", i, show(got[i:i+1]), show(w[i:i+1]))
		}
	}
}

func show(rs []Received) string {
	var b strings.Builder
	for _, r := range rs {
		l := r.Line
		if len(l) > 40 {
			l = fmt.Sprintf("%s…(%d bytes)", l[:20], len(l))
		}
		p := ""
		if r.Partial {
			p = " partial"
		}
		fmt.Fprintf(&b, "[%s %q%s]", r.Source, l, p)
	}
	return b.String()
}

func testLines(t *testing.T, h Harness) {
	ws := []write{
		{"stdout", "hello\n"},
		{"stderr", "oops\n"},
		{"stdout", "a\nb\n\nc\n"},
		{"stdout", "split "}, {"stdout", "across writes\n"},
	}
	want := []Received{
		{"stdout", "hello", false}, {"stderr", "oops", false},
		{"stdout", "a", false}, {"stdout", "b", false}, {"stdout", "", false}, {"stdout", "c", false},
		{"stdout", "split across writes", false},
	}
	got := send(t, h, ws, countSent(h, want))
	check(t, h, got, want)
}

// testLongLine sends a line longer than the driver's buffer: Docker's
// copier sends it in pieces of the buffer's size.
func testLongLine(t *testing.T, h Harness) {
	info := NewInfo(t)
	d, err := h.Start(t, info)
	if err != nil {
		t.Fatalf("starting the driver: %v", err)
	}
	size := bufSize(d)
	line := strings.Repeat("0123456789abcdef", (2*size+1000)/16)
	var want []Received
	for rest := line; ; {
		if len(rest) < size {
			want = append(want, Received{"stdout", rest, false})
			break
		}
		want = append(want, Received{"stdout", rest[:size], true})
		rest = rest[size:]
	}
	want = append(want, Received{"stderr", "after", false})
	w := logs.NewDriverWriter(d)
	// In writes smaller than the buffer, as a pipe delivers them.
	for i := 0; i < len(line); i += 4096 {
		if err := w.Write("stdout", []byte(line[i:min(i+4096, len(line))])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write("stdout", []byte("\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("stderr", []byte("after\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	check(t, h, h.Received(t, info, countSent(h, want)), want)
}

func testPartialAtClose(t *testing.T, h Harness) {
	ws := []write{{"stdout", "done\nno newline"}}
	want := []Received{{"stdout", "done", false}, {"stdout", "no newline", true}}
	got := send(t, h, ws, countSent(h, want))
	check(t, h, got, want)
}

func testText(t *testing.T, h Harness) {
	lines := []string{
		`héllo ☃ 日本語`,
		`"quotes" and \backslashes\`,
		`<b>&amp;</b> {"json": [1, 2]}`,
		`%s %d %% {{.ID}}`,
		`   leading and trailing spaces   `,
	}
	var ws []write
	var want []Received
	for _, l := range lines {
		ws = append(ws, write{"stdout", l + "\n"})
		want = append(want, Received{"stdout", l, false})
	}
	got := send(t, h, ws, countSent(h, want))
	check(t, h, got, want)
}

// testConcurrent writes both streams from two goroutines, as the monitor
// does: every line arrives, in order within its stream.
func testConcurrent(t *testing.T, h Harness) {
	const n = 200
	info := NewInfo(t)
	d, err := h.Start(t, info)
	if err != nil {
		t.Fatalf("starting the driver: %v", err)
	}
	w := logs.NewDriverWriter(d)
	var wg sync.WaitGroup
	for _, stream := range []string{"stdout", "stderr"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				// Each line in two writes, so the partial-line buffers are
				// exercised concurrently too.
				if err := w.Write(stream, []byte(fmt.Sprintf("%s %d ", stream, i))); err != nil {
					t.Error(err)
					return
				}
				if err := w.Write(stream, []byte("end\n")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	got := h.Received(t, info, 2*n)
	// A lossy transport may lose some, never all.
	if len(got) != 2*n && (!h.Lossy || len(got) == 0 || len(got) >= 2*n) {
		t.Fatalf("received %d messages, want %d", len(got), 2*n)
	}
	next := map[string]int{}
	for _, r := range got {
		stream := r.Source
		if stream == "" {
			stream, _, _ = strings.Cut(r.Line, " ")
		}
		if h.Lossy {
			// What arrived comes in order, without duplicates.
			var i int
			if _, err := fmt.Sscanf(r.Line, stream+" %d end", &i); err != nil || i < next[stream] {
				t.Fatalf("%s message %q after %d", stream, r.Line, next[stream])
			}
			next[stream] = i + 1
			continue
		}
		if want := fmt.Sprintf("%s %d end", stream, next[stream]); r.Line != want {
			t.Fatalf("%s message %q, want %q", stream, r.Line, want)
		}
		next[stream]++
	}
	switch {
	case h.Lossy && (next["stdout"] == 0 || next["stderr"] == 0):
		// A lossy transport may drop any message, the last ones too.
		t.Errorf("messages per stream = %v, want some of each", next)
	case !h.Lossy && (next["stdout"] != n || next["stderr"] != n):
		t.Errorf("messages per stream = %v, want %d each", next, n)
	}
}

// testDirectLog calls Log from several goroutines without a Writer, with
// messages whose Line is reused after Log returns: a driver must not keep
// it.
func testDirectLog(t *testing.T, h Harness) {
	const goroutines, n = 4, 50
	info := NewInfo(t)
	d, err := h.Start(t, info)
	if err != nil {
		t.Fatalf("starting the driver: %v", err)
	}
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 64)
			for i := 0; i < n; i++ {
				buf = fmt.Appendf(buf[:0], "g%d line %d", g, i)
				m := &logdriver.Message{Line: buf, Source: "stdout", Timestamp: time.Now().UTC()}
				if err := d.Log(m); err != nil {
					t.Error(err)
					return
				}
				for j := range buf {
					buf[j] = 'X' // a driver that kept Line would now see X's
				}
			}
		}()
	}
	wg.Wait()
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	got := h.Received(t, info, goroutines*n)
	if len(got) != goroutines*n {
		t.Fatalf("received %d messages, want %d", len(got), goroutines*n)
	}
	next := map[int]int{}
	for _, r := range got {
		var g, i int
		if _, err := fmt.Sscanf(r.Line, "g%d line %d", &g, &i); err != nil {
			t.Fatalf("message %q: %v", r.Line, err)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: message %d, want %d", g, i, next[g])
		}
		next[g]++
	}
}

// countSent is how many of want reach h's receiver.
func countSent(h Harness, want []Received) int {
	n := 0
	for _, r := range want {
		if h.DropsEmpty && r.Line == "" {
			continue
		}
		n++
	}
	return n
}
