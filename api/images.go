package api

import (
	"net/http"
	"strings"
)

func (s *server) imageRoutes() {
	s.handle("POST /images/create", func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		ref := q.Get("fromImage")
		if ref == "" {
			return Invalid(errFromImage)
		}
		if tag := q.Get("tag"); tag != "" {
			if strings.HasPrefix(tag, "sha256:") {
				ref += "@" + tag
			} else {
				ref += ":" + tag
			}
		}
		stream := newJSONStream(w)
		return stream.finish(s.b.ImagePull(r.Context(), ref, q.Get("platform"), stream.Send))
	})
	s.handle("POST /images/load", func(w http.ResponseWriter, r *http.Request) error {
		stream := newJSONStream(w)
		return stream.finish(s.b.ImageLoad(r.Context(), r.Body, stream.Send))
	})
	s.handle("GET /images/json", filtered(s.b.ImageList))
	s.handle("POST /images/prune", filtered(s.b.ImagesPrune))
	// Image names contain slashes: /images/{name}/json and friends are
	// matched by suffix.
	s.handle("/images/", s.imageByName)
}

func (s *server) imageByName(w http.ResponseWriter, r *http.Request) error {
	rest := strings.TrimPrefix(r.URL.Path, "/images/")
	ctx := r.Context()
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(rest, "/json"):
		im, err := s.b.ImageInspect(ctx, strings.TrimSuffix(rest, "/json"))
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, im)
	case r.Method == http.MethodGet && strings.HasSuffix(rest, "/history"):
		h, err := s.b.ImageHistory(ctx, strings.TrimSuffix(rest, "/history"))
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, h)
	case r.Method == http.MethodPost && strings.HasSuffix(rest, "/tag"):
		q := r.URL.Query()
		if err := s.b.ImageTag(ctx, strings.TrimSuffix(rest, "/tag"), q.Get("repo"), q.Get("tag")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodDelete:
		resp, err := s.b.ImageRemove(ctx, rest, boolParam(r, "force"))
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, resp)
	default:
		return errPageNotFound
	}
	return nil
}
