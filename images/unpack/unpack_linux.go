// Package unpack extracts a layer's tar stream into a directory, as
// containers/storage's unpacker does (ownership, modes, extended
// attributes, times, overlay whiteouts), with three differences:
//
//   - every entry is confined to the directory by the kernel: paths are
//     resolved with openat2(RESOLVE_IN_ROOT), so "..", absolute paths and
//     symlinks (the layer's own too) cannot lead outside;
//   - runs of zeros in a file are not written, so a sparse file stays
//     sparse (and a file of zeros takes no space);
//   - an entry that cannot be unpacked is named in the error, with why.
//
// A Differ hands the extraction to containers/storage's overlay driver
// (Store.PrepareStagedLayer), computing the layer's digest and tar-split
// metadata in the same pass.
package unpack

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/idtools"
	"golang.org/x/sys/unix"
)

// ErrBadEntry is an entry that skiff refuses to unpack.
var ErrBadEntry = errors.New("invalid layer")

// Options say how the extracted files are written.
type Options struct {
	// OverlayWhiteouts turns the layer's whiteouts (.wh.NAME and
	// .wh..wh..opq) into what overlayfs reads: a 0/0 character device
	// and the OpaqueXattr on the directory. Without it they are written
	// as the plain files they are in the tar.
	OverlayWhiteouts bool
	// OpaqueXattr names overlayfs's opaque attribute
	// (trusted.overlay.opaque, or user.overlay.opaque with userxattr).
	OpaqueXattr string
	// UIDMaps and GIDMaps map the ids in the layer to the ids on disk;
	// empty is the identity.
	UIDMaps, GIDMaps []idtools.IDMap
	// InUserNS: device nodes are skipped (a user namespace cannot make
	// them) and EPERM on an extended attribute is ignored.
	InUserNS bool
	// IgnoreChownErrors: files whose owner cannot be set keep ours.
	IgnoreChownErrors bool
}

// Result is what Extract learned about the layer.
type Result struct {
	// UIDs and GIDs are the ids of the layer's entries (whiteouts
	// excepted), sorted, as the layer states them.
	UIDs, GIDs []uint32
	// RootDirMode is the mode the layer gives its root, if it does.
	RootDirMode *os.FileMode
}

// Supported reports whether this kernel can confine an extraction
// (openat2 with RESOLVE_IN_ROOT, Linux 5.6).
func Supported() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{
		Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT,
	})
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// Extract unpacks the uncompressed tar stream r into the directory dest,
// which exists. It reads r up to the end of the archive, not beyond.
func Extract(dest string, r io.Reader, opts Options) (Result, error) {
	root, err := unix.Open(dest, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Result{}, &os.PathError{Op: "open", Path: dest, Err: err}
	}
	defer unix.Close(root)
	x := &extractor{
		root:   root,
		opts:   opts,
		ids:    idtools.NewIDMappingsFromMaps(opts.UIDMaps, opts.GIDMaps),
		uids:   map[uint32]bool{},
		gids:   map[uint32]bool{},
		buf:    make([]byte, 1<<20),
		parent: -1,
	}
	defer x.closeParent()
	if x.rootIDs, err = x.ids.ToHost(idtools.IDPair{}); err != nil {
		return Result{}, err
	}
	x.startWriters()
	stopped := false
	defer func() {
		if !stopped {
			// The entry's error is the one to report; the writers'
			// are about files written after it.
			_ = x.stopWriters()
		}
	}()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Result{}, fmt.Errorf("reading the layer's archive: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			if errors.Is(err, ErrBadEntry) {
				return Result{}, err
			}
			return Result{}, fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	stopped = true
	if err := x.stopWriters(); err != nil {
		return Result{}, err
	}
	if err := x.dirTimes(); err != nil {
		return Result{}, err
	}
	return Result{UIDs: sortedIDs(x.uids), GIDs: sortedIDs(x.gids), RootDirMode: x.rootMode}, nil
}

