package testimages

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func busybox(t *testing.T) v1.Image {
	t.Helper()
	if _, err := os.Stat(BusyboxBinary); err != nil {
		t.Skipf("no busybox-static: %v", err)
	}
	img, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// entries reads a tar stream into a map of clean name to header, with
// file contents.
func entries(t *testing.T, r io.Reader) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	hdrs, data := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return hdrs, data
		}
		if err != nil {
			t.Fatal(err)
		}
		name := cleanName(hdr.Name)
		hdrs[name] = hdr
		if hdr.Typeflag == tar.TypeReg && hdr.Size < 1<<16 {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			data[name] = b
		}
	}
}

func layerEntries(t *testing.T, l v1.Layer) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	return entries(t, rc)
}

func TestBusybox(t *testing.T) {
	img := busybox(t)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("got %d layers, want 1", len(layers))
	}
	hdrs, data := layerEntries(t, layers[0])

	if h := hdrs["bin/sh"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "bin/busybox" {
		t.Errorf("bin/sh = %+v, want hard link to bin/busybox", h)
	}
	if h := hdrs["usr/bin/env"]; h == nil || h.Typeflag != tar.TypeLink {
		t.Errorf("usr/bin/env = %+v, want hard link", h)
	}
	if h := hdrs["bin/busybox"]; h == nil || h.Typeflag != tar.TypeReg || h.Mode != 0o755 || h.Uid != 0 || h.Gid != 0 {
		t.Errorf("bin/busybox = %+v", h)
	}
	if h := hdrs["tmp"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o1777 {
		t.Errorf("tmp = %+v, want dir 1777", h)
	}
	if h := hdrs["root"]; h == nil || h.Mode != 0o700 {
		t.Errorf("root = %+v, want dir 0700", h)
	}
	if got := string(data["etc/passwd"]); got != passwd {
		t.Errorf("etc/passwd = %q", got)
	}
	if got := string(data["etc/group"]); got != group {
		t.Errorf("etc/group = %q", got)
	}
	for name, h := range hdrs {
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(Created) {
			t.Errorf("%s: uid %d gid %d mtime %v", name, h.Uid, h.Gid, h.ModTime)
		}
	}

	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Cmd, []string{"sh"}) {
		t.Errorf("Cmd = %q, want [sh]", cfg.Config.Cmd)
	}
	if !slices.Equal(cfg.Config.Env, []string{DefaultPath}) {
		t.Errorf("Env = %q", cfg.Config.Env)
	}
	if cfg.OS != "linux" || cfg.Architecture == "" || len(cfg.History) != 1 {
		t.Errorf("config = %+v", cfg)
	}

	// Deterministic: a second build has the same digest.
	again := busybox(t)
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("digests differ: %s, %s", d1, d2)
	}
}

func TestWithFile(t *testing.T) {
	base := busybox(t)
	img, err := WithFile(base, "/tmp/owned/data.txt", []byte("hi\n"), 0o640, 1234, 5678)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("got %d layers, want 2", len(layers))
	}
	hdrs, data := layerEntries(t, layers[1])
	h := hdrs["tmp/owned/data.txt"]
	if h == nil || h.Uid != 1234 || h.Gid != 5678 || h.Mode != 0o640 || string(data["tmp/owned/data.txt"]) != "hi\n" {
		t.Fatalf("data.txt = %+v %q", h, data["tmp/owned/data.txt"])
	}
	if h := hdrs["tmp"]; h == nil || h.Mode != 0o1777 || h.Uid != 0 {
		t.Errorf("tmp = %+v, want base's 1777 root dir", h)
	}
	if h := hdrs["tmp/owned"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode != 0o755 || h.Uid != 0 || h.Gid != 0 {
		t.Errorf("tmp/owned = %+v, want root 0755 dir", h)
	}

	// Ownership also survives flattening, as an engine would unpack it.
	rc := mutate.Extract(img)
	defer rc.Close()
	flat, _ := entries(t, rc)
	if h := flat["tmp/owned/data.txt"]; h == nil || h.Uid != 1234 || h.Gid != 5678 {
		t.Errorf("flattened data.txt = %+v", h)
	}
	if flat["bin/busybox"] == nil {
		t.Error("flattened image lost bin/busybox")
	}
}

func TestTarballRoundTrip(t *testing.T) {
	img := busybox(t)
	file := filepath.Join(t.TempDir(), "busybox.tar")
	if err := WriteTarball(file, img, "busybox:latest", "busybox:1"); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"busybox:latest", "busybox:1"} {
		ref, err := name.NewTag(tag)
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := tarball.ImageFromPath(file, &ref)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := img.Digest()
		got, err := loaded.Digest()
		if err != nil || got != want {
			t.Errorf("%s: digest %s (%v), want %s", tag, got, err, want)
		}
	}
}

func TestFromDir(t *testing.T) {
	dir := t.TempDir()
	mustWrite := func(p, s string, mode os.FileMode) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), mode); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(filepath.Join(dir, "bin/tool"), "#!/bin/sh\n", 0o755)
	mustWrite(filepath.Join(dir, "etc/conf"), "x=1\n", 0o600)
	if err := os.Link(filepath.Join(dir, "bin/tool"), filepath.Join(dir, "bin/tool2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("tool", filepath.Join(dir, "bin/alias")); err != nil {
		t.Fatal(err)
	}
	img, err := FromDir(dir, []string{"bash"})
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	hdrs, data := layerEntries(t, layers[0])
	if h := hdrs["bin/tool"]; h == nil || h.Typeflag != tar.TypeReg || h.Mode != 0o755 || string(data["bin/tool"]) != "#!/bin/sh\n" {
		t.Errorf("bin/tool = %+v", h)
	}
	if h := hdrs["bin/tool2"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "bin/tool" {
		t.Errorf("bin/tool2 = %+v, want hard link to bin/tool", h)
	}
	if h := hdrs["bin/alias"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "tool" {
		t.Errorf("bin/alias = %+v, want symlink to tool", h)
	}
	if h := hdrs["etc/conf"]; h == nil || h.Mode != 0o600 || h.Uid != os.Getuid() {
		t.Errorf("etc/conf = %+v", h)
	}
	if h := hdrs["etc"]; h == nil || h.Typeflag != tar.TypeDir {
		t.Errorf("etc = %+v, want dir", h)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Cmd, []string{"bash"}) {
		t.Errorf("Cmd = %q", cfg.Config.Cmd)
	}
}

func TestRegistry(t *testing.T) {
	img := busybox(t)
	addr, stop, err := StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if err := Push(addr, "library/busybox:latest", img); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(addr+"/library/busybox:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if got, err := pulled.Digest(); err != nil || got != want {
		t.Errorf("pulled digest %s (%v), want %s", got, err, want)
	}

	if _, _, err := ServeRegistry("0.0.0.0:0", io.Discard); err == nil {
		t.Error("ServeRegistry accepted 0.0.0.0")
	}
}
