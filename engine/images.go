package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/image"
	"github.com/skiff-dev/skiff/api"
	"github.com/skiff-dev/skiff/images"

	"github.com/skiff-dev/skiff/opts"
)

// ImagePull implements api.ImageService.
func (e *Engine) ImagePull(ctx context.Context, ref, platform string, progress api.Progress) error {
	if _, err := opts.NormalizeImage(ref); err != nil {
		return errInvalid(fmt.Errorf("invalid reference format: %w", err))
	}
	_, err := e.images.Pull(ctx, ref, images.PullOptions{
		Insecure: e.opt.Settings.InsecureRegistries,
		Platform: platform,
	}, images.Progress(progress))
	if err == nil {
		name := opts.FamiliarImage(ref)
		if named, nerr := opts.NormalizeImage(ref); nerr == nil {
			name = opts.FamiliarImage(named.String())
		}
		e.emit(events.ImageEventType, events.ActionPull, name, map[string]string{"name": name})
	}
	return err
}

// ImageLoad implements api.ImageService.
func (e *Engine) ImageLoad(_ context.Context, archive io.Reader, progress api.Progress) error {
	loaded, err := e.images.Load(archive, images.Progress(progress))
	for _, l := range loaded {
		name := l.Name
		if name == "" {
			name = l.ID
		}
		e.emit(events.ImageEventType, events.ActionLoad, l.ID, map[string]string{"name": name})
	}
	return err
}

func (e *Engine) usedImages() map[string]int {
	used := map[string]int{}
	for _, c := range e.list() {
		c.mu.Lock()
		used[c.rec.Image]++
		c.mu.Unlock()
	}
	return used
}

