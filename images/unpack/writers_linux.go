package unpack

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"go.podman.io/storage/pkg/idtools"
	"golang.org/x/sys/unix"
)

// Creating a file costs this kind of host more system time than
// decompressing its content: small files are written by a few goroutines
// while the stream is read on. A file up to asyncMax bytes is read into
// a pooled buffer and queued; at most queueLen wait, so an extraction
// holds about (queueLen + writers) * asyncMax bytes of file data (5 MiB;
// a pull unpacks 3 layers at once). Larger files are written as they
// are read.
const (
	asyncMax = 256 << 10
	queueLen = 16
)

// fileJob is one regular file to write: its data is in memory, pfd is the
// job's own descriptor of its directory.
type fileJob struct {
	hdr   *tar.Header
	pfd   int
	base  string
	owner idtools.IDPair
	mode  uint32
	data  *[]byte
}

// writers write the queued files. Paths queued since the last barrier
// are in pending: an entry touching one waits for the queue to drain.
type writers struct {
	jobs    chan *fileJob
	done    sync.WaitGroup // the goroutines
	queued  sync.WaitGroup // the jobs
	pending map[string]bool
	bufs    sync.Pool

	mu  sync.Mutex
	err error
}

func (x *extractor) startWriters() {
	w := &writers{jobs: make(chan *fileJob, queueLen), pending: map[string]bool{}}
	w.bufs.New = func() any { b := make([]byte, asyncMax); return &b }
	for range min(4, max(2, runtime.GOMAXPROCS(0))) {
		w.done.Add(1)
		go func() {
			defer w.done.Done()
			for j := range w.jobs {
				if w.failed() == nil {
					if err := x.writeJob(j); err != nil {
						w.fail(err)
					}
				}
				unix.Close(j.pfd)
				w.bufs.Put(j.data)
				w.queued.Done()
			}
		}()
	}
	x.w = w
}

// stopWriters waits for the queued files and ends the goroutines.
func (x *extractor) stopWriters() error {
	close(x.w.jobs)
	x.w.done.Wait()
	return x.w.failed()
}

func (w *writers) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *writers) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// barrier waits until every queued file is written.
func (x *extractor) barrier() error {
	x.w.queued.Wait()
	clear(x.w.pending)
	return x.w.failed()
}

// queueFile reads the file's content and queues it for a writer.
func (x *extractor) queueFile(hdr *tar.Header, name string, pfd int, base string, owner idtools.IDPair, mode uint32, r io.Reader) error {
	if err := x.w.failed(); err != nil {
		return err
	}
	data := x.w.bufs.Get().(*[]byte)
	*data = (*data)[:hdr.Size]
	if n, err := readFull(r, *data); int64(n) != hdr.Size {
		x.w.bufs.Put(data)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	dup, err := unix.FcntlInt(uintptr(pfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		x.w.bufs.Put(data)
		return err
	}
	x.w.pending[name] = true
	x.w.queued.Add(1)
	x.w.jobs <- &fileJob{hdr: hdr, pfd: dup, base: base, owner: owner, mode: mode, data: data}
	return nil
}

func (x *extractor) writeJob(j *fileJob) error {
	err := x.writeFile(j.hdr, j.pfd, j.base, j.owner, j.mode, func(f *os.File) error {
		w := sparseWriter{f: f}
		if err := w.write(*j.data); err != nil {
			return err
		}
		return w.finish()
	})
	if err != nil {
		return fmt.Errorf("entry %q: %w", j.hdr.Name, err)
	}
	return nil
}
