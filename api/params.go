package api

import (
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
