package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/opencontainers/go-digest"
	"go.podman.io/storage"
	drivers "go.podman.io/storage/drivers"
	"go.podman.io/storage/pkg/archive"

	"github.com/skiff-dev/skiff/images/unpack"
)

// Progress receives Docker's pull messages, one per event.
type Progress func(jsonstream.Message)

// PullOptions configure Pull.
type PullOptions struct {
	// Insecure registries are reached over plain HTTP. Loopback registries
	// always are.
	Insecure []string
	// Keychain supplies credentials; nil means anonymous and the user's
	// docker config.
	Keychain authn.Keychain
	// Platform is os/arch; empty means this machine's.
	Platform string
}

// ErrPullDenied is a repository that the registry does not have or will
// not give us.
var ErrPullDenied = errors.New("pull access denied")

// Pull fetches ref from its registry into the store and names it.
func (s *Store) Pull(ctx context.Context, ref string, opt PullOptions, progress Progress) (*Image, error) {
	if progress == nil {
		progress = func(jsonstream.Message) {}
	}
	named, err := Normalize(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format: %w", err)
	}
	nameOpts := []name.Option{name.WeakValidation}
	if isInsecure(reference.Domain(named), opt.Insecure) {
		nameOpts = append(nameOpts, name.Insecure)
	}
	r, err := name.ParseReference(named.String(), nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format: %w", err)
	}
	kc := opt.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	platform := v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
	if opt.Platform != "" {
		p, err := v1.ParsePlatform(opt.Platform)
		if err != nil {
			return nil, err
		}
		platform = *p
	}
	tagOrDigest := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tagOrDigest = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		tagOrDigest = d.Digest().String()
	}
	progress(jsonstream.Message{Status: "Pulling from " + reference.Path(named), ID: tagOrDigest})
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithPlatform(platform))
	if err != nil {
		return nil, pullError(named, err)
	}
	manifestDigest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	im, fresh, err := s.storeLayersAndImage(img, named, digest.Digest(manifestDigest.String()), fromRegistry, progress)
	if err != nil {
		return nil, err
	}
	progress(jsonstream.Message{Status: "Digest: " + manifestDigest.String()})
	if fresh {
		progress(jsonstream.Message{Status: "Status: Downloaded newer image for " + reference.FamiliarString(named)})
	} else {
		progress(jsonstream.Message{Status: "Status: Image is up to date for " + reference.FamiliarString(named)})
	}
	return im, nil
}

func pullError(named reference.Named, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case 401, 403, 404:
			return fmt.Errorf("%w for %s, repository does not exist or may require 'docker login': %v",
				ErrPullDenied, reference.FamiliarName(named), terr)
		}
	}
	return fmt.Errorf("pulling %s: %w", reference.FamiliarString(named), err)
}

func isInsecure(domain string, insecure []string) bool {
	host := domain
	if h, _, err := net.SplitHostPort(domain); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, r := range insecure {
		if r == domain || r == host {
			return true
		}
		if _, cidr, err := net.ParseCIDR(r); err == nil {
			if ip := net.ParseIP(host); ip != nil && cidr.Contains(ip) {
				return true
			}
		}
	}
	return false
}

// Errors of an image whose content does not match its digests.
var (
	// ErrRootFSMismatch is a manifest and a config that disagree on the
	// number of layers, or a layer whose content is not what the config's
	// rootfs.diff_ids says (Docker's words for a pull).
	ErrRootFSMismatch = errors.New("layers from manifest don't match image configuration")
	// ErrLayerVerification is a layer whose compressed blob does not match
	// the manifest's digest.
	ErrLayerVerification = errors.New("filesystem layer verification failed")
)

// source says where layers come from, which decides what can be checked.
type source int

const (
	// fromRegistry: the manifest gives each blob's digest, which
	// go-containerregistry verifies as it reads; layers are fetched
	// compressed.
	fromRegistry source = iota
	// fromArchive: a docker-archive or OCI layout; layers are read
	// uncompressed (an archive may hold them either way).
	fromArchive
)

