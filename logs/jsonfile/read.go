package jsonfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Entry is one line of a json-file log, field for field as Docker writes it.
type Entry struct {
	Log    string            `json:"log"`
	Stream string            `json:"stream"`
	Time   time.Time         `json:"time"`
	Attrs  map[string]string `json:"attrs,omitempty"`
}

// ReadConfig selects what ReadLogs returns, as the options of
// `docker logs` do.
type ReadConfig struct {
	// Since and Until bound the entries' times, as Docker's reader does:
	// entries before Since are skipped until the first one at or after it,
	// and reading stops at the first entry after Until. Zero: unbounded.
	Since, Until time.Time
	// Tail keeps only the last Tail entries (counted before Since and
	// Until apply, as Docker counts); negative means all.
	Tail int
	// Follow keeps reading as the log grows, across rotations, until ctx
	// ends or Done is closed.
	Follow bool
	// Done, when closed, ends a follow once everything written before it
	// was closed has been read. Close it after the writer has closed the
	// log (the container has stopped). Nil: follow until ctx ends.
	Done <-chan struct{}
}

// pollInterval is how often a follow looks for new entries when it has
// read everything.
var pollInterval = 50 * time.Millisecond

// batchSize is the most entries ReadLogs passes to fn at once.
const batchSize = 256

// ReadLogs calls fn with the entries of the json-file log at path and of
// its rotated files (path.N … path.1, gzipped or not, oldest first) that
// cfg selects, in batches; the slice is only valid during the call. A
// missing log is an empty one (with Follow, ReadLogs waits for it). It
// returns fn's error, or ctx's when a follow is cancelled, or nil.
//
// It may run in another process than the writer: the set of files is
// opened under a shared flock of the directory, which the writer takes
// exclusively while it rotates, and a follow finds the files written
// while it was away by their identity, so no entry is skipped or read
// twice across a rotation. (With compress, a follow that falls more than
// one rotation behind recognises the compressed files it missed by the
// time of their last entry.)
func ReadLogs(ctx context.Context, path string, cfg ReadConfig, fn func([]Entry) error) error {
	r := &reader{path: path, fn: fn, since: cfg.Since, until: cfg.Until}
	rotated, cur, curSize, err := openSet(path)
	if err != nil {
		return err
	}
	defer func() {
		for _, s := range rotated {
			s.f.Close()
		}
		if r.cur != nil {
			r.cur.Close()
		}
	}()
	srcs := rotated
	if cur != nil {
		// Follow from the end of the last complete entry: a write may be
		// under way.
		end, err := completeEnd(cur, curSize)
		if err != nil {
			cur.Close()
			return err
		}
		r.cur, r.off = cur, end
		srcs = append(srcs[:len(srcs):len(srcs)], &source{f: cur, size: end})
	}
	if cfg.Tail >= 0 {
		first, n := len(srcs), cfg.Tail
		for i := len(srcs) - 1; i >= 0 && n > 0; i-- {
			got, err := srcs[i].tail(n)
			if err != nil {
				return err
			}
			n -= got
			first = i
		}
		srcs = srcs[first:]
	}
	for _, s := range srcs {
		if err := r.readSource(s); err != nil {
			return r.end(err)
		}
	}
	if err := r.emit(); err != nil || r.stopped || !cfg.Follow {
		return r.end(err)
	}
	for _, s := range rotated {
		s.f.Close()
	}
	rotated = nil
	return r.end(r.follow(ctx, cfg.Done))
}

// Read returns the entries of the log at path (and its rotated files)
// that cfg selects; Follow is ignored.
func Read(path string, cfg ReadConfig) ([]Entry, error) {
	cfg.Follow = false
	var out []Entry
	err := ReadLogs(context.Background(), path, cfg, func(ents []Entry) error {
		out = append(out, ents...)
		return nil
	})
	return out, err
}

// source is one file of the set, and the part of it to read.
type source struct {
	f     *os.File
	gz    bool
	size  int64 // bytes to read from an uncompressed file
	start int64 // offset of the first entry to read (tail)
	skip  int   // entries to skip at the start of a gzipped file (tail)
}

// openSet opens the rotated files, oldest first, and the current file
// (nil when it does not exist) with its size, under the directory's
// shared lock.
func openSet(path string) (rotated []*source, cur *os.File, size int64, err error) {
	rotated, _, cur, size, err = openNewer(path, nil)
	return rotated, cur, size, err
}

