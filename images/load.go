package images

import (
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/api/types/jsonstream"

	"github.com/skiff-dev/skiff/opts"
)

// Loaded is one image Load stored: its ID and the name it got ("" for
// an image without one).
type Loaded struct{ ID, Name string }

// Load reads a `docker save` tarball and stores every image in it, with
// its tags. Messages are Docker's ("Loaded image: busybox:latest").
func (s *Store) Load(r io.Reader, progress Progress) (loaded []Loaded, err error) {
	if progress == nil {
		progress = func(jsonstream.Message) {}
	}
	// The tarball is read several times (manifest, config, layers):
	// spool it to a temporary file next to the store.
	f, err := os.CreateTemp(s.GraphRoot(), "load-*.tar")
	if err != nil {
		return loaded, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		return loaded, fmt.Errorf("reading the image archive: %w", err)
	}
	opener := func() (io.ReadCloser, error) { return os.Open(f.Name()) }
	manifest, err := tarball.LoadManifest(opener)
	if err != nil {
		return loaded, fmt.Errorf("invalid image archive: %w", err)
	}
	for _, desc := range manifest {
		var tag *name.Tag
		if len(desc.RepoTags) > 0 {
			t, err := name.NewTag(desc.RepoTags[0], name.WeakValidation)
			if err != nil {
				return loaded, fmt.Errorf("invalid tag %q in archive: %w", desc.RepoTags[0], err)
			}
			tag = &t
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return loaded, fmt.Errorf("reading image from archive: %w", err)
		}
		cfgName, err := img.ConfigName()
		if err != nil {
			return loaded, err
		}
		if len(desc.RepoTags) == 0 {
			if _, _, err := s.storeLayersAndImage(img, nil, "", fromArchive, progress); err != nil {
				return loaded, err
			}
			progress(jsonstream.Message{Stream: "Loaded image ID: " + cfgName.String() + "\n"})
			loaded = append(loaded, Loaded{ID: cfgName.String()})
			continue
		}
		for _, t := range desc.RepoTags {
			named, err := opts.NormalizeImage(t)
			if err != nil {
				return loaded, fmt.Errorf("invalid tag %q in archive: %w", t, err)
			}
			if _, _, err := s.storeLayersAndImage(img, named, "", fromArchive, progress); err != nil {
				return loaded, err
			}
			progress(jsonstream.Message{Stream: "Loaded image: " + opts.FamiliarImage(named.String()) + "\n"})
			loaded = append(loaded, Loaded{ID: cfgName.String(), Name: opts.FamiliarImage(named.String())})
		}
	}
	return loaded, nil
}