// storeLayersAndImage puts img's layers and config into the store
// (skipping layers it already has) and gives it the name, if any; fresh is
// false when the image already had that name. manifestDigest is the
// digest it was pulled by; empty for an image loaded from a tarball.
//
// Layers are keyed by their chain ID, computed from the config's diff_ids,
// and each layer's content is checked against its diff_id in the pass
// that unpacks it: a layer that is not what it claims never stays in the
// store, so it cannot stand in for another image's layer.
func (s *Store) storeLayersAndImage(img v1.Image, named reference.Named, manifestDigest digest.Digest, src source, progress Progress) (*Image, bool, error) {
	if progress == nil {
		progress = func(jsonstream.Message) {}
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return nil, false, err
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return nil, false, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, false, err
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return nil, false, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, false, err
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return nil, false, fmt.Errorf("%w: %d layers, %d diff_ids", ErrRootFSMismatch, len(layers), len(cfg.RootFS.DiffIDs))
	}
	fresh := true
	if existing, err := s.Image(cfgName.Hex); err == nil && named != nil {
		fresh = !hasName(existing.Names, named.String())
	}
	var created []string
	parent := ""
	for i, l := range layers {
		diffID := cfg.RootFS.DiffIDs[i]
		if diffID.Algorithm != "sha256" || len(diffID.Hex) != 64 {
			err = fmt.Errorf("%w: layer %d has diff_id %q", ErrRootFSMismatch, i, diffID)
			break
		}
		chain := chainID(parent, diffID)
		// Docker names a layer by its blob's digest; an archive's layer by
		// its diff_id (go-containerregistry would compress an uncompressed
		// archive layer just to learn its blob digest).
		short := diffID.Hex
		if src == fromRegistry {
			ld, derr := l.Digest()
			if derr != nil {
				err = derr
				break
			}
			short = ld.Hex
		}
		short = short[:12]
		var made bool
		made, err = s.ensureLayer(l, i, chain, parent, diffID, short, src, progress)
		if err != nil {
			break
		}
		if made {
			created = append(created, chain)
		}
		parent = chain
	}
	if err != nil {
		// Leave nothing of this image behind (layers that another image
		// uses meanwhile stay: the store refuses to delete them).
		for i := len(created) - 1; i >= 0; i-- {
			s.DeleteLayer(created[i])
		}
		return nil, false, err
	}
	im, err := s.putImage(cfgName.Hex, parent, rawCfg, rawManifest, manifestDigest, cfg.Created.Time)
	if err != nil {
		return nil, false, err
	}
	if named != nil {
		s.mu.Lock()
		err = s.moveName(im.ID, named.String())
		s.mu.Unlock()
		if err != nil {
			return nil, false, err
		}
	}
	out, err := s.Lookup(cfgName.Hex)
	return out, fresh, err
}

// ensureLayer makes sure the store has layer chain, unpacking l when it
// does not; made says it did. Two pulls of one layer unpack it once.
func (s *Store) ensureLayer(l v1.Layer, index int, chain, parent string, diffID v1.Hash, short string, src source, progress Progress) (bool, error) {
	unlock := s.layerLocks.lock(chain)
	defer unlock()
	if _, err := s.Layer(chain); err == nil {
		progress(jsonstream.Message{Status: "Already exists", ID: short})
		return false, nil
	}
	progress(jsonstream.Message{Status: "Pulling fs layer", ID: short})
	made, err := s.putLayer(l, index, chain, parent, diffID, short, src, progress)
	if err != nil {
		return false, err
	}
	progress(jsonstream.Message{Status: "Pull complete", ID: short})
	return made, nil
}

// putLayer unpacks l as layer id and checks it; made is false when the
// store already had the layer (another process made it meanwhile).
func (s *Store) putLayer(l v1.Layer, index int, id, parent string, diffID v1.Hash, short string, src source, progress Progress) (made bool, err error) {
	var (
		rc   io.ReadCloser
		size int64
	)
	if src == fromRegistry {
		size, _ = l.Size()
		rc, err = l.Compressed()
	} else {
		rc, err = l.Uncompressed()
	}
	if err != nil {
		return false, fmt.Errorf("fetching layer %s: %w", short, err)
	}
	defer rc.Close()
	pr := &progressReader{r: rc, total: size, id: short, progress: progress, status: "Downloading"}
	check := func(got digest.Digest) error {
		// Read the blob to its end: go-containerregistry checks its
		// digest at EOF, which the unpacker may not have reached.
		if _, err := io.Copy(io.Discard, pr); err != nil {
			return fmt.Errorf("%w for digest %s: %v", ErrLayerVerification, short, err)
		}
		if got.String() != diffID.String() {
			if src == fromArchive {
				return fmt.Errorf("invalid diffID for layer %d: expected %q, got %q", index, diffID.String(), got)
			}
			return fmt.Errorf("%w: layer %s (diff_id %s) unpacks to %s", ErrRootFSMismatch, short, diffID, got)
		}
		return nil
	}
	if s.staged {
		made, err = s.putStagedLayer(id, parent, pr, check)
	} else {
		made, err = s.putUnpackedLayer(id, parent, pr, check)
	}
	if err != nil {
		var ce checkError
		if errors.As(err, &ce) {
			return false, ce.error
		}
		// A blob that is not what the manifest says explains any
		// failure to unpack it.
		if _, derr := io.Copy(io.Discard, pr); derr != nil {
			return false, fmt.Errorf("%w for digest %s: %v", ErrLayerVerification, short, derr)
		}
		if errors.Is(err, unpack.ErrBadEntry) {
			return false, fmt.Errorf("extracting layer %s: %w", short, err)
		}
		return false, unpackError(l, short, err)
	}
	if made {
		progress(jsonstream.Message{Status: "Download complete", ID: short})
	}
	return made, nil
}

