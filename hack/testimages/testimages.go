// Package testimages builds the small OCI images that skiff's tests and benchmarks use.
package testimages

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BusyboxBinary is the statically linked busybox that Busybox packs
// (Debian's busybox-static).
var BusyboxBinary = "/bin/busybox"

// DefaultPath is the PATH set in the images' environment.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Created is the fixed creation time (and file mtime) of the images built
// here, so that building twice gives the same digests.
var Created = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// busyboxDirs are the directories of the busybox image and their modes.
var busyboxDirs = []struct {
	name string
	mode int64
}{
	{"bin", 0o755},
	{"dev", 0o755},
	{"etc", 0o755},
	{"home", 0o755},
	{"proc", 0o555},
	{"root", 0o700},
	{"sbin", 0o755},
	{"sys", 0o555},
	{"tmp", 0o1777},
	{"usr", 0o755},
	{"usr/bin", 0o755},
	{"usr/sbin", 0o755},
	{"var", 0o755},
}

const (
	passwd = "root:x:0:0:root:/root:/bin/sh\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group = "root:x:0:\nnogroup:x:65534:\n"
)

// Busybox builds the single-layer busybox image from BusyboxBinary: the
// binary at /bin/busybox, a hard link to it for every applet that
// `busybox --list-full` reports, a minimal /etc/passwd and /etc/group, and
// Cmd ["sh"]. The result is deterministic for a given binary.
func Busybox() (v1.Image, error) {
	bin, err := os.ReadFile(BusyboxBinary)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(BusyboxBinary, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %w", BusyboxBinary, err)
	}
	var applets []string
	for _, l := range strings.Fields(string(out)) {
		l = strings.TrimPrefix(path.Clean("/"+l), "/")
		if l != "" && l != "bin/busybox" {
			applets = append(applets, l)
		}
	}
	sort.Strings(applets)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range busyboxDirs {
		if err := tw.WriteHeader(dirHeader(d.name, d.mode)); err != nil {
			return nil, err
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"bin/busybox", 0o755, bin},
		{"etc/group", 0o644, []byte(group)},
		{"etc/passwd", 0o644, []byte(passwd)},
	}
	for _, f := range files {
		if err := writeFile(tw, f.name, f.data, f.mode, 0, 0); err != nil {
			return nil, err
		}
	}
	for _, a := range applets {
		hdr := &tar.Header{
			Typeflag: tar.TypeLink,
			Name:     a,
			Linkname: "bin/busybox",
			Mode:     0o755,
			ModTime:  Created,
			Format:   tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return newImage(buf.Bytes(), []string{"sh"}, "busybox-static "+BusyboxBinary)
}

// WithFile returns base plus one layer that holds the regular file path
// with the given content, permission bits and owner. Parent directories
// are included in the layer: with their metadata from base if they exist
// there, otherwise as root-owned 0755 directories.
func WithFile(base v1.Image, path string, content []byte, mode int64, uid, gid int) (v1.Image, error) {
	name := cleanName(path)
	if name == "" {
		return nil, errors.New("testimages: WithFile needs a file path")
	}
	existing, err := baseDirs(base)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range parents(name) {
		hdr, ok := existing[dir]
		if !ok {
			hdr = dirHeader(dir, 0o755)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
	}
	if err := writeFile(tw, name, content, mode, uid, gid); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return appendLayer(base, buf.Bytes(), fmt.Sprintf("testimages.WithFile /%s %o %d:%d", name, mode, uid, gid))
}

// appendLayer is base plus the layer layerTar (an uncompressed tar).
func appendLayer(base v1.Image, layerTar []byte, createdBy string) (v1.Image, error) {
	layer, err := bytesLayer(layerTar)
	if err != nil {
		return nil, err
	}
	return mutate.Append(base, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: Created}, CreatedBy: createdBy},
	})
}

// newImage makes a linux/GOARCH image with one layer (an uncompressed tar)
// and the given Cmd.
func newImage(layerTar []byte, cmd []string, createdBy string) (v1.Image, error) {
	layer, err := bytesLayer(layerTar)
	if err != nil {
		return nil, err
	}
	return imageWithLayer(layer, cmd, createdBy)
}

func imageWithLayer(layer v1.Layer, cmd []string, createdBy string) (v1.Image, error) {
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: Created},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Env: []string{DefaultPath},
			Cmd: cmd,
		},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: Created},
			CreatedBy: "skiff hack/testimages: " + createdBy,
		},
	})
}

func bytesLayer(b []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}

func dirHeader(name string, mode int64) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeDir,
		Name:     name + "/",
		Mode:     mode,
		ModTime:  Created,
		Format:   tar.FormatPAX,
	}
}

func writeFile(tw *tar.Writer, name string, data []byte, mode int64, uid, gid int) error {
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Mode:     mode,
		Uid:      uid,
		Gid:      gid,
		Size:     int64(len(data)),
		ModTime:  Created,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// cleanName turns an absolute or relative path into a tar entry name
// ("etc/passwd"); "" means the root.
func cleanName(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}

// parents lists the ancestor directories of a tar entry name, outermost
// first: "a/b/c" gives ["a", "a/b"].
func parents(name string) []string {
	var out []string
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		out = append([]string{d}, out...)
	}
	return out
}

// baseDirs returns the headers of the directories in img's flattened
// filesystem, keyed by clean name.
func baseDirs(img v1.Image) (map[string]*tar.Header, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	dirs := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return dirs, nil
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeDir {
			name := cleanName(hdr.Name)
			dirs[name] = &tar.Header{
				Typeflag: tar.TypeDir,
				Name:     name + "/",
				Mode:     hdr.Mode,
				Uid:      hdr.Uid,
				Gid:      hdr.Gid,
				ModTime:  hdr.ModTime,
				Format:   tar.FormatPAX,
			}
		}
	}
}
