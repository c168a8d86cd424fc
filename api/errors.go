package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/containerd/errdefs"
)

var (
	errPageNotFound = errdefs.ErrNotFound.WithMessage("page not found")
	errFromImage    = errors.New("fromImage is required (import is not supported)")
)

// errTooLarge is a body over the cap.
type errTooLarge struct{ limit int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("request body too large: the limit is %d bytes", e.limit)
}

// Status is the HTTP status Docker answers err with: that of the
// outermost error in its chain that has an errdefs class (an error
// explaining another's, "invalid reference" around "not found", keeps
// its own class); 500 when none has one.
func Status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if s := classOf(err); s != 0 {
		return s
	}
	switch u := err.(type) { //nolint:errorlint // walking the chain one link at a time
	case interface{ Unwrap() error }:
		if next := u.Unwrap(); next != nil {
			return Status(next)
		}
	case interface{ Unwrap() []error }:
		for _, next := range u.Unwrap() {
			if s := Status(next); s != http.StatusInternalServerError {
				return s
			}
		}
	}
	return http.StatusInternalServerError
}

// classOf is the status of err's own errdefs class, 0 for none.
func classOf(err error) int {
	switch err.(type) { //nolint:errorlint // err's own class, not its chain's
	case errTooLarge:
		return http.StatusRequestEntityTooLarge
	case interface{ NotFound() }:
		return http.StatusNotFound
	case interface{ InvalidParameter() }:
		return http.StatusBadRequest
	case interface{ Conflict() }:
		return http.StatusConflict
	case interface{ NotModified() }:
		return http.StatusNotModified
	case interface{ Forbidden() }:
		return http.StatusForbidden
	case interface{ Unauthorized() }:
		return http.StatusUnauthorized
	case interface{ NotImplemented() }:
		return http.StatusNotImplemented
	case interface{ Unavailable() }:
		return http.StatusServiceUnavailable
	case interface{ FailedPrecondition() }:
		return http.StatusPreconditionFailed
	}
	// errdefs' errors with a message of their own (ErrNotFound.WithMessage)
	// show their class through As.
	if as, ok := err.(interface{ As(any) bool }); ok { //nolint:errorlint // as above
		var inner error
		if as.As(&inner) && inner != err { //nolint:errorlint // the same error, not one of its kind
			return classOf(inner)
		}
	}
	return 0
}

// WriteError answers with Docker's error body: {"message": "..."}.
func WriteError(w http.ResponseWriter, err error) {
	status := Status(err)
	if status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	WriteJSON(w, status, map[string]string{"message": err.Error()})
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// It fails only when the client went away (what the engine sends
	// is always encodable), and then there is no one to answer.
	_ = json.NewEncoder(w).Encode(v)
}

// DecodeJSON reads a request's JSON body into v: a body over the cap is
// 413, bad JSON 400, both with Docker's JSON message.
func DecodeJSON(r *http.Request, v any) error {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return DecodeError(err)
	}
	return nil
}

// DecodeError is the answer to a body that did not decode.
func DecodeError(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return errTooLarge{tooBig.Limit}
	case errors.Is(err, io.EOF):
		return errdefs.ErrInvalidArgument.WithMessage("invalid JSON: got EOF while reading request body")
	}
	return Invalid(fmt.Errorf("invalid JSON: %w", err))
}

// The errdefs classes, for errors whose message is their own.

// NotFound classes err as 404.
func NotFound(err error) error { return notFoundError{err} }

// Invalid classes err as 400.
func Invalid(err error) error { return invalidError{err} }

// Conflict classes err as 409.
func Conflict(err error) error { return conflictError{err} }

// Forbidden classes err as 403.
func Forbidden(err error) error { return forbiddenError{err} }

// NotImplemented classes err as 501.
func NotImplemented(err error) error { return notImplementedError{err} }

// ErrNotModified is a request that changes nothing (304, no body).
var ErrNotModified = errdefs.ErrNotModified

type (
	notFoundError       struct{ error }
	invalidError        struct{ error }
	conflictError       struct{ error }
	forbiddenError      struct{ error }
	notImplementedError struct{ error }
)

func (notFoundError) NotFound()             {}
func (invalidError) InvalidParameter()      {}
func (conflictError) Conflict()             {}
func (forbiddenError) Forbidden()           {}
func (notImplementedError) NotImplemented() {}
func (e notFoundError) Unwrap() error       { return e.error }
func (e invalidError) Unwrap() error        { return e.error }
func (e conflictError) Unwrap() error       { return e.error }
func (e forbiddenError) Unwrap() error      { return e.error }
func (e notImplementedError) Unwrap() error { return e.error }
