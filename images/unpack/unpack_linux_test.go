package unpack

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/hack/testimages"
	"go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/reexec"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the layers give files owners other than the test's user, and overlay whiteouts use trusted.* attributes")
	}
	if !Supported() {
		t.Skip("this kernel has no openat2(RESOLVE_IN_ROOT)")
	}
}

var when = time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)

type ent struct {
	hdr  tar.Header
	data string
}

func mkTar(t *testing.T, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.ModTime.IsZero() {
			h.ModTime = when
		}
		h.Size = int64(len(e.data))
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func dir(name string, mode int64, uid int) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: uid, Gid: uid}}
}

func file(name string, mode int64, uid int, data string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Uid: uid, Gid: uid + 1}, data: data}
}

func link(typ byte, name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: typ, Name: name, Linkname: target, Mode: 0o777}}
}

// richLayer holds every kind of entry and the cases that need care.
func richLayer(t *testing.T) []byte {
	xattr := file("etc/xattr", 0o644, 0, "x")
	xattr.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.skiff": "yes", "SCHILY.xattr.security.selinux": "ignored"}
	ping := file("bin/ping", 0o4755, 0, "ELF")
	ping.hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}
	return mkTar(t,
		dir("./", 0o755, 0),
		dir("etc", 0o755, 0),
		file("etc/passwd", 0o644, 0, "root:x:0:0::/root:/bin/sh\n"),
		xattr,
		dir("home/user", 0o2750, 1000), // parent home/ is not in the layer
		file("home/user/.profile", 0o600, 1000, "PS1=x\n"),
		dir("tmp", 0o1777, 0),
		ping,
		link(tar.TypeSymlink, "bin/sh", "/bin/busybox"),
		link(tar.TypeSymlink, "bin/dangling", "../no/such"),
		link(tar.TypeLink, "bin/ping6", "bin/ping"),
		link(tar.TypeLink, "bin/sh-hard", "bin/sh"),
		ent{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "run/fifo", Mode: 0o620}},
		ent{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}},
		file("var/"+strings.Repeat("long-", 40)+"name", 0o640, 7, "long"),
		file("dup", 0o644, 0, "first"),
		file("dup", 0o600, 0, "second"),
		dir("etc", 0o700, 0), // again: the directory's metadata changes
		file("gone/.wh.victim", 0, 0, ""),
		file("opaque/.wh..wh..opq", 0, 0, ""),
		file("opaque/kept", 0o644, 0, "kept"),
		ent{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "zeros", Mode: 0o644}, data: string(make([]byte, 3*holeBlock+7))},
	)
}

// TestExtractMatchesStorage extracts one layer with Extract and with
// containers/storage's unpacker and compares the two trees.
func TestExtractMatchesStorage(t *testing.T) {
	needRoot(t)
	layer := richLayer(t)
	want := filepath.Join(t.TempDir(), "storage")
	got := filepath.Join(t.TempDir(), "skiff")
	for _, d := range []string{want, got} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := archive.Unpack(bytes.NewReader(layer), want, &archive.TarOptions{WhiteoutFormat: archive.OverlayWhiteoutFormat}); err != nil {
		t.Fatal(err)
	}
	res, err := Extract(got, bytes.NewReader(layer), Options{OverlayWhiteouts: true, OpaqueXattr: archive.GetOverlayXattrName("opaque")})
	if err != nil {
		t.Fatal(err)
	}
	w, g := snapshot(t, want), snapshot(t, got)
	for name, wv := range w {
		if gv, ok := g[name]; !ok {
			t.Errorf("%s: missing, want %s", name, wv)
		} else if gv != wv {
			t.Errorf("%s:\n got %s\nwant %s", name, gv, wv)
		}
	}
	for name, gv := range g {
		if _, ok := w[name]; !ok {
			t.Errorf("%s: extra %s", name, gv)
		}
	}
	if fmt.Sprint(res.UIDs) != "[0 7 1000]" || fmt.Sprint(res.GIDs) != "[0 1 8 1000 1001]" {
		t.Errorf("ids %v %v", res.UIDs, res.GIDs)
	}
	if res.RootDirMode == nil || *res.RootDirMode != os.ModeDir|0o755 {
		t.Errorf("root mode %v", res.RootDirMode)
	}
	// The hard link is one inode with its target.
	var a, b unix.Stat_t
	if unix.Lstat(filepath.Join(got, "bin/ping"), &a) != nil || unix.Lstat(filepath.Join(got, "bin/ping6"), &b) != nil || a.Ino != b.Ino {
		t.Error("bin/ping6 is not a hard link of bin/ping")
	}
	// Zeros take no blocks.
	var z unix.Stat_t
	if err := unix.Stat(filepath.Join(got, "zeros"), &z); err != nil || z.Size != 3*holeBlock+7 || z.Blocks > 8 {
		t.Errorf("zeros: size %d, %d blocks (%v), want a hole", z.Size, z.Blocks, err)
	}
}

