package engine

import (
	"net/http"

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
	mux.HandleFunc("POST /containers/{id}/attach", e.postContainerAttach)
	mux.HandleFunc("POST /exec/{id}/start", e.postExecStart)

	return mux
}

// decodeError is the answer to a body that did not decode.
func decodeError(err error) error { return api.DecodeError(err) }