// ImageList implements api.ImageService.
func (e *Engine) ImageList(_ context.Context, filters opts.Filters) ([]image.Summary, error) {
	list, err := e.images.List()
	if err != nil {
		return nil, err
	}
	used := e.usedImages()
	out := []image.Summary{}
	for _, im := range list {
		if dangling, ok := filters.Bool("dangling"); ok && dangling != (len(im.RepoTags()) == 0) {
			continue
		}
		if refs, ok := filters["reference"]; ok && !matchesReference(im, refs) {
			continue
		}
		labels := im.Config.Config.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		out = append(out, image.Summary{
			ID:          im.ID,
			RepoTags:    im.RepoTags(),
			RepoDigests: nonNil(im.RepoDigests()),
			Created:     im.Config.Created.Unix(),
			Size:        im.Size,
			SharedSize:  -1,
			Containers:  int64(used[im.ID]),
			Labels:      labels,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created > out[j].Created })
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func matchesReference(im *images.Image, patterns []string) bool {
	for _, t := range im.RepoTags() {
		for _, p := range patterns {
			if ok, _ := pathMatch(p, t); ok {
				return true
			}
			if repo, _, _ := strings.Cut(t, ":"); repo == p {
				return true
			}
		}
	}
	return false
}

// ImageInspect implements api.ImageService.
func (e *Engine) ImageInspect(_ context.Context, name string) (image.InspectResponse, error) {
	im, err := e.images.Lookup(name)
	if err != nil {
		return image.InspectResponse{}, imageErr(name, err)
	}
	var cfg dockerspec.DockerOCIImageConfig
	b, err := json.Marshal(im.Config.Config)
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err != nil {
		return image.InspectResponse{}, fmt.Errorf("image %s: reading its configuration: %w", name, err)
	}
	layers := make([]string, 0, len(im.Config.RootFS.DiffIDs))
	for _, d := range im.Config.RootFS.DiffIDs {
		layers = append(layers, d.String())
	}
	resp := image.InspectResponse{
		ID:           im.ID,
		RepoTags:     im.RepoTags(),
		RepoDigests:  nonNil(im.RepoDigests()),
		Comment:      historyComment(im),
		Created:      im.Config.Created.UTC().Format(time.RFC3339Nano),
		Author:       im.Config.Author,
		Config:       &cfg,
		Architecture: im.Config.Architecture,
		Variant:      im.Config.Variant,
		Os:           im.Config.OS,
		Size:         im.Size,
		RootFS:       image.RootFS{Type: "layers", Layers: layers},
	}
	return resp, nil
}

func historyComment(im *images.Image) string {
	if n := len(im.Config.History); n > 0 {
		return im.Config.History[n-1].Comment
	}
	return ""
}

func imageErr(name string, err error) error {
	if errors.Is(err, images.ErrNotFound) {
		return errNotFound(fmt.Errorf("No such image: %s", displayRef(name)))
	}
	return err
}

// ImageHistory implements api.ImageService.
func (e *Engine) ImageHistory(_ context.Context, name string) ([]image.HistoryResponseItem, error) {
	im, err := e.images.Lookup(name)
	if err != nil {
		return nil, imageErr(name, err)
	}
	sizes := e.layerSizes(im)
	out := []image.HistoryResponseItem{}
	layer := 0
	for _, h := range im.Config.History {
		item := image.HistoryResponseItem{
			ID:        "<missing>",
			Created:   h.Created.Unix(),
			CreatedBy: h.CreatedBy,
			Comment:   h.Comment,
			Tags:      []string{},
		}
		if !h.EmptyLayer {
			if layer < len(sizes) {
				item.Size = sizes[layer]
			}
			layer++
		}
		out = append(out, item)
	}
	// Newest first, the newest carrying the image's ID and tags.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) > 0 {
		out[0].ID = im.ID
		out[0].Tags = im.RepoTags()
	}
	return out, nil
}

// layerSizes are the image's layer sizes, bottom first.
func (e *Engine) layerSizes(im *images.Image) []int64 {
	var sizes []int64
	for id := im.TopLayer; id != ""; {
		l, err := e.images.Layer(id)
		if err != nil {
			break
		}
		sizes = append([]int64{l.UncompressedSize}, sizes...)
		id = l.Parent
	}
	return sizes
}

// ImageTag implements api.ImageService.
func (e *Engine) ImageTag(_ context.Context, name, repo, tag string) error {
	if repo == "" {
		return errInvalid(errors.New("repository name must have at least one component"))
	}
	target := repo
	if tag != "" {
		target += ":" + tag
	}
	if _, err := opts.NormalizeImage(target); err != nil {
		return errInvalid(fmt.Errorf("invalid reference format: %w", err))
	}
	if err := e.images.Tag(name, target); err != nil {
		return imageErr(name, err)
	}
	if im, err := e.images.Lookup(target); err == nil {
		e.emit(events.ImageEventType, events.ActionTag, im.ID, map[string]string{"name": opts.FamiliarImage(target)})
	}
	return nil
}

// ImageRemove implements api.ImageService. It is Docker's rmi: a name
// that is one of several only loses that name; the last name (or an ID)
// deletes the image, unless a container uses it.
func (e *Engine) ImageRemove(_ context.Context, name string, force bool) ([]image.DeleteResponse, error) {
	im, err := e.images.Lookup(name)
	if err != nil {
		return nil, imageErr(name, err)
	}
	byID := strings.HasPrefix(im.ID, "sha256:"+strings.TrimPrefix(name, "sha256:")) && !strings.Contains(name, ":") || strings.HasPrefix(name, "sha256:")
	var out []image.DeleteResponse
	tags := im.RepoTags()
	if !byID && len(tags) > 1 {
		if _, err := e.images.Untag(name); err != nil {
			return nil, err
		}
		e.emit(events.ImageEventType, events.ActionUnTag, im.ID, map[string]string{"name": displayRef(name)})
		return []image.DeleteResponse{{Untagged: displayRef(name)}}, nil
	}
	if byID && len(tags) > 1 && !force {
		return nil, errConflict(fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", shortID(im.ID)))
	}
	for _, c := range e.list() {
		c.mu.Lock()
		uses, running, cid := c.rec.Image == im.ID, c.running(), c.rec.ID
		c.mu.Unlock()
		if uses && (running || !force) {
			ref := shortID(im.ID)
			if !byID {
				ref = displayRef(name)
			}
			return nil, errConflict(fmt.Errorf("conflict: unable to delete %s (must be forced) - container %s is using its referenced image %s", ref, cid[:12], shortID(im.ID)))
		}
	}
	for _, t := range tags {
		out = append(out, image.DeleteResponse{Untagged: t})
	}
	for _, d := range im.RepoDigests() {
		out = append(out, image.DeleteResponse{Untagged: d})
	}
	if err := e.images.Delete(im); err != nil {
		if errors.Is(err, images.ErrInUse) {
			return nil, errConflict(fmt.Errorf("conflict: unable to delete %s (must be forced) - image is being used by a container", shortID(im.ID)))
		}
		return nil, err
	}
	for _, t := range tags {
		e.emit(events.ImageEventType, events.ActionUnTag, im.ID, map[string]string{"name": t})
	}
	e.emit(events.ImageEventType, events.ActionDelete, im.ID, map[string]string{"name": im.ID})
	out = append(out, image.DeleteResponse{Deleted: im.ID})
	return out, nil
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// ImagesPrune implements api.ImageService: the unused dangling images,
// or all unused ones with dangling=false.
func (e *Engine) ImagesPrune(_ context.Context, filters opts.Filters) (image.PruneReport, error) {
	danglingOnly := true
	if v, ok := filters["dangling"]; ok && (v[0] == "false" || v[0] == "0") {
		danglingOnly = false
	}
	list, err := e.images.List()
	if err != nil {
		return image.PruneReport{}, err
	}
	used := e.usedImages()
	report := image.PruneReport{ImagesDeleted: []image.DeleteResponse{}}
	for _, im := range list {
		if used[im.ID] > 0 || (danglingOnly && len(im.RepoTags()) > 0) {
			continue
		}
		for _, t := range im.RepoTags() {
			report.ImagesDeleted = append(report.ImagesDeleted, image.DeleteResponse{Untagged: t})
		}
		if err := e.images.Delete(im); err != nil {
			continue
		}
		report.ImagesDeleted = append(report.ImagesDeleted, image.DeleteResponse{Deleted: im.ID})
		report.SpaceReclaimed += uint64(im.Size)
	}
	return report, nil
}
