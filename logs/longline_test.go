package logs

import (
	"path/filepath"
	"strings"
	"testing"
)

// A complete line longer than 16 KiB is split into 16 KiB entries, as
// Docker's log copier does.
func TestWriterSplitsLongCompleteLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	w, err := NewWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write("stdout", []byte(strings.Repeat("x", 20000)+"\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("stdout", []byte(strings.Repeat("y", 10000))); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("stdout", []byte(strings.Repeat("y", 10000)+"\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ents, err := Read(path, ReadOptions{Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, e := range ents {
		sizes = append(sizes, len(e.Log))
	}
	want := []int{16384, 3617, 16384, 3617}
	if len(sizes) != len(want) {
		t.Fatalf("entry sizes %v, want %v", sizes, want)
	}
	for i := range want {
		if sizes[i] != want[i] {
			t.Fatalf("entry sizes %v, want %v", sizes, want)
		}
	}
}
