package jsonfile

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// gzipMeta is the JSON in the Extra field of a compressed rotated file's
// gzip header, as Docker writes it: the time of its last entry.
type gzipMeta struct {
	LastTime time.Time `json:"lastTime"`
}

// logFile appends entries to a file and rotates it as Docker's
// loggerutils.LogFile does: before an entry is written, a file that has
// reached capacity becomes path.1 (older ones shift to path.2 …, the one
// numbered maxFiles-1 is removed) and a new path is started; with
// maxFiles 1 the file is removed and started again (truncated). With
// compress, path.1 is gzipped to path.1.gz in the background and the next
// rotation waits for it.
type logFile struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	dir      *os.File // locked while files are renamed; see lockDir
	size     int64
	capacity int64 // -1: never rotate
	maxFiles int
	compress bool
	perms    os.FileMode
	closed   bool

	pending []byte    // entries not yet written
	lastTS  time.Time // time of the last entry written

	compressing sync.WaitGroup
	// compressErr is the last background compression's error.
	compressErr error
}

func openLogFile(path string, capacity int64, maxFiles int, compress bool, perms os.FileMode) (*logFile, error) {
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, perms)
	if err != nil {
		dir.Close()
		return nil, err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		dir.Close()
		return nil, err
	}
	return &logFile{path: path, f: f, dir: dir, size: size, capacity: capacity,
		maxFiles: maxFiles, compress: compress, perms: perms}, nil
}

var errClosed = errors.New("cannot write because the output file was closed")

// add queues one encoded entry (ending in '\n'), rotating first when the
// file is full. The caller holds mu and calls flush when done.
func (l *logFile) add(t time.Time, entry []byte) error {
	if l.closed {
		return errClosed
	}
	if l.capacity != -1 && l.size+int64(len(l.pending)) >= l.capacity {
		if err := l.flush(); err != nil {
			return err
		}
		if err := l.rotate(); err != nil {
			return fmt.Errorf("error rotating log file: %w", err)
		}
	}
	l.pending = append(l.pending, entry...)
	l.lastTS = t
	return nil
}

// flush writes the queued entries. The caller holds mu.
func (l *logFile) flush() error {
	if len(l.pending) == 0 {
		return nil
	}
	n, err := l.f.Write(l.pending)
	l.size += int64(n)
	l.pending = l.pending[:0]
	if err != nil {
		return fmt.Errorf("error writing log entry: %w", err)
	}
	return nil
}

func (l *logFile) rotate() error {
	l.compressing.Wait()
	if err := l.f.Close(); err != nil && !errors.Is(err, fs.ErrClosed) {
		return fmt.Errorf("error closing file: %w", err)
	}
	unlock := lockDir(l.dir, true)
	renamed := false
	err := shift(l.path, l.maxFiles, l.compress)
	if err == nil {
		// Readers may still be reading the current file: it is renamed or
		// removed, never truncated in place.
		if l.maxFiles < 2 {
			err = os.Remove(l.path)
		} else {
			err = os.Rename(l.path, l.path+".1")
			renamed = err == nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	// Whatever happened, go on with an empty file, as Docker does.
	f, ferr := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_TRUNC|os.O_CREATE, l.perms)
	unlock()
	if ferr != nil {
		l.closed = true
		return ferr
	}
	l.f, l.size = f, 0
	if renamed && l.compress {
		l.compressing.Add(1)
		last := l.lastTS
		go func() {
			defer l.compressing.Done()
			l.compressErr = compressFile(l.path+".1", last)
		}()
	}
	return err
}

// shift removes the oldest rotated file and renumbers the others, as
// Docker's rotate does.
func shift(name string, maxFiles int, compress bool) error {
	if maxFiles < 2 {
		return nil
	}
	ext := ""
	if compress {
		ext = ".gz"
	}
	last := name + "." + strconv.Itoa(maxFiles-1) + ext
	if err := os.Remove(last); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("error removing oldest log file: %w", err)
	}
	for i := maxFiles - 1; i > 1; i-- {
		from := name + "." + strconv.Itoa(i-1) + ext
		to := name + "." + strconv.Itoa(i) + ext
		if err := os.Rename(from, to); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// compressFile gzips name to name.gz, with the time of its last entry in
// the header, and removes name once name.gz is complete: a reader always
// finds one whole copy.
func compressFile(name string, last time.Time) (err error) {
	in, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to open log file: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(name+".gz", os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("failed to open or create gzip log file: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(name + ".gz")
			return
		}
		if rerr := os.Remove(name); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = fmt.Errorf("failed to remove source log file: %w", rerr)
		}
	}()
	zw := gzip.NewWriter(out)
	zw.Header.Extra, _ = json.Marshal(gzipMeta{LastTime: last})
	if _, err := io.Copy(zw, in); err != nil {
		return fmt.Errorf("error compressing log file %s: %w", name, err)
	}
	return zw.Close()
}

// close writes what is queued, waits for a compression under way and
// closes the file.
func (l *logFile) close() error {
	if l.closed {
		return nil
	}
	ferr := l.flush()
	l.closed = true
	l.compressing.Wait()
	err := l.f.Close()
	l.dir.Close()
	return errors.Join(ferr, err, l.compressErr)
}
