package unpack

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	"github.com/vbatts/tar-split/tar/asm"
	"github.com/vbatts/tar-split/tar/storage"
	graphdriver "go.podman.io/storage/drivers"
	"go.podman.io/storage/pkg/archive"
)

// Differ is a containers/storage Differ that extracts one layer's
// uncompressed tar stream with Extract. In the same pass it computes
// the stream's digest and size (the layer's diff_id, which the caller
// checks before it commits the layer) and records the tar-split
// metadata that lets the store give back the exact same stream.
type Differ struct {
	r           io.Reader
	opaqueXattr string
}

// NewDiffer returns a Differ for the uncompressed tar stream r.
// opaqueXattr is the overlay driver's opaque attribute (see Options).
func NewDiffer(r io.Reader, opaqueXattr string) *Differ {
	return &Differ{r: r, opaqueXattr: opaqueXattr}
}

// ApplyDiff extracts the layer into dest, as the graph driver asks.
func (d *Differ) ApplyDiff(dest string, options *archive.TarOptions, differOpts *graphdriver.DifferOptions) (out graphdriver.DriverWithDifferOutput, err error) {
	if options == nil {
		options = &archive.TarOptions{}
	}
	if options.ForceMask != nil {
		return out, errors.New("unpack: the storage driver's force_mask is not supported")
	}
	if differOpts != nil && differOpts.Format != graphdriver.DifferOutputFormatDir {
		return out, errors.New("unpack: the storage driver wants a flat (composefs) layout, which is not supported")
	}
	staging := os.TempDir()
	if differOpts != nil && differOpts.StagingDirectory != "" {
		staging = differOpts.StagingDirectory
	}
	ts, err := os.CreateTemp(staging, "tar-split-")
	if err != nil {
		return out, err
	}
	os.Remove(ts.Name()) // kept open only
	defer func() {
		if err != nil {
			ts.Close()
		}
	}()

	tsw := bufio.NewWriterSize(ts, 64<<10)
	sum := digest.Canonical.Digester()
	size := &counter{}
	payload, done, err := asm.NewInputTarStreamWithDone(io.TeeReader(d.r, io.MultiWriter(sum.Hash(), size)),
		storage.NewJSONPacker(tsw), storage.NewDiscardFilePutter())
	if err != nil {
		return out, err
	}
	res, err := Extract(dest, payload, Options{
		OverlayWhiteouts:  options.WhiteoutFormat == archive.OverlayWhiteoutFormat,
		OpaqueXattr:       d.opaqueXattr,
		UIDMaps:           options.UIDMaps,
		GIDMaps:           options.GIDMaps,
		InUserNS:          options.InUserNS,
		IgnoreChownErrors: options.IgnoreChownErrors,
	})
	if err == nil {
		// The padding after the archive's end is part of the stream,
		// its digest and its tar-split.
		_, err = io.Copy(io.Discard, payload)
	}
	payload.Close()
	if derr := <-done; err == nil && derr != nil {
		err = fmt.Errorf("reading the layer's archive: %w", derr)
	}
	if err != nil {
		return out, err
	}
	if err := tsw.Flush(); err != nil {
		return out, err
	}
	return graphdriver.DriverWithDifferOutput{
		Differ:             d,
		Size:               size.n,
		UIDs:               res.UIDs,
		GIDs:               res.GIDs,
		UncompressedDigest: sum.Digest(),
		TarSplit:           ts,
		RootDirMode:        res.RootDirMode,
	}, nil
}

// Close releases what ApplyDiff kept; the store closes the tar-split
// file it was handed itself.
func (d *Differ) Close() error { return nil }

type counter struct{ n int64 }

func (c *counter) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	return len(b), nil
}