type extractor struct {
	root    int
	opts    Options
	ids     *idtools.IDMappings
	rootIDs idtools.IDPair
	uids    map[uint32]bool
	gids    map[uint32]bool
	buf     []byte
	// dirs are the layer's directories, whose times are set last
	// (making their entries changes them).
	dirs     []*tar.Header
	rootMode *os.FileMode
	// parent caches the directory of the last entry: layers list a
	// directory's entries together. It is dropped whenever an entry
	// could change what a path resolves to.
	parent     int
	parentPath string
	w          *writers
}

// badEntry is the error for an entry skiff refuses.
func badEntry(hdr *tar.Header, format string, a ...any) error {
	return fmt.Errorf("%w: entry %q %s", ErrBadEntry, hdr.Name, fmt.Sprintf(format, a...))
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	name := clean(hdr.Name)
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if victim, ok := strings.CutPrefix(base, archive.WhiteoutPrefix); ok {
		switch victim {
		case "", ".", "..":
			return badEntry(hdr, "is a whiteout of %q", victim)
		}
		if x.opts.OverlayWhiteouts {
			if err := x.barrier(); err != nil {
				return err
			}
			return x.whiteout(hdr, dir, base)
		}
	} else {
		x.uids[uint32(hdr.Uid)] = true
		x.gids[uint32(hdr.Gid)] = true
	}
	if name == "" {
		return x.rootEntry(hdr)
	}
	owner, err := x.ids.ToHost(idtools.IDPair{UID: hdr.Uid, GID: hdr.Gid})
	if err != nil {
		return err
	}
	// An entry that a queued file could be in the way of, or that
	// needs one made, waits for the queue.
	switch {
	case x.w.pending[name],
		hdr.Typeflag == tar.TypeLink,
		hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeGNUSparse && hdr.Typeflag != tar.TypeDir && hdr.Typeflag != tar.TypeSymlink:
		if err := x.barrier(); err != nil {
			return err
		}
	}
	pfd, err := x.dir(dir)
	if err != nil {
		return err
	}
	// What is there already is replaced, unless both are directories
	// (then the entry's metadata applies to the directory).
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		if st.Mode&unix.S_IFMT != unix.S_IFDIR || hdr.Typeflag != tar.TypeDir {
			if err := x.barrier(); err != nil { // it may hold queued files
				return err
			}
			x.dropParentUnder(name)
			if err := removeAllAt(pfd, base); err != nil {
				return err
			}
		}
	} else if !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "stat", Path: name, Err: err}
	}
	mode := uint32(hdr.Mode) & 0o7777
	linkIsSymlink := false
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return &os.PathError{Op: "mkdir", Path: name, Err: err}
		}
		x.dirs = append(x.dirs, hdr)
	case tar.TypeReg, tar.TypeGNUSparse:
		return x.file(hdr, name, pfd, base, owner, mode, r)
	case tar.TypeSymlink:
		x.dropParentUnder(name)
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return &os.PathError{Op: "symlink", Path: name, Err: err}
		}
	case tar.TypeLink:
		var err error
		if linkIsSymlink, err = x.hardlink(hdr, pfd, base); err != nil {
			return err
		}
	case tar.TypeChar, tar.TypeBlock:
		if x.opts.InUserNS {
			return nil // a user namespace cannot make device nodes
		}
		kind := uint32(unix.S_IFCHR)
		if hdr.Typeflag == tar.TypeBlock {
			kind = unix.S_IFBLK
		}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(pfd, base, kind|0o600, int(dev)); err != nil {
			return &os.PathError{Op: "mknod", Path: name, Err: err}
		}
	case tar.TypeFifo:
		if err := unix.Mknodat(pfd, base, unix.S_IFIFO|0o600, 0); err != nil {
			return &os.PathError{Op: "mknod", Path: name, Err: err}
		}
	default:
		return badEntry(hdr, "has type %q, which a layer cannot hold", string(hdr.Typeflag))
	}
	if err := x.chown(pfd, base, owner); err != nil {
		return err
	}
	symlink := hdr.Typeflag == tar.TypeSymlink || linkIsSymlink
	if !symlink {
		// fchmodat follows symlinks: the entry is known not to be one.
		if err := unix.Fchmodat(pfd, base, mode, 0); err != nil {
			return &os.PathError{Op: "chmod", Path: name, Err: err}
		}
	}
	if hdr.Typeflag != tar.TypeDir && (hdr.Typeflag != tar.TypeLink || !linkIsSymlink) {
		if err := setTimes(pfd, base, hdr); err != nil {
			return err
		}
	}
	return x.xattrs(hdr, func(k string, v []byte) error {
		return unix.Lsetxattr(fdPath(pfd, base), k, v, 0)
	})
}

