// Package images keeps images in a containers/storage layer store and
// brings them in from registries (go-containerregistry) and tarballs.
package images

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
	"go.podman.io/storage"
	"go.podman.io/storage/types"

	"github.com/skiff-dev/skiff/images/unpack"

	"github.com/skiff-dev/skiff/opts"
)

// The store's errors, with the errdefs class that gives their HTTP status.
var (
	// ErrNotFound is an image that is not in the store.
	ErrNotFound = errdefs.ErrNotFound.WithMessage("no such image")
	// ErrInUse is an image that containers use.
	ErrInUse = errdefs.ErrConflict.WithMessage("image is in use")
	// ErrAmbiguous is a short ID that matches more than one image.
	ErrAmbiguous = errdefs.ErrInvalidArgument.WithMessage("ambiguous image reference")
)

// Big-data keys stored with each image.
const (
	keyConfig   = "config"
	keyManifest = "manifest"
)

// Drivers, as named in the settings.
const (
	DriverOverlay       = "overlay"
	DriverFuseOverlayfs = "fuse-overlayfs"
	DriverVFS           = "vfs"
)

// Store is the image and layer store.
type Store struct {
	storage.Store
	// Driver is the storage driver in use (overlay, fuse-overlayfs, vfs).
	Driver string
	mu     sync.Mutex // serializes name changes (tag, rmi, pull)
	// layerLocks serialize the check-and-unpack of one layer (by chain ID).
	layerLocks keyedLocks
	// staged: layers are unpacked by skiff's own unpacker into the
	// driver's staging area (the overlay drivers), not by the store's.
	staged bool
}

// Options locate the store.
type Options struct {
	// Root holds layers and metadata; RunRoot holds mount state.
	Root, RunRoot string
	// Driver forces a driver; empty uses the recorded one, or detects it.
	Driver string
}

// Open opens the store. Without a forced driver it uses the one recorded
// in Root, or tries native overlay, then fuse-overlayfs, then vfs, and
// records the first that works.
func Open(opt Options) (*Store, error) {
	if err := os.MkdirAll(opt.Root, 0o700); err != nil {
		return nil, err
	}
	record := filepath.Join(opt.Root, "skiff-driver")
	driver := opt.Driver
	if driver == "" {
		if b, err := os.ReadFile(record); err == nil {
			driver = strings.TrimSpace(string(b))
		}
	}
	candidates := []string{driver}
	if driver == "" {
		candidates = []string{DriverOverlay, DriverFuseOverlayfs, DriverVFS}
	}
	var errs []error
	for _, d := range candidates {
		s, err := openDriver(opt, d)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d, err))
			continue
		}
		if err := os.WriteFile(record, []byte(d+"\n"), 0o600); err != nil {
			_, serr := s.Shutdown(true)
			return nil, errors.Join(err, serr)
		}
		return &Store{Store: s, Driver: d, staged: d != DriverVFS && unpack.Supported()}, nil
	}
	return nil, fmt.Errorf("no storage driver works: %w", errors.Join(errs...))
}

func openDriver(opt Options, driver string) (storage.Store, error) {
	so := types.StoreOptions{
		RunRoot:   opt.RunRoot,
		GraphRoot: opt.Root,
	}
	switch driver {
	case DriverOverlay:
		so.GraphDriverName = "overlay"
	case DriverFuseOverlayfs:
		so.GraphDriverName = "overlay"
		prog, err := lookFuseOverlayfs()
		if err != nil {
			return nil, err
		}
		so.GraphDriverOptions = []string{"overlay.mount_program=" + prog}
	case DriverVFS:
		so.GraphDriverName = "vfs"
	default:
		return nil, fmt.Errorf("unknown storage driver %q", driver)
	}
	s, err := storage.GetStore(so)
	if err != nil {
		return nil, err
	}
	if driver == DriverOverlay {
		// GetStore succeeds before the driver has proven it can mount;
		// ask the driver for its status, which runs its checks.
		if _, err := s.GraphDriver(); err != nil {
			_, serr := s.Shutdown(true)
			return nil, errors.Join(err, serr)
		}
	}
	return s, nil
}

