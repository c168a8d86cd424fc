package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/moby/moby/api/types/container"
)

func (s *server) containerRoutes() {
	s.handle("POST /containers/create", s.createContainer)
	s.handle("GET /containers/json", func(w http.ResponseWriter, r *http.Request) error {
		f, err := filtersParam(r)
		if err != nil {
			return err
		}
		limit := -1
		if v := r.URL.Query().Get("limit"); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				limit = n
			}
		}
		list, err := s.b.ContainerList(r.Context(), boolParam(r, "all"), limit, f)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, list)
		return nil
	})
	s.handle("POST /containers/prune", filtered(s.b.ContainersPrune))
	s.handle("GET /containers/{id}/json", byPath("id", s.b.ContainerInspect))
	s.handle("POST /containers/{id}/start", s.noContent(func(r *http.Request) error {
		return s.b.ContainerStart(r.Context(), r.PathValue("id"))
	}))
	s.handle("POST /containers/{id}/stop", s.noContent(func(r *http.Request) error {
		t, err := timeoutParam(r)
		if err != nil {
			return err
		}
		return s.b.ContainerStop(r.Context(), r.PathValue("id"), r.URL.Query().Get("signal"), t)
	}))
	s.handle("POST /containers/{id}/restart", s.noContent(func(r *http.Request) error {
		t, err := timeoutParam(r)
		if err != nil {
			return err
		}
		return s.b.ContainerRestart(r.Context(), r.PathValue("id"), r.URL.Query().Get("signal"), t)
	}))
	s.handle("POST /containers/{id}/kill", s.noContent(func(r *http.Request) error {
		return s.b.ContainerKill(r.Context(), r.PathValue("id"), r.URL.Query().Get("signal"))
	}))
	s.handle("DELETE /containers/{id}", s.noContent(func(r *http.Request) error {
		return s.b.ContainerRemove(r.Context(), r.PathValue("id"), boolParam(r, "force"), boolParam(r, "v"))
	}))
	s.handle("POST /containers/{id}/rename", s.noContent(func(r *http.Request) error {
		return s.b.ContainerRename(r.Context(), r.PathValue("id"), r.URL.Query().Get("name"))
	}))
	s.handle("POST /containers/{id}/pause", s.noContent(func(r *http.Request) error {
		return s.b.ContainerPause(r.Context(), r.PathValue("id"))
	}))
	s.handle("POST /containers/{id}/unpause", s.noContent(func(r *http.Request) error {
		return s.b.ContainerUnpause(r.Context(), r.PathValue("id"))
	}))
	s.handle("POST /containers/{id}/update", func(w http.ResponseWriter, r *http.Request) error {
		var req container.UpdateConfig
		if err := DecodeJSON(r, &req); err != nil {
			return err
		}
		resp, err := s.b.ContainerUpdate(r.Context(), r.PathValue("id"), req)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, resp)
		return nil
	})
	s.handle("GET /containers/{id}/top", func(w http.ResponseWriter, r *http.Request) error {
		top, err := s.b.ContainerTop(r.Context(), r.PathValue("id"), r.URL.Query().Get("ps_args"))
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, top)
		return nil
	})
	s.handle("POST /containers/{id}/wait", func(w http.ResponseWriter, r *http.Request) error {
		wait, err := s.b.ContainerWait(r.Context(), r.PathValue("id"), container.WaitCondition(r.URL.Query().Get("condition")))
		if err != nil {
			return err
		}
		// The header goes at once: clients wait for it before they start
		// the container.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		resp, err := wait(r.Context())
		if err != nil {
			return nil // the client went away
		}
		_ = json.NewEncoder(w).Encode(resp) // a client gone away needs no answer
		return nil
	})
	s.handle("GET /containers/{id}/stats", func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		stream := q.Get("stream") != "false" && q.Get("stream") != "0"
		stats := newJSONStream(w)
		return stats.finish(s.b.ContainerStats(r.Context(), r.PathValue("id"), stream, boolParam(r, "one-shot"), stats.sendValue))
	})
	s.handle("POST /containers/{id}/resize", func(w http.ResponseWriter, r *http.Request) error {
		h, wd, err := sizeParams(r)
		if err != nil {
			return err
		}
		if err := s.b.ContainerResize(r.Context(), r.PathValue("id"), h, wd); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

// noContent answers 204 when call succeeds.
func (s *server) noContent(call func(r *http.Request) error) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := call(r); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *server) createContainer(w http.ResponseWriter, r *http.Request) error {
	// The body is read whole (it is capped) to be decoded twice: the
	// API types no longer hold the deprecated Config.MacAddress.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return DecodeError(err)
	}
	var req container.CreateRequest
	var old struct{ MacAddress string }
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil {
		return DecodeError(err)
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&old); err != nil {
		return DecodeError(err)
	}
	q := r.URL.Query()
	resp, err := s.b.ContainerCreate(r.Context(), q.Get("name"), q.Get("platform"), req, old.MacAddress)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, resp)
	return nil
}

// timeoutParam reads stop's and restart's t (or timeout) in seconds.
func timeoutParam(r *http.Request) (*int, error) {
	v := r.URL.Query().Get("t")
	if v == "" {
		v = r.URL.Query().Get("timeout")
	}
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, Invalid(fmt.Errorf("invalid timeout %q", v))
	}
	return &n, nil
}

// sizeParams reads a resize request's h and w.
func sizeParams(r *http.Request) (h, w uint16, err error) {
	hv, err1 := strconv.ParseUint(r.URL.Query().Get("h"), 10, 16)
	wv, err2 := strconv.ParseUint(r.URL.Query().Get("w"), 10, 16)
	if err1 != nil || err2 != nil {
		return 0, 0, Invalid(errors.New("invalid height or width"))
	}
	return uint16(hv), uint16(wv), nil
}