// file writes a regular file's content, leaving holes where it holds
// zeros, and its metadata; a small one is queued for the writers.
func (x *extractor) file(hdr *tar.Header, name string, pfd int, base string, owner idtools.IDPair, mode uint32, r io.Reader) error {
	if hdr.Size <= asyncMax {
		return x.queueFile(hdr, name, pfd, base, owner, mode, r)
	}
	return x.writeFile(hdr, pfd, base, owner, mode, func(f *os.File) error { return copySparse(f, r, x.buf) })
}

// writeFile creates the file, has content write it, and gives it its
// metadata through its descriptor, before it is closed: nothing can swap
// it meanwhile.
func (x *extractor) writeFile(hdr *tar.Header, pfd int, base string, owner idtools.IDPair, mode uint32, content func(*os.File) error) error {
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "create", Path: hdr.Name, Err: err}
	}
	f := os.NewFile(uintptr(fd), hdr.Name)
	defer f.Close()
	if err := content(f); err != nil {
		return err
	}
	if err := f.Chown(owner.UID, owner.GID); err != nil && !x.opts.IgnoreChownErrors {
		return err
	}
	// After chown, which clears the set-id bits.
	if err := unix.Fchmod(fd, mode); err != nil {
		return &os.PathError{Op: "chmod", Path: hdr.Name, Err: err}
	}
	if err := unix.UtimesNanoAt(pfd, base, timespecs(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: hdr.Name, Err: err}
	}
	// Last: chown clears security.capability.
	if err := x.xattrs(hdr, func(k string, v []byte) error { return unix.Fsetxattr(fd, k, v, 0) }); err != nil {
		return err
	}
	return f.Close()
}

// hardlink links base to the entry's target, which must be in the layer.
func (x *extractor) hardlink(hdr *tar.Header, pfd int, base string) (targetIsSymlink bool, err error) {
	if escapes(hdr.Linkname) {
		return false, badEntry(hdr, "is a hard link to %q, outside the layer", hdr.Linkname)
	}
	target := clean(hdr.Linkname)
	if target == "" {
		return false, badEntry(hdr, "is a hard link to the layer's root")
	}
	tdir, tbase := path.Split(target)
	tfd, err := x.open(strings.TrimSuffix(tdir, "/"))
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return false, badEntry(hdr, "is a hard link to %q, which is not in the layer", hdr.Linkname)
		}
		return false, err
	}
	defer unix.Close(tfd)
	var st unix.Stat_t
	if err := unix.Fstatat(tfd, tbase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return false, badEntry(hdr, "is a hard link to %q, which is not in the layer", hdr.Linkname)
		}
		return false, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return false, badEntry(hdr, "is a hard link to %q, a directory", hdr.Linkname)
	}
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		return false, &os.PathError{Op: "link", Path: hdr.Name, Err: err}
	}
	return st.Mode&unix.S_IFMT == unix.S_IFLNK, nil
}

