package api

import "net/http"

func (s *server) systemRoutes() {
	s.handle("GET /_ping", ping)
	s.handle("HEAD /_ping", ping)
	s.handle("GET /version", func(w http.ResponseWriter, r *http.Request) error {
		WriteJSON(w, http.StatusOK, s.b.Version(r.Context()))
		return nil
	})
	s.handle("GET /info", func(w http.ResponseWriter, r *http.Request) error {
		WriteJSON(w, http.StatusOK, s.b.Info(r.Context()))
		return nil
	})
}

func ping(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Docker-Experimental", "false")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", "0")
		return nil
	}
	_, _ = w.Write([]byte("OK")) // a client gone away needs no answer
	return nil
}
