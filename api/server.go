package api

import (
	"net/http"
	"regexp"
	"strings"
)

// Options describe the server's answers that do not come from a
// backend call.
type Options struct {
	// Version is the engine's version, in the Server header.
	Version string
	// APIVersion is the Docker Engine API version spoken.
	APIVersion string
}

// handler is one route: it answers, or returns the error to answer with.
type handler func(w http.ResponseWriter, r *http.Request) error

type server struct {
	b   Backend
	mux *http.ServeMux
}

var versionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+/`)

// New returns the API's handler over b.
func New(b Backend, opt Options) http.Handler {
	s := &server{b: b, mux: http.NewServeMux()}
	s.systemRoutes()
	s.volumeRoutes()
	s.networkRoutes()
	s.imageRoutes()
	s.containerRoutes()
	s.execRoutes()
	s.logRoutes()
	s.streamRoutes()
	s.eventRoutes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stripVersion(r)
		w.Header().Set("Server", "skiff/"+opt.Version)
		w.Header().Set("Api-Version", opt.APIVersion)
		w.Header().Set("Ostype", "linux")
		// As Docker: an unknown path or method is a 404 with a JSON
		// message.
		if _, pattern := s.mux.Handler(r); pattern == "" {
			WriteError(w, errPageNotFound)
			return
		}
		if !uploadRoute(r) {
			r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		}
		s.mux.ServeHTTP(w, r)
	})
}

// handle registers h for pattern.
func (s *server) handle(pattern string, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, err)
		}
	})
}

// stripVersion removes a /vX.Y prefix from the request's path. The
// escaped form keeps what the client escaped (a name's %2F), without the
// prefix, which has nothing to escape.
func stripVersion(r *http.Request) {
	loc := versionPrefix.FindStringIndex(r.URL.Path)
	if loc == nil {
		return
	}
	r.URL.Path = r.URL.Path[loc[1]-1:]
	raw := r.URL.RawPath
	r.URL.RawPath = ""
	if rl := versionPrefix.FindStringIndex(raw); rl != nil {
		r.URL.RawPath = raw[rl[1]-1:]
	}
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
