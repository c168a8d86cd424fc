package api

import (
	"net/http"

	"github.com/moby/moby/api/types/container"
)

func (s *server) execRoutes() {
	s.handle("POST /containers/{id}/exec", func(w http.ResponseWriter, r *http.Request) error {
		var req container.ExecCreateRequest
		if err := DecodeJSON(r, &req); err != nil {
			return err
		}
		resp, err := s.b.ExecCreate(r.Context(), r.PathValue("id"), req)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusCreated, resp)
		return nil
	})
	s.handle("GET /exec/{id}/json", byPath("id", s.b.ExecInspect))
	s.handle("POST /exec/{id}/resize", func(w http.ResponseWriter, r *http.Request) error {
		h, wd, err := sizeParams(r)
		if err != nil {
			return err
		}
		if err := s.b.ExecResize(r.Context(), r.PathValue("id"), h, wd); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
}