// whiteout records the deletion of a lower layer's file (or, for
// .wh..wh..opq, of all of a directory's lower content).
func (x *extractor) whiteout(hdr *tar.Header, dir, base string) error {
	victim := strings.TrimPrefix(base, archive.WhiteoutPrefix)
	pfd, err := x.dir(dir)
	if errors.Is(err, unix.ENOTDIR) {
		// "rm -rf /a" can give both /.wh.a and /a/.wh.b: a is gone.
		return nil
	}
	if err != nil {
		return err
	}
	if base == archive.WhiteoutOpaqueDir {
		if err := unix.Lsetxattr(fdPath(pfd, "."), x.opts.OpaqueXattr, []byte("y"), 0); err != nil {
			return &os.PathError{Op: "setxattr", Path: hdr.Name, Err: err}
		}
		return nil
	}
	if err := unix.Mknodat(pfd, victim, unix.S_IFCHR, 0); err != nil {
		return &os.PathError{Op: "mknod", Path: hdr.Name, Err: err}
	}
	owner, err := x.ids.ToHost(idtools.IDPair{UID: hdr.Uid, GID: hdr.Gid})
	if err != nil {
		return err
	}
	return x.chown(pfd, victim, owner)
}

// rootEntry applies an entry for the layer's root ("./") to dest.
func (x *extractor) rootEntry(hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeDir {
		return badEntry(hdr, "is the layer's root but not a directory")
	}
	owner, err := x.ids.ToHost(idtools.IDPair{UID: hdr.Uid, GID: hdr.Gid})
	if err != nil {
		return err
	}
	if err := x.chown(x.root, ".", owner); err != nil {
		return err
	}
	if err := unix.Fchmod(x.root, uint32(hdr.Mode)&0o7777); err != nil {
		return err
	}
	m := hdr.FileInfo().Mode()
	x.rootMode = &m
	x.dirs = append(x.dirs, hdr)
	return x.xattrs(hdr, func(k string, v []byte) error { return unix.Fsetxattr(x.root, k, v, 0) })
}

func (x *extractor) chown(dirfd int, name string, owner idtools.IDPair) error {
	err := unix.Fchownat(dirfd, name, owner.UID, owner.GID, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil && !x.opts.IgnoreChownErrors {
		return &os.PathError{Op: "lchown", Path: name, Err: err}
	}
	return nil
}

// xattrs sets the entry's extended attributes (SCHILY.xattr.* records)
// with set, as containers/storage does: SELinux labels are not the
// layer's to set, and a file system or user namespace that refuses
// one is not an error.
func (x *extractor) xattrs(hdr *tar.Header, set func(k string, v []byte) error) error {
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, archive.PaxSchilyXattr)
		if !ok || name == "security.selinux" {
			continue
		}
		if err := set(name, []byte(v)); err != nil {
			if errors.Is(err, unix.ENOTSUP) || (x.opts.InUserNS && errors.Is(err, unix.EPERM)) {
				continue
			}
			return &os.PathError{Op: "setxattr " + name, Path: hdr.Name, Err: err}
		}
	}
	return nil
}

// dirTimes sets the directories' times, once nothing more is made in
// them. A directory that a later entry replaced is skipped.
func (x *extractor) dirTimes() error {
	x.closeParent()
	for _, hdr := range x.dirs {
		name := clean(hdr.Name)
		if name == "" {
			if err := unix.UtimesNanoAt(x.root, ".", timespecs(hdr), 0); err != nil {
				return err
			}
			continue
		}
		dir, base := path.Split(name)
		pfd, err := x.open(strings.TrimSuffix(dir, "/"))
		if err != nil {
			continue // replaced by a later entry
		}
		var st unix.Stat_t
		if unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			err = unix.UtimesNanoAt(pfd, base, timespecs(hdr), unix.AT_SYMLINK_NOFOLLOW)
		}
		unix.Close(pfd)
		if err != nil {
			return &os.PathError{Op: "utimes", Path: name, Err: err}
		}
	}
	return nil
}

// dir returns an fd of the directory dir (relative to the root), making
// it and its missing parents as containers/storage does (mode 0755,
// owned by the layer's root). The fd is cached; callers do not close it.
func (x *extractor) dir(dir string) (int, error) {
	if x.parent >= 0 && x.parentPath == dir {
		return x.parent, nil
	}
	x.closeParent()
	fd, err := x.open(dir)
	if errors.Is(err, unix.ENOENT) {
		fd, err = x.mkdirAll(dir, 0)
	}
	if err != nil {
		return -1, err
	}
	x.parent, x.parentPath = fd, dir
	return fd, nil
}

