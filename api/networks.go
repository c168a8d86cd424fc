package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/moby/moby/api/types/network"
)

func (s *server) networkRoutes() {
	s.handle("GET /networks", filtered(s.b.NetworkList))
	s.handle("POST /networks/create", func(w http.ResponseWriter, r *http.Request) error {
		var req network.CreateRequest
		if err := DecodeJSON(r, &req); err != nil {
			return err
		}
		resp, err := s.b.NetworkCreate(r.Context(), req)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusCreated, resp)
		return nil
	})
	s.handle("POST /networks/prune", filtered(s.b.NetworksPrune))
	// Network names may hold slashes (as Docker's): /networks/{name},
	// /networks/{name}/connect and /networks/{name}/disconnect are
	// matched on the escaped path.
	s.handle("/networks/", s.networkByName)
}

func (s *server) networkByName(w http.ResponseWriter, r *http.Request) error {
	name, verb, ok := networkRoute(r.Method, r.URL.EscapedPath())
	if !ok {
		return errPageNotFound
	}
	switch verb {
	case "get":
		n, err := s.b.NetworkInspect(r.Context(), name)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, n)
		return nil
	case "delete":
		if err := s.b.NetworkRemove(r.Context(), name); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	// The bodies name the container (connect: with its endpoint
	// settings; disconnect: Force).
	var req struct {
		Container      string
		EndpointConfig *network.EndpointSettings
		Force          bool
	}
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	var err error
	if verb == "connect" {
		err = s.b.NetworkConnect(r.Context(), name, req.Container, req.EndpointConfig)
	} else {
		err = s.b.NetworkDisconnect(r.Context(), name, req.Container, req.Force)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
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