// checkError is the layer check's verdict (not an unpacking failure).
type checkError struct{ error }

// putStagedLayer unpacks the layer with skiff's own unpacker into the
// driver's staging area, checks it, and only then adds it to the store:
// a layer that fails its check never enters the store.
func (s *Store) putStagedLayer(id, parent string, blob io.Reader, check func(digest.Digest) error) (made bool, err error) {
	stream, err := archive.DecompressStream(blob)
	if err != nil {
		return false, err
	}
	defer stream.Close()
	opts := &drivers.ApplyDiffWithDifferOpts{}
	out, err := s.PrepareStagedLayer(opts, unpack.NewDiffer(stream, archive.GetOverlayXattrName("opaque")))
	if err != nil {
		if out != nil && out.TarSplit != nil {
			out.TarSplit.Close()
		}
		return false, err
	}
	applied := false
	defer func() {
		if !applied {
			if cerr := s.CleanupStagedLayer(out); cerr != nil {
				err = errors.Join(err, fmt.Errorf("removing the staged layer: %w", cerr))
			}
		}
	}()
	if err := check(out.UncompressedDigest); err != nil {
		return false, checkError{err}
	}
	if _, err := s.Layer(id); err == nil {
		return false, nil
	}
	_, err = s.ApplyStagedLayer(storage.ApplyStagedLayerOptions{
		ID: id, ParentLayer: parent, DiffOutput: out, DiffOptions: opts,
	})
	applied = err == nil
	if errors.Is(err, storage.ErrDuplicateID) {
		return false, nil
	}
	return applied, err
}

// putUnpackedLayer unpacks the layer with the store's unpacker (the
// drivers that take no staged layer, vfs), then checks it.
func (s *Store) putUnpackedLayer(id, parent string, blob io.Reader, check func(digest.Digest) error) (bool, error) {
	// No UncompressedDigest: the store computes it from what it unpacks.
	layer, _, err := s.PutLayer(id, parent, nil, "", false, &storage.LayerOptions{}, blob)
	if errors.Is(err, storage.ErrDuplicateID) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := check(layer.UncompressedDigest); err != nil {
		s.DeleteLayer(id)
		return false, checkError{err}
	}
	return true, nil
}

func (s *Store) putImage(id, top string, rawCfg, rawManifest []byte, manifestDigest digest.Digest, created time.Time) (*storage.Image, error) {
	if im, err := s.Image(id); err == nil {
		if manifestDigest != "" && !hasDigest(im.Digests, manifestDigest) {
			if err := s.SetImageBigData(id, keyManifest+"-"+manifestDigest.String(), rawManifest, manifestDigester); err != nil {
				return nil, err
			}
		}
		return im, nil
	}
	opts := &storage.ImageOptions{
		CreationDate: created,
		BigData: []storage.ImageBigDataOption{
			{Key: keyConfig, Data: rawCfg},
		},
	}
	if manifestDigest != "" {
		opts.Digest = manifestDigest
		opts.BigData = append(opts.BigData, storage.ImageBigDataOption{Key: keyManifest + "-" + manifestDigest.String(), Data: rawManifest, Digest: manifestDigest})
	}
	im, err := s.CreateImage(id, nil, top, "", opts)
	if errors.Is(err, storage.ErrDuplicateID) {
		return s.Image(id)
	}
	return im, err
}

func manifestDigester(b []byte) (digest.Digest, error) { return digest.FromBytes(b), nil }

func hasDigest(ds []digest.Digest, d digest.Digest) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

func hasName(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

// chainID is the OCI chain id of a layer on top of parent.
func chainID(parent string, diffID v1.Hash) string {
	if parent == "" {
		return diffID.Hex
	}
	sum := sha256.Sum256([]byte("sha256:" + parent + " " + diffID.String()))
	return hex.EncodeToString(sum[:])
}

// progressReader reports Docker-style progress while a layer streams in.
type progressReader struct {
	r        io.Reader
	total    int64
	current  int64
	last     time.Time
	id       string
	status   string
	progress Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.current += int64(n)
	if now := time.Now(); now.Sub(p.last) > 100*time.Millisecond || err == io.EOF {
		p.last = now
		p.progress(jsonstream.Message{Status: p.status, ID: p.id,
			Progress: &jsonstream.Progress{Current: p.current, Total: p.total}})
	}
	return n, err
}

// RepoDigests are the "name@digest" forms Docker shows for an image.
func (i *Image) RepoDigests() []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range i.Names {
		named, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			continue
		}
		for _, d := range i.Digests {
			s := reference.FamiliarName(named) + "@" + d.String()
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// RepoTags are the image's names as Docker shows them (busybox:latest).
func (i *Image) RepoTags() []string {
	out := []string{}
	for _, n := range i.Names {
		if strings.Contains(n, "@") {
			continue
		}
		out = append(out, Familiar(n))
	}
	return out
}
