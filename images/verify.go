package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.podman.io/storage/pkg/archive"
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
var ErrBadLayer = errors.New("invalid layer")

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
	return checkTar(rc)
}

// checkTar walks a layer's entries and returns the first problem found:
// a hard link to a file that is not earlier in the layer, or to a path
// outside the layer's root; an unreadable archive.
func checkTar(r io.Reader) string {
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return ""
		}
		if err != nil {
			return fmt.Sprintf("reading the layer's archive: %v", err)
		}
		name := cleanEntry(hdr.Name)
		if hdr.Typeflag == tar.TypeLink {
			target := cleanEntry(hdr.Linkname)
			switch {
			case escapes(hdr.Linkname):
				return fmt.Sprintf("entry %q is a hard link to %q, outside the layer", hdr.Name, hdr.Linkname)
			case !seen[target]:
				return fmt.Sprintf("entry %q is a hard link to %q, which is not in the layer", hdr.Name, hdr.Linkname)
			}
		}
		if base := path.Base(name); strings.HasPrefix(base, archive.WhiteoutPrefix) {
			switch strings.TrimPrefix(base, archive.WhiteoutPrefix) {
			case ".", "..", "":
				return fmt.Sprintf("entry %q is a whiteout of %q", hdr.Name, strings.TrimPrefix(base, archive.WhiteoutPrefix))
			}
		}
		if seen[name] && hdr.Typeflag != tar.TypeDir {
			return fmt.Sprintf("entry %q appears twice in the layer", hdr.Name)
		}
		seen[name] = true
	}
}

// cleanEntry is an entry's path relative to the layer's root.
func cleanEntry(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// escapes reports whether a path climbs out of the root it is relative to
// (an absolute one is relative to the layer's root, as Docker reads it).
func escapes(name string) bool {
	depth := 0
	for _, el := range strings.Split(strings.TrimLeft(name, "/"), "/") {
		switch el {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}