// snapshot describes every entry under root: type, mode, owner, times,
// content, link target, device and extended attributes.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%o uid=%d gid=%d rdev=%d nlink=%d", st.Mode, st.Uid, st.Gid, st.Rdev, st.Nlink)
		// Directories the layer does not list get the time they are made.
		if st.Mtim.Nano() == when.UnixNano() {
			desc += " mtime=layer's"
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" size=%d sha=%x", len(b), sha256.Sum256(b))
		case unix.S_IFLNK:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		desc += " xattrs=" + xattrs(p)
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func xattrs(p string) string {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		return "?" + err.Error()
	}
	names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
	sort.Strings(names)
	var parts []string
	for _, name := range names {
		if name == "" {
			continue
		}
		v := make([]byte, 256)
		m, _ := unix.Lgetxattr(p, name, v)
		parts = append(parts, fmt.Sprintf("%s=%q", name, v[:max(m, 0)]))
	}
	return strings.Join(parts, ",")
}

// TestExtractContained: nothing an entry says reaches outside the root.
func TestExtractContained(t *testing.T) {
	needRoot(t)
	host := t.TempDir()
	canary := filepath.Join(host, "canary")
	if err := os.WriteFile(canary, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rel := strings.Repeat("../", 20) + strings.TrimPrefix(canary, "/")
	cases := []struct {
		name    string
		layer   []byte
		refused string // the error names this entry
	}{
		{"dotdot", mkTar(t, file(rel, 0o644, 0, "owned\n")), ""},
		{"absolute", mkTar(t, file(canary, 0o644, 0, "owned\n")), ""},
		{"symlink then write", mkTar(t, link(tar.TypeSymlink, "evil", canary), file("evil", 0o644, 0, "owned\n")), ""},
		{"symlink dir then write", mkTar(t, link(tar.TypeSymlink, "evildir", host), file("evildir/canary", 0o644, 0, "owned\n")), ""},
		{"symlink dotdot dir then write", mkTar(t, link(tar.TypeSymlink, "up", strings.Repeat("../", 20)+strings.TrimPrefix(host, "/")), file("up/canary", 0o644, 0, "owned\n")), ""},
		{"symlink then hard link through it", mkTar(t, link(tar.TypeSymlink, "hostdir", host), link(tar.TypeLink, "stolen", "hostdir/canary")), `entry "stolen" is a hard link to "hostdir/canary", which is not in the layer`},
		{"hard link outside", mkTar(t, link(tar.TypeLink, "hl", rel)), `entry "hl" is a hard link to "` + rel + `", outside the layer`},
		{"hard link absent", mkTar(t, link(tar.TypeLink, "hl", "no/such")), `entry "hl" is a hard link to "no/such", which is not in the layer`},
		{"whiteout of dotdot", mkTar(t, file("bin/.wh...", 0, 0, "")), `entry "bin/.wh..." is a whiteout of ".."`},
		{"whiteout of dot", mkTar(t, file(".wh..", 0, 0, "")), `entry ".wh.." is a whiteout of "."`},
		{"whiteout through symlink", mkTar(t, link(tar.TypeSymlink, "w", host), file("w/.wh.canary", 0, 0, "")), ""},
		{"opaque through symlink", mkTar(t, link(tar.TypeSymlink, "w", host), file("w/.wh..wh..opq", 0, 0, "")), ""},
		{"root as file", mkTar(t, file(".", 0o644, 0, "x")), `entry "." is the layer's root but not a directory`},
		{"root as symlink", mkTar(t, link(tar.TypeSymlink, ".", host)), `entry "." is the layer's root but not a directory`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Extract(root, bytes.NewReader(c.layer), Options{OverlayWhiteouts: true, OpaqueXattr: archive.GetOverlayXattrName("opaque")})
			switch {
			case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused) || !errors.Is(err, ErrBadEntry)):
				t.Errorf("error %v, want %q", err, c.refused)
			case c.refused == "" && err != nil && !errors.Is(err, ErrBadEntry):
				t.Errorf("error %v", err)
			}
			if b, err := os.ReadFile(canary); err != nil || string(b) != "host\n" {
				t.Fatalf("the host's canary is %q (%v)", b, err)
			}
			entries, _ := os.ReadDir(host)
			if len(entries) != 1 {
				t.Fatalf("the host directory holds %d entries", len(entries))
			}
			if v, err := unix.Lgetxattr(host, archive.GetOverlayXattrName("opaque"), make([]byte, 8)); err == nil {
				t.Fatalf("the host directory was marked opaque (%d)", v)
			}
		})
	}
}

