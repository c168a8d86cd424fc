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
	"sync"
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

	"github.com/skiff-dev/skiff/opts"
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
	named, err := opts.NormalizeImage(ref)
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
			return fmt.Errorf("%w for %s, repository does not exist or may require 'docker login': %w",
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
	top, err := s.storeLayers(layers, cfg.RootFS.DiffIDs, src, progress)
	if err != nil {
		return nil, false, err
	}
	im, err := s.putImage(cfgName.Hex, top, rawCfg, rawManifest, manifestDigest, cfg.Created.Time)
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

// maxConcurrentLayers is how many layers a pull fetches and unpacks at
// once (Docker's max-concurrent-downloads).
const maxConcurrentLayers = 3

// layerJob is one layer that the store does not have yet.
type layerJob struct {
	l             v1.Layer
	index         int
	chain, parent string
	diffID        v1.Hash
	short         string
	staged        *drivers.DriverWithDifferOutput // set by stage
	err           error
	done          chan struct{}
}

// storeLayers makes sure the store has every layer, unpacking those it
// lacks, and returns the top layer's ID. Layers are keyed by chain ID;
// each is locked (in order, so that pulls sharing layers cannot
// deadlock) from the check that it is missing to its commit, so two
// pulls of one layer unpack it once. With staged unpacking the layers are
// fetched and unpacked in parallel and committed in order; a failure
// leaves none of the layers this call made.
func (s *Store) storeLayers(layers []v1.Layer, diffIDs []v1.Hash, src source, progress Progress) (top string, err error) {
	var progressMu sync.Mutex
	report := progress
	progress = func(m jsonstream.Message) { // the layers report concurrently
		progressMu.Lock()
		defer progressMu.Unlock()
		report(m)
	}
	var jobs []*layerJob
	var unlocks []func()
	defer func() {
		for i := len(unlocks) - 1; i >= 0; i-- {
			unlocks[i]()
		}
	}()
	parent := ""
	for i, l := range layers {
		diffID := diffIDs[i]
		if diffID.Algorithm != "sha256" || len(diffID.Hex) != 64 {
			return "", fmt.Errorf("%w: layer %d has diff_id %q", ErrRootFSMismatch, i, diffID)
		}
		chain := chainID(parent, diffID)
		// Docker names a layer by its blob's digest; an archive's layer by
		// its diff_id (go-containerregistry would compress an uncompressed
		// archive layer just to learn its blob digest).
		short := diffID.Hex
		if src == fromRegistry {
			ld, err := l.Digest()
			if err != nil {
				return "", err
			}
			short = ld.Hex
		}
		short = short[:12]
		unlocks = append(unlocks, s.layerLocks.lock(chain))
		if _, err := s.Layer(chain); err == nil {
			progress(jsonstream.Message{Status: "Already exists", ID: short})
		} else {
			progress(jsonstream.Message{Status: "Pulling fs layer", ID: short})
			jobs = append(jobs, &layerJob{l: l, index: i, chain: chain, parent: parent, diffID: diffID, short: short, done: make(chan struct{})})
		}
		parent = chain
	}
	var created []string
	defer func() {
		if err != nil {
			// Leave nothing of this image behind (layers that another
			// image uses meanwhile stay: the store refuses to delete them).
			for i := len(created) - 1; i >= 0; i-- {
				err = errors.Join(err, s.deleteLayer(created[i]))
			}
		}
	}()
	if !s.staged {
		for _, j := range jobs {
			made, err := s.putUnstagedLayer(j, src, progress)
			if err != nil {
				return "", err
			}
			if made {
				created = append(created, j.chain)
			}
			progress(jsonstream.Message{Status: "Pull complete", ID: j.short})
		}
		return parent, nil
	}

	stop := make(chan struct{})
	sem := make(chan struct{}, maxConcurrentLayers)
	for _, j := range jobs {
		go func() {
			defer close(j.done)
			select {
			case sem <- struct{}{}:
			case <-stop:
				j.err = errStopped
				return
			}
			defer func() { <-sem }()
			j.staged, j.err = s.stageLayer(j, src, progress, stop)
		}()
	}
	for k, j := range jobs {
		<-j.done
		if j.err == nil {
			var made bool
			made, j.err = s.commitLayer(j)
			if made {
				created = append(created, j.chain)
			}
		}
		if j.err != nil {
			close(stop)
			for _, rest := range jobs[k+1:] {
				<-rest.done
				if rest.staged != nil {
					j.err = errors.Join(j.err, s.CleanupStagedLayer(rest.staged))
				}
			}
			return "", j.err
		}
		progress(jsonstream.Message{Status: "Pull complete", ID: j.short})
	}
	return parent, nil
}

var errStopped = errors.New("stopped: another layer failed")

// deleteLayer deletes a layer this pull made, unless another image or a
// container has come to use it meanwhile.
func (s *Store) deleteLayer(id string) error {
	err := s.DeleteLayer(id)
	if errors.Is(err, storage.ErrLayerHasChildren) || errors.Is(err, storage.ErrLayerUsedByImage) ||
		errors.Is(err, storage.ErrLayerUsedByContainer) || errors.Is(err, storage.ErrLayerUnknown) {
		return nil
	}
	return err
}

// openLayer opens the layer's stream (the compressed blob from a
// registry, the tar from an archive), reporting progress as it is read.
func openLayer(j *layerJob, src source, progress Progress) (io.ReadCloser, *progressReader, error) {
	var (
		rc   io.ReadCloser
		size int64
		err  error
	)
	if src == fromRegistry {
		size, _ = j.l.Size()
		rc, err = j.l.Compressed()
	} else {
		rc, err = j.l.Uncompressed()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("fetching layer %s: %w", j.short, err)
	}
	return rc, &progressReader{r: rc, total: size, id: j.short, progress: progress, status: "Downloading"}, nil
}

// checkLayer reads the rest of the blob (go-containerregistry checks its
// digest at EOF, which the unpacker may not have reached) and compares
// the digest of what was unpacked with the layer's diff_id.
func checkLayer(j *layerJob, src source, blob io.Reader, got digest.Digest) error {
	if _, err := io.Copy(io.Discard, blob); err != nil {
		return fmt.Errorf("%w for digest %s: %w", ErrLayerVerification, j.short, err)
	}
	if got.String() != j.diffID.String() {
		if src == fromArchive {
			return fmt.Errorf("invalid diffID for layer %d: expected %q, got %q", j.index, j.diffID.String(), got)
		}
		return fmt.Errorf("%w: layer %s (diff_id %s) unpacks to %s", ErrRootFSMismatch, j.short, j.diffID, got)
	}
	return nil
}

// unpackFailure explains a failure to unpack a layer: a blob that is not
// what the manifest says explains any; then the entry at fault.
func unpackFailure(j *layerJob, blob io.Reader, err error) error {
	if _, derr := io.Copy(io.Discard, blob); derr != nil {
		return fmt.Errorf("%w for digest %s: %w", ErrLayerVerification, j.short, derr)
	}
	if errors.Is(err, unpack.ErrBadEntry) {
		return fmt.Errorf("extracting layer %s: %w", j.short, err)
	}
	return unpackError(j.l, j.short, err)
}

// stageLayer fetches the layer and unpacks it with skiff's own unpacker
// into the driver's staging area, and checks it: a layer that fails its
// check never enters the store. Closing stop abandons the fetch.
func (s *Store) stageLayer(j *layerJob, src source, progress Progress, stop <-chan struct{}) (*drivers.DriverWithDifferOutput, error) {
	rc, blob, err := openLayer(j, src, progress)
	if err != nil {
		return nil, err
	}
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-stop:
			rc.Close()
		case <-finished:
		}
	}()
	defer rc.Close()
	stream, err := archive.DecompressStream(blob)
	if err != nil {
		return nil, unpackFailure(j, blob, err)
	}
	defer stream.Close()
	out, err := s.PrepareStagedLayer(&drivers.ApplyDiffWithDifferOpts{}, unpack.NewDiffer(stream, archive.GetOverlayXattrName("opaque")))
	if err != nil {
		if out != nil && out.TarSplit != nil {
			out.TarSplit.Close()
		}
		return nil, unpackFailure(j, blob, err)
	}
	if err := checkLayer(j, src, blob, out.UncompressedDigest); err != nil {
		return nil, errors.Join(err, s.CleanupStagedLayer(out))
	}
	progress(jsonstream.Message{Status: "Download complete", ID: j.short})
	return out, nil
}