// openNewer is openSet, but when it meets the uncompressed rotated file
// old (newest first) it stops there and reports found: then rotated holds
// only the files written after old.
func openNewer(path string, old os.FileInfo) (rotated []*source, found bool, cur *os.File, size int64, err error) {
	if dir, derr := os.Open(filepath.Dir(path)); derr == nil {
		unlock := lockDir(dir, false)
		defer dir.Close()
		defer unlock()
	}
	fail := func(err error) ([]*source, bool, *os.File, int64, error) {
		for _, s := range rotated {
			s.f.Close()
		}
		return nil, false, nil, 0, err
	}
	for i := 1; ; i++ {
		s, err := openRotated(path, i)
		if err != nil {
			return fail(err)
		}
		if s == nil {
			break
		}
		if old != nil && !s.gz {
			if st, err := s.f.Stat(); err == nil && os.SameFile(st, old) {
				s.f.Close()
				found = true
				break
			}
		}
		rotated = append([]*source{s}, rotated...)
	}
	cur, err = os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return rotated, found, nil, 0, nil
	}
	if err != nil {
		return fail(err)
	}
	st, err := cur.Stat()
	if err != nil {
		cur.Close()
		return fail(err)
	}
	return rotated, found, cur, st.Size(), nil
}

// openRotated opens path.i, or else path.i.gz; nil when neither exists.
func openRotated(path string, i int) (*source, error) {
	name := path + "." + strconv.Itoa(i)
	f, err := os.Open(name)
	if err == nil {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		return &source{f: f, size: st.Size()}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err = os.Open(name + ".gz")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &source{f: f, gz: true}, nil
}

// tail narrows s to its last n entries and returns how many it keeps.
func (s *source) tail(n int) (int, error) {
	if s.gz {
		total := 0
		err := s.lines(func([]byte) bool { total++; return true })
		if err != nil {
			return 0, err
		}
		if total > n {
			s.skip = total - n
			return n, nil
		}
		return total, nil
	}
	// Scan back from the end for the newline before the last n lines; a
	// last line still being written is not an entry.
	buf := make([]byte, 32*1024)
	end := s.size
	count, seenEnd := 0, false
	for pos := s.size; pos > 0; {
		m := int64(len(buf))
		if pos < m {
			m = pos
		}
		pos -= m
		if _, err := s.f.ReadAt(buf[:m], pos); err != nil && err != io.EOF {
			return 0, err
		}
		for i := m - 1; i >= 0; i-- {
			if buf[i] != '\n' {
				continue
			}
			if !seenEnd {
				seenEnd, end = true, pos+i+1
				continue
			}
			count++
			if count == n {
				s.start, s.size = pos+i+1, end
				return n, nil
			}
		}
	}
	if !seenEnd {
		s.size = 0
		return 0, nil
	}
	s.size = end
	return count + 1, nil
}

// completeEnd returns the offset just past the last newline of f's first
// size bytes.
func completeEnd(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 32*1024)
	for pos := size; pos > 0; {
		m := int64(len(buf))
		if pos < m {
			m = pos
		}
		pos -= m
		if _, err := f.ReadAt(buf[:m], pos); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:m], '\n'); i >= 0 {
			return pos + int64(i) + 1, nil
		}
	}
	return 0, nil
}

// lines calls fn with each complete line of s's selected part, until fn
// returns false.
func (s *source) lines(fn func([]byte) bool) error {
	var r io.Reader
	if s.gz {
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		zr, err := gzip.NewReader(s.f)
		if err != nil {
			return nil // an unreadable rotated file holds nothing to show
		}
		defer zr.Close()
		r = zr
	} else {
		r = io.NewSectionReader(s.f, s.start, s.size-s.start)
	}
	br := bufio.NewReaderSize(r, 64*1024)
	skip := s.skip
	for {
		line, err := readLine(br)
		if line != nil {
			if skip > 0 {
				skip--
			} else if !fn(line) {
				return nil
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if s.gz {
				return nil // a truncated gzip file: keep what was read
			}
			return err
		}
	}
}

// readLine returns the next complete line (with its newline), or nil and
// io.EOF at the end or before a line still being written.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, err
	}
	return line, nil
}

// reader holds a ReadLogs call's state.
type reader struct {
	path         string
	fn           func([]Entry) error
	since, until time.Time
	batch        []Entry
	stopped      bool      // an entry after until was met
	last         time.Time // time of the last entry decoded
	err          error

	cur *os.File // the file being followed
	off int64    // where its unread entries start
}