func lookFuseOverlayfs() (string, error) {
	for _, p := range []string{"/usr/bin/fuse-overlayfs", "/usr/local/bin/fuse-overlayfs"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("fuse-overlayfs is not installed")
}

// Image is one image in the store.
type Image struct {
	// ID is the config digest, "sha256:<hex>".
	ID string
	// Names are the fully qualified references (docker.io/library/busybox:latest).
	Names []string
	// Digests are the manifest digests it was pulled by.
	Digests []digest.Digest
	// TopLayer is the store's id of the image's top layer.
	TopLayer string
	Config   v1.ConfigFile
	// RawConfig is the config blob as stored.
	RawConfig []byte
	Size      int64
	storeID   string
}

// StoreID is the id of the image inside containers/storage.
func (i *Image) StoreID() string { return i.storeID }

// Lookup finds an image by name, full ID, or unique ID prefix.
func (s *Store) Lookup(ref string) (*Image, error) {
	id := strings.TrimPrefix(ref, "sha256:")
	if looksLikeID(id) {
		imgs, err := s.Images()
		if err != nil {
			return nil, err
		}
		var match []storage.Image
		for _, im := range imgs {
			if strings.HasPrefix(im.ID, id) {
				match = append(match, im)
			}
		}
		if len(match) == 1 {
			return s.load(&match[0])
		}
		if len(match) > 1 {
			return nil, fmt.Errorf("%w: %s", ErrAmbiguous, ref)
		}
	}
	named, err := opts.NormalizeImage(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	im, err := s.Image(named.String())
	if err != nil {
		// A digest reference: match the image's digests.
		if canon, ok := named.(reference.Canonical); ok {
			return s.byDigest(canon)
		}
		return nil, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return s.load(im)
}

func (s *Store) byDigest(canon reference.Canonical) (*Image, error) {
	imgs, err := s.Images()
	if err != nil {
		return nil, err
	}
	for i := range imgs {
		for _, d := range imgs[i].Digests {
			if d == canon.Digest() && hasRepo(imgs[i].Names, canon.Name()) {
				return s.load(&imgs[i])
			}
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, reference.FamiliarString(canon))
}

func hasRepo(names []string, repo string) bool {
	for _, n := range names {
		if named, err := reference.ParseNormalizedNamed(n); err == nil && named.Name() == repo {
			return true
		}
	}
	return len(names) == 0
}

func looksLikeID(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// List returns every image.
func (s *Store) List() ([]*Image, error) {
	imgs, err := s.Images()
	if err != nil {
		return nil, err
	}
	out := make([]*Image, 0, len(imgs))
	for i := range imgs {
		im, err := s.load(&imgs[i])
		if err != nil {
			continue
		}
		out = append(out, im)
	}
	return out, nil
}

func (s *Store) load(im *storage.Image) (*Image, error) {
	raw, err := s.ImageBigData(im.ID, keyConfig)
	if err != nil {
		return nil, fmt.Errorf("reading config of image %s: %w", im.ID, err)
	}
	out := &Image{
		ID:        "sha256:" + im.ID,
		Names:     im.Names,
		Digests:   im.Digests,
		TopLayer:  im.TopLayer,
		RawConfig: raw,
		storeID:   im.ID,
	}
	if err := json.Unmarshal(raw, &out.Config); err != nil {
		return nil, fmt.Errorf("parsing config of image %s: %w", im.ID, err)
	}
	out.Size = s.imageSize(im)
	return out, nil
}

// imageSize adds up the uncompressed sizes of the image's layers.
func (s *Store) imageSize(im *storage.Image) int64 {
	var total int64
	for id := im.TopLayer; id != ""; {
		l, err := s.Layer(id)
		if err != nil {
			break
		}
		if l.UncompressedSize > 0 {
			total += l.UncompressedSize
		}
		id = l.Parent
	}
	return total
}

// Tag adds the name target (e.g. "myimg:v1") to the image src.
func (s *Store) Tag(src, target string) error {
	im, err := s.Lookup(src)
	if err != nil {
		return err
	}
	named, err := opts.NormalizeImage(target)
	if err != nil {
		return err
	}
	if _, ok := named.(reference.Digested); ok {
		return fmt.Errorf("refusing to create a tag with a digest reference")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.moveName(im.storeID, named.String())
}

// moveName gives name to image id, taking it from any other image.
// The caller holds s.mu.
func (s *Store) moveName(id, name string) error {
	if other, err := s.Image(name); err == nil && other.ID != id {
		if err := s.RemoveNames(other.ID, []string{name}); err != nil {
			return err
		}
	}
	return s.AddNames(id, []string{name})
}

// Untag removes one name from an image, returning the image.
func (s *Store) Untag(name string) (*Image, error) {
	named, err := opts.NormalizeImage(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	im, err := s.Image(named.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err := s.RemoveNames(im.ID, []string{named.String()}); err != nil {
		return nil, err
	}
	return s.load(im)
}

// Delete removes the image with its layers that nothing else uses.
func (s *Store) Delete(im *Image) error {
	_, err := s.DeleteImage(im.storeID, true)
	if errors.Is(err, storage.ErrImageUsedByContainer) {
		return ErrInUse
	}
	return err
}
