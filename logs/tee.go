package logs

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/skiff-dev/skiff/logs/jsonfile"
	"github.com/skiff-dev/skiff/logs/logdriver"
)

// tee is Docker's dual logging: a remote driver plus a local json-file
// cache that `logs` reads. The remote driver's error is Log's; the cache's
// is reported once on stderr (the monitor's log) and otherwise ignored,
// as Docker does.
type tee struct {
	Driver
	cache     *jsonfile.Driver
	cacheOnce sync.Once
}

func (t *tee) Log(m *Message) error {
	err := t.Driver.Log(m)
	t.cached(t.cache.Log(m))
	return err
}

// LogBatch sends each message to the remote driver and the batch to the
// cache in one write.
func (t *tee) LogBatch(ms []*Message) error {
	var errs []error
	if b, ok := t.Driver.(logdriver.BatchLogger); ok {
		errs = append(errs, b.LogBatch(ms))
	} else {
		for _, m := range ms {
			if err := t.Driver.Log(m); err != nil {
				errs = append(errs, err)
			}
		}
	}
	t.cached(t.cache.LogBatch(ms))
	return errors.Join(errs...)
}

func (t *tee) cached(err error) {
	if err != nil {
		t.cacheOnce.Do(func() { fmt.Fprintf(os.Stderr, "error writing the local log cache: %v\n", err) })
	}
}

// BufSize is the remote driver's, as Docker's cache logger reports.
func (t *tee) BufSize() int {
	if b, ok := t.Driver.(logdriver.BufSizer); ok {
		return b.BufSize()
	}
	return logdriver.DefaultBufSize
}

func (t *tee) Close() error {
	err := t.Driver.Close()
	t.cache.Close()
	return err
}
