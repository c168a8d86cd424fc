package engine

import (
	"net/http"

	"github.com/skiff-dev/skiff/api"
)

// routes is the API over the engine.
func (e *Engine) routes() http.Handler {
	return api.New(e, api.Options{Version: Version, APIVersion: APIVersion})
}
