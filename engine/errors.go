package engine

import (
	"fmt"

	"github.com/skiff-dev/skiff/api"
)

// The engine's errors carry their errdefs class, which the api layer
// answers with Docker's status.
func errNotFound(err error) error { return api.NotFound(err) }
func errInvalid(err error) error  { return api.Invalid(err) }
func errConflict(err error) error { return api.Conflict(err) }
func errNotModified() error       { return api.ErrNotModified }
func errForbidden(err error) error {
	return api.Forbidden(err)
}

func errNoSuchContainer(ref string) error {
	return errNotFound(fmt.Errorf("No such container: %s", ref))
}

func statusOf(err error) int { return api.Status(err) }