// add decodes one line and queues the entry if the time bounds keep it.
func (r *reader) add(line []byte) bool {
	var e Entry
	if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &e) != nil {
		return true // not an entry: skipped, as Docker's decoder does
	}
	r.last = e.Time
	if !r.since.IsZero() {
		if e.Time.Before(r.since) {
			return true
		}
		r.since = time.Time{}
	}
	if !r.until.IsZero() && e.Time.After(r.until) {
		r.stopped = true
		return false
	}
	r.batch = append(r.batch, e)
	if len(r.batch) >= batchSize {
		if r.err = r.emit(); r.err != nil {
			return false
		}
	}
	return true
}

func (r *reader) emit() error {
	if len(r.batch) == 0 {
		return nil
	}
	err := r.fn(r.batch)
	r.batch = r.batch[:0]
	return err
}

func (r *reader) end(err error) error {
	if err == nil {
		err = r.emit()
	}
	return err
}

func (r *reader) readSource(s *source) error {
	if r.stopped {
		return nil
	}
	if err := s.lines(r.add); err != nil {
		return err
	}
	return r.err
}

// readNew reads the complete entries of the current file past r.off and
// reports whether there were any.
func (r *reader) readNew() (bool, error) {
	if r.cur == nil {
		return false, nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r.cur, r.off, 1<<62), 64*1024)
	got := false
	for !r.stopped && r.err == nil {
		line, err := readLine(br)
		if line == nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return got, err
		}
		r.off += int64(len(line))
		got = true
		r.add(line)
	}
	if r.err != nil {
		return got, r.err
	}
	return got, r.emit()
}

func (r *reader) follow(ctx context.Context, done <-chan struct{}) error {
	ended := false
	for !r.stopped {
		finished := ended || isClosed(done)
		got, err := r.readNew()
		if err != nil || r.stopped {
			return err
		}
		if got {
			continue
		}
		moved, err := r.rotated()
		if err != nil {
			return err
		}
		if moved {
			if err := r.nextFile(); err != nil {
				return err
			}
			continue
		}
		if finished {
			return nil
		}
		t := time.NewTimer(pollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-done:
			ended, done = true, nil // read once more, then return
			t.Stop()
		case <-t.C:
		}
	}
	return nil
}

func isClosed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// rotated reports whether path is no longer the file being followed (or
// has appeared when there was none).
func (r *reader) rotated() (bool, error) {
	st, err := os.Stat(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return r.cur != nil, nil
	}
	if err != nil {
		return false, err
	}
	if r.cur == nil {
		return true, nil
	}
	cst, err := r.cur.Stat()
	if err != nil {
		return false, err
	}
	return !os.SameFile(st, cst), nil
}

// nextFile moves a follow past a rotation: it reads the rest of the file
// it had (no longer written), the files rotated since, and opens the new
// current file.
func (r *reader) nextFile() error {
	if _, err := r.readNew(); err != nil || r.stopped {
		return err
	}
	old := r.cur
	var oldStat os.FileInfo
	if old != nil {
		oldStat, _ = old.Stat()
	}
	rotated, found, cur, _, err := openNewer(r.path, oldStat)
	if err != nil {
		return err
	}
	defer func() {
		for _, s := range rotated {
			s.f.Close()
		}
	}()
	// rotated is oldest first. When the old file was found, rotated is
	// what was written after it; else it is gone or compressed, and what
	// follows it is the files newer than the last entry read.
	next := rotated
	if !found && old != nil {
		next = nil
		for _, s := range rotated {
			if !s.gz || r.newer(s) {
				next = append(next, s)
			}
		}
	}
	for _, s := range next {
		if err := r.readSource(s); err != nil || r.stopped {
			if cur != nil {
				cur.Close()
			}
			return err
		}
	}
	if old != nil {
		old.Close()
	}
	r.cur, r.off = cur, 0
	return nil
}

// newer reports whether the gzipped file s ends after the last entry read.
func (r *reader) newer(s *source) bool {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return true
	}
	zr, err := gzip.NewReader(s.f)
	if err != nil {
		return true
	}
	zr.Close()
	var meta gzipMeta
	if json.Unmarshal(zr.Header.Extra, &meta) != nil || meta.LastTime.IsZero() {
		return true
	}
	return meta.LastTime.After(r.last)
}

// ReadFrom returns the complete entries written at or after byte offset
// off of the file at path (not its rotated files), and the offset just
// past the last one; a line still being written is left for the next call.
// A follow that must survive rotation uses ReadLogs.
func ReadFrom(path string, off int64) ([]Entry, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, off, nil
	}
	if err != nil {
		return nil, off, err
	}
	defer f.Close()
	var out []Entry
	br := bufio.NewReaderSize(io.NewSectionReader(f, off, 1<<62), 64*1024)
	for {
		line, err := readLine(br)
		if line == nil {
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
