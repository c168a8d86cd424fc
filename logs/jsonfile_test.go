package logs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/logs/logdriver"
)

// write is one Writer.Write call, or a Flush when stream is "".
type write struct {
	stream, data string
}

type line struct{ stream, log string }

func TestWriterLines(t *testing.T) {
	long := strings.Repeat("x", logdriver.DefaultBufSize)
	tests := []struct {
		name   string
		writes []write
		// before are the entries on disk before Close; after, all of them.
		before, after []line
	}{
		{
			name:   "one line",
			writes: []write{{"stdout", "hello\n"}},
			before: []line{{"stdout", "hello\n"}},
			after:  []line{{"stdout", "hello\n"}},
		},
		{
			name:   "several lines in one write",
			writes: []write{{"stdout", "a\nb\n\nc\n"}},
			before: []line{{"stdout", "a\n"}, {"stdout", "b\n"}, {"stdout", "\n"}, {"stdout", "c\n"}},
			after:  []line{{"stdout", "a\n"}, {"stdout", "b\n"}, {"stdout", "\n"}, {"stdout", "c\n"}},
		},
		{
			name:   "a line split across writes is joined",
			writes: []write{{"stdout", "hel"}, {"stdout", "lo\nwor"}, {"stdout", "ld\n"}},
			before: []line{{"stdout", "hello\n"}, {"stdout", "world\n"}},
			after:  []line{{"stdout", "hello\n"}, {"stdout", "world\n"}},
		},
		{
			name:   "a partial line waits for Close",
			writes: []write{{"stdout", "done\nno newline"}},
			before: []line{{"stdout", "done\n"}},
			after:  []line{{"stdout", "done\n"}, {"stdout", "no newline"}},
		},
		{
			name:   "Flush writes the partial line",
			writes: []write{{"stdout", "part"}, {"", ""}, {"stdout", "ial\n"}},
			before: []line{{"stdout", "part"}, {"stdout", "ial\n"}},
			after:  []line{{"stdout", "part"}, {"stdout", "ial\n"}},
		},
		{
			name:   "streams are buffered separately",
			writes: []write{{"stdout", "out-"}, {"stderr", "err\n"}, {"stdout", "line\n"}},
			before: []line{{"stderr", "err\n"}, {"stdout", "out-line\n"}},
			after:  []line{{"stderr", "err\n"}, {"stdout", "out-line\n"}},
		},
		{
			name:   "a carriage return is kept",
			writes: []write{{"stdout", "dos\r\n"}},
			before: []line{{"stdout", "dos\r\n"}},
			after:  []line{{"stdout", "dos\r\n"}},
		},
		{
			name:   "an unterminated line of exactly 16 KiB is written at once",
			writes: []write{{"stdout", long}},
			before: []line{{"stdout", long}},
			after:  []line{{"stdout", long}},
		},
		{
			name:   "an unterminated line over 16 KiB is split, the rest waits",
			writes: []write{{"stdout", long + long + "tail"}},
			before: []line{{"stdout", long}, {"stdout", long}},
			after:  []line{{"stdout", long}, {"stdout", long}, {"stdout", "tail"}},
		},
		{
			name:   "a long line built from small writes is split at 16 KiB",
			writes: []write{{"stdout", long[:10000]}, {"stdout", long[10000:] + "abc"}, {"stdout", "def\n"}},
			before: []line{{"stdout", long}, {"stdout", "abcdef\n"}},
			after:  []line{{"stdout", long}, {"stdout", "abcdef\n"}},
		},
		{
			name:   "nothing written",
			writes: nil,
			before: nil,
			after:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c-json.log")
			w, err := NewWriter(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, wr := range tt.writes {
				if wr.stream == "" {
					err = w.Flush()
				} else {
					err = w.Write(wr.stream, []byte(wr.data))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			checkLines(t, "before Close", path, tt.before)
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			checkLines(t, "after Close", path, tt.after)
		})
	}
}

func checkLines(t *testing.T, when, path string, want []line) {
	t.Helper()
	ents, err := Read(path, ReadOptions{Tail: -1})
	if err != nil {
		t.Fatalf("%s: Read: %v", when, err)
	}
	var got []line
	for _, e := range ents {
		got = append(got, line{e.Stream, e.Log})
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries %s, want %d %s", when, len(got), short(got), len(want), short(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: entry %d = %s, want %s", when, i, short(got[i:i+1]), short(want[i:i+1]))
		}
	}
}

