package engine

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/skiff-dev/skiff/api"
)

// routes is the API over the engine: the api layer's routes, and the
// engine's own for the areas not moved there yet.
func (e *Engine) routes() http.Handler {
	return api.New(e, api.Options{Version: Version, APIVersion: APIVersion, Legacy: e.legacyRoutes()})
}

// legacyRoutes are the routes still answered by the engine's handlers.
func (e *Engine) legacyRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /containers/create", e.postContainersCreate)
	mux.HandleFunc("GET /containers/json", e.getContainersJSON)
	mux.HandleFunc("POST /containers/prune", e.postContainersPrune)
	mux.HandleFunc("GET /containers/{id}/json", e.getContainerJSON)
	mux.HandleFunc("POST /containers/{id}/start", e.postContainerStart)
	mux.HandleFunc("POST /containers/{id}/stop", e.postContainerStop)
	mux.HandleFunc("POST /containers/{id}/restart", e.postContainerRestart)
	mux.HandleFunc("POST /containers/{id}/kill", e.postContainerKill)
	mux.HandleFunc("POST /containers/{id}/wait", e.postContainerWait)
	mux.HandleFunc("POST /containers/{id}/attach", e.postContainerAttach)
	mux.HandleFunc("POST /containers/{id}/resize", e.postContainerResize)
	mux.HandleFunc("GET /containers/{id}/logs", e.getContainerLogs)
	mux.HandleFunc("DELETE /containers/{id}", e.deleteContainer)
	mux.HandleFunc("POST /containers/{id}/exec", e.postContainerExec)
	mux.HandleFunc("POST /containers/{id}/rename", e.postContainerRename)
	mux.HandleFunc("POST /containers/{id}/pause", e.postContainerPause)
	mux.HandleFunc("POST /containers/{id}/unpause", e.postContainerUnpause)
	mux.HandleFunc("POST /containers/{id}/update", e.postContainerUpdate)
	mux.HandleFunc("GET /containers/{id}/stats", e.getContainerStats)
	mux.HandleFunc("GET /containers/{id}/top", e.getContainerTop)
	mux.HandleFunc("POST /exec/{id}/start", e.postExecStart)
	mux.HandleFunc("POST /exec/{id}/resize", e.postExecResize)
	mux.HandleFunc("GET /exec/{id}/json", e.getExecJSON)

	mux.HandleFunc("POST /images/create", e.postImagesCreate)
	mux.HandleFunc("POST /images/load", e.postImagesLoad)
	mux.HandleFunc("GET /images/json", e.getImagesJSON)
	mux.HandleFunc("POST /images/prune", e.postImagesPrune)
	// Image names contain slashes: /images/{name}/json and friends are
	// matched by suffix.
	mux.HandleFunc("/images/", e.imageByName)
	return mux
}

// decodeJSON reads a request's JSON body into v: a body over the cap is
// 413, bad JSON 400, both with Docker's JSON message.
func decodeJSON(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return decodeError(err)
	}
	return nil
}

// decodeError is the answer to a body that did not decode.
func decodeError(err error) error { return api.DecodeError(err) }

func (e *Engine) imageByName(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/images/")
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(rest, "/json"):
		e.getImageJSON(w, r, strings.TrimSuffix(rest, "/json"))
	case r.Method == http.MethodGet && strings.HasSuffix(rest, "/history"):
		e.getImageHistory(w, r, strings.TrimSuffix(rest, "/history"))
	case r.Method == http.MethodPost && strings.HasSuffix(rest, "/tag"):
		e.postImageTag(w, r, strings.TrimSuffix(rest, "/tag"))
	case r.Method == http.MethodDelete:
		e.deleteImage(w, r, rest)
	default:
		writeError(w, errNotFound(errPageNotFound))
	}
}
