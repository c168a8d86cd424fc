package engine

import (
	"encoding/json"
	"net/http"
	"net/url"
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

	mux.HandleFunc("GET /networks", e.getNetworks)
	mux.HandleFunc("POST /networks/create", e.postNetworksCreate)
	mux.HandleFunc("POST /networks/prune", e.postNetworksPrune)
	// Network names may hold slashes (as Docker's): /networks/{name},
	// /networks/{name}/connect and /networks/{name}/disconnect are
	// matched on the escaped path.
	mux.HandleFunc("/networks/", e.networkByName)

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

// networkByName answers the routes of one network: /networks/{name},
// /networks/{name}/connect and /networks/{name}/disconnect.
func (e *Engine) networkByName(w http.ResponseWriter, r *http.Request) {
	name, verb, ok := networkRoute(r.Method, r.URL.EscapedPath())
	if !ok {
		writeError(w, errNotFound(errPageNotFound))
		return
	}
	r.SetPathValue("id", name)
	switch verb {
	case "get":
		e.getNetwork(w, r)
	case "delete":
		e.deleteNetwork(w, r)
	default:
		e.postNetworkMembership(verb == "connect")(w, r)
	}
}

// networkRoute reads a request for one network from its escaped path,
// whose segments after /networks/ are the network's name, slashes and
// all (as Docker's {id:.*}), less /connect or /disconnect for a POST. The
// verb is get, delete, connect or disconnect.
func networkRoute(method, escaped string) (name, verb string, ok bool) {
	rest, ok := strings.CutPrefix(escaped, "/networks/")
	if !ok {
		return "", "", false
	}
	switch {
	case method == http.MethodGet:
		verb = "get"
	case method == http.MethodDelete:
		verb = "delete"
	case method == http.MethodPost && strings.HasSuffix(rest, "/connect"):
		rest, verb = strings.TrimSuffix(rest, "/connect"), "connect"
	case method == http.MethodPost && strings.HasSuffix(rest, "/disconnect"):
		rest, verb = strings.TrimSuffix(rest, "/disconnect"), "disconnect"
	default:
		return "", "", false
	}
	name, err := url.PathUnescape(rest)
	if err != nil || name == "" {
		return "", "", false
	}
	return name, verb, true
}

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