func (x *extractor) closeParent() {
	if x.parent >= 0 {
		unix.Close(x.parent)
		x.parent = -1
	}
}

// dropParentUnder forgets the cached directory when the entry name,
// which is about to be removed or become a symlink, is it or one of its
// parents.
func (x *extractor) dropParentUnder(name string) {
	if x.parent >= 0 && (x.parentPath == name || strings.HasPrefix(x.parentPath, name+"/")) {
		x.closeParent()
	}
}

// mkdirAll makes dir and its missing parents. Like MkdirAll on a path
// that containers/storage's SecureJoin resolved, a symlink on the way to
// a missing directory gets its target made (inside the root).
func (x *extractor) mkdirAll(dir string, depth int) (int, error) {
	if depth > 40 {
		return -1, &os.PathError{Op: "mkdir", Path: dir, Err: unix.ELOOP}
	}
	parent, base := path.Split(dir)
	parent = strings.TrimSuffix(parent, "/")
	pfd, err := x.open(parent)
	if errors.Is(err, unix.ENOENT) {
		pfd, err = x.mkdirAll(parent, depth+1)
	}
	if err != nil {
		return -1, err
	}
	defer unix.Close(pfd)
	err = unix.Mkdirat(pfd, base, 0o755)
	if err == nil {
		if err := x.chown(pfd, base, x.rootIDs); err != nil {
			return -1, err
		}
		return openIn(pfd, base)
	}
	if !errors.Is(err, unix.EEXIST) {
		return -1, &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	fd, err := openIn(pfd, base)
	if !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	// A symlink to a missing directory.
	buf := make([]byte, unix.PathMax)
	n, rerr := unix.Readlinkat(pfd, base, buf)
	if rerr != nil {
		return -1, err
	}
	target := string(buf[:n])
	if !path.IsAbs(target) {
		target = path.Join(parent, target)
	}
	tfd, err := x.mkdirAll(clean(target), depth+1)
	if err != nil {
		return -1, err
	}
	unix.Close(tfd)
	return openIn(pfd, base)
}

// open opens the directory dir inside the root: symlinks and ".." are
// resolved as if the root were "/", so nothing outside can be reached.
func (x *extractor) open(dir string) (int, error) {
	if dir == "" {
		dir = "."
	}
	return openIn(x.root, dir)
}

func openIn(dirfd int, name string) (int, error) {
	how := &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	for range 16 {
		fd, err := unix.Openat2(dirfd, name, how)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue // a rename raced with the lookup
		}
		return fd, err
	}
	return -1, unix.EAGAIN
}

// removeAllAt removes name in dirfd and, if it is a directory, what it
// holds, never following a symlink.
func removeAllAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return &os.PathError{Op: "unlink", Path: name, Err: err}
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	for {
		names, err := d.Readdirnames(1024)
		for _, n := range names {
			if err := removeAllAt(fd, n); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) || len(names) == 0 {
			break
		}
		if err != nil {
			return err
		}
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil {
		return &os.PathError{Op: "rmdir", Path: name, Err: err}
	}
	return nil
}

// fdPath names the entry name of the directory dirfd for the calls
// that take no fd (lsetxattr); the final component is not followed.
func fdPath(dirfd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
}

func setTimes(dirfd int, name string, hdr *tar.Header) error {
	if err := unix.UtimesNanoAt(dirfd, name, timespecs(hdr), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: name, Err: err}
	}
	return nil
}

// timespecs are the entry's access and modification times; an access
// time before the modification time is the modification time.
func timespecs(hdr *tar.Header) []unix.Timespec {
	a, m := hdr.AccessTime, hdr.ModTime
	if a.Before(m) {
		a = m
	}
	return []unix.Timespec{timespec(a), timespec(m)}
}

var maxTime = time.Unix(0, math.MaxInt64)

func timespec(t time.Time) unix.Timespec {
	if t.Before(time.Unix(0, 0)) || t.After(maxTime) {
		t = time.Unix(0, 0)
	}
	return unix.NsecToTimespec(t.UnixNano())
}

func sortedIDs(m map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
