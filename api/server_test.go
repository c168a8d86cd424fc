package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/containerd/errdefs"
)

func TestUploadRoutes(t *testing.T) {
	for _, p := range []string{"/images/load", "/v1.41/images/load", "/images/create", "/build"} {
		req := httptest.NewRequest("POST", p, nil)
		stripVersion(req)
		if !uploadRoute(req) {
			t.Errorf("%s: capped", p)
		}
	}
	req := httptest.NewRequest("PUT", "/v1.41/containers/x/archive", nil)
	stripVersion(req)
	if !uploadRoute(req) {
		t.Error("archive upload: capped")
	}
	if uploadRoute(httptest.NewRequest("POST", "/containers/create", nil)) {
		t.Error("create is not capped")
	}
}

func TestStatus(t *testing.T) {
	base := errors.New("boom")
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{
		{"plain", base, http.StatusInternalServerError},
		{"errdefs sentinel", errdefs.ErrNotFound, http.StatusNotFound},
		{"errdefs with a message", errdefs.ErrConflict.WithMessage("in use"), http.StatusConflict},
		{"wrapped errdefs with a message", fmt.Errorf("x: %w", errdefs.ErrInvalidArgument.WithMessage("bad")), http.StatusBadRequest},
		{"NotFound", NotFound(base), http.StatusNotFound},
		{"outermost class wins", Invalid(errdefs.ErrNotFound.WithMessage("no such image")), http.StatusBadRequest},
		{"wrapped class", fmt.Errorf("context: %w", Conflict(base)), http.StatusConflict},
		{"joined: the first classed", errors.Join(base, Forbidden(base)), http.StatusForbidden},
		{"not modified", ErrNotModified, http.StatusNotModified},
		{"not implemented", NotImplemented(base), http.StatusNotImplemented},
		{"too large", DecodeError(&http.MaxBytesError{Limit: 5}), http.StatusRequestEntityTooLarge},
	} {
		if got := Status(tt.err); got != tt.want {
			t.Errorf("%s: Status(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
	if NotFound(base).Error() != "boom" || !errors.Is(Conflict(base), base) {
		t.Error("the classes do not keep the error's message and chain")
	}
}

// TestNetworkNameRoutes: a network's name reaches its handlers unescaped,
// slashes and all.
func TestNetworkNameRoutes(t *testing.T) {
	tests := []struct {
		method, escaped, wantName, wantVerb string
	}{
		{"GET", "/networks/web", "web", "get"},
		{"GET", "/networks/x/y", "x/y", "get"},
		{"DELETE", "/networks/x%2Fy", "x/y", "delete"},
		{"DELETE", "/networks/..%2Fx", "../x", "delete"},
		{"GET", "/networks/a%20b", "a b", "get"},
		{"GET", "/networks/%252e", "%2e", "get"},
		{"GET", "/networks/connect", "connect", "get"},
		{"POST", "/networks/x/y/connect", "x/y", "connect"},
		{"POST", "/networks/x%2Fdisconnect/disconnect", "x/disconnect", "disconnect"},
		{"POST", "/networks/x/rename", "", ""},
		{"PUT", "/networks/x", "", ""},
		{"GET", "/networks/%zz", "", ""},
		{"POST", "/networks//connect", "", ""},
	}
	for _, tt := range tests {
		name, verb, ok := networkRoute(tt.method, tt.escaped)
		if name != tt.wantName || verb != tt.wantVerb || ok != (tt.wantVerb != "") {
			t.Errorf("%s %s: %q %q %v, want %q %q", tt.method, tt.escaped, name, verb, ok, tt.wantName, tt.wantVerb)
		}
	}
}
