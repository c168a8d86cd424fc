package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/skiff-dev/skiff/opts"
)

// boolParam is a query parameter read as Docker reads booleans ("1",
// "true"); absent or unreadable is false.
func boolParam(r *http.Request, name string) bool {
	b, err := strconv.ParseBool(r.URL.Query().Get(name))
	return err == nil && b
}

// filtersParam decodes the filters query parameter.
func filtersParam(r *http.Request) (opts.Filters, error) {
	f, err := opts.ParseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		return nil, Invalid(err)
	}
	return f, nil
}

// filtered is a route that takes the filters parameter and answers 200
// with what call returns (list and prune).
func filtered[T any](call func(context.Context, opts.Filters) (T, error)) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		f, err := filtersParam(r)
		if err != nil {
			return err
		}
		v, err := call(r.Context(), f)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, v)
		return nil
	}
}

// byPath is a route that takes the path's {name} and answers 200 with
// what call returns (inspect).
func byPath[T any](name string, call func(context.Context, string) (T, error)) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := call(r.Context(), r.PathValue(name))
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, v)
		return nil
	}
}