// TestExtractSparse: a sparse file (GNU tar's PAX 1.0 format) and a file
// of zeros in a plain entry are written as holes.
func TestExtractSparse(t *testing.T) {
	needRoot(t)
	const size = 512 << 20 // the 10 GiB case is e2e (TestSparseLayer); -race makes this one slow
	layer, err := testimages.SparseTar("big", size, map[int64]string{0: "head", 256 << 20: "middle", size - 4: "tail"})
	if err != nil {
		t.Fatal(err)
	}
	if len(layer) > 16<<10 {
		t.Fatalf("the sparse layer is %d bytes", len(layer))
	}
	root := t.TempDir()
	if _, err := Extract(root, bytes.NewReader(layer), Options{}); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(root, "big"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != size || st.Blocks*512 > 1<<20 {
		t.Fatalf("big: %d bytes, %d on disk; want %d bytes in holes", st.Size, st.Blocks*512, int64(size))
	}
	f, err := os.Open(filepath.Join(root, "big"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for off, want := range map[int64]string{0: "head", 256 << 20: "middle", size - 4: "tail", 4096: "\x00\x00"} {
		b := make([]byte, len(want))
		if _, err := f.ReadAt(b, off); err != nil || string(b) != want {
			t.Errorf("at %d: %q (%v), want %q", off, b, err, want)
		}
	}
}

func TestCopySparse(t *testing.T) {
	for _, c := range []struct {
		name      string
		data      []byte
		maxBlocks int64
	}{
		{"empty", nil, 0},
		{"small", []byte("hello"), 8},
		{"zeros", make([]byte, 10*holeBlock), 0},
		{"zeros then byte", append(make([]byte, 10*holeBlock+1), 'x'), 8},
		{"byte then zeros", append([]byte{'x'}, make([]byte, 10*holeBlock)...), 8},
		{"unaligned", append(append(make([]byte, holeBlock-1), 'x'), make([]byte, holeBlock+1)...), 16},
		{"across buffers", append(append([]byte("a"), make([]byte, 3<<20)...), 'b'), 16},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// A reader that returns odd-sized pieces.
			r := io.MultiReader(bytes.NewReader(c.data[:len(c.data)/3]), bytes.NewReader(c.data[len(c.data)/3:]))
			if err := copySparse(f, r, make([]byte, 1<<20)); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(f.Name())
			if err != nil || !bytes.Equal(got, c.data) {
				t.Fatalf("content differs (%d bytes, want %d; %v)", len(got), len(c.data), err)
			}
			var st unix.Stat_t
			if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Blocks > c.maxBlocks {
				t.Errorf("%d blocks, want at most %d", st.Blocks, c.maxBlocks)
			}
		})
	}
}

func TestIsZero(t *testing.T) {
	for n := range 70 {
		b := make([]byte, n)
		if !isZero(b) {
			t.Fatalf("%d zeros", n)
		}
		for i := range n {
			b[i] = 1
			if isZero(b) {
				t.Fatalf("%d bytes, a one at %d", n, i)
			}
			b[i] = 0
		}
	}
}

// errReader fails after its data.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestCopySparseError(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	boom := errors.New("boom")
	if err := copySparse(f, io.MultiReader(strings.NewReader("abc"), errReader{boom}), make([]byte, holeBlock)); !errors.Is(err, boom) {
		t.Fatalf("error %v, want the reader's", err)
	}
}
