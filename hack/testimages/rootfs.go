package testimages

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// FromDir builds a single-layer linux/GOARCH image whose layer is the
// directory tree rootfs (a debootstrap'ed root, say), with the given Cmd.
// Owners, modes, mtimes, symlinks and hard links are preserved; device
// nodes and sockets are skipped (a rootless engine could not create them).
// The layer is re-read from rootfs whenever it is needed, so rootfs must
// not change until the image has been written.
func FromDir(rootfs string, cmd []string) (v1.Image, error) {
	fi, err := os.Stat(rootfs)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("testimages: %s is not a directory", rootfs)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(tarDir(pw, rootfs)) }()
		return pr, nil
	})
	if err != nil {
		return nil, err
	}
	return imageWithLayer(layer, cmd, "directory tree "+filepath.Base(rootfs))
}

// WriteTarball writes img as a docker-save tarball (what `docker load` and
// `skiff load -i` read) at file, tagged with every tag in tags.
func WriteTarball(file string, img v1.Image, tags ...string) error {
	if len(tags) == 0 {
		return fmt.Errorf("testimages: WriteTarball %s: no tag", file)
	}
	refs := map[name.Reference]v1.Image{}
	for _, t := range tags {
		tag, err := name.NewTag(t)
		if err != nil {
			return err
		}
		refs[tag] = img
	}
	return tarball.MultiRefWriteToFile(file, refs)
}

// tarDir writes the tree under root to w as an uncompressed tar, in
// lexical order, with names relative to root.
func tarDir(w io.Writer, root string) error {
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode()
		if mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket) != 0 {
			return nil
		}
		var link string
		if mode&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.Uname, hdr.Gname = "", ""
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		hdr.ModTime = hdr.ModTime.Truncate(time.Second)
		hdr.Format = tar.FormatPAX
		if mode.IsDir() {
			hdr.Name += "/"
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
			if mode.IsRegular() && st.Nlink > 1 {
				key := inode{uint64(st.Dev), st.Ino}
				if first, dup := seen[key]; dup {
					hdr.Typeflag = tar.TypeLink
					hdr.Linkname = first
					hdr.Size = 0
				} else {
					seen[key] = hdr.Name
				}
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
