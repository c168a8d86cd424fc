package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/skiff-dev/skiff/api"
	"github.com/skiff-dev/skiff/images"
)

func TestStatusOf(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"errNotFound", errNotFound(base), http.StatusNotFound},
		{"errNoSuchContainer", errNoSuchContainer("x"), http.StatusNotFound},
		{"images.ErrNotFound", images.ErrNotFound, http.StatusNotFound},
		{"wrapped images.ErrNotFound", fmt.Errorf("%w: busybox", images.ErrNotFound), http.StatusNotFound},
		{"errConflict", errConflict(base), http.StatusConflict},
		{"images.ErrInUse", images.ErrInUse, http.StatusConflict},
		{"wrapped images.ErrInUse", fmt.Errorf("removing: %w", images.ErrInUse), http.StatusConflict},
		{"images.ErrAmbiguous", fmt.Errorf("%w: abcd", images.ErrAmbiguous), http.StatusBadRequest},
		{"errInvalid", errInvalid(base), http.StatusBadRequest},
		{"errNotModified", errNotModified(), http.StatusNotModified},
		{"wrapped apiError", fmt.Errorf("context: %w", errConflict(base)), http.StatusConflict},
		{"apiError wins over what it wraps", errInvalid(images.ErrNotFound), http.StatusBadRequest},
		{"plain error", base, http.StatusInternalServerError},
		{"images.ErrPullDenied is not special", images.ErrPullDenied, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		if got := statusOf(tt.err); got != tt.want {
			t.Errorf("%s: statusOf(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestAPIErrorWraps(t *testing.T) {
	base := errors.New("boom")
	err := errConflict(base)
	if err.Error() != "boom" {
		t.Errorf("Error() = %q, want %q", err.Error(), "boom")
	}
	if !errors.Is(err, base) {
		t.Error("errConflict(base) does not wrap base")
	}
	if got := errNoSuchContainer("web").Error(); got != "No such container: web" {
		t.Errorf("errNoSuchContainer = %q, want Docker's %q", got, "No such container: web")
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string // the "message"; empty: no body at all
	}{
		{"not found", errNoSuchContainer("web"), 404, "No such container: web"},
		{"conflict", errConflict(errors.New("name in use")), 409, "name in use"},
		{"internal", errors.New("disk on fire"), 500, "disk on fire"},
		{"not modified has no body", errNotModified(), 304, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			api.WriteError(rec, tt.err)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if tt.wantBody == "" {
				if rec.Body.Len() != 0 {
					t.Errorf("body = %q, want none", rec.Body)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if len(body) != 1 || body["message"] != tt.wantBody {
				t.Errorf("body = %v, want {message: %q}", body, tt.wantBody)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	api.WriteJSON(rec, http.StatusCreated, map[string]any{"Id": "abc", "Warnings": []string{}})
	if rec.Code != http.StatusCreated {
		t.Errorf("status = %d, want 201", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if got, want := rec.Body.String(), `{"Id":"abc","Warnings":[]}`+"\n"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}
