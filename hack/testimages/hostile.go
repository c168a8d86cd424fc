package testimages

import (
	"archive/tar"
	"bytes"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Hostile is one image of the hostile-layer corpus: an attack that an
// image can carry in its layers, for the tests that check that skiff
// refuses or contains it.
type Hostile struct {
	// Name says what the layer tries ("dotdot", "symlink-write", ...).
	Name string
	// Image is busybox plus the hostile layer (or, for the digest cases,
	// a layer that lies about itself).
	Image v1.Image
	// Refused names the entry for which skiff must refuse the image;
	// empty means it must load and the attack must stay inside the
	// container's root.
	Refused string
}

// HostileCorpus builds the corpus on top of base. canary is the absolute
// host path that each attack aims at (a file the test made and checks
// afterwards); the layers reach for it through "..", absolute paths,
// symlinks and hard links.
func HostileCorpus(base v1.Image, canary string) ([]Hostile, error) {
	rel := strings.Repeat("../", 32) + strings.TrimPrefix(canary, "/")
	cases := []struct {
		name    string
		refused string
		entries []*entry
	}{
		{"dotdot", "", []*entry{reg(rel, "owned\n")}},
		{"absolute", "", []*entry{reg(canary, "owned\n")}},
		// A symlink to the canary, then a file written through it.
		// (containers/storage refuses a path twice in one layer.)
		{"symlink-write", "evil", []*entry{
			{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "evil", Linkname: canary}},
			reg("evil", "owned\n"),
		}},
		{"symlink-dir-write", "", []*entry{
			{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "evildir", Linkname: dirOf(canary)}},
			reg("evildir/"+baseOf(canary), "owned\n"),
		}},
		{"hardlink-outside", "hl", []*entry{
			{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "hl", Linkname: rel}},
		}},
		{"hardlink-absent", "hl", []*entry{
			{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "hl", Linkname: "no/such/file"}},
		}},
		{"whiteout-dotdot", "bin/.wh...", []*entry{reg("bin/.wh...", "")}},
		{"whiteout-dot", ".wh..", []*entry{reg(".wh..", "")}},
		{"device", "", []*entry{
			{hdr: tar.Header{Typeflag: tar.TypeBlock, Name: "sda-evil", Mode: 0o666, Devmajor: 8, Devminor: 0}},
			{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "mem-evil", Mode: 0o666, Devmajor: 1, Devminor: 1}},
		}},
	}
	var out []Hostile
	for _, c := range cases {
		img, err := withEntries(base, c.name, c.entries)
		if err != nil {
			return nil, fmt.Errorf("hostile image %s: %w", c.name, err)
		}
		out = append(out, Hostile{Name: c.name, Image: img, Refused: c.refused})
	}
	return out, nil
}

// WithDiffID returns img with the config's diff_id of layer i replaced:
// an image whose layer does not hold what its config says.
func WithDiffID(img v1.Image, i int, diffID v1.Hash) (v1.Image, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	if i < 0 || i >= len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("testimages: image has %d layers, no layer %d", len(cfg.RootFS.DiffIDs), i)
	}
	cfg.RootFS.DiffIDs[i] = diffID
	return mutate.ConfigFile(img, cfg)
}

// WithLayerFile is base plus one layer holding the file name with content;
// unlike WithFile it writes no parent directories.
func WithLayerFile(base v1.Image, name, content string) (v1.Image, error) {
	return withEntries(base, "file "+name, []*entry{reg(name, content)})
}

// entry is one tar entry: a header and, for regular files, the content.
type entry struct {
	hdr  tar.Header
	data string
}

func reg(name, data string) *entry {
	return &entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644}, data: data}
}

func withEntries(base v1.Image, what string, entries []*entry) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.hdr
		hdr.ModTime = Created
		hdr.Size = int64(len(e.data))
		hdr.Format = tar.FormatPAX
		if hdr.Mode == 0 {
			hdr.Mode = 0o777
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return appendLayer(base, buf.Bytes(), "skiff hack/testimages: hostile "+what)
}

func dirOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

func baseOf(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }
