package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/client"
)

// fakeEngine is an in-process Docker Engine API for the CLI's tests: it
// answers each "METHOD /path" from its routes (the API version prefix
// removed; a 404 otherwise) and records the requests.
type fakeEngine struct {
	routes map[string]http.HandlerFunc

	mu       sync.Mutex
	requests []fakeRequest
}

type fakeRequest struct {
	Method, Path, Query string
	Body                []byte
}

var apiVersionPrefix = regexp.MustCompile(`^/v[0-9.]+`)

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := apiVersionPrefix.ReplaceAllString(r.URL.Path, "")
	f.mu.Lock()
	f.requests = append(f.requests, fakeRequest{Method: r.Method, Path: path, Query: r.URL.RawQuery, Body: body})
	f.mu.Unlock()
	if h, ok := f.routes[r.Method+" "+path]; ok {
		h(w, r)
		return
	}
	reply(http.StatusNotFound, map[string]string{"message": "fake engine: no route for " + r.Method + " " + path})(w, r)
}

// request is the last request to "METHOD /path".
func (f *fakeEngine) request(t *testing.T, route string) fakeRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.requests) - 1; i >= 0; i-- {
		if r := f.requests[i]; r.Method+" "+r.Path == route {
			return r
		}
	}
	t.Fatalf("no request to %s", route)
	return fakeRequest{}
}

// reply answers with v as JSON.
func reply(code int, v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if v != nil {
			if err := json.NewEncoder(w).Encode(v); err != nil {
				panic(err) // a test's reply that cannot be encoded is the test's bug
			}
		}
	}
}

// replyRaw answers 200 OK with a JSON text as it is.
func replyRaw(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		// A write fails only when the client went away: the test sees that.
		_, _ = io.WriteString(w, body)
	}
}

func notFound(msg string) http.HandlerFunc {
	return reply(http.StatusNotFound, map[string]string{"message": msg})
}

// newTestCLI is a CLI talking to a fake engine with routes, writing to
// the returned buffers.
func newTestCLI(t *testing.T, routes map[string]http.HandlerFunc) (c *CLI, engine *fakeEngine, out, errOut *bytes.Buffer) {
	t.Helper()
	engine = &fakeEngine{routes: routes}
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	api, err := client.New(client.WithHost("tcp://"+strings.TrimPrefix(srv.URL, "http://")), client.WithAPIVersion("1.50"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	out, errOut = &bytes.Buffer{}, &bytes.Buffer{}
	return &CLI{API: api, In: strings.NewReader(""), Out: out, Err: errOut}, engine, out, errOut
}

// wantStatus checks that err is a *StatusError with code and message.
func wantStatus(t *testing.T, err error, code int, msg string) {
	t.Helper()
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error = %#v, want a *StatusError{%d, %q}", err, code, msg)
	}
	if se.Code != code || se.Msg != msg {
		t.Errorf("error = {%d %q}, want {%d %q}", se.Code, se.Msg, code, msg)
	}
}
