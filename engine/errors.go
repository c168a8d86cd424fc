package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/skiff-dev/skiff/images"
)

// apiError carries the HTTP status an error is answered with.
type apiError struct {
	status int
	err    error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

func errNotFound(err error) error { return &apiError{http.StatusNotFound, err} }
func errInvalid(err error) error  { return &apiError{http.StatusBadRequest, err} }
func errConflict(err error) error { return &apiError{http.StatusConflict, err} }
func errNotModified() error       { return &apiError{http.StatusNotModified, errors.New("not modified")} }
func errNoSuchContainer(ref string) error {
	return errNotFound(fmt.Errorf("No such container: %s", ref))
}

func statusOf(err error) int {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae.status
	case errors.Is(err, images.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, images.ErrInUse):
		return http.StatusConflict
	case errors.Is(err, images.ErrAmbiguous):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// writeError answers with Docker's error body: {"message": "..."}.
func writeError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	if status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	encode(w, map[string]string{"message": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	encode(w, v)
}

// encode writes v as JSON to a response. It fails only when the client
// went away (what the engine sends is always encodable), and then there
// is no one to answer.
func encode(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}
