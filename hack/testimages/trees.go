package testimages

import (
	"archive/tar"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// WithVolumeTree is base plus a layer whose /data holds what the copy of
// an image's directory into a new volume must keep: a hard link (b of
// a), a user.* extended attribute (on x: user.skiff=kept), and an owner
// and mode of its own (o: 1000:1000, 0640).
func WithVolumeTree(base v1.Image) (v1.Image, error) {
	x := reg("data/x", "xattr\n")
	x.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.skiff": "kept"}
	o := reg("data/o", "owned\n")
	o.hdr.Uid, o.hdr.Gid, o.hdr.Mode = 1000, 1000, 0o640
	return withEntries(base, "volume tree", []*entry{
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "data/", Mode: 0o755}},
		reg("data/a", "linked\n"),
		{hdr: tar.Header{Typeflag: tar.TypeLink, Name: "data/b", Linkname: "data/a"}},
		x,
		o,
	})
}