// commitLayer adds a staged layer to the store on top of its parent;
// made is false when the store had it already.
func (s *Store) commitLayer(j *layerJob) (made bool, err error) {
	if _, err := s.Layer(j.chain); err == nil {
		return false, s.CleanupStagedLayer(j.staged)
	}
	_, err = s.ApplyStagedLayer(storage.ApplyStagedLayerOptions{
		ID: j.chain, ParentLayer: j.parent, DiffOutput: j.staged, DiffOptions: &drivers.ApplyDiffWithDifferOpts{},
	})
	if err != nil {
		return false, errors.Join(fmt.Errorf("storing layer %s: %w", j.short, err), s.CleanupStagedLayer(j.staged))
	}
	return true, nil
}

// putUnstagedLayer unpacks the layer with the store's own unpacker (the
// drivers that take no staged layer: vfs), then checks it.
func (s *Store) putUnstagedLayer(j *layerJob, src source, progress Progress) (bool, error) {
	rc, blob, err := openLayer(j, src, progress)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	// No UncompressedDigest: the store computes it from what it unpacks.
	layer, _, err := s.PutLayer(j.chain, j.parent, nil, "", false, &storage.LayerOptions{}, blob)
	if errors.Is(err, storage.ErrDuplicateID) {
		return false, nil
	}
	if err != nil {
		return false, unpackFailure(j, blob, err)
	}
	if err := checkLayer(j, src, blob, layer.UncompressedDigest); err != nil {
		return false, errors.Join(err, s.deleteLayer(j.chain))
	}
	progress(jsonstream.Message{Status: "Download complete", ID: j.short})
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
	imOpts := &storage.ImageOptions{
		CreationDate: created,
		BigData: []storage.ImageBigDataOption{
			{Key: keyConfig, Data: rawCfg},
		},
	}
	if manifestDigest != "" {
		imOpts.Digest = manifestDigest
		imOpts.BigData = append(imOpts.BigData, storage.ImageBigDataOption{Key: keyManifest + "-" + manifestDigest.String(), Data: rawManifest, Digest: manifestDigest})
	}
	im, err := s.CreateImage(id, nil, top, "", imOpts)
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
		out = append(out, opts.FamiliarImage(n))
	}
	return out
}
