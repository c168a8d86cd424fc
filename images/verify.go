package images

import (
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/images/unpack"
)

// keyedLocks is a set of mutexes by name, made as needed and dropped when
// no one holds or waits for them. The zero value is ready to use.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	users int
}

// lock takes the lock named key and returns its release.
func (k *keyedLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// ErrBadLayer is a layer holding an entry that skiff refuses to unpack.
var ErrBadLayer = unpack.ErrBadEntry

// unpackError explains why the store failed to unpack layer l: it reads
// the layer again (failures are rare; the unpack itself reads it once)
// and names the first entry that cannot be unpacked and why. Without such
// an entry it returns the store's error.
func unpackError(l v1.Layer, short string, cause error) error {
	if reason := diagnoseLayer(l); reason != "" {
		return fmt.Errorf("extracting layer %s: %w: %s", short, ErrBadLayer, reason)
	}
	return fmt.Errorf("extracting layer %s: %w", short, cause)
}

// diagnoseLayer returns why the layer's tar cannot be unpacked, naming the
// entry, or "" when nothing in it explains a failure.
func diagnoseLayer(l v1.Layer) string {
	rc, err := l.Uncompressed()
	if err != nil {
		return ""
	}
	defer rc.Close()
	return unpack.Check(rc)
}
