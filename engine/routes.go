package engine

import (
	"net/http"
	"regexp"
	"strings"
)

var versionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/`)

// routes maps the Docker Engine API paths (with or without a /vX.Y prefix)
// to handlers.
func (e *Engine) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ping", e.ping)
	mux.HandleFunc("HEAD /_ping", e.ping)
	mux.HandleFunc("GET /version", e.version)
	mux.HandleFunc("GET /info", e.info)

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
	mux.HandleFunc("GET /networks/{id}", e.getNetwork)
	mux.HandleFunc("DELETE /networks/{id}", e.deleteNetwork)
	mux.HandleFunc("POST /networks/{id}/connect", e.postNetworkMembership(true))
	mux.HandleFunc("POST /networks/{id}/disconnect", e.postNetworkMembership(false))

	mux.HandleFunc("GET /volumes", e.getVolumes)
	mux.HandleFunc("POST /volumes/create", e.postVolumesCreate)
	mux.HandleFunc("POST /volumes/prune", e.postVolumesPrune)
	mux.HandleFunc("GET /volumes/{name}", e.getVolume)
	mux.HandleFunc("DELETE /volumes/{name}", e.deleteVolume)

	mux.HandleFunc("POST /images/create", e.postImagesCreate)
	mux.HandleFunc("POST /images/load", e.postImagesLoad)
	mux.HandleFunc("GET /images/json", e.getImagesJSON)
	mux.HandleFunc("POST /images/prune", e.postImagesPrune)
	// Image names contain slashes: /images/{name}/json and friends are
	// matched by suffix.
	mux.HandleFunc("/images/", e.imageByName)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loc := versionPrefix.FindStringIndex(r.URL.Path); loc != nil {
			r.URL.Path = r.URL.Path[loc[1]-1:]
			r.URL.RawPath = ""
		}
		w.Header().Set("Server", "skiff/"+Version)
		w.Header().Set("Api-Version", APIVersion)
		w.Header().Set("Ostype", "linux")
		mux.ServeHTTP(w, r)
	})
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
