package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	// Network names may hold slashes (as Docker's): /networks/{name},
	// /networks/{name}/connect and /networks/{name}/disconnect are
	// matched on the escaped path.
	mux.HandleFunc("/networks/", e.networkByName)

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
			// The escaped form keeps what the client escaped (a
			// name's %2F), without the prefix, which has nothing
			// to escape.
			raw := r.URL.RawPath
			r.URL.RawPath = ""
			if rl := versionPrefix.FindStringIndex(raw); rl != nil {
				r.URL.RawPath = raw[rl[1]-1:]
			}
		}
		w.Header().Set("Server", "skiff/"+Version)
		w.Header().Set("Api-Version", APIVersion)
		w.Header().Set("Ostype", "linux")
		// As Docker: an unknown path or method is a 404 with a JSON
		// message.
		if _, pattern := mux.Handler(r); pattern == "" {
			writeError(w, errNotFound(errPageNotFound))
			return
		}
		if !uploadRoute(r) {
			r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		}
		mux.ServeHTTP(w, r)
	})
}

// maxJSONBody caps a request body other than an upload: 1 MiB holds any
// sane container, network or volume configuration.
const maxJSONBody = 1 << 20

// uploadRoute reports a request whose body is a tar stream (image load
// and import, build, archive upload), which is not capped.
func uploadRoute(r *http.Request) bool {
	p := r.URL.Path
	return p == "/images/load" || p == "/images/create" || p == "/build" ||
		r.Method == http.MethodPut && strings.HasPrefix(p, "/containers/") && strings.HasSuffix(p, "/archive")
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
func decodeError(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{http.StatusRequestEntityTooLarge, fmt.Errorf("request body too large: the limit is %d bytes", tooBig.Limit)}
	case errors.Is(err, io.EOF):
		return errInvalid(errors.New("invalid JSON: got EOF while reading request body"))
	}
	return errInvalid(fmt.Errorf("invalid JSON: %w", err))
}

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
