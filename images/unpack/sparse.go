package unpack

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
)

// holeBlock is the granularity of holes: a block of this many zeros
// (the file system's block size) is skipped instead of written.
const holeBlock = 4096

// copySparse writes r into the empty file f, skipping every block of
// zeros so that it stays a hole, and gives f the length of r. buf is a
// multiple of holeBlock.
func copySparse(f *os.File, r io.Reader, buf []byte) error {
	w := sparseWriter{f: f}
	for {
		n, rerr := readFull(r, buf)
		if err := w.write(buf[:n]); err != nil {
			return err
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	return w.finish()
}

// sparseWriter writes an empty file from its start, leaving a hole for
// every block of zeros.
type sparseWriter struct {
	f        *os.File
	off, end int64 // end: where the written data stops
}

func (w *sparseWriter) write(data []byte) error {
	for len(data) > 0 {
		k := min(holeBlock, len(data))
		zero := isZero(data[:k])
		for k < len(data) {
			e := min(k+holeBlock, len(data))
			if isZero(data[k:e]) != zero {
				break
			}
			k = e
		}
		if !zero {
			if _, err := w.f.WriteAt(data[:k], w.off); err != nil {
				return err
			}
			w.end = w.off + int64(k)
		}
		w.off += int64(k)
		data = data[k:]
	}
	return nil
}

// finish gives the file its length when it ends in a hole.
func (w *sparseWriter) finish() error {
	if w.end < w.off {
		return w.f.Truncate(w.off)
	}
	return nil
}

// readFull reads into buf until it is full or r ends; it returns io.EOF
// (with what it read) at the end of r, and r's other errors as they are.
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// isZero reports whether b holds only zeros.
func isZero(b []byte) bool {
	for len(b) >= 32 {
		if binary.LittleEndian.Uint64(b)|binary.LittleEndian.Uint64(b[8:])|
			binary.LittleEndian.Uint64(b[16:])|binary.LittleEndian.Uint64(b[24:]) != 0 {
			return false
		}
		b = b[32:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