// short shows lines without printing 16 KiB of x.
func short(ls []line) string {
	var b strings.Builder
	for _, l := range ls {
		s := l.log
		if len(s) > 20 {
			s = fmt.Sprintf("%s...(%d bytes)", s[:10], len(s))
		}
		fmt.Fprintf(&b, "[%s %q]", l.stream, s)
	}
	return b.String()
}

func TestWriterFormat(t *testing.T) {
	// Docker's json-file line: log, stream, time (RFC 3339, nanoseconds, UTC).
	timeRE := `"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z"`
	tests := []struct {
		name, stream, in string
		wantLog          string // the JSON text of the log field
	}{
		{"plain", "stdout", "hello\n", `"hello\n"`},
		{"stderr", "stderr", "oops\n", `"oops\n"`},
		{"quotes and backslashes", "stdout", "say \"hi\" \\ bye\n", `"say \"hi\" \\ bye\n"`},
		{"tab and control characters as Docker escapes them", "stdout", "a\tb\x01\n", `"a\u0009b\u0001\n"`},
		{"line and paragraph separators", "stdout", "a\u2028b\u2029\n", `"a\u2028b\u2029\n"`},
		{"HTML characters are escaped like Docker", "stdout", "<b>&</b>\n", `"\u003cb\u003e\u0026\u003c/b\u003e\n"`},
		{"UTF-8 is kept", "stdout", "héllo ☃\n", `"héllo ☃\n"`},
		{"invalid UTF-8 becomes U+FFFD", "stdout", "a\xffb\n", `"a\ufffdb\n"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			w, err := NewWriter(path)
			if err != nil {
				t.Fatal(err)
			}
			before := time.Now()
			if err := w.Write(tt.stream, []byte(tt.in)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			re := regexp.MustCompile(`^\{"log":` + regexp.QuoteMeta(tt.wantLog) + `,"stream":"` + tt.stream + `",` + timeRE + `\}\n$`)
			if !re.Match(raw) {
				t.Fatalf("log line\n  %s\ndoes not match\n  %s", raw, re)
			}
			var e Entry
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			if e.Time.Location() != time.UTC {
				t.Errorf("time %v is not UTC", e.Time)
			}
			if e.Time.Before(before.Add(-time.Second)) || e.Time.After(after.Add(time.Second)) {
				t.Errorf("time %v not between %v and %v", e.Time, before, after)
			}
		})
	}
}

func TestNewWriterAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	for _, s := range []string{"first\n", "second\n"} {
		w, err := NewWriter(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write("stdout", []byte(s)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	checkLines(t, "after two writers", path, []line{{"stdout", "first\n"}, {"stdout", "second\n"}})
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm&0o007 != 0 {
		t.Errorf("log mode %#o is readable by others", perm)
	}
}

func TestNewWriterError(t *testing.T) {
	if _, err := NewWriter(filepath.Join(t.TempDir(), "missing", "log")); err == nil {
		t.Fatal("NewWriter in a missing directory: want an error")
	}
}

// logFile writes content to a new log file and returns its path.
func logFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func entryLine(log, stream string, ts time.Time) string {
	b, err := json.Marshal(Entry{Log: log, Stream: stream, Time: ts})
	if err != nil {
		panic(err)
	}
	return string(b) + "\n"
}

func TestRead(t *testing.T) {
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	content := entryLine("l0\n", "stdout", at(0)) +
		entryLine("l1\n", "stderr", at(1)) +
		"this is not json\n" +
		entryLine("l2\n", "stdout", at(2)) +
		entryLine("l3\n", "stdout", at(3)) +
		entryLine("l4\n", "stderr", at(4)) +
		`{"log":"half-writ` // an unterminated last line is not an entry
	path := logFile(t, content)
	tests := []struct {
		name string
		opt  ReadOptions
		want []string
	}{
		{"all", ReadOptions{Tail: -1}, []string{"l0\n", "l1\n", "l2\n", "l3\n", "l4\n"}},
		{"tail 0 is nothing", ReadOptions{Tail: 0}, nil},
		{"tail 2", ReadOptions{Tail: 2}, []string{"l3\n", "l4\n"}},
		{"tail larger than the log", ReadOptions{Tail: 100}, []string{"l0\n", "l1\n", "l2\n", "l3\n", "l4\n"}},
		{"since is inclusive", ReadOptions{Tail: -1, Since: at(3)}, []string{"l3\n", "l4\n"}},
		{"since between entries", ReadOptions{Tail: -1, Since: at(2).Add(time.Millisecond)}, []string{"l3\n", "l4\n"}},
		{"until is inclusive", ReadOptions{Tail: -1, Until: at(1)}, []string{"l0\n", "l1\n"}},
		{"since and until", ReadOptions{Tail: -1, Since: at(1), Until: at(3)}, []string{"l1\n", "l2\n", "l3\n"}},
		{"tail counts before the time bounds, as Docker's", ReadOptions{Tail: 1, Until: at(2)}, nil},
		{"tail then since", ReadOptions{Tail: 3, Since: at(3)}, []string{"l3\n", "l4\n"}},
		{"since after the last entry", ReadOptions{Tail: -1, Since: at(60)}, nil},
		{"until before the first entry", ReadOptions{Tail: -1, Until: at(-60)}, nil},
		{"since in another time zone", ReadOptions{Tail: -1, Since: at(4).In(time.FixedZone("X", 7200))}, []string{"l4\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ents, err := Read(path, tt.opt)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			var got []string
			for _, e := range ents {
				got = append(got, e.Log)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("Read(%+v) logs = %q, want %q", tt.opt, got, tt.want)
			}
		})
	}
	ents, _ := Read(path, ReadOptions{Tail: -1})
	if len(ents) == 5 {
		if ents[1].Stream != "stderr" || !ents[1].Time.Equal(at(1)) {
			t.Errorf("entry 1 = %+v, want stderr at %v", ents[1], at(1))
		}
	}
}

func TestReadMissingFile(t *testing.T) {
	ents, err := Read(filepath.Join(t.TempDir(), "nope"), ReadOptions{Tail: -1})
	if err != nil || ents != nil {
		t.Fatalf("Read(missing) = %v, %v; want nil, nil", ents, err)
	}
}

func TestReadFrom(t *testing.T) {
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	l1 := entryLine("one\n", "stdout", base)
	l2 := entryLine("two\n", "stderr", base.Add(time.Second))
	l3 := entryLine("three\n", "stdout", base.Add(2*time.Second))
	bad := "garbage\n"
	cut := len(l3) / 2

	path := logFile(t, l1+l2+l3[:cut])

	// First call: the two complete lines; the half-written third waits.
	ents, off, err := ReadFrom(path, 0)
	if err != nil {
		t.Fatalf("ReadFrom: %v", err)
	}
	if got := logsOf(ents); got != "one\n|two\n" {
		t.Errorf("first ReadFrom logs = %q, want %q", got, "one\n|two\n")
	}
	if want := int64(len(l1) + len(l2)); off != want {
		t.Errorf("first ReadFrom offset = %d, want %d", off, want)
	}
	if len(ents) == 2 && (ents[1].Stream != "stderr" || !ents[1].Time.Equal(base.Add(time.Second))) {
		t.Errorf("entry = %+v, want stderr at %v", ents[1], base.Add(time.Second))
	}

	// Nothing new: same offset, no entries.
	ents2, off2, err := ReadFrom(path, off)
	if err != nil || len(ents2) != 0 || off2 != off {
		t.Errorf("ReadFrom with nothing new = %d entries, %d, %v; want 0, %d, nil", len(ents2), off2, err, off)
	}

	// The rest of the third line arrives, then a malformed line.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(l3[cut:] + bad); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ents, off, err = ReadFrom(path, off)
	if err != nil {
		t.Fatalf("ReadFrom: %v", err)
	}
	if got := logsOf(ents); got != "three\n" {
		t.Errorf("second ReadFrom logs = %q, want %q", got, "three\n")
	}
	// The malformed line is skipped but consumed.
	if want := int64(len(l1) + len(l2) + len(l3) + len(bad)); off != want {
		t.Errorf("second ReadFrom offset = %d, want %d (end of file)", off, want)
	}
}

func TestReadFromTable(t *testing.T) {
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	l1 := entryLine("one\n", "stdout", base)
	l2 := entryLine("two\n", "stdout", base)
	tests := []struct {
		name    string
		content *string // nil: no file
		off     int64
		want    string
		wantOff int64
	}{
		{"missing file keeps the offset", nil, 7, "", 7},
		{"empty file", ptr(""), 0, "", 0},
		{"from the start", ptr(l1 + l2), 0, "one\n|two\n", int64(len(l1 + l2))},
		{"from the second line", ptr(l1 + l2), int64(len(l1)), "two\n", int64(len(l1 + l2))},
		{"at the end", ptr(l1 + l2), int64(len(l1 + l2)), "", int64(len(l1 + l2))},
		{"only a partial line", ptr(l1[:10]), 0, "", 0},
		{"blank line is consumed", ptr("\n" + l1), 0, "one\n", int64(1 + len(l1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ents, off, err := ReadFrom(path, tt.off)
			if err != nil {
				t.Fatalf("ReadFrom: %v", err)
			}
			if got := logsOf(ents); got != tt.want {
				t.Errorf("logs = %q, want %q", got, tt.want)
			}
			if off != tt.wantOff {
				t.Errorf("offset = %d, want %d", off, tt.wantOff)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func logsOf(ents []Entry) string {
	var s []string
	for _, e := range ents {
		s = append(s, e.Log)
	}
	return strings.Join(s, "|")
}

// TestWriterReadFromFollow reads a log while it is written, as
// `docker logs -f` does, and gets every line exactly once.
func TestWriterReadFromFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var off int64
	for i := 0; i < 5; i++ {
		if err := w.Write("stdout", []byte(fmt.Sprintf("line %d\npart", i))); err != nil {
			t.Fatal(err)
		}
		if err := w.Write("stdout", []byte(fmt.Sprintf("ial %d\n", i))); err != nil {
			t.Fatal(err)
		}
		var ents []Entry
		ents, off, err = ReadFrom(path, off)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			got = append(got, e.Log)
		}
	}
	w.Close()
	var want []string
	for i := 0; i < 5; i++ {
		want = append(want, fmt.Sprintf("line %d\n", i), fmt.Sprintf("partial %d\n", i))
	}
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Errorf("followed logs = %q, want %q", got, want)
	}
}

func TestWriterConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	var wg sync.WaitGroup
	for _, stream := range []string{"stdout", "stderr"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				// Each line in two writes, so partial-line buffers are
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
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	lines := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
	if len(lines) != 2*n {
		t.Fatalf("%d lines, want %d", len(lines), 2*n)
	}
	for _, l := range lines {
		var e Entry
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("corrupt line %q: %v", l, err)
		}
		if want := fmt.Sprintf("%s %d end\n", e.Stream, next[e.Stream]); e.Log != want {
			t.Fatalf("%s entry %q, want %q", e.Stream, e.Log, want)
		}
		next[e.Stream]++
	}
	if next["stdout"] != n || next["stderr"] != n {
		t.Errorf("entries per stream = %v, want %d each", next, n)
	}
}
