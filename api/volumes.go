package api

import (
	"net/http"

	"github.com/moby/moby/api/types/volume"
)

func (s *server) volumeRoutes() {
	s.handle("POST /volumes/create", func(w http.ResponseWriter, r *http.Request) error {
		var req volume.CreateRequest
		if err := DecodeJSON(r, &req); err != nil {
			return err
		}
		v, err := s.b.VolumeCreate(r.Context(), req)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusCreated, v)
		return nil
	})
	s.handle("GET /volumes", filtered(s.b.VolumeList))
	s.handle("GET /volumes/{name}", byPath("name", s.b.VolumeInspect))
	s.handle("DELETE /volumes/{name}", func(w http.ResponseWriter, r *http.Request) error {
		if err := s.b.VolumeRemove(r.Context(), r.PathValue("name"), boolParam(r, "force")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	s.handle("POST /volumes/prune", filtered(s.b.VolumesPrune))
}
