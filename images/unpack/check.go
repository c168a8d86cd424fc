package unpack

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"go.podman.io/storage/pkg/archive"
)

// Check walks a layer's tar stream and returns the first reason found
// for refusing it, naming the entry: a hard link to a path outside the
// layer or to one not earlier in it, a whiteout of "." or "..", a path
// that appears twice (which containers/storage's own unpacker refuses),
// an unreadable archive. It returns "" when it finds none. It explains a
// failure of an unpacker that does not say which entry failed.
func Check(r io.Reader) string {
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
		name := clean(hdr.Name)
		if hdr.Typeflag == tar.TypeLink {
			target := clean(hdr.Linkname)
			switch {
			case escapes(hdr.Linkname):
				return fmt.Sprintf("entry %q is a hard link to %q, outside the layer", hdr.Name, hdr.Linkname)
			case !seen[target]:
				return fmt.Sprintf("entry %q is a hard link to %q, which is not in the layer", hdr.Name, hdr.Linkname)
			}
		}
		if base := path.Base(name); strings.HasPrefix(base, archive.WhiteoutPrefix) {
			switch victim := strings.TrimPrefix(base, archive.WhiteoutPrefix); victim {
			case ".", "..", "":
				return fmt.Sprintf("entry %q is a whiteout of %q", hdr.Name, victim)
			}
		}
		if seen[name] && hdr.Typeflag != tar.TypeDir {
			return fmt.Sprintf("entry %q appears twice in the layer", hdr.Name)
		}
		seen[name] = true
	}
}

// clean is an entry's path relative to the layer's root, "" for the root.
func clean(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

// escapes reports whether a path climbs out of the root it is relative to
// (an absolute one is relative to the layer's root, as Docker reads it).
func escapes(name string) bool {
	depth := 0
	for el := range strings.SplitSeq(strings.TrimLeft(name, "/"), "/") {
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
