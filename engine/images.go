package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/skiff-dev/skiff/images"

	"github.com/skiff-dev/skiff/opts"
)

// streamMessage is a jsonstream.Message with the legacy "error" field the
// Docker CLI still reads.
type streamMessage struct {
	jsonstream.Message
	ErrorText string `json:"error,omitempty"`
}

// jsonStream writes newline-delimited progress messages, flushing each.
type jsonStream struct {
	mu  sync.Mutex
	w   http.ResponseWriter
	enc *json.Encoder
}

func newJSONStream(w http.ResponseWriter) *jsonStream {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return &jsonStream{w: w, enc: json.NewEncoder(w)}
}

func (s *jsonStream) send(m jsonstream.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A client that went away misses the progress; the pull goes on.
	_ = s.enc.Encode(streamMessage{Message: m})
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *jsonStream) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.enc.Encode(streamMessage{Message: jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}}, ErrorText: err.Error()})
}

func (e *Engine) postImagesCreate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ref := q.Get("fromImage")
	if ref == "" {
		writeError(w, errInvalid(errors.New("fromImage is required (import is not supported)")))
		return
	}
	if tag := q.Get("tag"); tag != "" {
		if strings.HasPrefix(tag, "sha256:") {
			ref += "@" + tag
		} else {
			ref += ":" + tag
		}
	}
	if _, err := opts.NormalizeImage(ref); err != nil {
		writeError(w, errInvalid(fmt.Errorf("invalid reference format: %w", err)))
		return
	}
	stream := newJSONStream(w)
	_, err := e.images.Pull(r.Context(), ref, images.PullOptions{
		Insecure: e.opt.Settings.InsecureRegistries,
		Platform: q.Get("platform"),
	}, stream.send)
	if err != nil {
		stream.fail(err)
	}
}

func (e *Engine) postImagesLoad(w http.ResponseWriter, r *http.Request) {
	stream := newJSONStream(w)
	if err := e.images.Load(r.Body, stream.send); err != nil {
		stream.fail(err)
	}
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

func (e *Engine) getImagesJSON(w http.ResponseWriter, r *http.Request) {
	list, err := e.images.List()
	if err != nil {
		writeError(w, err)
		return
	}
	filters, err := opts.ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, errInvalid(err))
		return
	}
	used := e.usedImages()
	out := []image.Summary{}
	for _, im := range list {
		if v, ok := filters["dangling"]; ok {
			dangling := len(im.RepoTags()) == 0
			if (v[0] == "true" || v[0] == "1") != dangling {
				continue
			}
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
	writeJSON(w, http.StatusOK, out)
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

func (e *Engine) getImageJSON(w http.ResponseWriter, _ *http.Request, name string) {
	im, err := e.images.Lookup(name)
	if err != nil {
		writeError(w, imageErr(name, err))
		return
	}
	var cfg dockerspec.DockerOCIImageConfig
	b, err := json.Marshal(im.Config.Config)
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err != nil {
		writeError(w, fmt.Errorf("image %s: reading its configuration: %w", name, err))
		return
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
	writeJSON(w, http.StatusOK, resp)
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

func (e *Engine) getImageHistory(w http.ResponseWriter, _ *http.Request, name string) {
	im, err := e.images.Lookup(name)
	if err != nil {
		writeError(w, imageErr(name, err))
		return
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
	writeJSON(w, http.StatusOK, out)
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

func (e *Engine) postImageTag(w http.ResponseWriter, r *http.Request, name string) {
	repo, tag := r.URL.Query().Get("repo"), r.URL.Query().Get("tag")
	if repo == "" {
		writeError(w, errInvalid(errors.New("repository name must have at least one component")))
		return
	}
	target := repo
	if tag != "" {
		target += ":" + tag
	}
	if _, err := opts.NormalizeImage(target); err != nil {
		writeError(w, errInvalid(fmt.Errorf("invalid reference format: %w", err)))
		return
	}
	if err := e.images.Tag(name, target); err != nil {
		writeError(w, imageErr(name, err))
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (e *Engine) deleteImage(w http.ResponseWriter, r *http.Request, name string) {
	force := boolParam(r, "force")
	resp, err := e.removeImage(name, force)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// removeImage is Docker's rmi: a name that is one of several only loses
// that name; the last name (or an ID) deletes the image, unless a
// container uses it.
func (e *Engine) removeImage(name string, force bool) ([]image.DeleteResponse, error) {
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

func (e *Engine) postImagesPrune(w http.ResponseWriter, r *http.Request) {
	filters, err := opts.ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, errInvalid(err))
		return
	}
	danglingOnly := true
	if v, ok := filters["dangling"]; ok && (v[0] == "false" || v[0] == "0") {
		danglingOnly = false
	}
	list, err := e.images.List()
	if err != nil {
		writeError(w, err)
		return
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
	writeJSON(w, http.StatusOK, report)
}
